//! `faasmc`: compiles WebAssembly ahead of time into faasm artifacts, and
//! describes existing artifacts.
//!
//! Every failure is one line on stderr, `faasmc: error: ...`, and exit code
//! 1 (2 for command-line usage errors): the tool runs in build pipelines
//! where a panic or a multi-line dump would bury the cause. Only `faasmc`
//! with no arguments prints its usage, as a newcomer's first try.

use clap::{Parser, Subcommand, ValueEnum};
use faasm_abi::{ExportKind, MemoryStrategy};
use faasm_compiler::{Artifact, CompileConfig, Timings};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "faasmc",
    version,
    about = "Ahead-of-time WebAssembly compiler for faasm"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate and compile a module (`.wasm`, or `.wat` text) to an artifact.
    Compile {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Print where compile time went.
        #[arg(long)]
        timings: bool,
        /// Check every memory access explicitly instead of relying on guard
        /// pages (no guard region is reserved).
        #[arg(long)]
        explicit_bounds: bool,
        /// Guard region after each memory (suffixes K, M, G).
        #[arg(long, conflicts_with = "explicit_bounds", value_parser = parse_size)]
        guard: Option<u64>,
        /// Poll the interrupt word at loop headers and function entries
        /// (not needed for timeouts: the runtime stops code with a signal).
        #[arg(long)]
        poll_interrupts: bool,
        #[arg(long, value_enum, default_value_t = OptLevel::Speed)]
        opt_level: OptLevel,
        /// Compile functions on one thread.
        #[arg(long)]
        sequential: bool,
        /// Do not copy small functions into their direct callers.
        #[arg(long)]
        no_inline: bool,
    },
    /// Describe an artifact.
    Info { artifact: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum OptLevel {
    None,
    Speed,
    SpeedAndSize,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help, --version; and no arguments at all, where the usage is
        // the answer (clap prints it to stderr and exits 2).
        Err(e)
            if !e.use_stderr()
                || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            e.exit()
        }
        Err(e) => {
            // Clap's message is the error, maybe continued on indented
            // lines, then a usage block; keep the error part.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            return fail_with(format!("{message} (see faasmc --help)"), EXIT_USAGE);
        }
    };
    let result = match cli.command {
        Command::Compile {
            input,
            output,
            timings,
            explicit_bounds,
            guard,
            poll_interrupts,
            opt_level,
            sequential,
            no_inline,
        } => {
            let memory_strategy = if explicit_bounds {
                MemoryStrategy::Explicit
            } else {
                match guard {
                    Some(guard_bytes) => MemoryStrategy::Guarded { guard_bytes },
                    None => MemoryStrategy::default(),
                }
            };
            let config = CompileConfig {
                memory_strategy,
                poll_interrupts,
                parallel: !sequential,
                inline: !no_inline,
                opt_level: match opt_level {
                    OptLevel::None => "none",
                    OptLevel::Speed => "speed",
                    OptLevel::SpeedAndSize => "speed_and_size",
                },
                ..CompileConfig::default()
            };
            compile(&input, &output, &config, timings)
        }
        Command::Info { artifact } => info(&artifact),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

/// Exit status for command-line usage errors, as faasm-run's.
const EXIT_USAGE: u8 = 2;

fn fail(message: String) -> ExitCode {
    fail_with(message, 1)
}

fn fail_with(message: String, code: u8) -> ExitCode {
    // Messages from deeper layers may span lines; keep the promise of one.
    let one_line = message.split('\n').map(str::trim).filter(|l| !l.is_empty());
    eprintln!("faasmc: error: {}", one_line.collect::<Vec<_>>().join("; "));
    ExitCode::from(code)
}

/// What a file given to `compile` is when it is not WebAssembly, so the
/// error names the mix-up instead of showing wasmparser's magic bytes.
fn not_wasm(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(faasm_abi::ARTIFACT_MAGIC) {
        "it is already a faasm artifact (compile the .wasm it came from)"
    } else if bytes.starts_with(b"\x7fELF") {
        "it is an ELF native binary (compile to wasm32, e.g. clang --target=wasm32-wasi)"
    } else if bytes.is_empty() {
        "it is empty"
    } else if std::str::from_utf8(bytes).is_ok() {
        "it is text (source code? compile it to .wasm first; WebAssembly text must be named .wat)"
    } else {
        "it does not start with the WebAssembly magic number"
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn compile(
    input: &Path,
    output: &Path,
    config: &CompileConfig,
    timings: bool,
) -> Result<(), String> {
    let mut wasm = read(input)?;
    if input.extension().is_some_and(|e| e == "wat") {
        wasm = wat_to_wasm(input, &wasm)?;
    } else if !wasm.starts_with(b"\0asm") {
        return Err(format!(
            "{}: not a WebAssembly module: {}",
            input.display(),
            not_wasm(&wasm)
        ));
    }
    let (artifact, t) = faasm_compiler::compile_with_timings(&wasm, config)
        .map_err(|e| format!("{}: {e}", input.display()))?;
    let bytes = artifact.serialize(&installation_key()?);
    // Write then rename, so a failed or interrupted compile never leaves a
    // truncated artifact where a good one is expected.
    let tmp = output.with_extension("faasm.tmp");
    std::fs::write(&tmp, &bytes)
        .and_then(|()| std::fs::rename(&tmp, output))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", output.display())
        })?;
    if timings {
        print_timings(wasm.len(), artifact.funcs.len(), &t);
    }
    Ok(())
}

fn wat_to_wasm(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("{}: not UTF-8 text: {e}", path.display()))?;
    let wat_err = |e: wast::Error| {
        let (line, col) = e.span().linecol_in(text);
        format!(
            "{}:{}:{}: {}",
            path.display(),
            line + 1,
            col + 1,
            e.message()
        )
    };
    let buf = wast::parser::ParseBuffer::new(text).map_err(wat_err)?;
    let mut wat: wast::Wat = wast::parser::parse(&buf).map_err(wat_err)?;
    wat.encode().map_err(wat_err)
}

