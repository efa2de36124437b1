//! Which direct wasm-to-wasm calls are inlined, and the callee bodies the
//! inliner copies in.
//!
//! Cranelift does the inlining itself (`Context::inline`); this module only
//! decides. The driver translates every function first, then compiles each
//! one after offering it the translated (not yet optimised) bodies of the
//! small functions it calls directly.
//!
//! Why it is sound here: a direct call (`call f` with `f` defined in this
//! module) passes the caller's own vmctx as both vmctx arguments, so the
//! callee's body, read in the caller, addresses the same instance, memories
//! and tables. Everything the callee checks (bounds, signatures, traps)
//! stays in the copied body with its trap codes. What changes:
//! - an inlined function has no stack frame of its own: the code copied
//!   from it is recorded (`Artifact::inlined`, from the source locations
//!   [`Inliner::mark_inlined`] sets), and backtraces list it as a frame
//!   marked inlined above its caller;
//! - the callee's stack-limit check goes (its frame is now part of the
//!   caller's, whose prologue checks the larger frame).
//!
//! Invariants that bound the growth of the code:
//! - a callee is inlined only if it has at most [`MAX_CALLEE_INSTS`]
//!   instructions, and the copies added to one caller total at most
//!   [`CALLER_BUDGET_INSTS`];
//! - copied bodies are not visited again, so inlining is one level deep
//!   (a recursive function gets one unrolled level, never an unbounded
//!   expansion);
//! - only plain `call`s: a `return_call` keeps its frame-replacing call.

use crate::translate::FUNC_NAMESPACE;
use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName, SourceLoc};
use std::borrow::Cow;

/// The largest callee, in Cranelift instructions after translation, worth
/// copying: past this the call's cost is small next to the body's. With
/// 64 and a budget of 512, the 1.7 MB Rust guest took 1.15x as long to
/// compile as without inlining; at 32 and 128, 1.04x, and fib and
/// ackermann gained as much (0.57-0.58x of wasmtime's time either way).
pub(crate) const MAX_CALLEE_INSTS: usize = 32;

/// The most instructions inlining adds to one caller.
pub(crate) const CALLER_BUDGET_INSTS: usize = 128;

/// The number of instructions in `func`'s layout.
pub(crate) fn inst_count(func: &ir::Function) -> usize {
    func.layout
        .blocks()
        .map(|b| func.layout.block_insts(b).count())
        .sum()
}

/// The translated bodies of the functions small enough to inline, by
/// defined-function index.
pub(crate) struct Callees {
    num_imported: u32,
    bodies: Vec<Option<(ir::Function, usize)>>,
}

impl Callees {
    /// Keeps a copy of each function in `translated` (in defined order) of
    /// at most [`MAX_CALLEE_INSTS`] instructions.
    pub(crate) fn new<'a>(
        num_imported: u32,
        translated: impl Iterator<Item = &'a ir::Function>,
    ) -> Callees {
        let bodies = translated
            .map(|f| {
                let n = inst_count(f);
                (n <= MAX_CALLEE_INSTS).then(|| (f.clone(), n))
            })
            .collect();
        Callees {
            num_imported,
            bodies,
        }
    }

    /// An inliner for one caller, with a fresh budget.
    pub(crate) fn for_caller(&self) -> Inliner<'_> {
        Inliner {
            callees: self,
            budget: CALLER_BUDGET_INSTS,
            sites: Vec::new(),
        }
    }

    /// The callee's wasm index and body, if it is one kept here.
    fn body(
        &self,
        caller: &ir::Function,
        func_ref: ir::FuncRef,
    ) -> Option<(u32, &(ir::Function, usize))> {
        let ExternalName::User(name) = &caller.dfg.ext_funcs[func_ref].name else {
            return None;
        };
        let name = &caller.params.user_named_funcs()[*name];
        if name.namespace != FUNC_NAMESPACE {
            return None;
        }
        let defined = name.index.checked_sub(self.num_imported)?;
        let body = self.bodies.get(defined as usize)?.as_ref()?;
        Some((name.index, body))
    }
}

