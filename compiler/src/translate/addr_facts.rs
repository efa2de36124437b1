//! Addresses known to be in bounds, so that later wrapping sums near them
//! can be computed in 64 bits.
//!
//! A wasm address is a 32-bit sum that wraps: `x + 8` is
//! `(x + 8) mod 2^32`, so the translator has to compute it with a 32-bit
//! add (a `lea` of its own on x86) before it can be zero-extended and added
//! to the memory base; it cannot fold into the access's addressing mode the
//! way a native pointer sum does. Unrolled and stencil loops have several
//! such sums around one index per iteration.
//!
//! But once an access at `a = x + c0` has run without trapping, `a` is
//! below the memory's length, which the runtime keeps at most
//! `2^32 - ADDRESS_FOLD_LIMIT` bytes (`faasm_abi::MAX_MEMORY32_PAGES`).
//! So for `0 <= d <= ADDRESS_FOLD_LIMIT`, `x + (c0 + d)` does not wrap and
//! its address is `zext(a) + d`: the access that follows can use `a`
//! with `d` added to its static offset, and the 32-bit add disappears.
//!
//! Invariants:
//! - A fact is recorded only for an address an access is about to use,
//!   and every caller of `heap_addr` emits that access (a load, store or
//!   atomic with a heap trap code) right after, in the same block.
//! - A fact is used only where its access dominates: facts live in the
//!   structured scope (block, loop, if arm) that recorded them and the
//!   scopes nested in it, and are dropped at the scope's `else`/`end`
//!   (each control frame keeps the `mark` taken when it opened). Wasm
//!   branches go only to the end of an enclosing scope or to the header of
//!   an enclosing loop, so every path to a later point of the scope passes
//!   the access first; and the access cannot be moved past the later one
//!   (both can trap).
//! - `d` is never negative: `a - 4` may wrap (when `a < 4`) to an address
//!   that must trap, where `zext(a) - 4 + offset` could land in bounds.

use cranelift_codegen::ir::{DataFlowGraph, InstructionData, Opcode, Value};
use faasm_abi::ADDRESS_FOLD_LIMIT;

/// At most this many facts at once; further accesses record none until
/// scopes close (a missing fact only costs a fold, and the lookup stays a
/// short scan).
const MAX_FACTS: usize = 64;

/// `base + offset` (wrapping, 32-bit) was accessed as `addr`.
#[derive(Clone, Copy)]
struct Fact {
    base: Value,
    offset: i32,
    addr: Value,
}

/// The facts valid at the point being translated, outermost scope first.
#[derive(Default)]
pub(super) struct AddrFacts {
    facts: Vec<Fact>,
}

/// Splits an i32 address into a value and a constant added to it, when it
/// is an `iadd` with an `iconst` operand; otherwise the address plus 0.
/// Aliases are resolved first: SSA construction turns a merge block's
/// parameter that receives one value from every edge into an alias of it.
pub(super) fn split_const(dfg: &DataFlowGraph, addr: Value) -> (Value, i32) {
    let addr = dfg.resolve_aliases(addr);
    let const_of = |v: Value| match dfg
        .value_def(dfg.resolve_aliases(v))
        .inst()
        .map(|i| &dfg.insts[i])
    {
        Some(InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm,
        }) => Some(imm.bits() as i32),
        _ => None,
    };
    if let Some(inst) = dfg.value_def(addr).inst()
        && let InstructionData::Binary {
            opcode: Opcode::Iadd,
            args: [a, b],
        } = dfg.insts[inst]
    {
        if let Some(c) = const_of(b) {
            return (dfg.resolve_aliases(a), c);
        }
        if let Some(c) = const_of(a) {
            return (dfg.resolve_aliases(b), c);
        }
    }
    (addr, 0)
}

impl AddrFacts {
    /// Where a scope opening now starts: pass it to [`AddrFacts::leave`]
    /// when the scope (or an `if`'s then-arm) ends.
    pub(super) fn mark(&self) -> usize {
        self.facts.len()
    }

    /// Drops the facts recorded since `mark`: they do not dominate what
    /// follows the scope.
    pub(super) fn leave(&mut self, mark: usize) {
        self.facts.truncate(mark);
    }

