//! The faasm runtime: loads artifacts, maps SFI linear memories, links
//! imports, instantiates modules and calls into WebAssembly, turning every
//! fault in compiled code into a [`Trap`].
//!
//! The public API is deliberately small and safe; `unsafe` lives in `sys/`
//! (memory mapping, code mapping, signal handling, the call trampoline) and in
//! `vm/` (the instance context).

mod call;
mod consts;
mod engine;
mod error;
mod func;
mod global;
mod host_value;
mod instance;
mod instantiate;
mod keepalive;
mod linker;
mod memory;
mod module;
mod registry;
mod sys;
mod table;
mod types;
mod values;
mod vm;

pub use engine::{Config, Engine};
pub use error::{Error, LinkError, Trap, TrapReason};
pub use faasm_abi::{
    FuncType, GlobalType, MemoryStrategy, MemoryType, TableType, TrapKind, ValType,
};
pub use faasm_compiler::Features;
pub use func::HostFn;
pub use func::{Caller, Func};
pub use global::Global;
pub use instance::{Instance, InterruptHandle};
pub use linker::Linker;
pub use memory::{Memory, MemoryAccessError};
pub use module::{ExternType, Module};
pub use table::Table;
pub use values::{Extern, ExternRef, Val};
