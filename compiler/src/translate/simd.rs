//! Fixed-width SIMD (v128) operators, lowered to Cranelift vector types so
//! they become SSE/AVX or NEON instructions.
//!
//! Every v128 on the operand stack, in locals and in block parameters is
//! `i8x16`; an operator bitcasts its inputs to the lane shape it works on
//! and its result back to `i8x16`. The bitcasts are free in registers.

use super::Translator;
use crate::CompileError;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{Endianness, InstBuilder, MemFlagsData, Type, Value, types};
use wasmparser::Operator;

use types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2};

fn vec_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl Translator<'_, '_> {
    /// Reinterprets a vector as another lane shape.
    fn cast(&mut self, v: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            self.b.ins().bitcast(ty, vec_flags(), v)
        }
    }

    fn pop_as(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.cast(v, ty)
    }

    fn push_vec(&mut self, v: Value) {
        let v = self.cast(v, I8X16);
        self.push(v);
    }

    fn vunop(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop_as(ty);
        let v = f(self, a);
        self.push_vec(v);
    }

    fn vbinop(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let b = self.pop_as(ty);
        let a = self.pop_as(ty);
        let v = f(self, a, b);
        self.push_vec(v);
    }

    fn vicmp(&mut self, ty: Type, cc: IntCC) {
        self.vbinop(ty, |t, a, b| t.b.ins().icmp(cc, a, b))
    }

    fn vfcmp(&mut self, ty: Type, cc: FloatCC) {
        self.vbinop(ty, |t, a, b| t.b.ins().fcmp(cc, a, b))
    }

    /// Shifts take a scalar i32 count; Cranelift masks it to the lane width
    /// as WebAssembly requires.
    fn vshift(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let count = self.pop();
        let a = self.pop_as(ty);
        let v = f(self, a, count);
        self.push_vec(v);
    }

    fn splat(&mut self, ty: Type) {
        let lane = ty.lane_type();
        let mut s = self.pop();
        if lane.is_int() && lane.bits() < 32 {
            s = self.b.ins().ireduce(lane, s);
        }
        let v = self.b.ins().splat(ty, s);
        self.push_vec(v);
    }

    fn extract(&mut self, ty: Type, lane: u8, ext: Option<bool>) {
        let v = self.pop_as(ty);
        let x = self.b.ins().extractlane(v, lane);
        let x = match ext {
            Some(true) => self.b.ins().sextend(I32, x),
            Some(false) => self.b.ins().uextend(I32, x),
            None => x,
        };
        self.push(x);
    }

    fn replace(&mut self, ty: Type, lane: u8) {
        let mut s = self.pop();
        let v = self.pop_as(ty);
        if ty.lane_type().is_int() && ty.lane_bits() < 32 {
            s = self.b.ins().ireduce(ty.lane_type(), s);
        }
        let r = self.b.ins().insertlane(v, s, lane);
        self.push_vec(r);
    }

    fn const_vec(&mut self, ty: Type, bytes: [u8; 16]) -> Value {
        let c = self.b.func.dfg.constants.insert(bytes.to_vec().into());
        self.b.ins().vconst(ty, c)
    }

    /// `pmin`/`pmax`: `b < a ? b : a` and `a < b ? b : a`, NaN-oblivious.
    fn pseudo_minmax(&mut self, ty: Type, max: bool) {
        self.vbinop(ty, |t, a, b| {
            let (x, y) = if max { (a, b) } else { (b, a) };
            let lt = t.b.ins().fcmp(FloatCC::LessThan, x, y);
            let mask = t.cast(lt, ty);
            t.b.ins().bitselect(mask, b, a)
        })
    }

    fn extmul(&mut self, ty: Type, signed: bool, high: bool) {
        self.vbinop(ty, |t, a, b| {
            let widen = |t: &mut Self, v| match (signed, high) {
                (true, false) => t.b.ins().swiden_low(v),
                (true, true) => t.b.ins().swiden_high(v),
                (false, false) => t.b.ins().uwiden_low(v),
                (false, true) => t.b.ins().uwiden_high(v),
            };
            let (wa, wb) = (widen(t, a), widen(t, b));
            t.b.ins().imul(wa, wb)
        })
    }

    fn extadd_pairwise(&mut self, ty: Type, signed: bool) {
        self.vunop(ty, |t, a| {
            let (lo, hi) = if signed {
                (t.b.ins().swiden_low(a), t.b.ins().swiden_high(a))
            } else {
                (t.b.ins().uwiden_low(a), t.b.ins().uwiden_high(a))
            };
            t.b.ins().iadd_pairwise(lo, hi)
        })
    }

    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        if self.translate_simd_memory(op)? {
            return Ok(true);
        }
        match *op {
            Operator::V128Const { value } => {
                let v = self.const_vec(I8X16, *value.bytes());
                self.push(v);
            }
            Operator::I8x16Shuffle { lanes } => {
                let b = self.pop();
                let a = self.pop();
                let mask = self.b.func.dfg.immediates.push(lanes.to_vec().into());
                let v = self.b.ins().shuffle(a, b, mask);
                self.push(v);
            }
            Operator::I8x16Swizzle => self.vbinop(I8X16, |t, a, b| t.b.ins().swizzle(a, b)),
            Operator::I8x16Splat => self.splat(I8X16),
            Operator::I16x8Splat => self.splat(I16X8),
            Operator::I32x4Splat => self.splat(I32X4),
            Operator::I64x2Splat => self.splat(I64X2),
            Operator::F32x4Splat => self.splat(F32X4),
            Operator::F64x2Splat => self.splat(F64X2),
            Operator::I8x16ExtractLaneS { lane } => self.extract(I8X16, lane, Some(true)),
            Operator::I8x16ExtractLaneU { lane } => self.extract(I8X16, lane, Some(false)),
            Operator::I16x8ExtractLaneS { lane } => self.extract(I16X8, lane, Some(true)),
            Operator::I16x8ExtractLaneU { lane } => self.extract(I16X8, lane, Some(false)),
            Operator::I32x4ExtractLane { lane } => self.extract(I32X4, lane, None),
            Operator::I64x2ExtractLane { lane } => self.extract(I64X2, lane, None),
            Operator::F32x4ExtractLane { lane } => self.extract(F32X4, lane, None),
            Operator::F64x2ExtractLane { lane } => self.extract(F64X2, lane, None),
            Operator::I8x16ReplaceLane { lane } => self.replace(I8X16, lane),
            Operator::I16x8ReplaceLane { lane } => self.replace(I16X8, lane),
            Operator::I32x4ReplaceLane { lane } => self.replace(I32X4, lane),
            Operator::I64x2ReplaceLane { lane } => self.replace(I64X2, lane),
            Operator::F32x4ReplaceLane { lane } => self.replace(F32X4, lane),
            Operator::F64x2ReplaceLane { lane } => self.replace(F64X2, lane),

            Operator::I8x16Eq => self.vicmp(I8X16, IntCC::Equal),
            Operator::I8x16Ne => self.vicmp(I8X16, IntCC::NotEqual),
            Operator::I8x16LtS => self.vicmp(I8X16, IntCC::SignedLessThan),
            Operator::I8x16LtU => self.vicmp(I8X16, IntCC::UnsignedLessThan),
            Operator::I8x16GtS => self.vicmp(I8X16, IntCC::SignedGreaterThan),
            Operator::I8x16GtU => self.vicmp(I8X16, IntCC::UnsignedGreaterThan),
            Operator::I8x16LeS => self.vicmp(I8X16, IntCC::SignedLessThanOrEqual),
            Operator::I8x16LeU => self.vicmp(I8X16, IntCC::UnsignedLessThanOrEqual),
            Operator::I8x16GeS => self.vicmp(I8X16, IntCC::SignedGreaterThanOrEqual),
            Operator::I8x16GeU => self.vicmp(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I16x8Eq => self.vicmp(I16X8, IntCC::Equal),
            Operator::I16x8Ne => self.vicmp(I16X8, IntCC::NotEqual),
            Operator::I16x8LtS => self.vicmp(I16X8, IntCC::SignedLessThan),
            Operator::I16x8LtU => self.vicmp(I16X8, IntCC::UnsignedLessThan),
            Operator::I16x8GtS => self.vicmp(I16X8, IntCC::SignedGreaterThan),
            Operator::I16x8GtU => self.vicmp(I16X8, IntCC::UnsignedGreaterThan),
            Operator::I16x8LeS => self.vicmp(I16X8, IntCC::SignedLessThanOrEqual),
            Operator::I16x8LeU => self.vicmp(I16X8, IntCC::UnsignedLessThanOrEqual),
            Operator::I16x8GeS => self.vicmp(I16X8, IntCC::SignedGreaterThanOrEqual),
            Operator::I16x8GeU => self.vicmp(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I32x4Eq => self.vicmp(I32X4, IntCC::Equal),
            Operator::I32x4Ne => self.vicmp(I32X4, IntCC::NotEqual),
            Operator::I32x4LtS => self.vicmp(I32X4, IntCC::SignedLessThan),
            Operator::I32x4LtU => self.vicmp(I32X4, IntCC::UnsignedLessThan),
            Operator::I32x4GtS => self.vicmp(I32X4, IntCC::SignedGreaterThan),
            Operator::I32x4GtU => self.vicmp(I32X4, IntCC::UnsignedGreaterThan),
            Operator::I32x4LeS => self.vicmp(I32X4, IntCC::SignedLessThanOrEqual),
            Operator::I32x4LeU => self.vicmp(I32X4, IntCC::UnsignedLessThanOrEqual),
            Operator::I32x4GeS => self.vicmp(I32X4, IntCC::SignedGreaterThanOrEqual),
            Operator::I32x4GeU => self.vicmp(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I64x2Eq => self.vicmp(I64X2, IntCC::Equal),
            Operator::I64x2Ne => self.vicmp(I64X2, IntCC::NotEqual),
            Operator::I64x2LtS => self.vicmp(I64X2, IntCC::SignedLessThan),
            Operator::I64x2GtS => self.vicmp(I64X2, IntCC::SignedGreaterThan),
            Operator::I64x2LeS => self.vicmp(I64X2, IntCC::SignedLessThanOrEqual),
            Operator::I64x2GeS => self.vicmp(I64X2, IntCC::SignedGreaterThanOrEqual),
            Operator::F32x4Eq => self.vfcmp(F32X4, FloatCC::Equal),
            Operator::F32x4Ne => self.vfcmp(F32X4, FloatCC::NotEqual),
            Operator::F32x4Lt => self.vfcmp(F32X4, FloatCC::LessThan),
            Operator::F32x4Gt => self.vfcmp(F32X4, FloatCC::GreaterThan),
            Operator::F32x4Le => self.vfcmp(F32X4, FloatCC::LessThanOrEqual),
            Operator::F32x4Ge => self.vfcmp(F32X4, FloatCC::GreaterThanOrEqual),
            Operator::F64x2Eq => self.vfcmp(F64X2, FloatCC::Equal),
            Operator::F64x2Ne => self.vfcmp(F64X2, FloatCC::NotEqual),
            Operator::F64x2Lt => self.vfcmp(F64X2, FloatCC::LessThan),
            Operator::F64x2Gt => self.vfcmp(F64X2, FloatCC::GreaterThan),
            Operator::F64x2Le => self.vfcmp(F64X2, FloatCC::LessThanOrEqual),
            Operator::F64x2Ge => self.vfcmp(F64X2, FloatCC::GreaterThanOrEqual),

            Operator::V128Not => self.vunop(I8X16, |t, a| t.b.ins().bnot(a)),
            Operator::V128And => self.vbinop(I8X16, |t, a, b| t.b.ins().band(a, b)),
            Operator::V128AndNot => self.vbinop(I8X16, |t, a, b| t.b.ins().band_not(a, b)),
            Operator::V128Or => self.vbinop(I8X16, |t, a, b| t.b.ins().bor(a, b)),
            Operator::V128Xor => self.vbinop(I8X16, |t, a, b| t.b.ins().bxor(a, b)),
            Operator::V128Bitselect => {
                let c = self.pop();
                let b = self.pop();
                let a = self.pop();
                let v = self.b.ins().bitselect(c, a, b);
                self.push(v);
            }
            Operator::V128AnyTrue => {
                let a = self.pop();
                let t = self.b.ins().vany_true(a);
                let v = self.b.ins().uextend(I32, t);
                self.push(v);
            }
            Operator::I8x16AllTrue
            | Operator::I16x8AllTrue
            | Operator::I32x4AllTrue
            | Operator::I64x2AllTrue => {
                let ty = lane_shape(op);
                let a = self.pop_as(ty);
                let t = self.b.ins().vall_true(a);
                let v = self.b.ins().uextend(I32, t);
                self.push(v);
            }
            Operator::I8x16Bitmask
            | Operator::I16x8Bitmask
            | Operator::I32x4Bitmask
            | Operator::I64x2Bitmask => {
                let ty = lane_shape(op);
                let a = self.pop_as(ty);
                let v = self.b.ins().vhigh_bits(I32, a);
                self.push(v);
            }

            Operator::I8x16Abs | Operator::I16x8Abs | Operator::I32x4Abs | Operator::I64x2Abs => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().iabs(a))
            }
            Operator::I8x16Neg | Operator::I16x8Neg | Operator::I32x4Neg | Operator::I64x2Neg => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().ineg(a))
            }
            Operator::I8x16Popcnt => self.vunop(I8X16, |t, a| t.b.ins().popcnt(a)),
            Operator::I8x16NarrowI16x8S => self.vbinop(I16X8, |t, a, b| t.b.ins().snarrow(a, b)),
            Operator::I8x16NarrowI16x8U => self.vbinop(I16X8, |t, a, b| t.b.ins().unarrow(a, b)),
            Operator::I16x8NarrowI32x4S => self.vbinop(I32X4, |t, a, b| t.b.ins().snarrow(a, b)),
            Operator::I16x8NarrowI32x4U => self.vbinop(I32X4, |t, a, b| t.b.ins().unarrow(a, b)),
            Operator::I8x16Shl | Operator::I16x8Shl | Operator::I32x4Shl | Operator::I64x2Shl => {
                self.vshift(lane_shape(op), |t, a, c| t.b.ins().ishl(a, c))
            }
            Operator::I8x16ShrS
            | Operator::I16x8ShrS
            | Operator::I32x4ShrS
            | Operator::I64x2ShrS => self.vshift(lane_shape(op), |t, a, c| t.b.ins().sshr(a, c)),
            Operator::I8x16ShrU
            | Operator::I16x8ShrU
            | Operator::I32x4ShrU
            | Operator::I64x2ShrU => self.vshift(lane_shape(op), |t, a, c| t.b.ins().ushr(a, c)),
            Operator::I8x16Add | Operator::I16x8Add | Operator::I32x4Add | Operator::I64x2Add => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().iadd(a, b))
            }
            Operator::I8x16Sub | Operator::I16x8Sub | Operator::I32x4Sub | Operator::I64x2Sub => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().isub(a, b))
            }
            Operator::I16x8Mul | Operator::I32x4Mul | Operator::I64x2Mul => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().imul(a, b))
            }
            Operator::I8x16AddSatS | Operator::I16x8AddSatS => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().sadd_sat(a, b))
            }
            Operator::I8x16AddSatU | Operator::I16x8AddSatU => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().uadd_sat(a, b))
            }
            Operator::I8x16SubSatS | Operator::I16x8SubSatS => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().ssub_sat(a, b))
            }
            Operator::I8x16SubSatU | Operator::I16x8SubSatU => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().usub_sat(a, b))
            }
            Operator::I8x16MinS | Operator::I16x8MinS | Operator::I32x4MinS => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().smin(a, b))
            }
            Operator::I8x16MinU | Operator::I16x8MinU | Operator::I32x4MinU => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().umin(a, b))
            }
            Operator::I8x16MaxS | Operator::I16x8MaxS | Operator::I32x4MaxS => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().smax(a, b))
            }
            Operator::I8x16MaxU | Operator::I16x8MaxU | Operator::I32x4MaxU => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().umax(a, b))
            }
            Operator::I8x16AvgrU | Operator::I16x8AvgrU => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().avg_round(a, b))
            }
            Operator::I16x8Q15MulrSatS => {
                self.vbinop(I16X8, |t, a, b| t.b.ins().sqmul_round_sat(a, b))
            }
            Operator::I16x8ExtAddPairwiseI8x16S => self.extadd_pairwise(I8X16, true),
            Operator::I16x8ExtAddPairwiseI8x16U => self.extadd_pairwise(I8X16, false),
            Operator::I32x4ExtAddPairwiseI16x8S => self.extadd_pairwise(I16X8, true),
            Operator::I32x4ExtAddPairwiseI16x8U => self.extadd_pairwise(I16X8, false),
            Operator::I16x8ExtendLowI8x16S => self.vunop(I8X16, |t, a| t.b.ins().swiden_low(a)),
            Operator::I16x8ExtendHighI8x16S => self.vunop(I8X16, |t, a| t.b.ins().swiden_high(a)),
            Operator::I16x8ExtendLowI8x16U => self.vunop(I8X16, |t, a| t.b.ins().uwiden_low(a)),
            Operator::I16x8ExtendHighI8x16U => self.vunop(I8X16, |t, a| t.b.ins().uwiden_high(a)),
            Operator::I32x4ExtendLowI16x8S => self.vunop(I16X8, |t, a| t.b.ins().swiden_low(a)),
            Operator::I32x4ExtendHighI16x8S => self.vunop(I16X8, |t, a| t.b.ins().swiden_high(a)),
            Operator::I32x4ExtendLowI16x8U => self.vunop(I16X8, |t, a| t.b.ins().uwiden_low(a)),
            Operator::I32x4ExtendHighI16x8U => self.vunop(I16X8, |t, a| t.b.ins().uwiden_high(a)),
            Operator::I64x2ExtendLowI32x4S => self.vunop(I32X4, |t, a| t.b.ins().swiden_low(a)),
            Operator::I64x2ExtendHighI32x4S => self.vunop(I32X4, |t, a| t.b.ins().swiden_high(a)),
            Operator::I64x2ExtendLowI32x4U => self.vunop(I32X4, |t, a| t.b.ins().uwiden_low(a)),
            Operator::I64x2ExtendHighI32x4U => self.vunop(I32X4, |t, a| t.b.ins().uwiden_high(a)),
            Operator::I16x8ExtMulLowI8x16S => self.extmul(I8X16, true, false),
            Operator::I16x8ExtMulHighI8x16S => self.extmul(I8X16, true, true),
            Operator::I16x8ExtMulLowI8x16U => self.extmul(I8X16, false, false),
            Operator::I16x8ExtMulHighI8x16U => self.extmul(I8X16, false, true),
            Operator::I32x4ExtMulLowI16x8S => self.extmul(I16X8, true, false),
            Operator::I32x4ExtMulHighI16x8S => self.extmul(I16X8, true, true),
            Operator::I32x4ExtMulLowI16x8U => self.extmul(I16X8, false, false),
            Operator::I32x4ExtMulHighI16x8U => self.extmul(I16X8, false, true),
            Operator::I64x2ExtMulLowI32x4S => self.extmul(I32X4, true, false),
            Operator::I64x2ExtMulHighI32x4S => self.extmul(I32X4, true, true),
            Operator::I64x2ExtMulLowI32x4U => self.extmul(I32X4, false, false),
            Operator::I64x2ExtMulHighI32x4U => self.extmul(I32X4, false, true),
            Operator::I32x4DotI16x8S => self.vbinop(I16X8, |t, a, b| {
                let (al, ah) = (t.b.ins().swiden_low(a), t.b.ins().swiden_high(a));
                let (bl, bh) = (t.b.ins().swiden_low(b), t.b.ins().swiden_high(b));
                let lo = t.b.ins().imul(al, bl);
                let hi = t.b.ins().imul(ah, bh);
                t.b.ins().iadd_pairwise(lo, hi)
            }),

            Operator::F32x4Abs | Operator::F64x2Abs => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().fabs(a))
            }
            Operator::F32x4Neg | Operator::F64x2Neg => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().fneg(a))
            }
            Operator::F32x4Sqrt | Operator::F64x2Sqrt => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().sqrt(a))
            }
            Operator::F32x4Ceil | Operator::F64x2Ceil => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().ceil(a))
            }
            Operator::F32x4Floor | Operator::F64x2Floor => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().floor(a))
            }
            Operator::F32x4Trunc | Operator::F64x2Trunc => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().trunc(a))
            }
            Operator::F32x4Nearest | Operator::F64x2Nearest => {
                self.vunop(lane_shape(op), |t, a| t.b.ins().nearest(a))
            }
            Operator::F32x4Add | Operator::F64x2Add => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().fadd(a, b))
            }
            Operator::F32x4Sub | Operator::F64x2Sub => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().fsub(a, b))
            }
            Operator::F32x4Mul | Operator::F64x2Mul => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().fmul(a, b))
            }
            Operator::F32x4Div | Operator::F64x2Div => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().fdiv(a, b))
            }
            Operator::F32x4Min | Operator::F64x2Min => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().fmin(a, b))
            }
            Operator::F32x4Max | Operator::F64x2Max => {
                self.vbinop(lane_shape(op), |t, a, b| t.b.ins().fmax(a, b))
            }
            Operator::F32x4PMin | Operator::F64x2PMin => self.pseudo_minmax(lane_shape(op), false),
            Operator::F32x4PMax | Operator::F64x2PMax => self.pseudo_minmax(lane_shape(op), true),

            Operator::I32x4TruncSatF32x4S => {
                self.vunop(F32X4, |t, a| t.b.ins().fcvt_to_sint_sat(I32X4, a))
            }
            Operator::I32x4TruncSatF32x4U => {
                self.vunop(F32X4, |t, a| t.b.ins().fcvt_to_uint_sat(I32X4, a))
            }
            Operator::F32x4ConvertI32x4S => {
                self.vunop(I32X4, |t, a| t.b.ins().fcvt_from_sint(F32X4, a))
            }
            Operator::F32x4ConvertI32x4U => {
                self.vunop(I32X4, |t, a| t.b.ins().fcvt_from_uint(F32X4, a))
            }
            Operator::F64x2ConvertLowI32x4S => self.vunop(I32X4, |t, a| {
                let w = t.b.ins().swiden_low(a);
                t.b.ins().fcvt_from_sint(F64X2, w)
            }),
            Operator::F64x2ConvertLowI32x4U => self.vunop(I32X4, |t, a| {
                let w = t.b.ins().uwiden_low(a);
                t.b.ins().fcvt_from_uint(F64X2, w)
            }),
            Operator::I32x4TruncSatF64x2SZero => self.vunop(F64X2, |t, a| {
                let c = t.b.ins().fcvt_to_sint_sat(I64X2, a);
                let zero = t.const_vec(I64X2, [0; 16]);
                t.b.ins().snarrow(c, zero)
            }),
            Operator::I32x4TruncSatF64x2UZero => self.vunop(F64X2, |t, a| {
                let c = t.b.ins().fcvt_to_uint_sat(I64X2, a);
                let zero = t.const_vec(I64X2, [0; 16]);
                t.b.ins().uunarrow(c, zero)
            }),
            Operator::F32x4DemoteF64x2Zero => self.vunop(F64X2, |t, a| t.b.ins().fvdemote(a)),
            Operator::F64x2PromoteLowF32x4 => self.vunop(F32X4, |t, a| t.b.ins().fvpromote_low(a)),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn translate_simd_memory(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        let flags =
            vec_flags().with_trap_code(Some(cranelift_codegen::ir::TrapCode::HEAP_OUT_OF_BOUNDS));
        match op {
            Operator::V128Load { memarg } => {
                let (a, o) = self.heap_addr(memarg, 16)?;
                let v = self.b.ins().load(I8X16, flags, a, o);
                self.push(v);
            }
            Operator::V128Store { memarg } => {
                let v = self.pop();
                let (a, o) = self.heap_addr(memarg, 16)?;
                self.b.ins().store(flags, v, a, o);
            }
            Operator::V128Load8x8S { memarg } => {
                self.ext_load(memarg, |t, a, o| t.b.ins().sload8x8(flags, a, o))?
            }
            Operator::V128Load8x8U { memarg } => {
                self.ext_load(memarg, |t, a, o| t.b.ins().uload8x8(flags, a, o))?
            }
            Operator::V128Load16x4S { memarg } => {
                self.ext_load(memarg, |t, a, o| t.b.ins().sload16x4(flags, a, o))?
            }
            Operator::V128Load16x4U { memarg } => {
                self.ext_load(memarg, |t, a, o| t.b.ins().uload16x4(flags, a, o))?
            }
            Operator::V128Load32x2S { memarg } => {
                self.ext_load(memarg, |t, a, o| t.b.ins().sload32x2(flags, a, o))?
            }
            Operator::V128Load32x2U { memarg } => {
                self.ext_load(memarg, |t, a, o| t.b.ins().uload32x2(flags, a, o))?
            }
            Operator::V128Load8Splat { memarg } => self.splat_load(memarg, I8, I8X16)?,
            Operator::V128Load16Splat { memarg } => self.splat_load(memarg, I16, I16X8)?,
            Operator::V128Load32Splat { memarg } => self.splat_load(memarg, I32, I32X4)?,
            Operator::V128Load64Splat { memarg } => self.splat_load(memarg, I64, I64X2)?,
            Operator::V128Load32Zero { memarg } | Operator::V128Load64Zero { memarg } => {
                let (lane, ty) = if matches!(op, Operator::V128Load32Zero { .. }) {
                    (I32, I32X4)
                } else {
                    (I64, I64X2)
                };
                let (a, o) = self.heap_addr(memarg, lane.bytes())?;
                let s = self.b.ins().load(lane, flags, a, o);
                let v = self.b.ins().scalar_to_vector(ty, s);
                self.push_vec(v);
            }
            Operator::V128Load8Lane { memarg, lane }
            | Operator::V128Load16Lane { memarg, lane }
            | Operator::V128Load32Lane { memarg, lane }
            | Operator::V128Load64Lane { memarg, lane } => {
                let ty = lane_shape(op);
                let v = self.pop_as(ty);
                let (a, o) = self.heap_addr(memarg, ty.lane_type().bytes())?;
                let s = self.b.ins().load(ty.lane_type(), flags, a, o);
                let r = self.b.ins().insertlane(v, s, *lane);
                self.push_vec(r);
            }
            Operator::V128Store8Lane { memarg, lane }
            | Operator::V128Store16Lane { memarg, lane }
            | Operator::V128Store32Lane { memarg, lane }
            | Operator::V128Store64Lane { memarg, lane } => {
                let ty = lane_shape(op);
                let v = self.pop_as(ty);
                let (a, o) = self.heap_addr(memarg, ty.lane_type().bytes())?;
                let s = self.b.ins().extractlane(v, *lane);
                self.b.ins().store(flags, s, a, o);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn ext_load(
        &mut self,
        memarg: &wasmparser::MemArg,
        f: impl FnOnce(&mut Self, Value, i32) -> Value,
    ) -> Result<(), CompileError> {
        let (a, o) = self.heap_addr(memarg, 8)?;
        let v = f(self, a, o);
        self.push_vec(v);
        Ok(())
    }

    fn splat_load(
        &mut self,
        memarg: &wasmparser::MemArg,
        lane: Type,
        ty: Type,
    ) -> Result<(), CompileError> {
        let flags =
            vec_flags().with_trap_code(Some(cranelift_codegen::ir::TrapCode::HEAP_OUT_OF_BOUNDS));
        let (a, o) = self.heap_addr(memarg, lane.bytes())?;
        let s = self.b.ins().load(lane, flags, a, o);
        let v = self.b.ins().splat(ty, s);
        self.push_vec(v);
        Ok(())
    }
}

/// The lane shape of an operator that shares an arm with its siblings.
fn lane_shape(op: &Operator<'_>) -> Type {
    use Operator::*;
    match op {
        I8x16AllTrue
        | I8x16Bitmask
        | I8x16Abs
        | I8x16Neg
        | I8x16Shl
        | I8x16ShrS
        | I8x16ShrU
        | I8x16Add
        | I8x16Sub
        | I8x16AddSatS
        | I8x16AddSatU
        | I8x16SubSatS
        | I8x16SubSatU
        | I8x16MinS
        | I8x16MinU
        | I8x16MaxS
        | I8x16MaxU
        | I8x16AvgrU
        | V128Load8Lane { .. }
        | V128Store8Lane { .. } => I8X16,
        I16x8AllTrue
        | I16x8Bitmask
        | I16x8Abs
        | I16x8Neg
        | I16x8Shl
        | I16x8ShrS
        | I16x8ShrU
        | I16x8Add
        | I16x8Sub
        | I16x8Mul
        | I16x8AddSatS
        | I16x8AddSatU
        | I16x8SubSatS
        | I16x8SubSatU
        | I16x8MinS
        | I16x8MinU
        | I16x8MaxS
        | I16x8MaxU
        | I16x8AvgrU
        | V128Load16Lane { .. }
        | V128Store16Lane { .. } => I16X8,
        I32x4AllTrue
        | I32x4Bitmask
        | I32x4Abs
        | I32x4Neg
        | I32x4Shl
        | I32x4ShrS
        | I32x4ShrU
        | I32x4Add
        | I32x4Sub
        | I32x4Mul
        | I32x4MinS
        | I32x4MinU
        | I32x4MaxS
        | I32x4MaxU
        | V128Load32Lane { .. }
        | V128Store32Lane { .. } => I32X4,
        I64x2AllTrue
        | I64x2Bitmask
        | I64x2Abs
        | I64x2Neg
        | I64x2Shl
        | I64x2ShrS
        | I64x2ShrU
        | I64x2Add
        | I64x2Sub
        | I64x2Mul
        | V128Load64Lane { .. }
        | V128Store64Lane { .. } => I64X2,
        F32x4Abs | F32x4Neg | F32x4Sqrt | F32x4Ceil | F32x4Floor | F32x4Trunc | F32x4Nearest
        | F32x4Add | F32x4Sub | F32x4Mul | F32x4Div | F32x4Min | F32x4Max | F32x4PMin
        | F32x4PMax => F32X4,
        F64x2Abs | F64x2Neg | F64x2Sqrt | F64x2Ceil | F64x2Floor | F64x2Trunc | F64x2Nearest
        | F64x2Add | F64x2Sub | F64x2Mul | F64x2Div | F64x2Min | F64x2Max | F64x2PMin
        | F64x2PMax => F64X2,
        _ => unreachable!("lane_shape of {op:?}"),
    }
}
