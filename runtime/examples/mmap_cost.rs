//! Cost of creating and dropping linear memories (guarded and explicit).
//! `cargo run --release -p faasm-runtime --example mmap_cost`

use faasm_runtime::{Memory, MemoryStrategy, MemoryType};
use std::time::Instant;

fn main() {
    let ty = MemoryType {
        min: 16,
        max: None,
        shared: false,
        memory64: false,
    };
    for (name, strategy) in [
        ("guarded", MemoryStrategy::default()),
        ("explicit", MemoryStrategy::Explicit),
    ] {
        let n = 20_000;
        let t = Instant::now();
        for _ in 0..n {
            let m = Memory::with_strategy(ty, strategy).unwrap();
            m.write(0, b"hello").unwrap();
        }
        println!(
            "{name}: {:.2} us per create+touch+drop",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}
