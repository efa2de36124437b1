//! The contract between the compiler and the runtime.
//!
//! Everything that both sides must agree on lives here and only here: the
//! module metadata carried by an artifact ([`ModuleInfo`]), the artifact's
//! on-disk format ([`Artifact`]), the layout of the instance context that
//! compiled code addresses ([`VMOffsets`]), the runtime helper table
//! ([`Builtin`]) and the trap kinds ([`TrapKind`]).

mod artifact;
mod builtins;
mod features;
pub mod key;
mod module;
pub mod target;
mod trap;
mod validate;
mod vmctx;

pub use artifact::{
    ARTIFACT_MAGIC, Artifact, ArtifactError, CompiledFunc, MemoryStrategy, TrapSite, lookup_trap,
};
pub use builtins::{Builtin, BuiltinParam};
pub use features::{DEFAULT_COMPILE_TIME_LIMIT, Features};
pub use key::ArtifactKey;
pub use module::*;
pub use trap::TrapKind;
pub use vmctx::{
    HOST_CTX_DISPATCH, VMFUNCREF_CODE, VMFUNCREF_SIZE, VMFUNCREF_TYPE, VMFUNCREF_VMCTX, VMOffsets,
};

/// Size of a WebAssembly page.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Every value crossing the host boundary (arguments, results, globals) lives
/// in a 16-byte slot so that `v128` fits without a second layout.
pub const VALUE_SLOT_SIZE: u32 = 16;
