//! What running a `.wast` file produced: per-directive counts and the
//! details of every failure and skip, serialisable for `faasm-spec --json`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a directive starts in its file (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A directive that did not behave as the test expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub location: Location,
    /// The directive kind, e.g. `assert_return`.
    pub directive: String,
    pub expected: String,
    pub got: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: expected {}, got {}",
            self.location, self.directive, self.expected, self.got
        )
    }
}

/// A directive that was not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub location: Location,
    pub directive: String,
    pub reason: String,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: skipped: {}",
            self.location, self.directive, self.reason
        )
    }
}

/// passed / failed / skipped directive counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// The outcome of one `.wast` file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    pub name: String,
    pub counts: Counts,
    /// In file order.
    pub failures: Vec<Failure>,
    /// In file order.
    pub skips: Vec<Skip>,
}

impl FileReport {
    pub fn new(name: impl Into<String>) -> FileReport {
        FileReport {
            name: name.into(),
            ..FileReport::default()
        }
    }

    pub fn pass(&mut self) {
        self.counts.passed += 1;
    }

    pub fn fail(&mut self, failure: Failure) {
        self.counts.failed += 1;
        self.failures.push(failure);
    }

    pub fn skip(&mut self, skip: Skip) {
        self.counts.skipped += 1;
        self.skips.push(skip);
    }

    /// Skip reasons with how often each occurred, most frequent first, so
    /// a file with hundreds of skips of one kind prints one line.
    pub fn skip_reasons(&self) -> Vec<(String, usize)> {
        let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.skips {
            *by_reason.entry(s.reason.as_str()).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = by_reason
            .into_iter()
            .map(|(r, n)| (r.to_string(), n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(line: usize) -> Location {
        Location { line, col: 1 }
    }

    #[test]
    fn counts_follow_recorded_outcomes() {
        let mut r = FileReport::new("x.wast");
        r.pass();
        r.pass();
        r.fail(Failure {
            location: loc(3),
            directive: "assert_return".into(),
            expected: "i32:1".into(),
            got: "i32:2".into(),
        });
        for line in [4, 5, 6] {
            r.skip(Skip {
                location: loc(line),
                directive: "thread".into(),
                reason: if line == 6 { "b" } else { "a" }.into(),
            });
        }
        assert_eq!(
            r.counts,
            Counts {
                passed: 2,
                failed: 1,
                skipped: 3
            }
        );
        assert_eq!(r.counts.total(), 6);
        assert_eq!(r.counts.to_string(), "2 passed, 1 failed, 3 skipped");
        assert_eq!(
            r.skip_reasons(),
            vec![("a".to_string(), 2), ("b".to_string(), 1)]
        );
        assert_eq!(
            r.failures[0].to_string(),
            "3:1 assert_return: expected i32:1, got i32:2"
        );
    }

    #[test]
    fn report_round_trips_through_json() {
        let mut r = FileReport::new("y.wast");
        r.pass();
        r.fail(Failure {
            location: loc(9),
            directive: "module".into(),
            expected: "ok".into(),
            got: "trap".into(),
        });
        let s = serde_json::to_string(&r).unwrap();
        let back: FileReport = serde_json::from_str(&s).unwrap();
        assert_eq!(back, r);
    }
}
