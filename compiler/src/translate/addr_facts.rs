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
//!
//! Below an address the sum may wrap, but only to an address that must
//! trap: for any `x` and `0 < d <= MEMORY_LEAD_GUARD_BYTES`, `x - d` is
//! either `zext(x) - d` (when `x >= d`) or at least `2^32 - d`, past every
//! memory. The runtime keeps that many inaccessible bytes below each
//! guarded memory (`faasm_abi::MEMORY_LEAD_GUARD_BYTES`), so computing
//! `base + zext(x) - d` faults exactly when the wasm access traps, as long
//! as the access's static offset is 0 (a positive one could bring the
//! wrapped case back in bounds). That needs no fact at all, and a fact
//! works the same way: `a - d` from a known `a`.
//!
//! A fact therefore says: the wasm address `base + offset` (mod 2^32) is
//! `zext(addr) + disp`, and an access to it has run.

use cranelift_codegen::ir::{DataFlowGraph, InstructionData, Opcode, Value};
use faasm_abi::{ADDRESS_FOLD_LIMIT, MEMORY_LEAD_GUARD_BYTES};

/// At most this many facts at once; further accesses record none until
/// scopes close (a missing fact only costs a fold, and the lookup stays a
/// short scan).
const MAX_FACTS: usize = 64;

/// `base + offset` (wrapping, 32-bit) is the wasm address
/// `zext(addr) + disp`, and it was accessed.
#[derive(Clone, Copy)]
struct Fact {
    base: Value,
    offset: i32,
    addr: Value,
    disp: i64,
}

/// How to compute an access's address without the wrapping add: the
/// native address is the memory base plus `zext(addr)` plus `offset`
/// (static offset included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Folded {
    pub addr: Value,
    pub offset: i64,
}

