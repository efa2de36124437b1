//! Linear-memory access under SFI, and the memory instructions.
//!
//! Guarded strategy: the runtime reserves 4 GiB plus a guard region, so a
//! 32-bit index plus a static offset that stays within the guard can never
//! leave the reservation; such accesses carry no check and a fault in the
//! guard becomes a trap. Larger offsets, and every access under the
//! explicit strategy, compare the end of the access with the current
//! length and clamp the address to null with `select_spectre_guard`, so a
//! mispredicted check still cannot read outside the memory: the access at
//! null faults and becomes the same trap.
//!
//! Under the guarded strategy, a wrapping sum a few bytes past an address
//! already accessed on every path to it is computed in 64 bits from that
//! address instead (`addr_facts.rs`), so it folds into the access.

use super::{Translator, addr_facts};
use crate::CompileError;
use crate::traps::trap_code;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Endianness, InstBuilder, MemFlagsData, TrapCode, Type, Value, types};
use faasm_abi::{Builtin, MemoryStrategy, TrapKind};
use wasmparser::{MemArg, MemArgTarget, Operator};

pub(super) fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(Endianness::Little)
        .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
}

pub(super) fn memory_index(memarg: &MemArg) -> Result<u32, CompileError> {
    match memarg.target {
        MemArgTarget::Memory(i) => Ok(i),
        MemArgTarget::Array(_) => Err(CompileError::Unsupported("GC array accesses".into())),
    }
}

impl Translator<'_, '_> {
    /// Pops the index and returns the native address plus the immediate
    /// offset to use on the access.
    pub(super) fn heap_addr(
        &mut self,
        memarg: &MemArg,
        size: u32,
    ) -> Result<(Value, i32), CompileError> {
        let memory = memory_index(memarg)?;
        if self.env.info.memories[memory as usize].memory64 {
            return Err(CompileError::Unsupported("64-bit memories".into()));
        }
        let index = self.pop();
        let end = memarg.offset + size as u64;
        let guard = match self.env.config.memory_strategy {
            MemoryStrategy::Guarded { guard_bytes } => guard_bytes,
            MemoryStrategy::Explicit => 0,
        };
        let guarded = end <= guard;
        let (index, offset) = if guarded {
            self.fold_near_known(index, memarg.offset, guard - end)
        } else {
            // Below the guard, so it fits.
            (index, memarg.offset as i64)
        };
        let index = self.b.ins().uextend(types::I64, index);
        let base = self.memory_base(memory);
        let addr = self.b.ins().iadd(base, index);
        if guarded {
            return Ok(match i32::try_from(offset) {
                Ok(off) => (addr, off),
                Err(_) => (self.b.ins().iadd_imm_s(addr, offset), 0),
            });
        }
        let access_end = self.b.ins().iadd_imm_s(index, end as i64);
        let oob = self.past_length(memory, access_end);
        let addr = self.b.ins().iadd_imm_s(addr, offset);
        let null = self.b.ins().iconst(types::I64, 0);
        Ok((self.b.ins().select_spectre_guard(oob, null, addr), 0))
    }

    /// The address to access for `index` at static `offset` under the
    /// guarded strategy, the wrapping add folded away where the rules of
    /// addr_facts.rs allow: near an address already accessed on every path
    /// here, or a small distance below any address. `room` is what is left
    /// of the guard past the access.
    fn fold_near_known(&mut self, index: Value, offset: u64, room: u64) -> (Value, i64) {
        let (sum_base, sum_const) = addr_facts::split_const(&self.b.func.dfg, index);
        let folded = self
            .addr_facts
            .fold(sum_base, sum_const, index, offset, room);
        (folded.addr, folded.offset)
    }

    fn load(
        &mut self,
        memarg: &MemArg,
        size: u32,
        f: impl FnOnce(&mut Self, MemFlagsData, Value, i32) -> Value,
    ) -> Result<(), CompileError> {
        let (addr, off) = self.heap_addr(memarg, size)?;
        let v = f(self, heap_flags(), addr, off);
        self.push(v);
        Ok(())
    }

    fn store(
        &mut self,
        memarg: &MemArg,
        size: u32,
        f: impl FnOnce(&mut Self, MemFlagsData, Value, Value, i32),
    ) -> Result<(), CompileError> {
        let value = self.pop();
        let (addr, off) = self.heap_addr(memarg, size)?;
        f(self, heap_flags(), value, addr, off);
        Ok(())
    }

    fn plain_load(&mut self, memarg: &MemArg, ty: Type) -> Result<(), CompileError> {
        self.load(memarg, ty.bytes(), |t, fl, a, o| {
            t.b.ins().load(ty, fl, a, o)
        })
    }

    fn plain_store(&mut self, memarg: &MemArg, size: u32) -> Result<(), CompileError> {
        self.store(memarg, size, |t, fl, v, a, o| {
            t.b.ins().store(fl, v, a, o);
        })
    }

