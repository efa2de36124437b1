//! Our WebAssembly → Cranelift IR translator, one function at a time.
//!
//! The operand stack becomes SSA values; structured control flow becomes
//! blocks whose parameters carry branch values. Each operator is validated
//! by wasmparser *before* it is translated, so the translator can rely on a
//! well-typed stack.
//!
//! Where things live: control flow in `control.rs`, memory access and the
//! SFI bounds checks in `memory.rs`, numeric operators in `numeric.rs`,
//! calls in `calls.rs`, globals/tables/references in `tables.rs`, and the
//! vmctx field loads every part shares in `vmctx.rs`.

mod addr_facts;
mod atomics;
mod calls;
mod control;
mod memory;
mod numeric;
mod simd;
mod tables;
mod vmctx;

use crate::signature::clif_type;
use crate::{CompileConfig, CompileError};
use control::Frame;
use cranelift_codegen::ir::immediates::Offset32;
use cranelift_codegen::ir::{
    self, BlockArg, GlobalValueData, InstBuilder, MemFlagsData, Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use faasm_abi::{ModuleInfo, VMOffsets, ValType};
use std::collections::HashMap;
use target_lexicon::PointerWidth;
use wasmparser::{FuncValidator, FunctionBody, Operator, ValidatorResources};

/// What the translator knows about the module around a function.
pub(crate) struct FuncEnv<'a> {
    pub info: &'a ModuleInfo,
    pub offsets: VMOffsets,
    pub config: &'a CompileConfig,
}

/// Namespace of `ExternalName::User` names that denote wasm functions by
/// index; the driver resolves those calls inside the text section.
pub(crate) const FUNC_NAMESPACE: u32 = 0;

/// Translates (and validates, operator by operator) one defined function
/// into `func`, whose name and signature the caller has already set.
pub(crate) fn translate_function(
    env: &FuncEnv<'_>,
    func_index: u32,
    body: &FunctionBody<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
    func: &mut ir::Function,
    builder_ctx: &mut FunctionBuilderContext,
) -> Result<(), CompileError> {
    let invalid = |e: wasmparser::BinaryReaderError| CompileError::invalid(&e, Some(func_index));
    let builder = FunctionBuilder::new(func, builder_ctx);
    let mut t = Translator::new(env, func_index, builder);

    let mut locals = body.get_locals_reader().map_err(invalid)?;
    for _ in 0..locals.get_count() {
        let offset = locals.original_position();
        let (count, ty) = locals.read().map_err(invalid)?;
        validator
            .define_locals(offset, count, ty)
            .map_err(invalid)?;
        let ty = valtype(ty)?;
        for _ in 0..count {
            t.declare_local(ty);
        }
    }

    // A function that calls others can recurse without a loop (tail calls
    // included), so it polls the interrupt word on entry; leaves and
    // loop-only functions need not (their loops poll).
    if env.config.poll_interrupts && makes_calls(body) {
        t.interrupt_check();
    }

    let mut reader = body.get_operators_reader().map_err(invalid)?;
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset().map_err(invalid)?;
        validator.op(offset, &op).map_err(invalid)?;
        t.translate(&op)?;
    }
    reader.finish().map_err(invalid)?;
    t.finish();
    Ok(())
}

