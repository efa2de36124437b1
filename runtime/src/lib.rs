//! The faasm runtime: loads artifacts, maps SFI linear memories, links
//! imports, instantiates modules and calls into WebAssembly, turning every
//! fault in compiled code into a [`Trap`].
//!
//! The public API is deliberately small and safe; `unsafe` lives in `sys/`
//! (memory mapping, code mapping, signal handling, the call trampoline), in
//! `vm/` (the instance context and builtins) and at the few places that
//! turn raw pointers from compiled code back into handles.
//!
//! How a call works: [`Func::call`] writes the arguments into 16-byte
//! slots, gives the callee's instance (and the instances it imports
//! functions from) the thread's stack limit, and enters the module's entry
//! trampoline through `faasm_enter`, which records where to resume. A fault
//! in compiled code (a recorded trap site, or a stack overflow into the
//! thread's guard page) is turned by the signal handler into a return from
//! that entry; faults anywhere else go to the previously installed handler.
//!
//! Lifetimes: handles are reference counted. An instance keeps alive
//! everything it imported; exported handles keep their instance alive;
//! tables and globals keep alive the owners of functions stored in them by
//! the host, and an imported funcref table keeps its importer alive (the
//! importer may store its functions there). Reference cycles leak.
//!
//! Threads: any handle may be used from any thread. One instance should not
//! run on two threads at once: the stack limit lives in the instance
//! context, so concurrent calls would share it (a stack overflow is then
//! still caught, by the guard page, but possibly reported early).

// The public API is what embedders build on: every item says what it is.
#![warn(missing_docs)]

mod budget;
mod call;
mod caller;
mod consts;
mod engine;
mod error;
mod frames;
mod func;
mod global;
mod host_value;
mod instance;
mod instantiate;
mod interrupt;
mod keepalive;
mod linker;
mod memory;
mod module;
mod objects;
mod profiling;
mod registry;
mod snapshot;
mod sys;
mod table;
mod typed;
mod types;
mod values;
mod vm;

pub use budget::{HostCharge, OverBudget};
pub use caller::Caller;
pub use engine::{Config, Engine};
pub use error::{Backtrace, Error, Frame, HostError, HostErrorKind, LinkError, Trap, TrapReason};
pub use faasm_abi::Features;
pub use faasm_abi::{
    ArtifactError, ArtifactKey, FuncType, GlobalType, MemoryStrategy, MemoryType, TableType,
    TrapKind, ValType,
};
pub use global::Global;
pub use instance::Instance;
pub use interrupt::InterruptHandle;
pub use linker::{InstanceOptions, Linker};
pub use memory::{Memory, MemoryAccessError};
pub use module::{ExternType, Module};
pub use objects::{Func, HostFn};
pub use profiling::{ProfilingStrategy, perf_map_path};
pub use snapshot::{MemoryParts, SnapRef, SnapValue, Snapshot, SnapshotParts};
pub use table::Table;
pub use typed::{IntoHostFunc, RawVal, WasmResults, WasmTy};
pub use values::{Extern, ExternRef, Val};
