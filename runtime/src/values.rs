//! Values crossing the host/wasm boundary: [`Val`], [`Extern`],
//! [`ExternRef`], and their encoding in the raw 16-byte slots compiled
//! code reads and writes.

use crate::{Error, Func, Global, Memory, Table};
use faasm_abi::ValType;

/// An opaque host reference handed to wasm as `externref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternRef(pub u32);

/// A WebAssembly value. Floats are carried as bits so NaN payloads survive.
#[derive(Debug, Clone)]
pub enum Val {
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float, as its bits.
    F32(u32),
    /// A 64-bit float, as its bits.
    F64(u64),
    /// A 128-bit vector (SIMD), little-endian lanes.
    V128(u128),
    /// A function reference; `None` is null.
    FuncRef(Option<Func>),
    /// A host reference; `None` is null.
    ExternRef(Option<ExternRef>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// The zero value of a type (null for references).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
        }
    }
}

/// Anything a module can import or export.
#[derive(Debug, Clone)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
    /// A global.
    Global(Global),
}

impl From<Func> for Extern {
    fn from(f: Func) -> Self {
        Extern::Func(f)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Self {
        Extern::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Self {
        Extern::Memory(m)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Self {
        Extern::Global(g)
    }
}

/// The raw 16-byte-slot encoding of a value (little-endian, value at the
/// low end): integers and float bits zero-extended, `funcref` as a
/// `VMFuncRef` pointer, `externref` as handle + 1, null as 0.
pub(crate) fn val_to_raw(val: &Val) -> Result<u128, Error> {
    Ok(match val {
        Val::I32(v) => *v as u32 as u128,
        Val::I64(v) => *v as u64 as u128,
        Val::F32(v) => *v as u128,
        Val::F64(v) => *v as u128,
        Val::V128(v) => *v,
        Val::FuncRef(None) | Val::ExternRef(None) => 0,
        Val::FuncRef(Some(f)) => f.funcref_ptr()? as usize as u128,
        Val::ExternRef(Some(r)) => r.0 as u128 + 1,
    })
}

/// Decodes a raw slot of type `ty`.
///
/// # Safety
/// For `funcref`, `raw` must be null or point to a live `VMFuncRef` whose
/// owner is alive.
pub(crate) unsafe fn val_from_raw(ty: ValType, raw: u128) -> Val {
    match ty {
        ValType::I32 => Val::I32(raw as u32 as i32),
        ValType::I64 => Val::I64(raw as u64 as i64),
        ValType::F32 => Val::F32(raw as u32),
        ValType::F64 => Val::F64(raw as u64),
        ValType::V128 => Val::V128(raw),
        ValType::FuncRef => {
            // SAFETY: the caller's contract.
            Val::FuncRef(unsafe { Func::from_funcref_ptr(raw as u64 as usize as *const _) })
        }
        ValType::ExternRef => Val::ExternRef(match raw as u64 {
            0 => None,
            h => Some(ExternRef((h - 1) as u32)),
        }),
    }
}
