//! Typed host functions: [`crate::Func::wrap`] and [`crate::Linker::func_wrap`]
//! turn a Rust closure over plain numbers into a host function, its wasm
//! type taken from the closure's signature.
//!
//! Why: a host function made with [`crate::Func::new`] reads its arguments from a
//! slice of [`Val`]s and writes its results into another, so every call
//! decodes each raw slot into an enum and back, and the body matches on
//! positions and variants. A typed function reads the raw slots the host
//! trampoline passes straight into its parameters (`i32`, `u32`, `i64`,
//! `u64`, `f32`, `f64`) and writes its result back: no enum, no array, no
//! type check at call time (the import's type was checked at link time).
//!
//! [`crate::Func::new_raw`] is the same fast path for a function whose type is
//! only known at run time (a table of signatures, as WASI's): its body
//! reads and writes the slots as [`RawVal`]s. Only numeric types are
//! allowed there, so no slot can be misread as a reference.

use crate::vm::ValSlot;
use crate::{Caller, Trap, Val};
use faasm_abi::{FuncType, ValType};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A typed host function's body over the raw value slots: reads its
/// parameters from the first slots and writes its results from slot 0.
pub(crate) type RawHostFn =
    dyn Fn(&mut Caller<'_>, &mut [RawVal]) -> Result<(), Trap> + Send + Sync;

/// One argument or result of a host call as compiled code passes it: 16
/// bytes holding an integer (zero-extended), a float's bits or a vector.
/// Read it as the type the function's signature gives the position.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawVal(ValSlot);

impl RawVal {
    /// A slot holding `v`.
    pub fn new<T: WasmTy>(v: T) -> RawVal {
        RawVal(ValSlot(v.into_raw()))
    }

    /// The slot read as a `T` (the signature says which).
    pub fn get<T: WasmTy>(self) -> T {
        T::from_raw(self.0.0)
    }

    /// The slot as an `i32` parameter, unsigned (pointers, sizes, flags).
    pub fn u32(self) -> u32 {
        self.get()
    }

    /// The slot as an `i64` parameter, unsigned.
    pub fn u64(self) -> u64 {
        self.get()
    }

    /// The whole 128 bits (a `v128`).
    pub fn v128(self) -> u128 {
        self.0.0
    }

    /// The slot holding `v` as a value of type `ty`, or `None` for a
    /// reference (the raw path carries numbers and vectors only).
    pub fn from_val(v: &Val) -> Option<RawVal> {
        match v {
            Val::FuncRef(_) | Val::ExternRef(_) => None,
            other => crate::values::val_to_raw(other)
                .ok()
                .map(|r| RawVal(ValSlot(r))),
        }
    }

    /// The slot read as a value of `ty`, or `None` for a reference type.
    pub fn to_val(self, ty: ValType) -> Option<Val> {
        if ty.is_ref() {
            return None;
        }
        // SAFETY: not a reference type, so nothing is dereferenced.
        Some(unsafe { crate::values::val_from_raw(ty, self.0.0) })
    }
}

/// A number a typed host function takes or returns.
pub trait WasmTy: Copy + Send + Sync + 'static {
    /// Its wasm type.
    const TYPE: ValType;
    /// Decodes a raw slot holding a value of [`WasmTy::TYPE`].
    #[doc(hidden)]
    fn from_raw(raw: u128) -> Self;
    /// Encodes the value as a raw slot.
    #[doc(hidden)]
    fn into_raw(self) -> u128;
}

macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, |$r:ident| $from:expr, |$v:ident| $into:expr;)*) => {$(
        impl WasmTy for $t {
            const TYPE: ValType = ValType::$vt;
            #[inline]
            fn from_raw($r: u128) -> Self {
                $from
            }
            #[inline]
            fn into_raw(self) -> u128 {
                let $v = self;
                $into
            }
        }
    )*};
}

// Slots hold i32/i64 zero-extended and floats as their bits, as
// `values::val_to_raw` writes them.
wasm_ty! {
    i32 => I32, |r| r as u32 as i32, |v| v as u32 as u128;
    u32 => I32, |r| r as u32, |v| v as u128;
    i64 => I64, |r| r as u64 as i64, |v| v as u64 as u128;
    u64 => I64, |r| r as u64, |v| v as u128;
    f32 => F32, |r| f32::from_bits(r as u32), |v| v.to_bits() as u128;
    f64 => F64, |r| f64::from_bits(r as u64), |v| v.to_bits() as u128;
}

/// What a typed host function returns: nothing or one number.
pub trait WasmResults: Send + Sync + 'static {
    /// The wasm result types.
    #[doc(hidden)]
    fn types() -> Vec<ValType>;
    /// Writes the result into the first slot (if any).
    #[doc(hidden)]
    fn store(self, slots: &mut [RawVal]);
}

impl WasmResults for () {
    fn types() -> Vec<ValType> {
        Vec::new()
    }
    #[inline]
    fn store(self, _: &mut [RawVal]) {}
}

impl<T: WasmTy> WasmResults for T {
    fn types() -> Vec<ValType> {
        vec![T::TYPE]
    }
    #[inline]
    fn store(self, slots: &mut [RawVal]) {
        slots[0] = RawVal::new(self);
    }
}

