//! Entry (host→wasm) and host-call (wasm→host) trampolines.
//!
//! Both move values between the wasm calling convention (`tail`, values in
//! registers) and the host's view of a call: an array of 16-byte slots, one
//! per parameter or result, so that the runtime needs one generic piece of
//! code per direction instead of one per signature.

use crate::signature::{POINTER, clif_type, wasm_signature};
use crate::traps::trap_code;
use cranelift_codegen::ir::{
    self, AbiParam, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind,
    UserFuncName, types,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use faasm_abi::{FuncType, HOST_CTX_DISPATCH, TrapKind, VALUE_SLOT_SIZE};

/// Name namespaces of trampolines (index = type index); only for IR dumps,
/// since nothing ever calls a trampoline by name.
const ENTRY_NAMESPACE: u32 = 1;
const HOST_NAMESPACE: u32 = 2;

/// Value slots come from the host (entry) and need not be 16-byte aligned;
/// they are always valid, so the accesses cannot trap.
fn host_slot_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// `extern "C" fn(vmctx, code, values: *mut [u8; 16])`: loads the arguments
/// from `values`, calls `code` as a wasm function of type `ty` with `vmctx`
/// as both callee and caller context, and stores the results back.
pub(crate) fn entry_trampoline(
    isa: &dyn TargetIsa,
    type_index: u32,
    ty: &FuncType,
    builder_ctx: &mut FunctionBuilderContext,
) -> ir::Function {
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.extend([AbiParam::new(POINTER); 3]);
    let mut func =
        ir::Function::with_name_signature(UserFuncName::user(ENTRY_NAMESPACE, type_index), sig);
    let mut b = FunctionBuilder::new(&mut func, builder_ctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let &[vmctx, code, values] = b.block_params(block) else {
        unreachable!("three parameters declared above")
    };

    let mut args = vec![vmctx, vmctx];
    for (i, t) in ty.params.iter().enumerate() {
        let offset = (i as u32 * VALUE_SLOT_SIZE) as i32;
        args.push(
            b.ins()
                .load(clif_type(*t), host_slot_flags(), values, offset),
        );
    }
    let callee_sig = b.import_signature(wasm_signature(ty));
    let call = b.ins().call_indirect(callee_sig, code, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        let offset = (i as u32 * VALUE_SLOT_SIZE) as i32;
        b.ins().store(host_slot_flags(), r, values, offset);
    }
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    func
}

/// A wasm function of type `ty` whose callee vmctx is a runtime
/// `HostFuncCtx`: spills its arguments to 16-byte slots on its own stack,
/// calls the dispatcher stored at `host_ctx + HOST_CTX_DISPATCH` with
/// `(host_ctx, caller_vmctx, slots)`, traps with `HostError` if that
/// returns non-zero, and returns the results the dispatcher wrote into the
/// same slots.
pub(crate) fn host_trampoline(
    isa: &dyn TargetIsa,
    type_index: u32,
    ty: &FuncType,
    builder_ctx: &mut FunctionBuilderContext,
) -> ir::Function {
    let mut func = ir::Function::with_name_signature(
        UserFuncName::user(HOST_NAMESPACE, type_index),
        wasm_signature(ty),
    );
    let mut b = FunctionBuilder::new(&mut func, builder_ctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let params = b.block_params(block).to_vec();
    let (host_ctx, caller_vmctx) = (params[0], params[1]);

    // At least one slot so the dispatcher always gets a valid pointer.
    let slots = ty.params.len().max(ty.results.len()).max(1) as u32;
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        slots * VALUE_SLOT_SIZE,
        4, // 16-byte alignment: v128 slots are naturally aligned
    ));
    let values = b.ins().stack_addr(POINTER, slot, 0);
    for (i, p) in params[2..].iter().enumerate() {
        let offset = (i as u32 * VALUE_SLOT_SIZE) as i32;
        b.ins().store(MemFlagsData::trusted(), *p, values, offset);
    }

    let flags = MemFlagsData::trusted().with_readonly();
    let dispatch = b
        .ins()
        .load(POINTER, flags, host_ctx, HOST_CTX_DISPATCH as i32);
    let mut dispatch_sig = Signature::new(isa.default_call_conv());
    dispatch_sig.params.extend([AbiParam::new(POINTER); 3]);
    dispatch_sig.returns.push(AbiParam::new(types::I32));
    let dispatch_sig = b.import_signature(dispatch_sig);
    let call = b
        .ins()
        .call_indirect(dispatch_sig, dispatch, &[host_ctx, caller_vmctx, values]);
    let status = b.inst_results(call)[0];
    b.ins().trapnz(status, trap_code(TrapKind::HostError));

    let results: Vec<_> = ty
        .results
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let offset = (i as u32 * VALUE_SLOT_SIZE) as i32;
            b.ins()
                .load(clif_type(*t), MemFlagsData::trusted(), values, offset)
        })
        .collect();
    b.ins().return_(&results);
    b.finalize(isa.frontend_config());
    func
}
