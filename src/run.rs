//! Running one module the way a command line does: load it (binary wasm,
//! text wasm or a faasm artifact), link WASI, instantiate, call `_start` or
//! a named export, and report what happened.

use crate::values::{ParseValError, parse_val};
use faasm_abi::ArtifactError;
use faasm_hostif::threads::{self, ThreadSpawner, ThreadsConfig, ThreadsError};
use faasm_hostif::wasi::{self, WasiCtx};
use faasm_runtime::{Engine, Error, Extern, Func, LinkError, Linker, Module, Trap, Val};
use std::path::Path;

/// The guest of `faasm-run demo`: WebAssembly text, compiled at run time so
/// the binary carries no opaque blob and needs no guest toolchain.
pub const DEMO_WAT: &str = include_str!("../examples/demo.wat");

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot load {path}: {source}")]
    Load { path: String, source: Error },
    #[error(
        "cannot load {path}: neither a WebAssembly module nor a faasm artifact (unrecognised magic number)"
    )]
    UnknownFormat { path: String },
    #[error(
        "{path} is C/C++ source; compile it to WebAssembly first (clang --target=wasm32-wasi -o FILE.wasm {path}, see the README), then run the .wasm"
    )]
    Source { path: String },
    #[error("cannot read or create the installation's artifact key: {0}")]
    ArtifactKey(std::io::Error),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: invalid WebAssembly text: {message}")]
    Wat {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("bad WASI configuration: {0}")]
    Wasi(#[from] wasi::WasiCtxError),
    #[error("cannot instantiate: {0}")]
    Instantiate(Error),
    /// Faasm's host calls exist only for stored functions, where a call has
    /// an input, an output and state; `faasm-run FILE` runs plain WASI.
    #[error(
        "cannot instantiate: the module imports the Faasm call `env`.`{0}`, which only stored functions get; run it as a function: faasm-run upload USER/FUNC FILE, then faasm-run invoke USER/FUNC"
    )]
    NeedsFaasm(String),
    #[error("cannot set up wasi-threads: {0}")]
    Threads(#[from] ThreadsError),
    #[error("module has no export named `{0}`")]
    MissingExport(String),
    #[error("export `{0}` is not a function")]
    NotAFunction(String),
    #[error("module has no `_start` export; use --invoke NAME to call one of its functions")]
    NoStart,
    #[error("`{name}` takes {expected} argument(s), {given} given")]
    ArgCount {
        name: String,
        expected: usize,
        given: usize,
    },
    #[error("argument {index} of `{name}`: {source}")]
    BadArg {
        name: String,
        index: usize,
        source: ParseValError,
    },
    #[error("arguments to `{0}` must be valid UTF-8")]
    BadArgEncoding(String),
    /// Shown with its wasm backtrace.
    #[error("{0:#}")]
    Trap(Trap),
    #[error("calling `{name}`: {source}")]
    Call { name: String, source: Error },
}

/// How a run ended without an error.
#[derive(Debug)]
pub enum Outcome {
    /// The guest called `proc_exit` with this status.
    Exited(i32),
    /// The called function returned these values.
    Returned(Vec<Val>),
}

pub(crate) fn wat_to_wasm(text: &str, path: &str) -> Result<Vec<u8>, RunError> {
    let encoded = wast::parser::ParseBuffer::new(text)
        .and_then(|buf| wast::parser::parse::<wast::Wat>(&buf).and_then(|mut wat| wat.encode()));
    encoded.map_err(|e| {
        let (line, col) = e.span().linecol_in(text);
        RunError::Wat {
            path: path.to_string(),
            line: line + 1,
            col: col + 1,
            message: e.message(),
        }
    })
}

/// Loads `path`: a `.wat` file is parsed as text; anything else goes to
/// [`Module::from_file`], which tells binary wasm from an artifact by magic.
pub fn load_file(engine: &Engine, path: &Path) -> Result<Module, RunError> {
    let shown = path.display().to_string();
    if path.extension().is_some_and(|e| e == "wat") {
        let text = std::fs::read_to_string(path).map_err(|source| RunError::Read {
            path: shown.clone(),
            source,
        })?;
        let wasm = wat_to_wasm(&text, &shown)?;
        return Module::new_named(engine, &wasm, &module_name(path)).map_err(|source| {
            RunError::Load {
                path: shown,
                source,
            }
        });
    }
    Module::from_file(engine, path).map_err(|source| match source {
        // Neither magic matched: the runtime tried it as an artifact last,
        // but "bad artifact magic" would mislead for an arbitrary file.
        Error::Artifact(ArtifactError::BadMagic) if is_source(path) => {
            RunError::Source { path: shown }
        }
        Error::Artifact(ArtifactError::BadMagic) => RunError::UnknownFormat { path: shown },
        source => RunError::Load {
            path: shown,
            source,
        },
    })
}

