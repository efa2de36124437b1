//! Threads proposal: atomic loads, stores, read-modify-writes and fences.
//!
//! Atomic accesses must be naturally aligned; a misaligned effective address
//! traps (checked here, before the access) rather than tearing.

use super::Translator;
use super::memory::{heap_flags, memory_index};
use crate::CompileError;
use crate::traps::trap_code;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{AtomicRmwOp, InstBuilder, Type, Value, types};
use faasm_abi::{Builtin, TrapKind};
use wasmparser::{MemArg, Operator};

use types::{I8, I16, I32, I64};

impl Translator<'_, '_> {
    /// Pops the index, checks alignment, and returns the native address.
    fn atomic_addr(&mut self, memarg: &MemArg, size: u32) -> Result<Value, CompileError> {
        if size > 1 {
            let index = *self.stack.last().unwrap();
            let index = self.b.ins().uextend(I64, index);
            let ea = self.b.ins().iadd_imm_s(index, memarg.offset as i64);
            let misaligned = self.b.ins().band_imm_s(ea, size as i64 - 1);
            self.b
                .ins()
                .trapnz(misaligned, trap_code(TrapKind::UnalignedAtomic));
        }
        let (addr, off) = self.heap_addr(memarg, size)?;
        Ok(if off == 0 {
            addr
        } else {
            self.b.ins().iadd_imm_s(addr, off as i64)
        })
    }

    /// `ty` is the wasm result type, `mem` the width in memory.
    fn atomic_load(&mut self, memarg: &MemArg, ty: Type, mem: Type) -> Result<(), CompileError> {
        let addr = self.atomic_addr(memarg, mem.bytes())?;
        let v = self.b.ins().atomic_load(mem, heap_flags(), addr);
        let v = if mem == ty {
            v
        } else {
            self.b.ins().uextend(ty, v)
        };
        self.push(v);
        Ok(())
    }

    fn narrow(&mut self, v: Value, mem: Type) -> Value {
        if self.b.func.dfg.value_type(v) == mem {
            v
        } else {
            self.b.ins().ireduce(mem, v)
        }
    }

    fn atomic_store(&mut self, memarg: &MemArg, mem: Type) -> Result<(), CompileError> {
        let v = self.pop();
        let addr = self.atomic_addr(memarg, mem.bytes())?;
        let v = self.narrow(v, mem);
        self.b.ins().atomic_store(heap_flags(), v, addr);
        Ok(())
    }

    fn atomic_rmw(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        mem: Type,
        op: AtomicRmwOp,
    ) -> Result<(), CompileError> {
        let v = self.pop();
        let addr = self.atomic_addr(memarg, mem.bytes())?;
        let v = self.narrow(v, mem);
        let old = self.b.ins().atomic_rmw(mem, heap_flags(), op, addr, v);
        let old = if mem == ty {
            old
        } else {
            self.b.ins().uextend(ty, old)
        };
        self.push(old);
        Ok(())
    }

    fn atomic_cmpxchg(&mut self, memarg: &MemArg, ty: Type, mem: Type) -> Result<(), CompileError> {
        let replacement = self.pop();
        let expected = self.pop();
        let addr = self.atomic_addr(memarg, mem.bytes())?;
        let (expected, replacement) = (self.narrow(expected, mem), self.narrow(replacement, mem));
        let old = self
            .b
            .ins()
            .atomic_cas(heap_flags(), addr, expected, replacement);
        let old = if mem == ty {
            old
        } else {
            self.b.ins().uextend(ty, old)
        };
        self.push(old);
        Ok(())
    }

