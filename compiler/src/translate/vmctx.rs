//! Loads of instance-context fields, shared by every part of the translator.

use super::Translator;
use crate::signature::POINTER;
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Signature, Type, Value, types};
use cranelift_codegen::isa::CallConv;
use faasm_abi::{Builtin, BuiltinParam, VMOffsets};

/// Flags for fields that never change once the instance exists: pure, so
/// Cranelift deduplicates and hoists them.
pub(super) fn frozen() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

impl Translator<'_, '_> {
    pub(super) fn load_frozen(&mut self, ty: Type, base: Value, offset: u32) -> Value {
        self.b.ins().load(ty, frozen(), base, offset as i32)
    }

    pub(super) fn load_field(&mut self, ty: Type, base: Value, offset: u32) -> Value {
        self.b
            .ins()
            .load(ty, MemFlagsData::trusted(), base, offset as i32)
    }

    /// Pointer to memory `index`'s `{base, length}` definition.
    pub(super) fn memory_def(&mut self, index: u32) -> Value {
        let off = self.env.offsets.memory_ptr(index);
        self.load_frozen(POINTER, self.vmctx, off)
    }

    /// A memory never moves (its reservation covers its maximum under
    /// either strategy), so its base is frozen.
    pub(super) fn memory_base(&mut self, index: u32) -> Value {
        let def = self.memory_def(index);
        self.load_frozen(POINTER, def, VMOffsets::DEF_BASE)
    }

    /// Current length in bytes.
    pub(super) fn memory_length(&mut self, index: u32) -> Value {
        let def = self.memory_def(index);
        self.load_field(types::I64, def, VMOffsets::DEF_LENGTH)
    }

    pub(super) fn table_def(&mut self, index: u32) -> Value {
        let off = self.env.offsets.table_ptr(index);
        self.load_frozen(POINTER, self.vmctx, off)
    }

    pub(super) fn global_addr(&mut self, index: u32) -> Value {
        let off = self.env.offsets.global_ptr(index);
        self.load_frozen(POINTER, self.vmctx, off)
    }

    /// Calls a runtime helper through the builtins table.
    pub(super) fn call_builtin(&mut self, builtin: Builtin, args: &[Value]) -> Option<Value> {
        let sig = *self.builtin_sigs.entry(builtin as u32).or_insert_with(|| {
            let clif = |p: &BuiltinParam| match p {
                BuiltinParam::I32 => types::I32,
                BuiltinParam::I64 => types::I64,
            };
            let mut sig = Signature::new(CallConv::SystemV);
            sig.params.push(AbiParam::new(POINTER));
            sig.params
                .extend(builtin.params().iter().map(|p| AbiParam::new(clif(p))));
            sig.returns
                .extend(builtin.result().iter().map(|p| AbiParam::new(clif(p))));
            self.b.import_signature(sig)
        });
        let table = self.load_frozen(POINTER, self.vmctx, VMOffsets::BUILTINS);
        let callee = self.load_frozen(POINTER, table, builtin as u32 * 8);
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        let call = self.b.ins().call_indirect(sig, callee, &all);
        self.b.inst_results(call).first().copied()
    }
}