/// Answers Cranelift's question at each direct call of one caller.
pub(crate) struct Inliner<'a> {
    callees: &'a Callees,
    /// Instructions this caller may still take in.
    budget: usize,
    /// For each body copied, in order: the first instruction number it
    /// could use and the callee's wasm index. Cranelift numbers new
    /// instructions consecutively and copies one body at a time, so the
    /// instructions from `sites[k].0` up to `sites[k + 1].0` are the k-th
    /// copy's.
    sites: Vec<(usize, u32)>,
}

impl Inliner<'_> {
    /// Tags every instruction copied into `func` with its callee's index
    /// as source location; the caller's own instructions keep none.
    pub(crate) fn mark_inlined(&self, func: &mut ir::Function) {
        if self.sites.is_empty() {
            return;
        }
        // Base 0, so an instruction's relative location is the index itself.
        func.params.ensure_base_srcloc(SourceLoc::new(0));
        let insts: Vec<ir::Inst> = func
            .layout
            .blocks()
            .flat_map(|b| func.layout.block_insts(b))
            .collect();
        for inst in insts {
            let k = self
                .sites
                .partition_point(|&(first, _)| first <= inst.as_u32() as usize);
            if let Some(&(_, func_index)) = k.checked_sub(1).map(|k| &self.sites[k]) {
                func.set_srcloc(inst, SourceLoc::new(func_index));
            }
        }
    }
}