    /// `memory.atomic.notify` / `wait32` / `wait64` go to the runtime, which
    /// owns the wait queues; it reports traps as negated trap kinds.
    fn wait_or_notify(
        &mut self,
        memarg: &MemArg,
        builtin: Builtin,
        size: u32,
    ) -> Result<(), CompileError> {
        let memory = memory_index(memarg)?;
        let mut args = match builtin {
            Builtin::MemoryAtomicNotify => vec![self.pop()],
            _ => {
                let timeout = self.pop();
                let expected = self.pop();
                vec![expected, timeout]
            }
        };
        let index = *self.stack.last().unwrap();
        let index = self.b.ins().uextend(I64, index);
        let ea = self.b.ins().iadd_imm_s(index, memarg.offset as i64);
        let misaligned = self.b.ins().band_imm_s(ea, size as i64 - 1);
        self.b
            .ins()
            .trapnz(misaligned, trap_code(TrapKind::UnalignedAtomic));
        self.pop();
        let mem = self.b.ins().iconst(I32, memory as i64);
        args.insert(0, ea);
        args.insert(0, mem);
        let r = self.call_builtin(builtin, &args).unwrap();
        // An interrupted wait ends at once (the call's deadline covers
        // waits with an infinite timeout too).
        for kind in [
            TrapKind::MemoryOutOfBounds,
            TrapKind::ExpectedSharedMemory,
            TrapKind::Interrupt,
        ] {
            let hit = self.b.ins().icmp_imm_s(IntCC::Equal, r, -(kind as i64));
            self.b.ins().trapnz(hit, trap_code(kind));
        }
        let r = self.b.ins().ireduce(I32, r);
        self.push(r);
        Ok(())
    }

    pub(super) fn translate_atomic(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use Operator::*;
        match op {
            MemoryAtomicNotify { memarg } => {
                self.wait_or_notify(memarg, Builtin::MemoryAtomicNotify, 4)?
            }
            MemoryAtomicWait32 { memarg } => {
                self.wait_or_notify(memarg, Builtin::MemoryAtomicWait32, 4)?
            }
            MemoryAtomicWait64 { memarg } => {
                self.wait_or_notify(memarg, Builtin::MemoryAtomicWait64, 8)?
            }
            AtomicFence { .. } => {
                self.b.ins().fence();
            }
            I32AtomicLoad { memarg } => self.atomic_load(memarg, I32, I32)?,
            I64AtomicLoad { memarg } => self.atomic_load(memarg, I64, I64)?,
            I32AtomicLoad8U { memarg } => self.atomic_load(memarg, I32, I8)?,
            I32AtomicLoad16U { memarg } => self.atomic_load(memarg, I32, I16)?,
            I64AtomicLoad8U { memarg } => self.atomic_load(memarg, I64, I8)?,
            I64AtomicLoad16U { memarg } => self.atomic_load(memarg, I64, I16)?,
            I64AtomicLoad32U { memarg } => self.atomic_load(memarg, I64, I32)?,
            I32AtomicStore { memarg } => self.atomic_store(memarg, I32)?,
            I64AtomicStore { memarg } => self.atomic_store(memarg, I64)?,
            I32AtomicStore8 { memarg } | I64AtomicStore8 { memarg } => {
                self.atomic_store(memarg, I8)?
            }
            I32AtomicStore16 { memarg } | I64AtomicStore16 { memarg } => {
                self.atomic_store(memarg, I16)?
            }
            I64AtomicStore32 { memarg } => self.atomic_store(memarg, I32)?,
            _ => {
                let Some((memarg, ty, mem, rmw)) = rmw_op(op) else {
                    return Ok(false);
                };
                match rmw {
                    Some(rmw) => self.atomic_rmw(memarg, ty, mem, rmw)?,
                    None => self.atomic_cmpxchg(memarg, ty, mem)?,
                }
            }
        }
        Ok(true)
    }
}