/// The facts valid at the point being translated, outermost scope first.
#[derive(Default, Clone)]
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

    /// The address of an access to `base + offset` (wrapping, 32-bit; the
    /// sum is `sum`) at static offset `static_offset`, computed from a
    /// known address or from `base` itself when the rules in the module
    /// docs allow it, else from `sum`. `room` is how far past the wasm
    /// address plus `static_offset` the guard lets an access reach (what
    /// is left of it after the access's end). Records the access as a
    /// fact.
    pub(super) fn fold(
        &mut self,
        base: Value,
        offset: i32,
        sum: Value,
        static_offset: u64,
        room: u64,
    ) -> Folded {
        let below = |d: i64| static_offset == 0 && d < 0 && -d <= MEMORY_LEAD_GUARD_BYTES as i64;
        let static_offset = static_offset as i64;
        let near = self.facts.iter().rev().find_map(|f| {
            if f.base != base {
                return None;
            }
            // Both offsets are taken mod 2^32, as the sums are.
            let d = i64::from(offset.wrapping_sub(f.offset));
            let above = (0..=ADDRESS_FOLD_LIMIT as i64).contains(&d) && d as u64 <= room;
            (above || below(d)).then_some(Folded {
                addr: f.addr,
                offset: f.disp + d + static_offset,
            })
        });
        if let Some(folded) = near {
            return folded;
        }
        let (addr, disp) = if below(i64::from(offset)) {
            (base, i64::from(offset))
        } else {
            (sum, 0)
        };
        if self.facts.len() < MAX_FACTS {
            self.facts.push(Fact {
                base,
                offset,
                addr,
                disp,
            });
        }
        Folded {
            addr,
            offset: disp + static_offset,
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

    const ROOM: u64 = 1 << 20;

    fn at(addr: Value, offset: i64) -> Folded {
        Folded { addr, offset }
    }

    /// What `fold` gives, with the sum being value 9 and room to spare,
    /// leaving `facts` as they were (so that each probe sees the same).
    fn fold(facts: &mut AddrFacts, base: Value, offset: i32, static_offset: u64) -> Folded {
        facts.clone().fold(base, offset, v(9), static_offset, ROOM)
    }

    #[test]
    fn distances_above_a_known_address_fold_within_the_limit_and_the_room() {
        let mut facts = AddrFacts::default();
        assert_eq!(
            facts.fold(v(1), 8, v(2), 0, ROOM),
            at(v(2), 0),
            "first access"
        );
        assert_eq!(fold(&mut facts, v(1), 8, 0), at(v(2), 0));
        assert_eq!(fold(&mut facts, v(1), 12, 16), at(v(2), 20));
        let limit = ADDRESS_FOLD_LIMIT as i32;
        assert_eq!(fold(&mut facts, v(1), 8 + limit, 0), at(v(2), limit.into()));
        assert_eq!(fold(&mut facts, v(1), 9 + limit, 0), at(v(9), 0), "too far");
        assert_eq!(
            facts.clone().fold(v(1), 20, v(3), 0, 11),
            at(v(3), 0),
            "past the room"
        );
        assert_eq!(
            facts.clone().fold(v(1), 20, v(3), 0, 12),
            at(v(2), 12),
            "within it"
        );
        // Another base value.
        assert_eq!(fold(&mut facts, v(4), 8, 0), at(v(9), 0));
        // Distances are taken mod 2^32, as the sums are.
        let mut facts = AddrFacts::default();
        facts.fold(v(4), i32::MAX, v(5), 0, ROOM);
        assert_eq!(fold(&mut facts, v(4), i32::MIN, 0), at(v(5), 1));
    }

    #[test]
    fn distances_below_fold_only_at_static_offset_zero_within_the_lead_guard() {
        let mut facts = AddrFacts::default();
        let known = 1 << 20;
        facts.fold(v(1), known, v(2), 0, ROOM);
        assert_eq!(fold(&mut facts, v(1), known - 4, 0), at(v(2), -4));
        let lead = MEMORY_LEAD_GUARD_BYTES as i32;
        assert_eq!(
            fold(&mut facts, v(1), known - lead, 0),
            at(v(2), -i64::from(lead))
        );
        // A static offset could bring a wrapped sum back in bounds.
        assert_eq!(fold(&mut facts, v(1), known - 4, 4), at(v(9), 4));
        // Further below than the guard reaches.
        assert_eq!(fold(&mut facts, v(1), known - lead - 1, 0), at(v(9), 0));
    }

    #[test]
    fn small_negative_sums_need_no_fact() {
        let mut facts = AddrFacts::default();
        let lead = MEMORY_LEAD_GUARD_BYTES as i32;
        assert_eq!(fold(&mut facts, v(1), -4, 0), at(v(1), -4));
        assert_eq!(fold(&mut facts, v(3), -lead, 0), at(v(3), -i64::from(lead)));
        assert_eq!(
            fold(&mut facts, v(5), -lead - 1, 0),
            at(v(9), 0),
            "past the guard"
        );
        assert_eq!(fold(&mut facts, v(6), -4, 8), at(v(9), 8), "static offset");
        assert_eq!(fold(&mut facts, v(7), 4, 0), at(v(9), 0), "may wrap");
        // What was accessed at `base - 4` is a fact like any other: `base + 8`
        // lies 12 above it.
        facts.fold(v(1), -4, v(2), 0, ROOM);
        assert_eq!(fold(&mut facts, v(1), 8, 2), at(v(1), 10));
    }

    #[test]
    fn facts_end_with_their_scope() {
        let mut facts = AddrFacts::default();
        facts.fold(v(1), 0, v(1), 0, ROOM);
        let mark = facts.mark();
        facts.fold(v(2), 0, v(2), 0, ROOM);
        assert_eq!(fold(&mut facts, v(1), 4, 0), at(v(1), 4));
        assert_eq!(fold(&mut facts, v(2), 4, 0), at(v(2), 4));
        facts.leave(mark);
        assert_eq!(
            fold(&mut facts, v(1), 4, 0),
            at(v(1), 4),
            "recorded outside"
        );
        assert_eq!(
            facts.fold(v(2), 4, v(3), 0, ROOM),
            at(v(3), 0),
            "recorded inside"
        );
    }

    #[test]
    fn a_full_list_records_nothing_more() {
        let mut facts = AddrFacts::default();
        for n in 0..=MAX_FACTS {
            facts.fold(v(n), 0, v(n), 0, ROOM);
        }
        assert_eq!(fold(&mut facts, v(0), 0, 0), at(v(0), 0));
        assert_eq!(fold(&mut facts, v(MAX_FACTS), 0, 0), at(v(9), 0));
        let mark = facts.mark();
        facts.leave(mark - 1);
        facts.fold(v(MAX_FACTS), 0, v(MAX_FACTS), 0, ROOM);
        assert_eq!(fold(&mut facts, v(MAX_FACTS), 0, 0), at(v(MAX_FACTS), 0));
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
