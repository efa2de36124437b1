//! The raw structures compiled code reads and writes: the instance context,
//! function references, memory/table definitions, the host-function
//! context, and the builtin helpers compiled code calls.

pub(crate) mod builtins;
pub(crate) mod vmctx;
pub(crate) mod waiter;

pub(crate) use vmctx::VMContext;

/// `{code, vmctx, type_id}`, the layout of `faasm_abi::VMFUNCREF_*`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct VMFuncRef {
    pub code: *const u8,
    pub vmctx: *mut u8,
    pub type_id: u32,
}

const _: () = {
    assert!(std::mem::offset_of!(VMFuncRef, code) == faasm_abi::VMFUNCREF_CODE as usize);
    assert!(std::mem::offset_of!(VMFuncRef, vmctx) == faasm_abi::VMFUNCREF_VMCTX as usize);
    assert!(std::mem::offset_of!(VMFuncRef, type_id) == faasm_abi::VMFUNCREF_TYPE as usize);
    assert!(std::mem::size_of::<VMFuncRef>() == faasm_abi::VMFUNCREF_SIZE as usize);
};

/// `{base, length}` of a memory (bytes) or table (elements).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct VMDefinition {
    pub base: *mut u8,
    pub length: u64,
}

const _: () = {
    assert!(std::mem::offset_of!(VMDefinition, base) == faasm_abi::VMOffsets::DEF_BASE as usize);
    assert!(
        std::mem::offset_of!(VMDefinition, length) == faasm_abi::VMOffsets::DEF_LENGTH as usize
    );
    assert!(std::mem::size_of::<VMDefinition>() == faasm_abi::VMOffsets::DEF_SIZE as usize);
};

/// The dispatcher a host trampoline calls: `(host_ctx, caller_vmctx,
/// values) -> 0 on success, non-zero if the host function trapped`.
pub(crate) type DispatchFn = unsafe extern "C" fn(*mut u8, *mut u8, *mut ValSlot) -> u32;

/// What a host function's `VMFuncRef.vmctx` points at. The dispatcher
/// must be at offset 0 (the host trampoline calls through it).
///
/// At offset `VMOffsets::INSTANCE` a real vmctx holds its instance pointer
/// while this holds [`HOST_CTX_TAG`], which is how a funcref value handed to
/// the host is told apart.
#[repr(C)]
pub(crate) struct HostFuncCtx {
    pub dispatch: DispatchFn,
    pub _reserved: [usize; 3],
    pub tag: usize,
    /// The `HostFuncInner` that owns this context.
    pub owner: *const (),
}

/// Never a valid instance pointer (instances are aligned).
pub(crate) const HOST_CTX_TAG: usize = 1;

const _: () = {
    assert!(std::mem::offset_of!(HostFuncCtx, dispatch) == faasm_abi::HOST_CTX_DISPATCH as usize);
    assert!(std::mem::offset_of!(HostFuncCtx, tag) == faasm_abi::VMOffsets::INSTANCE as usize);
};

/// One 16-byte value slot (arguments, results, globals).
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ValSlot(pub u128);
