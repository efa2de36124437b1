//! Errors and traps: [`Error`] for everything the runtime refuses,
//! [`Trap`] for a computation that stopped (wasm trap, host error, exit),
//! with the function it stopped in and its wasm [`Backtrace`].

use faasm_abi::{ArtifactError, TrapKind};
use thiserror::Error;

/// Why a wasm computation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapReason {
    /// A trap raised by WebAssembly semantics (or a timeout).
    Wasm(TrapKind),
    /// A host function failed.
    Host(HostError),
    /// The guest asked to exit (WASI `proc_exit`) with this status.
    Exit(i32),
}

/// Why a host function failed: a kind the embedder can act on, and the
/// message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    /// What the embedder may act on.
    pub kind: HostErrorKind,
    /// What went wrong, for people (the host call's name first).
    pub message: String,
}

/// The kinds of host failure an embedder tells apart (e.g. a timeout is
/// reported differently from a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostErrorKind {
    /// Anything else (a bad guest pointer, a failed operation, ...).
    Failed,
    /// A blocking host call reached the call's deadline: a timeout.
    DeadlinePassed,
    /// The guest reached one of its limits (output, state, calls, ...).
    LimitExceeded,
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A trap, with the wasm function it happened in when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// Why execution stopped.
    pub reason: TrapReason,
    /// Index of the wasm function that was executing.
    pub func_index: Option<u32>,
    /// Its name from the name section, if any.
    pub func_name: Option<String>,
    /// The wasm frames active at the trap, innermost first (empty when the
    /// trap did not come from compiled code). Printed by the alternate
    /// form, `{:#}`. Boxed: errors carrying a trap stay small.
    pub backtrace: Box<Backtrace>,
}

/// One wasm function active at a trap or host call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The function's index in the module (imports first).
    pub func_index: u32,
    /// Its name from the name section, if any.
    pub func_name: Option<String>,
    /// The compiler copied this function into the next frame's (so it has
    /// no stack frame of its own).
    pub inlined: bool,
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.func_name {
            Some(n) => write!(f, "`{n}` (function {})", self.func_index)?,
            None => write!(f, "function {}", self.func_index)?,
        }
        if self.inlined {
            f.write_str(", inlined")?;
        }
        Ok(())
    }
}

/// The wasm frames of a stack, innermost first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backtrace {
    /// The frames kept, innermost first.
    pub frames: Vec<Frame>,
    /// The stack was deeper than the frames kept.
    pub truncated: bool,
}

impl std::fmt::Display for Backtrace {
    /// One line per frame, numbered from the innermost.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wasm backtrace:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            write!(f, "\n  {i:>2}: {frame}")?;
        }
        if self.truncated {
            f.write_str("\n      ... (deeper frames not kept)")?;
        }
        Ok(())
    }
}

impl Trap {
    /// A wasm trap of this kind, not yet placed in a function.
    pub fn new(kind: TrapKind) -> Trap {
        Trap {
            reason: TrapReason::Wasm(kind),
            func_index: None,
            func_name: None,
            backtrace: Box::default(),
        }
    }

    /// A host function's failure ([`HostErrorKind::Failed`]).
    pub fn host(message: impl Into<String>) -> Trap {
        Trap::host_error(HostErrorKind::Failed, message)
    }

    /// A host failure of a given kind.
    pub fn host_error(kind: HostErrorKind, message: impl Into<String>) -> Trap {
        Trap {
            reason: TrapReason::Host(HostError {
                kind,
                message: message.into(),
            }),
            func_index: None,
            func_name: None,
            backtrace: Box::default(),
        }
    }

    /// The host failure's kind, if this is one.
    pub fn host_kind(&self) -> Option<HostErrorKind> {
        match &self.reason {
            TrapReason::Host(h) => Some(h.kind),
            _ => None,
        }
    }

    /// The guest exits with `status` (WASI `proc_exit`): unwinds the call
    /// like a trap, but is an ordinary end.
    pub fn exit(status: i32) -> Trap {
        Trap {
            reason: TrapReason::Exit(status),
            func_index: None,
            func_name: None,
            backtrace: Box::default(),
        }
    }

    /// The wasm trap kind, if this is one.
    pub fn kind(&self) -> Option<TrapKind> {
        match self.reason {
            TrapReason::Wasm(k) => Some(k),
            _ => None,
        }
    }

    /// The exit status, if the guest exited.
    pub fn exit_status(&self) -> Option<i32> {
        match self.reason {
            TrapReason::Exit(s) => Some(s),
            _ => None,
        }
    }
}

impl std::fmt::Display for Trap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.reason {
            TrapReason::Wasm(k) => write!(f, "wasm trap: {k}")?,
            TrapReason::Host(m) => write!(f, "host error: {m}")?,
            TrapReason::Exit(s) => return write!(f, "exited with status {s}"),
        }
        match (self.func_index, &self.func_name) {
            (Some(i), Some(n)) => write!(f, " (in function {i} `{n}`)")?,
            (Some(i), None) => write!(f, " (in function {i})")?,
            _ => {}
        }
        if f.alternate() && !self.backtrace.frames.is_empty() {
            write!(f, "\n{}", self.backtrace)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

/// Imports that cannot be satisfied.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Nothing is defined under the import's name.
    #[error("unknown import: `{module}`.`{name}` is not defined")]
    Missing {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
    },
    /// The definition's type is not the one the module imports.
    #[error("incompatible import type for `{module}`.`{name}`: expected {expected}, found {found}")]
    Incompatible {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// The type the module imports.
        expected: String,
        /// The type of what is defined.
        found: String,
    },
}

/// Everything the runtime's operations can fail with.
#[derive(Debug, Error)]
pub enum Error {
    /// The module is invalid or could not be compiled.
    #[cfg(feature = "compiler")]
    #[error(transparent)]
    Compile(#[from] faasm_compiler::CompileError),
    /// WebAssembly given to a runtime built without the compiler.
    #[cfg(not(feature = "compiler"))]
    #[error(
        "this runtime was built without the compiler (feature `compiler`): \
         it loads only compiled artifacts (*.faasm)"
    )]
    NoCompiler,
    /// An artifact was refused (corrupt, from another version, target or
    /// installation).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// An import cannot be satisfied.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Wasm code trapped, a host function failed, or the guest exited.
    #[error(transparent)]
    Trap(#[from] Trap),
    /// A host-side call was malformed: wrong argument count or types,
    /// unknown export, value of the wrong type for a global or table.
    #[error("{0}")]
    Usage(String),
    /// The operating system refused memory or mappings.
    #[error("out of resources: {0}")]
    Resource(String),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