    /// Whether `end` (an i64 byte offset, exclusive) lies past memory
    /// `mem`'s current length: the one bounds test of explicit checks and
    /// bulk operations.
    fn past_length(&mut self, mem: u32, end: Value) -> Value {
        let length = self.memory_length(mem);
        self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, length)
    }

    /// The native address of `[offset, offset + len)` in memory `mem`
    /// (`offset` an i32, `len` already an i64), after trapping if the range
    /// is not inside the memory's current length. Bulk operations check
    /// here, in line, and leave only the bytes to the runtime.
    fn checked_range(&mut self, mem: u32, offset: Value, len: Value) -> Value {
        let offset = self.u64_of(offset);
        // Both are zero-extended 32-bit values: the sum cannot wrap.
        let end = self.b.ins().iadd(offset, len);
        let oob = self.past_length(mem, end);
        self.b
            .ins()
            .trapnz(oob, trap_code(TrapKind::MemoryOutOfBounds));
        let base = self.memory_base(mem);
        self.b.ins().iadd(base, offset)
    }

    fn mem_index(&mut self, mem: u32) -> Value {
        self.b.ins().iconst(types::I32, mem as i64)
    }

    fn u64_of(&mut self, v: Value) -> Value {
        self.b.ins().uextend(types::I64, v)
    }

    fn trap_if_failed(&mut self, status: Option<Value>, kind: TrapKind) {
        let status = status.expect("builtin returns a status");
        self.b.ins().trapnz(status, trap_code(kind));
    }

    pub(super) fn translate_memory(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{F32, F64, I32, I64};
        match op {
            Operator::I32Load { memarg } => self.plain_load(memarg, I32)?,
            Operator::I64Load { memarg } => self.plain_load(memarg, I64)?,
            Operator::F32Load { memarg } => self.plain_load(memarg, F32)?,
            Operator::F64Load { memarg } => self.plain_load(memarg, F64)?,
            Operator::I32Load8S { memarg } => {
                self.load(memarg, 1, |t, f, a, o| t.b.ins().sload8(I32, f, a, o))?
            }
            Operator::I32Load8U { memarg } => {
                self.load(memarg, 1, |t, f, a, o| t.b.ins().uload8(I32, f, a, o))?
            }
            Operator::I32Load16S { memarg } => {
                self.load(memarg, 2, |t, f, a, o| t.b.ins().sload16(I32, f, a, o))?
            }
            Operator::I32Load16U { memarg } => {
                self.load(memarg, 2, |t, f, a, o| t.b.ins().uload16(I32, f, a, o))?
            }
            Operator::I64Load8S { memarg } => {
                self.load(memarg, 1, |t, f, a, o| t.b.ins().sload8(I64, f, a, o))?
            }
            Operator::I64Load8U { memarg } => {
                self.load(memarg, 1, |t, f, a, o| t.b.ins().uload8(I64, f, a, o))?
            }
            Operator::I64Load16S { memarg } => {
                self.load(memarg, 2, |t, f, a, o| t.b.ins().sload16(I64, f, a, o))?
            }
            Operator::I64Load16U { memarg } => {
                self.load(memarg, 2, |t, f, a, o| t.b.ins().uload16(I64, f, a, o))?
            }
            Operator::I64Load32S { memarg } => {
                self.load(memarg, 4, |t, f, a, o| t.b.ins().sload32(f, a, o))?
            }
            Operator::I64Load32U { memarg } => {
                self.load(memarg, 4, |t, f, a, o| t.b.ins().uload32(f, a, o))?
            }
            Operator::I32Store { memarg } | Operator::F32Store { memarg } => {
                self.plain_store(memarg, 4)?
            }
            Operator::I64Store { memarg } | Operator::F64Store { memarg } => {
                self.plain_store(memarg, 8)?
            }
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                self.store(memarg, 1, |t, f, v, a, o| {
                    t.b.ins().istore8(f, v, a, o);
                })?
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                self.store(memarg, 2, |t, f, v, a, o| {
                    t.b.ins().istore16(f, v, a, o);
                })?
            }
            Operator::I64Store32 { memarg } => self.store(memarg, 4, |t, f, v, a, o| {
                t.b.ins().istore32(f, v, a, o);
            })?,
            Operator::MemorySize { mem } => {
                let len = self.memory_length(*mem);
                let pages = self.b.ins().ushr_imm_u(len, 16);
                let pages = self.b.ins().ireduce(I32, pages);
                self.push(pages);
            }
            Operator::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.u64_of(delta);
                let m = self.mem_index(*mem);
                let old = self.call_builtin(Builtin::MemoryGrow, &[m, delta]).unwrap();
                let old = self.b.ins().ireduce(I32, old);
                self.push(old);
            }
            Operator::MemoryFill { mem } => {
                let n = self.pop();
                let val = self.pop();
                let dst = self.pop();
                let n = self.u64_of(n);
                let dst = self.checked_range(*mem, dst, n);
                self.call_builtin(Builtin::MemoryFill, &[dst, val, n]);
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let n = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let n = self.u64_of(n);
                // Both checks before any byte moves: an out-of-bounds copy
                // changes nothing.
                let dst = self.checked_range(*dst_mem, dst, n);
                let src = self.checked_range(*src_mem, src, n);
                self.call_builtin(Builtin::MemoryCopy, &[dst, src, n]);
            }
            Operator::MemoryInit { data_index, mem } => {
                let n = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let m = self.mem_index(*mem);
                let seg = self.b.ins().iconst(I32, *data_index as i64);
                let dst = self.u64_of(dst);
                let s = self.call_builtin(Builtin::MemoryInit, &[m, seg, dst, src, n]);
                self.trap_if_failed(s, TrapKind::MemoryOutOfBounds);
            }
            Operator::DataDrop { data_index } => {
                let seg = self.b.ins().iconst(I32, *data_index as i64);
                self.call_builtin(Builtin::DataDrop, &[seg]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