    /// An address already accessed on every path to here and the
    /// non-negative distance from it to `base + offset`, if that distance
    /// is at most [`ADDRESS_FOLD_LIMIT`].
    pub(super) fn lookup(&self, base: Value, offset: i32) -> Option<(Value, u32)> {
        self.facts.iter().rev().find_map(|f| {
            // Both offsets are taken mod 2^32, as the sums are.
            let d = offset.wrapping_sub(f.offset) as u32;
            (f.base == base && u64::from(d) <= ADDRESS_FOLD_LIMIT).then_some((f.addr, d))
        })
    }

    /// Records that `addr` (`base + offset`) is about to be accessed.
    pub(super) fn record(&mut self, base: Value, offset: i32, addr: Value) {
        if self.facts.len() < MAX_FACTS {
            self.facts.push(Fact { base, offset, addr });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::entity::EntityRef;
    use cranelift_codegen::ir::{Function, InstBuilder, types};
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

    fn v(n: usize) -> Value {
        Value::new(n)
    }

    #[test]
    fn only_non_negative_distances_within_the_limit_fold() {
        let mut facts = AddrFacts::default();
        facts.record(v(1), 8, v(2));
        assert_eq!(facts.lookup(v(1), 8), Some((v(2), 0)));
        assert_eq!(facts.lookup(v(1), 12), Some((v(2), 4)));
        let limit = ADDRESS_FOLD_LIMIT as i32;
        assert_eq!(facts.lookup(v(1), 8 + limit), Some((v(2), limit as u32)));
        assert_eq!(facts.lookup(v(1), 9 + limit), None);
        // Below the known address: may wrap.
        assert_eq!(facts.lookup(v(1), 4), None);
        assert_eq!(facts.lookup(v(1), i32::MIN), None);
        // Another base value.
        assert_eq!(facts.lookup(v(3), 8), None);
        // Distances are taken mod 2^32, as the sums are.
        facts.record(v(4), i32::MAX, v(5));
        assert_eq!(facts.lookup(v(4), i32::MIN), Some((v(5), 1)));
    }

    #[test]
    fn facts_end_with_their_scope() {
        let mut facts = AddrFacts::default();
        facts.record(v(1), 0, v(1));
        let mark = facts.mark();
        facts.record(v(2), 0, v(2));
        assert_eq!(facts.lookup(v(1), 4), Some((v(1), 4)));
        assert_eq!(facts.lookup(v(2), 4), Some((v(2), 4)));
        facts.leave(mark);
        assert_eq!(facts.lookup(v(1), 4), Some((v(1), 4)), "recorded outside");
        assert_eq!(facts.lookup(v(2), 4), None, "recorded inside");
    }

    #[test]
    fn a_full_list_records_nothing_more() {
        let mut facts = AddrFacts::default();
        for n in 0..=MAX_FACTS {
            facts.record(v(n), 0, v(n));
        }
        assert_eq!(facts.lookup(v(0), 0), Some((v(0), 0)));
        assert_eq!(facts.lookup(v(MAX_FACTS), 0), None);
        let mark = facts.mark();
        facts.leave(mark - 1);
        facts.record(v(MAX_FACTS), 0, v(MAX_FACTS));
        assert_eq!(facts.lookup(v(MAX_FACTS), 0), Some((v(MAX_FACTS), 0)));
    }

    #[test]
    fn sums_with_a_constant_are_split() {
        let mut func = Function::new();
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut ctx);
        let entry = b.create_block();
        b.append_block_param(entry, types::I32);
        b.append_block_param(entry, types::I32);
        b.switch_to_block(entry);
        let (x, y) = (b.block_params(entry)[0], b.block_params(entry)[1]);
        let eight = b.ins().iconst(types::I32, 8);
        let minus = b.ins().iconst(types::I32, 0xffff_fffc);
        let right = b.ins().iadd(x, eight);
        let left = b.ins().iadd(minus, x);
        let plain = b.ins().iadd(x, y);
        let dfg = &b.func.dfg;
        assert_eq!(split_const(dfg, right), (x, 8));
        assert_eq!(split_const(dfg, left), (x, -4));
        assert_eq!(split_const(dfg, plain), (plain, 0));
        assert_eq!(split_const(dfg, x), (x, 0));
    }
}