/// Whether the body contains a call of any kind. A body that does not
/// parse counts as calling; the translation pass then reports the error.
fn makes_calls(body: &FunctionBody<'_>) -> bool {
    use Operator as O;
    let Ok(mut reader) = body.get_operators_reader() else {
        return true;
    };
    while !reader.eof() {
        match reader.read() {
            Ok(
                O::Call { .. }
                | O::CallIndirect { .. }
                | O::ReturnCall { .. }
                | O::ReturnCallIndirect { .. }
                | O::CallRef { .. }
                | O::ReturnCallRef { .. },
            ) => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    false
}

pub(crate) fn valtype(ty: wasmparser::ValType) -> Result<ValType, CompileError> {
    use wasmparser::ValType as W;
    Ok(match ty {
        W::I32 => ValType::I32,
        W::I64 => ValType::I64,
        W::F32 => ValType::F32,
        W::F64 => ValType::F64,
        W::V128 => ValType::V128,
        W::Ref(r) if r.is_func_ref() => ValType::FuncRef,
        W::Ref(r) if r.is_extern_ref() => ValType::ExternRef,
        W::Ref(r) => return Err(CompileError::Unsupported(format!("reference type {r:?}"))),
    })
}

pub(crate) struct Translator<'a, 'f> {
    env: &'a FuncEnv<'a>,
    func_index: u32,
    b: FunctionBuilder<'f>,
    /// The wasm operand stack.
    stack: Vec<Value>,
    control: Vec<Frame>,
    /// False after an unconditional transfer until the next reachable label.
    reachable: bool,
    locals: Vec<Variable>,
    vmctx: Value,
    sigs: HashMap<u32, ir::SigRef>,
    direct_calls: HashMap<u32, ir::FuncRef>,
    builtin_sigs: HashMap<u32, ir::SigRef>,
    /// In-bounds addresses that dominate the point being translated
    /// (addr_facts.rs).
    addr_facts: addr_facts::AddrFacts,
}

impl<'a, 'f> Translator<'a, 'f> {
    fn new(env: &'a FuncEnv<'a>, func_index: u32, mut b: FunctionBuilder<'f>) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let vmctx = params[0];

        // Every prologue compares sp with the limit the runtime stored in
        // the vmctx, so deep recursion traps instead of hitting the guard.
        let vmctx_gv = b.create_global_value(GlobalValueData::VMContext);
        let flags = b
            .func
            .dfg
            .mem_flags
            .insert(MemFlagsData::trusted().with_readonly())
            .expect("few distinct flags");
        let limit = b.create_global_value(GlobalValueData::Load {
            base: vmctx_gv,
            offset: Offset32::new(VMOffsets::STACK_LIMIT as i32),
            global_type: types::I64,
            flags,
        });
        b.func.stack_limit = Some(limit);

        let ty = env.info.func_type(func_index).clone();
        let mut t = Translator {
            env,
            func_index,
            b,
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            locals: Vec::new(),
            vmctx,
            sigs: HashMap::new(),
            direct_calls: HashMap::new(),
            builtin_sigs: HashMap::new(),
            addr_facts: addr_facts::AddrFacts::default(),
        };
        for (i, p) in ty.params.iter().enumerate() {
            let var = t.b.declare_var(clif_type(*p));
            t.b.def_var(var, params[2 + i]);
            t.locals.push(var);
        }
        // The body is a block whose results are the function's results.
        let exit = t.b.create_block();
        for r in &ty.results {
            t.b.append_block_param(exit, clif_type(*r));
        }
        t.control
            .push(Frame::block(exit, 0, ty.results.len(), 0, true, 0));
        t
    }

    fn declare_local(&mut self, ty: ValType) {
        let var = self.b.declare_var(clif_type(ty));
        let zero = self.zero(ty);
        self.b.def_var(var, zero);
        self.locals.push(var);
    }

    fn zero(&mut self, ty: ValType) -> Value {
        match ty {
            ValType::I32 => self.b.ins().iconst(types::I32, 0),
            ValType::I64 | ValType::FuncRef | ValType::ExternRef => {
                self.b.ins().iconst(types::I64, 0)
            }
            ValType::F32 => self.b.ins().f32const(0.0),
            ValType::F64 => self.b.ins().f64const(0.0),
            ValType::V128 => {
                let c = self.b.func.dfg.constants.insert(vec![0u8; 16].into());
                self.b.ins().vconst(types::I8X16, c)
            }
        }
    }

    fn translate(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        if !self.reachable {
            return self.translate_unreachable(op);
        }
        if self.translate_control(op)? {
            return Ok(());
        }
        if self.translate_variable(op)? {
            return Ok(());
        }
        if self.translate_memory(op)? {
            return Ok(());
        }
        if self.translate_numeric(op)? {
            return Ok(());
        }
        if self.translate_call(op)? {
            return Ok(());
        }
        if self.translate_table(op)? {
            return Ok(());
        }
        if self.translate_simd(op)? {
            return Ok(());
        }
        if self.translate_atomic(op)? {
            return Ok(());
        }
        Err(self.unsupported(op))
    }

    fn unsupported(&self, op: &Operator<'_>) -> CompileError {
        CompileError::Unsupported(format!("operator {op:?} in function {}", self.func_index))
    }

    /// Locals and `drop`/`select`/`nop`.
    fn translate_variable(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match *op {
            Operator::LocalGet { local_index } => {
                let v = self.b.use_var(self.locals[local_index as usize]);
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.b.def_var(self.locals[local_index as usize], v);
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().unwrap();
                self.b.def_var(self.locals[local_index as usize], v);
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Nop => {}
            Operator::Select | Operator::TypedSelect { .. } | Operator::TypedSelectMulti { .. } => {
                let cond = self.pop();
                let b = self.pop();
                let a = self.pop();
                let v = self.b.ins().select(cond, a, b);
                self.push(v);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn finish(mut self) {
        // The function-level `end` left the exit block's params on the stack.
        if self.reachable {
            let results = std::mem::take(&mut self.stack);
            self.b.ins().return_(&results);
        }
        self.b.seal_all_blocks();
        self.b.finalize(TargetFrontendConfig {
            default_call_conv: CallConv::SystemV,
            pointer_width: PointerWidth::U64,
            page_size_align_log2: 12,
        });
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    fn popn(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }
}

pub(crate) fn block_args(vals: &[Value]) -> Vec<BlockArg> {
    vals.iter().map(|v| BlockArg::Value(*v)).collect()
}