fn print_timings(wasm_len: usize, funcs: usize, t: &Timings) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let mb = wasm_len as f64 / 1e6;
    println!("functions:   {funcs}");
    println!("validation:  {:9.2} ms", ms(t.validation));
    println!(
        "translation: {:9.2} ms (summed over threads)",
        ms(t.translation)
    );
    println!(
        "codegen:     {:9.2} ms (summed over threads)",
        ms(t.codegen)
    );
    println!(
        "total:       {:9.2} ms  ({:.2} MB of wasm, {:.2} MB/s)",
        ms(t.total),
        mb,
        mb / t.total.as_secs_f64().max(1e-9)
    );
}

/// The key artifacts are tagged with: the installation's, under
/// `$FAASM_HOME` (default `~/.faasm`), which `faasm-run` checks.
fn installation_key() -> Result<faasm_abi::ArtifactKey, String> {
    faasm_abi::ArtifactKey::installation()
        .map_err(|e| format!("cannot read or create the installation's artifact key: {e}"))
}

fn info(path: &Path) -> Result<(), String> {
    let bytes = read(path)?;
    let a = Artifact::deserialize(&bytes, &installation_key()?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let i = &a.info;
    println!("compiler:   {}", a.compiler_version);
    println!("target:     {}", a.target);
    let here = faasm_compiler::host_target();
    match a.check_compat(&faasm_compiler::version(), &here) {
        Ok(()) => println!("loadable:   yes, on this machine"),
        Err(e) => println!("loadable:   no: {e}"),
    }
    match a.memory_strategy {
        MemoryStrategy::Guarded { guard_bytes } => {
            println!("memory:     guard pages ({} guard)", size(guard_bytes))
        }
        MemoryStrategy::Explicit => println!("memory:     explicit bounds checks"),
    }
    println!(
        "interrupt:  {}",
        if a.poll_interrupts {
            "polled at loop headers (and by signal)"
        } else {
            "by signal"
        }
    );
    println!("text:       {} bytes", a.text.len());
    println!(
        "functions:  {} defined, {} imported",
        a.funcs.len(),
        i.num_imported_funcs
    );
    let inlined: std::collections::BTreeSet<u32> = a.inlined.iter().map(|r| r.func_index).collect();
    println!(
        "inlined:    {} function(s) copied into callers, {} range(s)",
        inlined.len(),
        a.inlined.len()
    );
    println!("types:      {}", i.types.len());
    println!(
        "memories:   {} ({} imported)",
        i.memories.len(),
        i.num_imported_memories
    );
    println!(
        "tables:     {} ({} imported)",
        i.tables.len(),
        i.num_imported_tables
    );
    println!(
        "globals:    {} ({} imported)",
        i.globals.len(),
        i.num_imported_globals
    );
    println!(
        "segments:   {} data, {} element",
        i.data.len(),
        i.elems.len()
    );
    println!("trap sites: {}", a.traps.len());
    println!(
        "trampolines: {} entry, {} host",
        a.entry_trampolines.len(),
        a.host_trampolines.len()
    );
    for imp in &i.imports {
        println!("import:     {}::{} {:?}", imp.module, imp.name, imp.ty);
    }
    for e in &i.exports {
        let what = match e.kind {
            ExportKind::Func => {
                // Looked up defensively: `info` must describe any file.
                let ty = i
                    .funcs
                    .get(e.index as usize)
                    .and_then(|t| i.types.get(*t as usize));
                let ty = ty.map(|t| t.to_string()).unwrap_or_default();
                format!("func {} {ty}", e.index)
            }
            ExportKind::Table => format!("table {}", e.index),
            ExportKind::Memory => format!("memory {}", e.index),
            ExportKind::Global => format!("global {}", e.index),
        };
        println!("export:     {:?} {what}", e.name);
    }
    Ok(())
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Parses `65536`, `64K`, `32M` or `4G` (binary multiples).
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 10),
        Some((i, 'm' | 'M')) => (&s[..i], 20),
        Some((i, 'g' | 'G')) => (&s[..i], 30),
        _ => (s, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size (expected e.g. 65536, 64K, 32M or 4G)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}