/// Read-modify-write operators: (memarg, result type, memory width, op);
/// `None` for compare-exchange.
fn rmw_op<'o>(op: &'o Operator<'_>) -> Option<(&'o MemArg, Type, Type, Option<AtomicRmwOp>)> {
    use AtomicRmwOp::*;
    use Operator::*;
    Some(match op {
        I32AtomicRmwAdd { memarg } => (memarg, I32, I32, Some(Add)),
        I64AtomicRmwAdd { memarg } => (memarg, I64, I64, Some(Add)),
        I32AtomicRmw8AddU { memarg } => (memarg, I32, I8, Some(Add)),
        I32AtomicRmw16AddU { memarg } => (memarg, I32, I16, Some(Add)),
        I64AtomicRmw8AddU { memarg } => (memarg, I64, I8, Some(Add)),
        I64AtomicRmw16AddU { memarg } => (memarg, I64, I16, Some(Add)),
        I64AtomicRmw32AddU { memarg } => (memarg, I64, I32, Some(Add)),
        I32AtomicRmwSub { memarg } => (memarg, I32, I32, Some(Sub)),
        I64AtomicRmwSub { memarg } => (memarg, I64, I64, Some(Sub)),
        I32AtomicRmw8SubU { memarg } => (memarg, I32, I8, Some(Sub)),
        I32AtomicRmw16SubU { memarg } => (memarg, I32, I16, Some(Sub)),
        I64AtomicRmw8SubU { memarg } => (memarg, I64, I8, Some(Sub)),
        I64AtomicRmw16SubU { memarg } => (memarg, I64, I16, Some(Sub)),
        I64AtomicRmw32SubU { memarg } => (memarg, I64, I32, Some(Sub)),
        I32AtomicRmwAnd { memarg } => (memarg, I32, I32, Some(And)),
        I64AtomicRmwAnd { memarg } => (memarg, I64, I64, Some(And)),
        I32AtomicRmw8AndU { memarg } => (memarg, I32, I8, Some(And)),
        I32AtomicRmw16AndU { memarg } => (memarg, I32, I16, Some(And)),
        I64AtomicRmw8AndU { memarg } => (memarg, I64, I8, Some(And)),
        I64AtomicRmw16AndU { memarg } => (memarg, I64, I16, Some(And)),
        I64AtomicRmw32AndU { memarg } => (memarg, I64, I32, Some(And)),
        I32AtomicRmwOr { memarg } => (memarg, I32, I32, Some(Or)),
        I64AtomicRmwOr { memarg } => (memarg, I64, I64, Some(Or)),
        I32AtomicRmw8OrU { memarg } => (memarg, I32, I8, Some(Or)),
        I32AtomicRmw16OrU { memarg } => (memarg, I32, I16, Some(Or)),
        I64AtomicRmw8OrU { memarg } => (memarg, I64, I8, Some(Or)),
        I64AtomicRmw16OrU { memarg } => (memarg, I64, I16, Some(Or)),
        I64AtomicRmw32OrU { memarg } => (memarg, I64, I32, Some(Or)),
        I32AtomicRmwXor { memarg } => (memarg, I32, I32, Some(Xor)),
        I64AtomicRmwXor { memarg } => (memarg, I64, I64, Some(Xor)),
        I32AtomicRmw8XorU { memarg } => (memarg, I32, I8, Some(Xor)),
        I32AtomicRmw16XorU { memarg } => (memarg, I32, I16, Some(Xor)),
        I64AtomicRmw8XorU { memarg } => (memarg, I64, I8, Some(Xor)),
        I64AtomicRmw16XorU { memarg } => (memarg, I64, I16, Some(Xor)),
        I64AtomicRmw32XorU { memarg } => (memarg, I64, I32, Some(Xor)),
        I32AtomicRmwXchg { memarg } => (memarg, I32, I32, Some(Xchg)),
        I64AtomicRmwXchg { memarg } => (memarg, I64, I64, Some(Xchg)),
        I32AtomicRmw8XchgU { memarg } => (memarg, I32, I8, Some(Xchg)),
        I32AtomicRmw16XchgU { memarg } => (memarg, I32, I16, Some(Xchg)),
        I64AtomicRmw8XchgU { memarg } => (memarg, I64, I8, Some(Xchg)),
        I64AtomicRmw16XchgU { memarg } => (memarg, I64, I16, Some(Xchg)),
        I64AtomicRmw32XchgU { memarg } => (memarg, I64, I32, Some(Xchg)),
        I32AtomicRmwCmpxchg { memarg } => (memarg, I32, I32, None),
        I64AtomicRmwCmpxchg { memarg } => (memarg, I64, I64, None),
        I32AtomicRmw8CmpxchgU { memarg } => (memarg, I32, I8, None),
        I32AtomicRmw16CmpxchgU { memarg } => (memarg, I32, I16, None),
        I64AtomicRmw8CmpxchgU { memarg } => (memarg, I64, I8, None),
        I64AtomicRmw16CmpxchgU { memarg } => (memarg, I64, I16, None),
        I64AtomicRmw32CmpxchgU { memarg } => (memarg, I64, I32, None),
        _ => return None,
    })
}
