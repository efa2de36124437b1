//! A multi-threaded guest for wasm32-wasip1-threads: a parallel sum with
//! `std::thread` (wasi-threads underneath: each thread is a
//! `wasi.thread-spawn` of this module in its shared memory).
//!
//! `threads-rust [N]` sums 1..=1000000 with N threads (default 4); they
//! meet at a `std::sync::Barrier` before publishing their partial sums,
//! which the main thread joins and checks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

const COUNT: u64 = 1_000_000;

fn main() {
    let n: u64 = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 4,
        Some(Ok(n)) if (1..=64).contains(&n) => n,
        Some(_) => {
            eprintln!("threads-rust: N must be 1..64");
            std::process::exit(2);
        }
    };
    let values: Arc<Vec<u64>> = Arc::new((1..=COUNT).collect());
    let barrier = Arc::new(Barrier::new(n as usize));
    let total = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (values, barrier, total) = (values.clone(), barrier.clone(), total.clone());
            std::thread::spawn(move || {
                let (lo, hi) = ((COUNT * i / n) as usize, (COUNT * (i + 1) / n) as usize);
                let sum: u64 = values[lo..hi].iter().sum();
                // Everyone has finished reading before anyone publishes.
                barrier.wait();
                total.fetch_add(sum, Ordering::SeqCst);
                sum
            })
        })
        .collect();
    let joined: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let sum = total.load(Ordering::SeqCst);
    let expected = COUNT * (COUNT + 1) / 2;
    let ok = sum == expected && joined == expected;
    println!(
        "sum of 1..{COUNT} with {n} threads = {sum} ({})",
        if ok { "ok" } else { "WRONG" }
    );
    std::process::exit(if ok { 0 } else { 1 });
}