/// A closure usable as a typed host function:
/// `Fn(&mut Caller<'_>, P1, ..., Pn) -> Result<R, Trap>` with up to eight
/// [`WasmTy`] parameters and `R` a [`WasmResults`]. `Params` is the tuple
/// of parameter types; it only tells the implementations apart.
pub trait IntoHostFunc<Params, Results>: Send + Sync + 'static {
    /// The wasm type and the body over raw slots.
    #[doc(hidden)]
    fn into_raw(self) -> (FuncType, Box<RawHostFn>);
}

macro_rules! into_host_func {
    ($($p:ident),*) => {
        impl<F, R, $($p: WasmTy),*> IntoHostFunc<($($p,)*), R> for F
        where
            F: Fn(&mut Caller<'_>, $($p),*) -> Result<R, Trap> + Send + Sync + 'static,
            R: WasmResults,
        {
            #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
            fn into_raw(self) -> (FuncType, Box<RawHostFn>) {
                let ty = FuncType::new(vec![$($p::TYPE),*], R::types());
                let body = move |caller: &mut Caller<'_>, slots: &mut [RawVal]| {
                    let mut i = 0;
                    $(
                        let $p = slots[i].get::<$p>();
                        i += 1;
                    )*
                    self(caller, $($p),*)?.store(slots);
                    Ok(())
                };
                (ty, Box::new(body))
            }
        }
    };
}

into_host_func!();
into_host_func!(A1);
into_host_func!(A1, A2);
into_host_func!(A1, A2, A3);
into_host_func!(A1, A2, A3, A4);
into_host_func!(A1, A2, A3, A4, A5);
into_host_func!(A1, A2, A3, A4, A5, A6);
into_host_func!(A1, A2, A3, A4, A5, A6, A7);
into_host_func!(A1, A2, A3, A4, A5, A6, A7, A8);
into_host_func!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
into_host_func!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);

/// Runs a typed body over `slots`, turning a panic into a host error.
#[inline]
pub(crate) fn run_typed(
    body: &RawHostFn,
    caller: &mut Caller<'_>,
    slots: &mut [RawVal],
) -> Result<(), Trap> {
    catch_unwind(AssertUnwindSafe(|| body(caller, slots))).unwrap_or_else(|p| Err(host_panic(p)))
}

/// The host error that replaces a host function's panic.
pub(crate) fn host_panic(payload: Box<dyn std::any::Any + Send>) -> Trap {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Trap::host(format!("host function panicked: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Func;

    #[test]
    fn types_follow_the_closure_signature() {
        let f = Func::wrap(|_: &mut Caller<'_>, _: u32, _: i64, _: f32, _: f64| Ok(()));
        assert_eq!(
            f.ty(),
            FuncType::new([ValType::I32, ValType::I64, ValType::F32, ValType::F64], [])
        );
        let g = Func::wrap(|_: &mut Caller<'_>| Ok(1.5f64));
        assert_eq!(g.ty(), FuncType::new([], [ValType::F64]));
    }

    #[test]
    fn values_round_trip_through_the_raw_slots() {
        let f = Func::wrap(
            |_: &mut Caller<'_>, a: i32, b: u32, c: i64, d: f32, e: f64| {
                Ok(f64::from(a) + f64::from(b) + c as f64 + f64::from(d) + e)
            },
        );
        let r = f
            .call(&[
                Val::I32(-1),
                Val::I32(-1), // u32::MAX
                Val::I64(-3),
                Val::F32(0.5f32.to_bits()),
                Val::F64(0.25f64.to_bits()),
            ])
            .unwrap();
        let want = -1.0 + f64::from(u32::MAX) - 3.0 + 0.5 + 0.25;
        assert!(
            matches!(r[..], [Val::F64(bits)] if bits == want.to_bits()),
            "{r:?}"
        );
    }

    #[test]
    fn a_trap_and_a_panic_are_host_errors() {
        let t =
            Func::wrap(|_: &mut Caller<'_>, _: i32| -> Result<i32, Trap> { Err(Trap::host("no")) });
        assert!(
            t.call(&[Val::I32(0)])
                .unwrap_err()
                .to_string()
                .contains("no")
        );
        let p = Func::wrap(|_: &mut Caller<'_>| -> Result<(), Trap> { panic!("boom") });
        let e = p.call(&[]).unwrap_err().to_string();
        assert!(e.contains("panicked") && e.contains("boom"), "{e}");
    }

    #[test]
    fn raw_functions_read_and_write_slots_and_refuse_references() {
        let ty = FuncType::new([ValType::I32, ValType::I64], [ValType::I64]);
        let f = Func::new_raw(ty, |_, slots| {
            let sum = i64::from(slots[0].get::<i32>()) + slots[1].get::<i64>();
            slots[0] = RawVal::new(sum);
            Ok(())
        })
        .unwrap();
        let r = f.call(&[Val::I32(-2), Val::I64(40)]).unwrap();
        assert!(matches!(r[..], [Val::I64(38)]), "{r:?}");
        let refs = FuncType::new([ValType::FuncRef], []);
        assert!(Func::new_raw(refs, |_, _| Ok(())).is_err());
    }

    #[test]
    fn arguments_are_checked_when_called_from_the_host() {
        let f = Func::wrap(|_: &mut Caller<'_>, a: i32| Ok(a));
        assert!(f.call(&[Val::I64(1)]).is_err());
        assert!(f.call(&[]).is_err());
    }
}
