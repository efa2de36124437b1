//! Whether the machine's CPUs have time to spare, from the kernel's CPU
//! pressure (`/proc/pressure/cpu`, "some avg10": the share of the last
//! 10 s in which a runnable task waited for a CPU). A worker spins for
//! its next call only then: on a busy machine the spin would take a CPU
//! from tasks that need it (ours included, under load).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Pressure (percent) above which the CPUs count as busy.
pub const BUSY_ABOVE: f64 = 40.0;

/// How often the pressure is read again, at most.
const REREAD: Duration = Duration::from_millis(100);

const PRESSURE: &str = "/proc/pressure/cpu";

/// "some avg10" of a `/proc/pressure/cpu` text.
fn some_avg10(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix("some "))?
        .split_whitespace()
        .find_map(|f| f.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// The last reading, read again when [`REREAD`] old.
pub struct SpareCpu {
    base: Instant,
    /// When it was last read, in nanoseconds since `base` (`u64::MAX`:
    /// never).
    read_at: AtomicU64,
    spare: AtomicBool,
}

impl Default for SpareCpu {
    fn default() -> Self {
        SpareCpu {
            base: Instant::now(),
            read_at: AtomicU64::new(u64::MAX),
            spare: AtomicBool::new(false),
        }
    }
}

impl SpareCpu {
    /// Whether the CPUs have time to spare. Without pressure figures (an
    /// old kernel, or one without PSI), never: spinning is then a guess.
    pub fn spare(&self) -> bool {
        let now = self.base.elapsed().as_nanos() as u64;
        let at = self.read_at.load(Ordering::Relaxed);
        let stale = at == u64::MAX || now.saturating_sub(at) >= REREAD.as_nanos() as u64;
        if stale
            && self
                .read_at
                .compare_exchange(at, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let pressure = std::fs::read_to_string(PRESSURE)
                .ok()
                .and_then(|t| some_avg10(&t));
            self.spare
                .store(pressure.is_some_and(|p| p < BUSY_ABOVE), Ordering::Relaxed);
        }
        self.spare.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ten_second_average_of_some() {
        let t = "some avg10=98.52 avg60=98.24 avg300=97.53 total=8539036529\n\
                 full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(some_avg10(t), Some(98.52));
        assert_eq!(some_avg10("full avg10=1.00\n"), None);
        assert_eq!(some_avg10("some avg60=1.00\n"), None);
    }
}
