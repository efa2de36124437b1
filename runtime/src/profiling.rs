//! Naming compiled wasm for profilers outside the process. With
//! [`ProfilingStrategy::PerfMap`], the code of every module an engine
//! loads is described in `/tmp/perf-<pid>.map`, the file Linux `perf`
//! reads to name samples in code that has no symbol table (its "JIT
//! interface"): one line per function, `START SIZE NAME`, START and SIZE
//! in lowercase hex without a prefix.
//!
//! Functions are named `wasm[MODULE]::NAME`: NAME from the module's name
//! section, `func[INDEX]` (the wasm function index) without one; the
//! trampolines between the host and wasm are
//! `wasm[MODULE]::entry_trampoline[TYPE]` and
//! `wasm[MODULE]::host_trampoline[TYPE]`. MODULE is the name the embedder
//! loaded the module under ([`crate::Module::new_named`], the file stem
//! for [`crate::Module::from_file`]), else the name section's module name,
//! else `module`.
//!
//! The file is opened once per process, for appending, and each module's
//! lines are written whole under a lock, so modules loaded on several
//! threads never interleave. Lines are never removed: once a module is
//! dropped, its range may be reused by a later module, whose lines then
//! follow in the file (perf has the same limitation with every JIT).

use crate::registry::ModuleCode;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Mutex;

/// How an engine's code is made visible to profilers
/// ([`crate::Config::profiling`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProfilingStrategy {
    /// Nothing is written.
    #[default]
    None,
    /// Every loaded module's functions are appended to
    /// `/tmp/perf-<pid>.map` ([`perf_map_path`]) for `perf report`.
    PerfMap,
}

/// The perf map of process `pid`: `/tmp/perf-<pid>.map`.
pub fn perf_map_path(pid: u32) -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{pid}.map"))
}

/// This process's perf map, opened on first use.
static PERF_MAP: Mutex<Option<File>> = Mutex::new(None);

/// Appends the lines describing `code` to this process's perf map.
pub(crate) fn write_perf_map(code: &ModuleCode, module_name: Option<&str>) -> io::Result<()> {
    let name = module_name
        .or(code.artifact.info.module_name.as_deref())
        .unwrap_or("module");
    let lines = perf_map_lines(code.code.base() as usize, code, name);
    if lines.is_empty() {
        return Ok(());
    }
    let mut file = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if file.is_none() {
        *file = Some(
            File::options()
                .append(true)
                .create(true)
                .open(perf_map_path(std::process::id()))?,
        );
    }
    let file = file.as_mut().expect("opened above");
    // One buffer, so the module's lines reach the file together (with
    // O_APPEND, also next to other writers of the same file).
    file.write_all(lines.as_bytes())
}

/// The perf map lines of a module whose text starts at `base`.
fn perf_map_lines(base: usize, code: &ModuleCode, module: &str) -> String {
    let artifact = &code.artifact;
    let info = &artifact.info;
    let module = printable(module);
    // (offset, explicit length if known, name), sorted by offset; a
    // trampoline ends where the next piece (or the text) starts.
    let mut pieces: Vec<(u32, Option<u32>, String)> = Vec::new();
    for (i, f) in artifact.funcs.iter().enumerate() {
        let index = info.num_imported_funcs + i as u32;
        let name = match info.func_name(index) {
            Some(n) => printable(n),
            None => format!("func[{index}]"),
        };
        pieces.push((f.offset, Some(f.len), name));
    }
    for (kind, list) in [
        ("entry_trampoline", &artifact.entry_trampolines),
        ("host_trampoline", &artifact.host_trampolines),
    ] {
        for (ty, offset) in list {
            pieces.push((*offset, None, format!("{kind}[{ty}]")));
        }
    }
    pieces.sort_by_key(|p| p.0);
    let text_len = code.code.len() as u32;
    let mut out = String::new();
    for (i, (offset, len, name)) in pieces.iter().enumerate() {
        let end = pieces.get(i + 1).map_or(text_len, |next| next.0);
        let size = len.unwrap_or(end.saturating_sub(*offset));
        if size == 0 {
            continue;
        }
        let start = base + *offset as usize;
        out.push_str(&format!("{start:x} {size:x} wasm[{module}]::{name}\n"));
    }
    out
}

