//! `/metrics` in the Prometheus text format: calls by function and
//! outcome, a latency histogram, and gauges read from the executor when
//! scraped (live and warm Faaslets, worker occupancy, state bytes).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a call ended, as counted and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Returned 0.
    Ok,
    /// Returned non-zero.
    Error,
    /// Trapped or failed in the executor.
    Failed,
    TimedOut,
    /// Refused at admission (429).
    Rejected,
}

impl Outcome {
    const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Failed,
        Outcome::TimedOut,
        Outcome::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timeout",
            Outcome::Rejected => "rejected",
        }
    }
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 10.0,
];

/// What the executor reports at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub live_faaslets: usize,
    pub warm_faaslets: usize,
    pub workers_busy: usize,
    pub workers: usize,
    pub state_bytes: usize,
    pub async_calls_held: usize,
}

#[derive(Default)]
pub struct Metrics {
    /// user → function → count per outcome (nested so a hit allocates
    /// nothing).
    calls: Mutex<HashMap<String, HashMap<String, [u64; 5]>>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Metrics {
    pub fn record(&self, user: &str, func: &str, outcome: Outcome, took: Option<Duration>) {
        {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            let per_func = match calls.get_mut(user) {
                Some(m) => m,
                None => calls.entry(user.to_string()).or_default(),
            };
            let counts = match per_func.get_mut(func) {
                Some(c) => c,
                None => per_func.entry(func.to_string()).or_default(),
            };
            counts[outcome as usize] += 1;
        }
        if let Some(d) = took {
            let s = d.as_secs_f64();
            if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
            self.count.fetch_add(1, Ordering::Relaxed);
            self.sum_ns
                .fetch_add(d.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
        }
    }

    /// Mean time from admission to result over the calls so far (µs).
    pub fn mean_call_us(&self) -> f64 {
        let n = self.count.load(Ordering::Relaxed).max(1);
        self.sum_ns.load(Ordering::Relaxed) as f64 / n as f64 / 1000.0
    }

    /// The exposition text.
    pub fn render(&self, g: Gauges) -> String {
        let mut out = String::new();
        out.push_str("# HELP faasm_calls_total Calls by function and outcome.\n");
        out.push_str("# TYPE faasm_calls_total counter\n");
        {
            let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            let mut users: Vec<_> = calls.iter().collect();
            users.sort_by(|a, b| a.0.cmp(b.0));
            for (user, funcs) in users {
                let mut funcs: Vec<_> = funcs.iter().collect();
                funcs.sort_by(|a, b| a.0.cmp(b.0));
                for (func, counts) in funcs {
                    for o in Outcome::ALL {
                        let n = counts[o as usize];
                        if n > 0 {
                            // Names are [A-Za-z0-9_.-]: nothing to escape.
                            let _ = writeln!(
                                out,
                                "faasm_calls_total{{user=\"{user}\",function=\"{func}\",outcome=\"{}\"}} {n}",
                                o.as_str()
                            );
                        }
                    }
                }
            }
        }
        out.push_str("# HELP faasm_call_duration_seconds Time from admission to result.\n");
        out.push_str("# TYPE faasm_call_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "faasm_call_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(
            out,
            "faasm_call_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             faasm_call_duration_seconds_sum {sum}\n\
             faasm_call_duration_seconds_count {count}"
        );
        let gauges = [
            (
                "faasm_live_faaslets",
                "Calls in flight (queued or running), each on a live Faaslet once it runs.",
                g.live_faaslets,
            ),
            (
                "faasm_warm_faaslets",
                "Reset Faaslets kept for the next call, over all functions.",
                g.warm_faaslets,
            ),
            (
                "faasm_workers_busy",
                "Worker threads running a call now.",
                g.workers_busy,
            ),
            ("faasm_workers", "Size of the worker pool.", g.workers),
            (
                "faasm_state_bytes",
                "Bytes of state held (values, keys and appended elements).",
                g.state_bytes,
            ),
            (
                "faasm_async_calls_held",
                "Async calls whose status is kept for GET /v1/calls/{id}.",
                g.async_calls_held,
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histogram_render() {
        let m = Metrics::default();
        m.record(
            "alice",
            "echo",
            Outcome::Ok,
            Some(Duration::from_micros(30)),
        );
        m.record("alice", "echo", Outcome::Ok, Some(Duration::from_millis(3)));
        m.record("alice", "echo", Outcome::Rejected, None);
        let text = m.render(Gauges {
            warm_faaslets: 2,
            ..Gauges::default()
        });
        assert!(
            text.contains("faasm_calls_total{user=\"alice\",function=\"echo\",outcome=\"ok\"} 2\n")
        );
        assert!(text.contains("outcome=\"rejected\"} 1\n"));
        assert!(text.contains("faasm_call_duration_seconds_bucket{le=\"0.00005\"} 1\n"));
        assert!(text.contains("faasm_call_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("faasm_call_duration_seconds_count 2\n"));
        assert!(text.contains("faasm_warm_faaslets 2\n"));
    }
}
