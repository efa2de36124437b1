//! Globals, references and table instructions.
//!
//! Table elements are 8-byte words (a `VMFuncRef` pointer or an externref
//! handle, 0 = null). Element accesses are bounds-checked against the
//! current length with the index clamped for Spectre; the bulk operations
//! go to runtime helpers.

use super::Translator;
use super::vmctx::frozen;
use crate::CompileError;
use crate::signature::{POINTER, clif_type};
use crate::traps::trap_code;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use faasm_abi::{Builtin, TrapKind, VMOffsets};
use wasmparser::Operator;

impl Translator<'_, '_> {
    /// Loads element `index` (i32) of a table, trapping with `oob` past its
    /// end.
    pub(super) fn checked_table_entry(&mut self, table: u32, index: Value, oob: TrapKind) -> Value {
        let addr = self.table_elem_addr(table, index, oob);
        self.b.ins().load(POINTER, MemFlagsData::trusted(), addr, 0)
    }

    fn table_elem_addr(&mut self, table: u32, index: Value, oob: TrapKind) -> Value {
        let def = self.table_def(table);
        let len = self.load_field(types::I64, def, VMOffsets::DEF_LENGTH);
        let base = self.load_field(POINTER, def, VMOffsets::DEF_BASE);
        let index = self.b.ins().uextend(types::I64, index);
        let out = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.b.ins().trapnz(out, trap_code(oob));
        let zero = self.b.ins().iconst(types::I64, 0);
        let index = self.b.ins().select_spectre_guard(out, zero, index);
        let scaled = self.b.ins().ishl_imm_u(index, 3);
        self.b.ins().iadd(base, scaled)
    }

    fn i32_const(&mut self, v: u32) -> Value {
        self.b.ins().iconst(types::I32, v as i64)
    }

    pub(super) fn translate_table(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match *op {
            Operator::GlobalGet { global_index } => {
                let (ty, _) = self.env.info.globals[global_index as usize];
                let addr = self.global_addr(global_index);
                let flags = if ty.mutable {
                    MemFlagsData::trusted()
                } else {
                    frozen()
                };
                let v = self.b.ins().load(clif_type(ty.ty), flags, addr, 0);
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let addr = self.global_addr(global_index);
                self.b.ins().store(MemFlagsData::trusted(), v, addr, 0);
            }
            Operator::RefNull { .. } => {
                let v = self.b.ins().iconst(POINTER, 0);
                self.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                let v = self.b.ins().uextend(types::I32, c);
                self.push(v);
            }
            Operator::RefFunc { function_index } => {
                let off = self.env.offsets.funcref(function_index);
                let v = self.b.ins().iadd_imm_s(self.vmctx, off as i64);
                self.push(v);
            }
            Operator::TableGet { table } => {
                let index = self.pop();
                let v = self.checked_table_entry(table, index, TrapKind::TableOutOfBounds);
                self.push(v);
            }
            Operator::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                let addr = self.table_elem_addr(table, index, TrapKind::TableOutOfBounds);
                self.b.ins().store(MemFlagsData::trusted(), value, addr, 0);
            }
            Operator::TableSize { table } => {
                let def = self.table_def(table);
                let len = self.load_field(types::I64, def, VMOffsets::DEF_LENGTH);
                let v = self.b.ins().ireduce(types::I32, len);
                self.push(v);
            }
            Operator::TableGrow { table } => {
                let delta = self.pop();
                let init = self.pop();
                let t = self.i32_const(table);
                let v = self
                    .call_builtin(Builtin::TableGrow, &[t, init, delta])
                    .unwrap();
                self.push(v);
            }
            Operator::TableFill { table } => {
                let n = self.pop();
                let value = self.pop();
                let dst = self.pop();
                let t = self.i32_const(table);
                let s = self
                    .call_builtin(Builtin::TableFill, &[t, dst, value, n])
                    .unwrap();
                self.b
                    .ins()
                    .trapnz(s, trap_code(TrapKind::TableOutOfBounds));
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let n = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let (dt, st) = (self.i32_const(dst_table), self.i32_const(src_table));
                let s = self
                    .call_builtin(Builtin::TableCopy, &[dt, st, dst, src, n])
                    .unwrap();
                self.b
                    .ins()
                    .trapnz(s, trap_code(TrapKind::TableOutOfBounds));
            }
            Operator::TableInit { elem_index, table } => {
                let n = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let (t, seg) = (self.i32_const(table), self.i32_const(elem_index));
                let s = self
                    .call_builtin(Builtin::TableInit, &[t, seg, dst, src, n])
                    .unwrap();
                self.b
                    .ins()
                    .trapnz(s, trap_code(TrapKind::TableOutOfBounds));
            }
            Operator::ElemDrop { elem_index } => {
                let seg = self.i32_const(elem_index);
                self.call_builtin(Builtin::ElemDrop, &[seg]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
