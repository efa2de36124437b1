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
    ARTIFACT_MAGIC, Artifact, ArtifactError, CompiledFunc, InlinedRange, MemoryStrategy, TrapSite,
    lookup_trap,
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

/// The most pages a 32-bit memory may ever have: one fewer than the
/// 65,536 (4 GiB) the spec allows, which it lets an implementation refuse.
/// The runtime enforces it on every memory (growth past it fails, a larger
/// minimum does not instantiate), and compiled code relies on it: an
/// address that was accessed without trapping is below
/// `2^32 - ADDRESS_FOLD_LIMIT`, so adding at most [`ADDRESS_FOLD_LIMIT`]
/// to it cannot wrap (see the compiler's `translate/addr_facts.rs`).
pub const MAX_MEMORY32_PAGES: u64 = 65535;

/// How far past an address known to be in bounds a wrapping 32-bit sum
/// may reach and still be computed in 64 bits: the room
/// [`MAX_MEMORY32_PAGES`] leaves below 4 GiB.
pub const ADDRESS_FOLD_LIMIT: u64 = (1 << 32) - MAX_MEMORY32_PAGES * WASM_PAGE_SIZE;
const _: () = assert!(ADDRESS_FOLD_LIMIT == WASM_PAGE_SIZE);

/// Inaccessible address space the runtime keeps directly below the base
/// of every guarded linear memory. Compiled code relies on it: a wrapping
/// sum `x - d` (with `0 < d <= MEMORY_LEAD_GUARD_BYTES`, accessed at static
/// offset 0) is computed as `base + zext(x) - d`. When `x >= d` that is the
/// wasm address; when `x < d` the wasm sum wraps to at least
/// `2^32 - d`, past every memory ([`MAX_MEMORY32_PAGES`]), and must trap,
/// which it does by faulting in this guard.
pub const MEMORY_LEAD_GUARD_BYTES: u64 = 64 << 10;

/// Every value crossing the host boundary (arguments, results, globals) lives
/// in a 16-byte slot so that `v128` fits without a second layout.
pub const VALUE_SLOT_SIZE: u32 = 16;
