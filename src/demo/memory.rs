//! What a run holds in memory: the process's proportional set size (PSS,
//! `/proc/self/smaps_rollup`), sampled while the run goes on.
//!
//! Why PSS and not RSS or VmHWM: in shared mode every Faaslet maps the same
//! state pages, and RSS counts a page once per mapping even inside one
//! process, so it would charge shared state N times, exactly the cost
//! shared mode avoids. PSS splits each page over its mappings, so a page is
//! counted once however many Faaslets map it. The kernel keeps no peak of
//! PSS, hence the sampling thread; a peak shorter than the period can be
//! missed, so figures are a lower bound.
//!
//! Only anonymous and shmem (memfd) pages are counted (`Pss_Anon` +
//! `Pss_Shmem`) where the kernel reports them: a run's memory is all of
//! that kind, while the file pages of the binary are shared with every
//! other process running it, so their share moves by megabytes as other
//! processes start and stop (under a parallel test suite a run could
//! measure less than nothing).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The process's PSS now, in bytes.
pub fn pss_bytes() -> io::Result<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup")?;
    parse_pss(&text).ok_or_else(|| io::Error::other("no Pss line in /proc/self/smaps_rollup"))
}

fn parse_pss(smaps_rollup: &str) -> Option<u64> {
    let field = |name: &str| -> Option<u64> {
        let line = smaps_rollup.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    match (field("Pss_Anon:"), field("Pss_Shmem:")) {
        (Some(anon), Some(shmem)) => Some(anon + shmem),
        // Kernels before 5.14 report only the total.
        _ => field("Pss:"),
    }
}

/// Samples [`pss_bytes`] on a thread of its own until stopped.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<io::Result<u64>>,
}

impl PeakSampler {
    pub fn start(period: Duration) -> io::Result<PeakSampler> {
        // Fail here, not after the run, where nothing could be measured.
        pss_bytes()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            loop {
                let done = flag.load(Ordering::Acquire);
                peak = peak.max(pss_bytes()?);
                if done {
                    return Ok(peak);
                }
                std::thread::sleep(period);
            }
        });
        Ok(PeakSampler { stop, thread })
    }

    /// The highest PSS seen, including one last sample taken now.
    pub fn stop(self) -> io::Result<u64> {
        self.stop.store(true, Ordering::Release);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the memory sampler panicked")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_and_shmem_pss_are_counted_not_file_pages() {
        let text = "00400000-7fff [rollup]\nRss: 900 kB\nPss: 812 kB\nPss_Anon: 10 kB\n\
                    Pss_File: 700 kB\nPss_Shmem: 102 kB\n";
        assert_eq!(parse_pss(text), Some(112 * 1024));
        // Without the breakdown, the total.
        let old = "Rss: 900 kB\nPss: 812 kB\n";
        assert_eq!(parse_pss(old), Some(812 * 1024));
        assert_eq!(parse_pss("Rss: 900 kB\n"), None);
    }

    #[test]
    fn the_peak_sees_memory_touched_while_sampling() {
        let sampler = PeakSampler::start(Duration::from_millis(1)).unwrap();
        let before = pss_bytes().unwrap();
        // 64 MiB written (so resident), held for several periods, freed.
        let block = vec![1u8; 64 << 20];
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(block.iter().map(|&b| b as usize).sum::<usize>(), 64 << 20);
        drop(block);
        let peak = sampler.stop().unwrap();
        assert!(peak >= before + (60 << 20), "peak {peak}, before {before}");
    }
}