/// As [`load_file`], with WebAssembly (text or binary) going through the
/// compile cache; anything else loads as without it.
pub fn load_file_cached(
    engine: &Engine,
    path: &Path,
    cache: &crate::cache::CompileCache,
) -> Result<Module, RunError> {
    let shown = path.display().to_string();
    let read_err = |source| RunError::Read {
        path: shown.clone(),
        source,
    };
    let wasm = if path.extension().is_some_and(|e| e == "wat") {
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        wat_to_wasm(&text, &shown)?
    } else {
        // Unreadable or not binary wasm: loaded (and reported) exactly as
        // without the cache.
        match std::fs::read(path) {
            Ok(bytes) if bytes.starts_with(b"\0asm") => bytes,
            _ => return load_file(engine, path),
        }
    };
    match cache.load_or_compile(engine, &wasm, Some(&module_name(path))) {
        Ok((module, _)) => Ok(module),
        Err(source) => Err(RunError::Load {
            path: shown,
            source,
        }),
    }
}

/// What profilers call the module in `path`: the file's stem (as
/// [`Module::from_file`] names it).
fn module_name(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "module".into(), |s| s.to_string_lossy().into_owned())
}

/// A C or C++ source file by its name: the usual mix-up of a newcomer who
/// has not compiled yet.
pub(crate) fn is_source(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    ["c", "cc", "cpp", "cxx", "h", "hpp"].contains(&ext)
}

/// The embedded demo guest.
pub fn load_demo(engine: &Engine) -> Result<Module, RunError> {
    let wasm = wat_to_wasm(DEMO_WAT, "demo.wat")?;
    Module::new_named(engine, &wasm, "demo").map_err(|source| RunError::Load {
        path: "demo".to_string(),
        source,
    })
}

/// Exit traps are how `proc_exit` ends a run; any other error stays one.
fn exit_or(err: Error, wrap: impl FnOnce(Error) -> RunError) -> Result<Outcome, RunError> {
    match err {
        Error::Trap(t) => match t.exit_status() {
            Some(status) => Ok(Outcome::Exited(status)),
            None => Err(RunError::Trap(t)),
        },
        other => Err(wrap(other)),
    }
}

fn export_func(instance: &faasm_runtime::Instance, name: &str) -> Result<Func, RunError> {
    match instance.get_export(name) {
        Some(Extern::Func(f)) => Ok(f),
        Some(_) => Err(RunError::NotAFunction(name.to_string())),
        None => Err(RunError::MissingExport(name.to_string())),
    }
}

/// Instantiates `module` with WASI from `ctx` and runs it: `_start` when
/// `invoke` is `None`, else the named export with `args` parsed per its
/// parameter types (after the WASI reactor initialiser `_initialize`, if the
/// module has one).
pub fn run(
    engine: &Engine,
    module: &Module,
    ctx: WasiCtx,
    invoke: Option<(&str, &[String])>,
) -> Result<Outcome, RunError> {
    let mut linker = Linker::new(engine);
    wasi::add_to_linker(&mut linker, ctx);
    // A wasi-threads guest imports its shared memory and spawns threads
    // that instantiate it again (faasm_hostif::threads); its main function
    // runs on a host thread of its own so that an exit or trap in any
    // thread ends the run at once.
    let spawner = threads::wants_threads(module)
        .then(|| ThreadSpawner::link(&mut linker, module, ThreadsConfig::default()))
        .transpose()?;
    let instantiated = match &spawner {
        Some(s) => s.instantiate(&linker),
        None => linker.instantiate(module),
    };
    let instance = match instantiated {
        Ok(instance) => instance,
        Err(e) => {
            return exit_or(e, |e| match e {
                Error::Link(LinkError::Missing { module, name })
                    if module == "env" && name.starts_with("__faasm_") =>
                {
                    RunError::NeedsFaasm(name)
                }
                e => RunError::Instantiate(e),
            });
        }
    };
    let (name, args) = match invoke {
        None => {
            if instance.get_export("_start").is_none() {
                return Err(RunError::NoStart);
            }
            ("_start", &[][..])
        }
        Some((name, args)) => {
            // Check the target before initialising, so a typo costs nothing.
            export_func(&instance, name)?;
            if let Ok(init) = export_func(&instance, "_initialize")
                && let Err(e) = init.call(&[])
            {
                return exit_or(e, |source| RunError::Call {
                    name: "_initialize".to_string(),
                    source,
                });
            }
            (name, args)
        }
    };
    let func = export_func(&instance, name)?;
    let ty = func.ty();
    if ty.params.len() != args.len() {
        return Err(RunError::ArgCount {
            name: name.to_string(),
            expected: ty.params.len(),
            given: args.len(),
        });
    }
    let values = args
        .iter()
        .zip(&ty.params)
        .enumerate()
        .map(|(i, (text, &t))| {
            parse_val(text, t).map_err(|source| RunError::BadArg {
                name: name.to_string(),
                index: i + 1,
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let called = match &spawner {
        Some(s) => {
            let main = func.clone();
            s.run_main(move || main.call(&values))
        }
        None => func.call(&values),
    };
    match called {
        Ok(results) => Ok(Outcome::Returned(results)),
        Err(e) => exit_or(e, |source| RunError::Call {
            name: name.to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_text_is_valid() {
        let wasm = wat_to_wasm(DEMO_WAT, "demo.wat").unwrap();
        assert_eq!(&wasm[..4], b"\0asm");
    }

    #[test]
    fn wat_errors_point_at_the_line() {
        let err = wat_to_wasm("(module\n  (func (result i32) (i32.const)))", "x.wat").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x.wat:2:"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
