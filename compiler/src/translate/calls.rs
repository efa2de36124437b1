//! `call` and `call_indirect`.
//!
//! Defined callees are called directly (the driver resolves the relocation
//! inside the text section). Imported callees and table entries are called
//! through a `VMFuncRef {code, vmctx, type_id}`; `call_indirect` checks the
//! table bounds, null, and the canonical signature id before the call.

use super::{FUNC_NAMESPACE, Translator};
use crate::CompileError;
use crate::signature::{POINTER, wasm_signature};
use crate::traps::trap_code;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, UserExternalName, Value, types,
};
use faasm_abi::{TrapKind, VMFUNCREF_CODE, VMFUNCREF_TYPE, VMFUNCREF_VMCTX, VMOffsets};
use wasmparser::Operator;

impl Translator<'_, '_> {
    pub(super) fn signature(&mut self, type_index: u32) -> ir::SigRef {
        if let Some(s) = self.sigs.get(&type_index) {
            return *s;
        }
        let sig = wasm_signature(&self.env.info.types[type_index as usize]);
        let s = self.b.import_signature(sig);
        self.sigs.insert(type_index, s);
        s
    }

    fn direct_callee(&mut self, func: u32) -> ir::FuncRef {
        if let Some(f) = self.direct_calls.get(&func) {
            return *f;
        }
        let sig = self.signature(self.env.info.funcs[func as usize]);
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, func));
        let f = self.b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        self.direct_calls.insert(func, f);
        f
    }

    fn push_results(&mut self, call: ir::Inst) {
        let results = self.b.inst_results(call).to_vec();
        self.stack.extend(results);
    }

    /// Calls through a `VMFuncRef` pointer; a tail call reuses the frame.
    fn call_funcref(&mut self, type_index: u32, funcref: Value, args: Vec<Value>, tail: bool) {
        let sig = self.signature(type_index);
        let flags = MemFlagsData::trusted();
        let code = self
            .b
            .ins()
            .load(POINTER, flags, funcref, VMFUNCREF_CODE as i32);
        let callee_vmctx = self
            .b
            .ins()
            .load(POINTER, flags, funcref, VMFUNCREF_VMCTX as i32);
        let mut all = vec![callee_vmctx, self.vmctx];
        all.extend(args);
        if tail {
            self.b.ins().return_call_indirect(sig, code, &all);
            self.reachable = false;
        } else {
            let call = self.b.ins().call_indirect(sig, code, &all);
            self.push_results(call);
        }
    }

    fn call_index(&mut self, function_index: u32, tail: bool) {
        let type_index = self.env.info.funcs[function_index as usize];
        let nparams = self.env.info.types[type_index as usize].params.len();
        let args = self.popn(nparams);
        if function_index < self.env.info.num_imported_funcs {
            let off = self.env.offsets.funcref(function_index);
            let funcref = self.b.ins().iadd_imm_s(self.vmctx, off as i64);
            self.call_funcref(type_index, funcref, args, tail);
            return;
        }
        let callee = self.direct_callee(function_index);
        let mut all = vec![self.vmctx, self.vmctx];
        all.extend(args);
        if tail {
            self.b.ins().return_call(callee, &all);
            self.reachable = false;
        } else {
            let call = self.b.ins().call(callee, &all);
            self.push_results(call);
        }
    }

    fn call_indirect(&mut self, type_index: u32, table_index: u32, tail: bool) {
        let index = self.pop();
        let nparams = self.env.info.types[type_index as usize].params.len();
        let args = self.popn(nparams);
        let funcref = self.checked_table_entry(table_index, index, TrapKind::UndefinedElement);
        self.b
            .ins()
            .trapz(funcref, trap_code(TrapKind::UninitializedElement));
        let actual = self.b.ins().load(
            types::I32,
            MemFlagsData::trusted(),
            funcref,
            VMFUNCREF_TYPE as i32,
        );
        let ids = self.load_frozen(POINTER, self.vmctx, VMOffsets::TYPE_IDS);
        let expected = self.load_frozen(types::I32, ids, type_index * 4);
        let mismatch = self.b.ins().icmp(IntCC::NotEqual, actual, expected);
        self.b
            .ins()
            .trapnz(mismatch, trap_code(TrapKind::BadSignature));
        self.call_funcref(type_index, funcref, args, tail);
    }

    pub(super) fn translate_call(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match *op {
            Operator::Call { function_index } => self.call_index(function_index, false),
            Operator::ReturnCall { function_index } => self.call_index(function_index, true),
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index, false),
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index, true),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
