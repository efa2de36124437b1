//! Constants and numeric operators. Cranelift's integer and float
//! instructions already have WebAssembly's semantics (shift counts masked,
//! division traps, NaN-propagating min/max, trapping and saturating
//! conversions), so most operators map one to one.

use super::Translator;
use crate::CompileError;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value, types};
use wasmparser::Operator;

impl Translator<'_, '_> {
    fn unop(&mut self, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop();
        let v = f(self, a);
        self.push(v);
    }

    fn binop(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let b = self.pop();
        let a = self.pop();
        let v = f(self, a, b);
        self.push(v);
    }

    fn bool_to_i32(&mut self, v: Value) -> Value {
        self.b.ins().uextend(types::I32, v)
    }

    fn icmp(&mut self, cc: IntCC) {
        self.binop(|t, a, b| {
            let c = t.b.ins().icmp(cc, a, b);
            t.bool_to_i32(c)
        })
    }

    fn fcmp(&mut self, cc: FloatCC) {
        self.binop(|t, a, b| {
            let c = t.b.ins().fcmp(cc, a, b);
            t.bool_to_i32(c)
        })
    }

    fn eqz(&mut self) {
        self.unop(|t, a| {
            let c = t.b.ins().icmp_imm_s(IntCC::Equal, a, 0);
            t.bool_to_i32(c)
        })
    }

    /// `extendN_s`: sign-extend the low `from` bits within the same width.
    fn sext_in_place(&mut self, from: Type) {
        self.unop(|t, a| {
            let ty = t.b.func.dfg.value_type(a);
            let narrow = t.b.ins().ireduce(from, a);
            t.b.ins().sextend(ty, narrow)
        })
    }

    fn bitcast(&mut self, to: Type) {
        self.unop(|t, a| t.b.ins().bitcast(to, MemFlagsData::new(), a))
    }

