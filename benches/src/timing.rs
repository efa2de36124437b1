//! A plain repetition timer for the `faasm-bench` summary (criterion does
//! the careful statistics in `cargo bench`; this one is for a quick table).

use std::time::{Duration, Instant};

/// Timings of repeated runs of one operation.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub median: Duration,
    pub min: Duration,
    pub reps: usize,
}

/// Runs `f` once to warm up, then `reps` times, and summarises.
pub fn measure(reps: usize, mut f: impl FnMut()) -> Stats {
    f();
    let mut times: Vec<Duration> = (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    Stats {
        median: times[times.len() / 2],
        min: times[0],
        reps: times.len(),
    }
}

/// Runs every closure once to warm up, then `reps` rounds in which each
/// runs once, in turn. Interleaving means a burst of load from elsewhere on
/// the machine hits all sides alike instead of skewing one of them.
pub fn measure_interleaved(reps: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<Stats> {
    for f in fs.iter_mut() {
        f();
    }
    let mut times = vec![Vec::with_capacity(reps); fs.len()];
    for _ in 0..reps.max(1) {
        for (f, t) in fs.iter_mut().zip(&mut times) {
            let start = Instant::now();
            f();
            t.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            Stats {
                median: t[t.len() / 2],
                min: t[0],
                reps: t.len(),
            }
        })
        .collect()
}

/// Geometric mean of positive ratios.
pub fn geomean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

/// Nanoseconds per operation for `ops` operations in `d`.
pub fn ns_per(d: Duration, ops: u64) -> f64 {
    d.as_nanos() as f64 / ops as f64
}

/// Collects per-iteration times from criterion's `iter_custom` so a bench
/// can print its own summary (ratios, ns per call) after criterion's report.
#[derive(Debug, Default)]
pub struct Recorder {
    samples: std::sync::Mutex<std::collections::BTreeMap<String, Vec<f64>>>,
}

impl Recorder {
    /// Records that `iters` iterations of `key` took `elapsed`.
    pub fn record(&self, key: &str, iters: u64, elapsed: Duration) {
        let per_iter = elapsed.as_nanos() as f64 / iters.max(1) as f64;
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .push(per_iter);
    }

    /// Median nanoseconds per iteration over the recorded samples.
    pub fn median_ns(&self, key: &str) -> Option<f64> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let mut v = samples.get(key)?.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    }
}
