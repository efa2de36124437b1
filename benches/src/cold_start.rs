//! Issue 7's cold-start module and the faasm side of the cold-start
//! comparison (`benches/cold_start.rs`, the `cold-start-vs-wasmtime`
//! example): the same module `cold-start/make-module.py` writes, built
//! here so the benchmark needs no Python, and the three ways faasm-rs
//! starts a Faaslet of it.

use faasm_runtime::{Engine, Error, Instance, InstanceOptions, Linker, Module, Snapshot};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Linear memory of the module: 128 pages (8 MiB), minimum = maximum.
pub const MEMORY_PAGES: u32 = 128;
/// Start and length of its data segment (1 MiB of non-zero bytes).
pub const DATA_AT: usize = 1 << 16;
pub const DATA_LEN: usize = 1 << 20;
/// `[DIRTY_FROM, DIRTY_TO)`: the heap `init` writes one word of per page.
pub const DIRTY_FROM: u32 = 2 << 20;
pub const DIRTY_TO: u32 = 6 << 20;

/// Byte `i` of the data segment (never zero, as in make-module.py).
pub fn data_byte(i: usize) -> u8 {
    (1 + (i * 7) % 255) as u8
}

/// The module as text: 8 MiB memory, a 1 MiB data segment, `init`
/// dirtying 4 MiB of heap (one store per 4 KiB page), a no-op `noop`.
/// Byte for byte what `cold-start/make-module.py` prints.
pub fn cold_start_wat() -> String {
    let mut data = String::with_capacity(DATA_LEN * 3);
    for i in 0..DATA_LEN {
        let _ = write!(data, "\\{:02x}", data_byte(i));
    }
    format!(
        r#"(module
  (memory (export "memory") {MEMORY_PAGES} {MEMORY_PAGES})
  (data (i32.const {DATA_AT}) "{data}")
  (func (export "init") (local $p i32)
    (local.set $p (i32.const {DIRTY_FROM}))
    (loop $l
      (i32.store (local.get $p) (local.get $p))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $l (i32.lt_u (local.get $p) (i32.const {DIRTY_TO})))))
  (func (export "noop")))
"#
    )
}

/// [`cold_start_wat`] assembled.
pub fn cold_start_wasm() -> Vec<u8> {
    crate::wat_to_wasm(&cold_start_wat()).expect("the cold-start module assembles")
}

/// faasm-rs on the cold-start module: its Proto-Faaslet (taken after
/// `init`) and the three ways to start a Faaslet.
pub struct FaasmSide {
    pub linker: Linker,
    pub module: Module,
    pub snapshot: Snapshot,
}

impl FaasmSide {
    /// Compiles `wasm` (which must export `init` and `noop` and import
    /// nothing) and takes its snapshot after `init`.
    pub fn new(engine: &Engine, wasm: &[u8]) -> Result<FaasmSide, Error> {
        let module = Module::new(engine, wasm)?;
        let linker = Linker::new(engine);
        let proto = linker.instantiate(&module)?;
        call(&proto, "init")?;
        let snapshot = Snapshot::capture(&proto)?;
        Ok(FaasmSide {
            linker,
            module,
            snapshot,
        })
    }

    /// (a) Restore from the Proto-Faaslet and call `noop`.
    pub fn restore(&self) -> Result<Instance, Error> {
        let i = self
            .linker
            .instantiate_snapshot(&self.snapshot, InstanceOptions::default())?;
        call(&i, "noop")?;
        Ok(i)
    }

    /// (b) Instantiate without the snapshot, run `init`, call `noop`.
    pub fn fresh(&self) -> Result<Instance, Error> {
        let i = self.linker.instantiate(&self.module)?;
        call(&i, "init")?;
        call(&i, "noop")?;
        Ok(i)
    }

    /// (c) Reset a restored Faaslet to the snapshot and call `noop`.
    pub fn reuse(&self, i: &mut Instance) -> Result<(), Error> {
        i.reset(&self.snapshot)?;
        call(i, "noop")
    }
}

fn call(i: &Instance, name: &str) -> Result<(), Error> {
    i.get_func(name)
        .ok_or_else(|| Error::Usage(format!("no export `{name}`")))?
        .call(&[])
        .map(drop)
}

/// `(Rss, Pss)` of this process in KiB, from `/proc/self/smaps_rollup`.
pub fn rss_pss_kib() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

/// Memory mappings of this process (lines of `/proc/self/maps`).
pub fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |m| m.lines().count())
}

/// The kernel's `vm.max_map_count`, if readable.
pub fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Operations per second over `window` on `threads` threads: each thread
/// makes its state with `setup` once, then repeats `op` on it until the
/// window ends or `op` fails. All threads start together.
pub fn per_second<S>(
    threads: usize,
    window: Duration,
    setup: impl Fn() -> Option<S> + Sync,
    op: impl Fn(&mut S) -> bool + Sync,
) -> f64 {
    let barrier = std::sync::Barrier::new(threads);
    let counts: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let state = setup();
                    barrier.wait();
                    let Some(mut state) = state else {
                        return 0;
                    };
                    let end = Instant::now() + window;
                    let mut n = 0u64;
                    while Instant::now() < end && op(&mut state) {
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    counts.iter().sum::<u64>() as f64 / window.as_secs_f64()
}

/// The median of `v` (sorted in place); NaN when empty.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