    pub(super) fn translate_numeric(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{F32, F64, I8, I16, I32, I64};
        match *op {
            Operator::I32Const { value } => {
                let v = self.b.ins().iconst(I32, value as i64);
                self.push(v);
            }
            Operator::I64Const { value } => {
                let v = self.b.ins().iconst(I64, value);
                self.push(v);
            }
            Operator::F32Const { value } => {
                let v = self.b.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            Operator::F64Const { value } => {
                let v = self.b.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(v);
            }

            Operator::I32Eqz | Operator::I64Eqz => self.eqz(),
            Operator::I32Eq | Operator::I64Eq => self.icmp(IntCC::Equal),
            Operator::I32Ne | Operator::I64Ne => self.icmp(IntCC::NotEqual),
            Operator::I32LtS | Operator::I64LtS => self.icmp(IntCC::SignedLessThan),
            Operator::I32LtU | Operator::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            Operator::I32GtS | Operator::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            Operator::I32GtU | Operator::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            Operator::I32LeS | Operator::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            Operator::I32LeU | Operator::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            Operator::I32GeS | Operator::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            Operator::I32GeU | Operator::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            Operator::F32Eq | Operator::F64Eq => self.fcmp(FloatCC::Equal),
            Operator::F32Ne | Operator::F64Ne => self.fcmp(FloatCC::NotEqual),
            Operator::F32Lt | Operator::F64Lt => self.fcmp(FloatCC::LessThan),
            Operator::F32Gt | Operator::F64Gt => self.fcmp(FloatCC::GreaterThan),
            Operator::F32Le | Operator::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            Operator::F32Ge | Operator::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            Operator::I32Clz | Operator::I64Clz => self.unop(|t, a| t.b.ins().clz(a)),
            Operator::I32Ctz | Operator::I64Ctz => self.unop(|t, a| t.b.ins().ctz(a)),
            Operator::I32Popcnt | Operator::I64Popcnt => self.unop(|t, a| t.b.ins().popcnt(a)),
            Operator::I32Add | Operator::I64Add => self.binop(|t, a, b| t.b.ins().iadd(a, b)),
            Operator::I32Sub | Operator::I64Sub => self.binop(|t, a, b| t.b.ins().isub(a, b)),
            Operator::I32Mul | Operator::I64Mul => self.binop(|t, a, b| t.b.ins().imul(a, b)),
            Operator::I32DivS | Operator::I64DivS => self.binop(|t, a, b| t.b.ins().sdiv(a, b)),
            Operator::I32DivU | Operator::I64DivU => self.binop(|t, a, b| t.b.ins().udiv(a, b)),
            Operator::I32RemS | Operator::I64RemS => self.binop(|t, a, b| t.b.ins().srem(a, b)),
            Operator::I32RemU | Operator::I64RemU => self.binop(|t, a, b| t.b.ins().urem(a, b)),
            Operator::I32And | Operator::I64And => self.binop(|t, a, b| t.b.ins().band(a, b)),
            Operator::I32Or | Operator::I64Or => self.binop(|t, a, b| t.b.ins().bor(a, b)),
            Operator::I32Xor | Operator::I64Xor => self.binop(|t, a, b| t.b.ins().bxor(a, b)),
            Operator::I32Shl | Operator::I64Shl => self.binop(|t, a, b| t.b.ins().ishl(a, b)),
            Operator::I32ShrS | Operator::I64ShrS => self.binop(|t, a, b| t.b.ins().sshr(a, b)),
            Operator::I32ShrU | Operator::I64ShrU => self.binop(|t, a, b| t.b.ins().ushr(a, b)),
            Operator::I32Rotl | Operator::I64Rotl => self.binop(|t, a, b| t.b.ins().rotl(a, b)),
            Operator::I32Rotr | Operator::I64Rotr => self.binop(|t, a, b| t.b.ins().rotr(a, b)),

            Operator::F32Abs | Operator::F64Abs => self.unop(|t, a| t.b.ins().fabs(a)),
            Operator::F32Neg | Operator::F64Neg => self.unop(|t, a| t.b.ins().fneg(a)),
            Operator::F32Ceil | Operator::F64Ceil => self.unop(|t, a| t.b.ins().ceil(a)),
            Operator::F32Floor | Operator::F64Floor => self.unop(|t, a| t.b.ins().floor(a)),
            Operator::F32Trunc | Operator::F64Trunc => self.unop(|t, a| t.b.ins().trunc(a)),
            Operator::F32Nearest | Operator::F64Nearest => self.unop(|t, a| t.b.ins().nearest(a)),
            Operator::F32Sqrt | Operator::F64Sqrt => self.unop(|t, a| t.b.ins().sqrt(a)),
            Operator::F32Add | Operator::F64Add => self.binop(|t, a, b| t.b.ins().fadd(a, b)),
            Operator::F32Sub | Operator::F64Sub => self.binop(|t, a, b| t.b.ins().fsub(a, b)),
            Operator::F32Mul | Operator::F64Mul => self.binop(|t, a, b| t.b.ins().fmul(a, b)),
            Operator::F32Div | Operator::F64Div => self.binop(|t, a, b| t.b.ins().fdiv(a, b)),
            Operator::F32Min | Operator::F64Min => self.binop(|t, a, b| t.b.ins().fmin(a, b)),
            Operator::F32Max | Operator::F64Max => self.binop(|t, a, b| t.b.ins().fmax(a, b)),
            Operator::F32Copysign | Operator::F64Copysign => {
                self.binop(|t, a, b| t.b.ins().fcopysign(a, b))
            }

            Operator::I32WrapI64 => self.unop(|t, a| t.b.ins().ireduce(I32, a)),
            Operator::I64ExtendI32S => self.unop(|t, a| t.b.ins().sextend(I64, a)),
            Operator::I64ExtendI32U => self.unop(|t, a| t.b.ins().uextend(I64, a)),
            Operator::I32Extend8S | Operator::I64Extend8S => self.sext_in_place(I8),
            Operator::I32Extend16S | Operator::I64Extend16S => self.sext_in_place(I16),
            Operator::I64Extend32S => self.sext_in_place(I32),

            Operator::I32TruncF32S | Operator::I32TruncF64S => {
                self.unop(|t, a| t.b.ins().fcvt_to_sint(I32, a))
            }
            Operator::I32TruncF32U | Operator::I32TruncF64U => {
                self.unop(|t, a| t.b.ins().fcvt_to_uint(I32, a))
            }
            Operator::I64TruncF32S | Operator::I64TruncF64S => {
                self.unop(|t, a| t.b.ins().fcvt_to_sint(I64, a))
            }
            Operator::I64TruncF32U | Operator::I64TruncF64U => {
                self.unop(|t, a| t.b.ins().fcvt_to_uint(I64, a))
            }
            Operator::I32TruncSatF32S | Operator::I32TruncSatF64S => {
                self.unop(|t, a| t.b.ins().fcvt_to_sint_sat(I32, a))
            }
            Operator::I32TruncSatF32U | Operator::I32TruncSatF64U => {
                self.unop(|t, a| t.b.ins().fcvt_to_uint_sat(I32, a))
            }
            Operator::I64TruncSatF32S | Operator::I64TruncSatF64S => {
                self.unop(|t, a| t.b.ins().fcvt_to_sint_sat(I64, a))
            }
            Operator::I64TruncSatF32U | Operator::I64TruncSatF64U => {
                self.unop(|t, a| t.b.ins().fcvt_to_uint_sat(I64, a))
            }
            Operator::F32ConvertI32S | Operator::F32ConvertI64S => {
                self.unop(|t, a| t.b.ins().fcvt_from_sint(F32, a))
            }
            Operator::F32ConvertI32U | Operator::F32ConvertI64U => {
                self.unop(|t, a| t.b.ins().fcvt_from_uint(F32, a))
            }
            Operator::F64ConvertI32S | Operator::F64ConvertI64S => {
                self.unop(|t, a| t.b.ins().fcvt_from_sint(F64, a))
            }
            Operator::F64ConvertI32U | Operator::F64ConvertI64U => {
                self.unop(|t, a| t.b.ins().fcvt_from_uint(F64, a))
            }
            Operator::F32DemoteF64 => self.unop(|t, a| t.b.ins().fdemote(F32, a)),
            Operator::F64PromoteF32 => self.unop(|t, a| t.b.ins().fpromote(F64, a)),
            Operator::I32ReinterpretF32 => self.bitcast(I32),
            Operator::I64ReinterpretF64 => self.bitcast(I64),
            Operator::F32ReinterpretI32 => self.bitcast(F32),
            Operator::F64ReinterpretI64 => self.bitcast(F64),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