/// `name` with control characters (a newline would end the line early)
/// replaced by `?`.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use super::*;
    use crate::{Config, Engine, Module};

    /// Two named functions in a loop-free module, plus one without a name.
    const SRC: &str = r#"(module $from_name_section
      (func $alpha (export "alpha") (param i32) (result i32)
        (i32.mul (local.get 0) (local.get 0)))
      (func $beta (export "beta") (param i32) (result i32)
        (i32.add (call $alpha (local.get 0)) (i32.const 1)))
      (func (export "anon")))"#;

    /// A name no other test (or earlier run) writes into the map.
    fn unique(what: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("{what}-{}-{nanos}", std::process::id())
    }

    /// This process's map lines for module `module`, parsed.
    fn lines_of(module: &str) -> Vec<(usize, usize, String)> {
        let text = std::fs::read_to_string(perf_map_path(std::process::id())).unwrap_or_default();
        let prefix = format!("wasm[{module}]::");
        text.lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ' ');
                let start = parts.next()?;
                let size = parts.next()?;
                let name = parts.next()?;
                let func = name.strip_prefix(&prefix)?;
                let hex = |s: &str| {
                    assert!(!s.starts_with("0x"), "{line:?}");
                    usize::from_str_radix(s, 16).unwrap_or_else(|e| panic!("{line:?}: {e}"))
                };
                Some((hex(start), hex(size), func.to_string()))
            })
            .collect()
    }

    /// One test for everything that touches this process's map, so the
    /// file is removed only once nothing else of ours writes to it.
    #[test]
    fn perf_map_names_every_function_at_its_address() {
        let wasm = faasm_testutil::wat(SRC);
        let perf = Engine::new(Config {
            profiling: ProfilingStrategy::PerfMap,
            ..Config::default()
        });

        // Named by the embedder.
        let name = unique("perfmap-test");
        let module = Module::new_named(&perf, &wasm, &name).unwrap();
        let lines = lines_of(&name);
        let find = |func: &str| {
            let hits: Vec<_> = lines.iter().filter(|l| l.2 == func).collect();
            assert_eq!(hits.len(), 1, "{func} in {lines:#?}");
            (hits[0].0, hits[0].1)
        };
        for (defined, func) in [(0, "alpha"), (1, "beta"), (2, "func[2]")] {
            let (start, size) = find(func);
            // The range is exactly the function's code as loaded.
            assert_eq!(start, module.func_code(defined) as usize, "{func}");
            assert_eq!(size, module.artifact().funcs[defined as usize].len as usize);
            assert!(size > 0);
            let code = module.code();
            assert_eq!(code.func_index_at(start), Some(defined));
            assert_eq!(code.func_index_at(start + size - 1), Some(defined));
        }
        // Trampolines too, and no two ranges overlap.
        assert!(lines.iter().any(|l| l.2.starts_with("entry_trampoline[")));
        let mut ranges: Vec<_> = lines.iter().map(|l| (l.0, l.0 + l.1)).collect();
        ranges.sort();
        assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0), "{lines:#?}");
        let (text_start, text_end) = module.code().code.range();
        assert!(ranges.iter().all(|r| text_start <= r.0 && r.1 <= text_end));

        // Without the embedder's name: the name section's.
        let from_section = Module::new(&perf, &wasm).unwrap();
        let section_lines = lines_of("from_name_section");
        let base = from_section.code().code.base() as usize;
        assert!(
            section_lines
                .iter()
                .any(|l| l.2 == "beta" && l.0 == from_section.func_code(1) as usize),
            "{section_lines:#?} (text at {base:x})"
        );

        // Without profiling, nothing is written for the module.
        let quiet = unique("perfmap-off");
        let _m = Module::new_named(&Engine::default(), &wasm, &quiet).unwrap();
        assert_eq!(lines_of(&quiet), vec![]);
        assert!(!lines_of(&name).is_empty());

        let _ = std::fs::remove_file(perf_map_path(std::process::id()));
    }

    #[test]
    fn names_cannot_break_lines() {
        assert_eq!(printable("a\nb\r\0c d"), "a?b??c d");
    }
}