impl Inline for Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        _call_inst: ir::Inst,
        call_opcode: ir::Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        if call_opcode != ir::Opcode::Call {
            return InlineCommand::KeepCall;
        }
        match self.callees.body(caller, callee) {
            Some((func_index, (body, insts))) if *insts <= self.budget => {
                self.budget -= insts;
                self.sites.push((caller.dfg.num_insts(), func_index));
                InlineCommand::Inline {
                    callee: Cow::Borrowed(body),
                    visit_callee: false,
                }
            }
            _ => InlineCommand::KeepCall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::Context;
    use cranelift_codegen::ir::{
        AbiParam, InstBuilder, Signature, UserExternalName, UserFuncName, types,
    };
    use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
    use target_lexicon::PointerWidth;

    fn sig() -> Signature {
        let mut s = Signature::new(CallConv::SystemV);
        s.params.push(AbiParam::new(types::I32));
        s.returns.push(AbiParam::new(types::I32));
        s
    }

    /// Function `index`: adds 1 to its argument `adds` times, and calls
    /// each of `calls` (function indices) on the result in turn.
    fn function(index: u32, adds: usize, calls: &[u32]) -> ir::Function {
        let mut func =
            ir::Function::with_name_signature(UserFuncName::user(FUNC_NAMESPACE, index), sig());
        let mut fbc = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fbc);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        b.seal_block(block);
        let mut v = b.block_params(block)[0];
        for _ in 0..adds {
            v = b.ins().iadd_imm_s(v, 1);
        }
        for &callee in calls {
            let name = b
                .func
                .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, callee));
            let signature = b.import_signature(sig());
            let f = b.import_function(ir::ExtFuncData {
                name: ExternalName::user(name),
                signature,
                colocated: true,
                patchable: false,
            });
            let call = b.ins().call(f, &[v]);
            v = b.inst_results(call)[0];
        }
        b.ins().return_(&[v]);
        b.finalize(TargetFrontendConfig {
            default_call_conv: CallConv::SystemV,
            pointer_width: PointerWidth::U64,
            page_size_align_log2: 12,
        });
        func
    }

    /// The calls left in `func`, by callee index.
    fn calls_left(func: &ir::Function) -> Vec<u32> {
        let mut left = Vec::new();
        for block in func.layout.blocks() {
            for inst in func.layout.block_insts(block) {
                if let ir::InstructionData::Call { func_ref, .. } = func.dfg.insts[inst] {
                    let ExternalName::User(name) = &func.dfg.ext_funcs[func_ref].name else {
                        unreachable!()
                    };
                    left.push(func.params.user_named_funcs()[*name].index);
                }
            }
        }
        left
    }

    /// Inlines into `caller`, given the defined functions `defined`
    /// (indices `imported..`), and returns what stays a call.
    fn inline_into(
        imported: u32,
        defined: &[ir::Function],
        caller: ir::Function,
    ) -> (Vec<u32>, ir::Function) {
        let callees = Callees::new(imported, defined.iter());
        let mut inliner = callees.for_caller();
        let mut ctx = Context::for_function(caller);
        ctx.inline(&mut inliner).unwrap();
        inliner.mark_inlined(&mut ctx.func);
        (calls_left(&ctx.func), ctx.func)
    }

    #[test]
    fn only_small_defined_callees_are_inlined() {
        // Function 0 is imported; 1 is small, 2 is past the size limit.
        let small = function(1, 4, &[]);
        let big = function(2, MAX_CALLEE_INSTS, &[]);
        assert!(inst_count(&small) <= MAX_CALLEE_INSTS);
        assert!(inst_count(&big) > MAX_CALLEE_INSTS);
        let caller = function(3, 0, &[0, 1, 2, 1]);
        let (left, func) = inline_into(1, &[small, big, caller.clone()], caller);
        assert_eq!(left, [0, 2]);
        // The copies are tagged with their callee, the rest is not.
        let tagged: Vec<u32> = func
            .layout
            .blocks()
            .flat_map(|b| func.layout.block_insts(b))
            .filter_map(|i| {
                let loc = func.srcloc(i);
                (!loc.is_default()).then(|| loc.bits())
            })
            .collect();
        assert!(tagged.len() >= 8, "{tagged:?}");
        assert!(tagged.iter().all(|&f| f == 1), "{tagged:?}");
    }

    #[test]
    fn a_caller_takes_in_at_most_its_budget() {
        let body = 10;
        let callee = function(0, body, &[]);
        let n = inst_count(&callee);
        assert!(n <= MAX_CALLEE_INSTS && CALLER_BUDGET_INSTS / n < 30, "{n}");
        let calls = vec![0; 30];
        let caller = function(1, 0, &calls);
        let (left, _) = inline_into(0, &[callee], caller);
        let copied = 30 - left.len();
        assert_eq!(copied, CALLER_BUDGET_INSTS / n, "{n}-instruction callee");
    }

    #[test]
    fn a_recursive_function_is_unrolled_one_level() {
        let f = function(0, 2, &[0]);
        let (left, func) = inline_into(0, std::slice::from_ref(&f), f.clone());
        // The copy's own call to itself stays a call.
        assert_eq!(left, [0]);
        assert!(inst_count(&func) > inst_count(&f));
    }

    #[test]
    fn each_copy_is_tagged_with_its_own_callee() {
        let (a, b) = (function(0, 3, &[]), function(1, 6, &[]));
        let caller = function(2, 0, &[0, 1, 0]);
        let (left, func) = inline_into(0, &[a.clone(), b.clone(), caller.clone()], caller);
        assert_eq!(left, []);
        let mut tags = std::collections::BTreeMap::<u32, usize>::new();
        for inst in func
            .layout
            .blocks()
            .flat_map(|b| func.layout.block_insts(b))
        {
            let loc = func.srcloc(inst);
            if !loc.is_default() {
                *tags.entry(loc.bits()).or_default() += 1;
            }
        }
        // Every copied instruction but the `return`s (which become jumps
        // to the continuation, numbered with the copy) keeps its callee.
        let copied = |f: &ir::Function| inst_count(f) - 1;
        let (na, nb) = (tags[&0], tags[&1]);
        assert_eq!(tags.len(), 2, "{tags:?}");
        assert!(na >= 2 * copied(&a) && na <= 2 * inst_count(&a), "{tags:?}");
        assert!(nb >= copied(&b) && nb <= inst_count(&b), "{tags:?}");
    }
}
