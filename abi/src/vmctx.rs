//! Layout of the instance context (`vmctx`), the block of memory every
//! compiled function receives as its first argument.
//!
//! ```text
//! 0   stack_limit      usize   lowest stack address wasm may use
//! 8   interrupt        u64     non-zero: interrupted (see runtime/src/interrupt.rs)
//! 16  builtins         *const  table of runtime helpers (see `Builtin`)
//! 24  type_ids         *const u32, canonical signature id per module type
//! 32  instance         *const  the runtime's instance (opaque to code)
//! 40  (reserved)
//! 48  funcrefs         [VMFuncRef; num_funcs]     {code, vmctx, type_id}
//!     memories         [*mut VMMemoryDefinition; num_memories]
//!     tables           [*mut VMTableDefinition; num_tables]
//!     globals          [*mut VMGlobal (16 bytes); num_globals]
//!     defined memories [VMMemoryDefinition {base, length}; num_defined]
//!     defined tables   [VMTableDefinition {base, length}; num_defined]
//!     defined globals  [16 bytes; num_defined], 16-aligned
//! ```
//!
//! Memories, tables and globals are always reached through a pointer so that
//! imported and defined entities share one code path; the pointers never
//! change after instantiation, so the compiler marks those loads read-only
//! and Cranelift hoists them.

use crate::ModuleInfo;

/// `VMFuncRef` is `{ code: *const u8, vmctx: *mut u8, type_id: u32 }`.
pub const VMFUNCREF_CODE: u32 = 0;
pub const VMFUNCREF_VMCTX: u32 = 8;
pub const VMFUNCREF_TYPE: u32 = 16;
pub const VMFUNCREF_SIZE: u32 = 24;

/// Offset in a runtime `HostFuncCtx` (what a host trampoline receives as its
/// callee vmctx) of the dispatcher `extern "C" fn(host_ctx, caller_vmctx,
/// values: *mut [u8; 16]) -> u32`; non-zero means the host function failed.
pub const HOST_CTX_DISPATCH: u32 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMOffsets {
    pub num_funcs: u32,
    pub num_memories: u32,
    pub num_tables: u32,
    pub num_globals: u32,
    pub num_defined_memories: u32,
    pub num_defined_tables: u32,
    pub num_defined_globals: u32,
}

impl VMOffsets {
    pub const STACK_LIMIT: u32 = 0;
    pub const INTERRUPT: u32 = 8;
    pub const BUILTINS: u32 = 16;
    pub const TYPE_IDS: u32 = 24;
    pub const INSTANCE: u32 = 32;
    const HEADER: u32 = 48;

    /// `VMMemoryDefinition` and `VMTableDefinition` are `{ base, length }`:
    /// memory length in bytes, table length in elements.
    pub const DEF_BASE: u32 = 0;
    pub const DEF_LENGTH: u32 = 8;
    pub const DEF_SIZE: u32 = 16;

    pub fn new(info: &ModuleInfo) -> Self {
        VMOffsets {
            num_funcs: info.funcs.len() as u32,
            num_memories: info.memories.len() as u32,
            num_tables: info.tables.len() as u32,
            num_globals: info.globals.len() as u32,
            num_defined_memories: info.memories.len() as u32 - info.num_imported_memories,
            num_defined_tables: info.tables.len() as u32 - info.num_imported_tables,
            num_defined_globals: info.globals.len() as u32 - info.num_imported_globals,
        }
    }

    pub fn funcref(&self, func: u32) -> u32 {
        Self::HEADER + func * VMFUNCREF_SIZE
    }

    /// Slot holding a pointer to memory `index`'s definition.
    pub fn memory_ptr(&self, index: u32) -> u32 {
        self.funcref(self.num_funcs) + index * 8
    }

    pub fn table_ptr(&self, index: u32) -> u32 {
        self.memory_ptr(self.num_memories) + index * 8
    }

    pub fn global_ptr(&self, index: u32) -> u32 {
        self.table_ptr(self.num_tables) + index * 8
    }

    pub fn defined_memory(&self, defined_index: u32) -> u32 {
        self.global_ptr(self.num_globals) + defined_index * Self::DEF_SIZE
    }

    pub fn defined_table(&self, defined_index: u32) -> u32 {
        self.defined_memory(self.num_defined_memories) + defined_index * Self::DEF_SIZE
    }

    pub fn defined_global(&self, defined_index: u32) -> u32 {
        let start = self.defined_table(self.num_defined_tables);
        start.next_multiple_of(16) + defined_index * 16
    }

    /// Total size of the context in bytes.
    pub fn size(&self) -> u32 {
        self.defined_global(self.num_defined_globals)
    }
}
