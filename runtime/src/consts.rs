//! Evaluation of constant expressions (global initialisers, segment
//! offsets, element items) at instantiation, on raw 16-byte slot values.

use crate::Global;
use crate::vm::VMContext;
use faasm_abi::{ConstExpr, ConstOp};

/// What a constant expression can refer to.
pub(crate) struct ConstEnv<'a> {
    /// Globals initialised so far (imported, then defined in order).
    pub globals: &'a [Global],
    pub vmctx: &'a VMContext,
}

pub(crate) fn eval(expr: &ConstExpr, env: &ConstEnv<'_>) -> u128 {
    let mut stack: Vec<u128> = Vec::with_capacity(2);
    let i32_of = |v: u128| v as u32;
    let i64_of = |v: u128| v as u64;
    for op in &expr.0 {
        let v = match *op {
            ConstOp::I32Const(v) => v as u32 as u128,
            ConstOp::I64Const(v) => v as u64 as u128,
            ConstOp::F32Const(bits) => bits as u128,
            ConstOp::F64Const(bits) => bits as u128,
            ConstOp::V128Const(v) => v,
            ConstOp::GlobalGet(g) => env.globals[g as usize].inner.get_raw(),
            ConstOp::RefNull(_) => 0,
            ConstOp::RefFunc(f) => env.vmctx.funcref_ptr(f) as usize as u128,
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let b = i32_of(stack.pop().expect("validated"));
                let a = i32_of(stack.pop().expect("validated"));
                (match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }) as u128
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let b = i64_of(stack.pop().expect("validated"));
                let a = i64_of(stack.pop().expect("validated"));
                (match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }) as u128
            }
        };
        stack.push(v);
    }
    stack
        .pop()
        .expect("validated: a constant expression yields one value")
}
