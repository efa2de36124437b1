//! Allocation of, and typed access to, an instance context laid out per
//! `faasm_abi::VMOffsets`. All access is through raw pointers: compiled code
//! reads and writes the same bytes behind Rust's back.

use super::{VMDefinition, VMFuncRef};
use faasm_abi::VMOffsets;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub(crate) struct VMContext {
    ptr: NonNull<u8>,
    layout: Layout,
    offsets: VMOffsets,
}

// SAFETY: the context is plain memory; fields that may be touched from other
// threads (interrupt, stack limit) are accessed atomically, the rest is
// written during instantiation only.
unsafe impl Send for VMContext {}
// SAFETY: as above.
unsafe impl Sync for VMContext {}

impl VMContext {
    pub fn new(offsets: VMOffsets) -> VMContext {
        let layout = Layout::from_size_align(offsets.size() as usize, 16).expect("vmctx layout");
        // SAFETY: the layout has non-zero size (the header alone is 48 bytes).
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        VMContext {
            ptr,
            layout,
            offsets,
        }
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Pointer to the field at `offset`, checked to be inside the context.
    fn field<T>(&self, offset: u32) -> *mut T {
        assert!(offset as usize + std::mem::size_of::<T>() <= self.layout.size());
        // SAFETY: in bounds (checked above).
        unsafe { self.as_ptr().add(offset as usize).cast() }
    }

    fn write<T>(&self, offset: u32, value: T) {
        // SAFETY: `field` checks bounds; every field offset in VMOffsets is
        // naturally aligned for its type and the block is 16-aligned.
        unsafe { self.field::<T>(offset).write(value) }
    }

    fn read<T: Copy>(&self, offset: u32) -> T {
        // SAFETY: as in `write`.
        unsafe { self.field::<T>(offset).read() }
    }

    pub fn set_stack_limit(&self, limit: usize) {
        // SAFETY: aligned, in bounds, and only ever accessed atomically from
        // Rust (compiled code reads it with plain loads on this thread).
        unsafe { AtomicUsize::from_ptr(self.field(VMOffsets::STACK_LIMIT)) }
            .store(limit, Ordering::Relaxed);
    }

    pub fn interrupt_flag(&self) -> &AtomicU64 {
        // SAFETY: aligned, in bounds, lives as long as `self`; all Rust
        // access to the word is atomic.
        unsafe { AtomicU64::from_ptr(self.field(VMOffsets::INTERRUPT)) }
    }

    pub fn set_builtins(&self, table: *const ()) {
        self.write(VMOffsets::BUILTINS, table);
    }

    pub fn set_type_ids(&self, ids: *const u32) {
        self.write(VMOffsets::TYPE_IDS, ids);
    }

    pub fn set_instance(&self, instance: *const ()) {
        self.write(VMOffsets::INSTANCE, instance);
    }

    pub fn funcref_ptr(&self, index: u32) -> *mut VMFuncRef {
        assert!(index < self.offsets.num_funcs);
        self.field(self.offsets.funcref(index))
    }

    pub fn set_funcref(&self, index: u32, f: VMFuncRef) {
        assert!(index < self.offsets.num_funcs);
        self.write(self.offsets.funcref(index), f);
    }

    pub fn funcref(&self, index: u32) -> VMFuncRef {
        assert!(index < self.offsets.num_funcs);
        self.read(self.offsets.funcref(index))
    }

    pub fn set_memory(&self, index: u32, def: *mut VMDefinition) {
        assert!(index < self.offsets.num_memories);
        self.write(self.offsets.memory_ptr(index), def);
    }

    pub fn set_table(&self, index: u32, def: *mut VMDefinition) {
        assert!(index < self.offsets.num_tables);
        self.write(self.offsets.table_ptr(index), def);
    }

    pub fn set_global(&self, index: u32, storage: *mut u8) {
        assert!(index < self.offsets.num_globals);
        self.write(self.offsets.global_ptr(index), storage);
    }
}

impl Drop for VMContext {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; no code can run on an
        // instance whose context is being dropped.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The instance pointer stored at `VMOffsets::INSTANCE` of a context.
///
/// # Safety
/// `vmctx` must be a live instance context (not a host function context).
pub(crate) unsafe fn instance_ptr(vmctx: *const u8) -> *const () {
    // SAFETY: per the contract, the header is readable.
    unsafe {
        vmctx
            .add(VMOffsets::INSTANCE as usize)
            .cast::<*const ()>()
            .read()
    }
}
