//! pi: a fan-out/fan-in Monte Carlo estimate of pi over chained calls, the
//! Rust twin of examples/c/pi.c (same inputs, same numbers).
//!
//! The driver (input `[N [NAME]]`, default `10 pi`) chains N calls of this
//! user's function NAME, which must be this same module, each with input
//! `worker SEED` (SEED = 1..N). A worker draws SAMPLES points in the unit
//! square from a splitmix64 generator seeded with SEED and outputs its
//! estimate; the driver outputs the average with 3 decimals, e.g. `3.142`,
//! or fails with the output of the first worker that failed.
//!
//!   faasm-run upload demo/pi pi-rust.wasm
//!   faasm-run invoke demo/pi --input 20           -> 3.14x

use std::process::ExitCode;

const SAMPLES: u32 = 200_000;
const MAX_WORKERS: u32 = 1000;

/// splitmix64, as in pi.c.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
}

fn estimate_pi(seed: u64) -> f64 {
    let mut rng = SplitMix64(seed);
    let inside = (0..SAMPLES)
        .filter(|_| {
            let (x, y) = (rng.unit(), rng.unit());
            x * x + y * y < 1.0
        })
        .count();
    4.0 * inside as f64 / f64::from(SAMPLES)
}

fn worker(seed: &str) -> Result<String, String> {
    let seed: u64 = seed
        .trim()
        .parse()
        .map_err(|_| "pi worker: the input must be \"worker SEED\"".to_string())?;
    Ok(format!("{:.9}", estimate_pi(seed)))
}

fn driver(args: &str) -> Result<String, String> {
    let mut words = args.split_whitespace();
    let n: u32 = match words.next() {
        None => 10,
        Some(w) => w
            .parse()
            .map_err(|_| "pi: the input must be \"[N [NAME]]\"".to_string())?,
    };
    if !(1..=MAX_WORKERS).contains(&n) {
        return Err("pi: N must be between 1 and 1000".into());
    }
    let name = words.next().unwrap_or("pi");

    let calls = (1..=n)
        .map(|seed| faasm_sdk::chain(name, format!("worker {seed}").as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("pi: {e}"))?;

    let mut sum = 0.0;
    for (i, call) in calls.into_iter().enumerate() {
        let (code, out) = call.output();
        let out = String::from_utf8_lossy(&out);
        if code != 0 {
            return Err(format!("pi: worker {} failed ({code}): {out}", i + 1));
        }
        sum += out
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("pi: worker {} sent {out:?}", i + 1))?;
    }
    Ok(format!("{:.3}", sum / f64::from(n)))
}

fn main() -> ExitCode {
    let input = String::from_utf8_lossy(&faasm_sdk::input()).into_owned();
    let result = match input.strip_prefix("worker ") {
        Some(seed) => worker(seed),
        None => driver(&input),
    };
    match result {
        Ok(out) => {
            faasm_sdk::set_output(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(message) => {
            faasm_sdk::set_output(message.as_bytes());
            ExitCode::FAILURE
        }
    }
}
