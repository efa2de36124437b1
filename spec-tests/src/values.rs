//! Converting `.wast` arguments to runtime values and checking results
//! against expected patterns (NaN classes, per-lane v128, reference kinds).
//!
//! Floats are always compared by bit pattern: `-0.0 != 0.0` and NaN payloads
//! matter unless the test asks for a NaN class.

use faasm_runtime::{ExternRef, Val};
use wast::core::{
    AbstractHeapType, HeapType, NanPattern, V128Const, V128Pattern, WastArgCore, WastRetCore,
};
use wast::token::{F32, F64};
use wast::{WastArg, WastRet};

/// Something in the test that needs a proposal the harness (or faasm) does
/// not support; the directive is skipped with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

pub fn arg_to_val(arg: &WastArg<'_>) -> Result<Val, Unsupported> {
    let core = match arg {
        WastArg::Core(c) => c,
        _ => return Err(Unsupported("component-model argument".into())),
    };
    Ok(match core {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(f) => Val::F32(f.bits),
        WastArgCore::F64(f) => Val::F64(f.bits),
        WastArgCore::V128(c) => Val::V128(v128_bits(c)),
        WastArgCore::RefNull(ht) => match ref_family(ht)? {
            RefFamily::Func => Val::FuncRef(None),
            RefFamily::Extern => Val::ExternRef(None),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef(*n))),
        WastArgCore::RefHost(_) => {
            return Err(Unsupported("ref.host argument (GC proposal)".into()));
        }
    })
}

pub fn v128_bits(c: &V128Const) -> u128 {
    u128::from_le_bytes(c.to_le_bytes())
}

/// The two reference hierarchies of wasm 2.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefFamily {
    Func,
    Extern,
}

fn ref_family(ht: &HeapType<'_>) -> Result<RefFamily, Unsupported> {
    match ht {
        HeapType::Abstract { shared: false, ty } => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Ok(RefFamily::Func),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Ok(RefFamily::Extern),
            other => Err(Unsupported(format!(
                "heap type {other:?} (GC/exceptions/stack-switching proposal)"
            ))),
        },
        HeapType::Abstract { shared: true, .. } => Err(Unsupported(
            "shared heap type (shared-everything-threads proposal)".into(),
        )),
        HeapType::Concrete(_) | HeapType::Exact(_) => Err(Unsupported(
            "concrete heap type (function-references/GC proposal)".into(),
        )),
    }
}

/// Checks that every expected result is expressible before the directive
/// runs, so unsupported expectations are skipped rather than failed.
pub fn check_supported(ret: &WastRet<'_>) -> Result<(), Unsupported> {
    let core = match ret {
        WastRet::Core(c) => c,
        _ => return Err(Unsupported("component-model result".into())),
    };
    check_core_supported(core)
}

fn check_core_supported(core: &WastRetCore<'_>) -> Result<(), Unsupported> {
    match core {
        WastRetCore::I32(_)
        | WastRetCore::I64(_)
        | WastRetCore::F32(_)
        | WastRetCore::F64(_)
        | WastRetCore::V128(_)
        | WastRetCore::RefExtern(_)
        | WastRetCore::RefFunc(_)
        | WastRetCore::RefNull(None) => Ok(()),
        WastRetCore::RefNull(Some(ht)) => ref_family(ht).map(|_| ()),
        WastRetCore::Either(alts) => alts.iter().try_for_each(check_core_supported),
        WastRetCore::RefHost(_) => Err(Unsupported("ref.host result (GC proposal)".into())),
        WastRetCore::RefAny
        | WastRetCore::RefEq
        | WastRetCore::RefArray
        | WastRetCore::RefStruct
        | WastRetCore::RefI31
        | WastRetCore::RefI31Shared => Err(Unsupported("GC reference result (GC proposal)".into())),
    }
}

/// Does `got` satisfy `expected`? `check_supported` must have accepted it.
pub fn matches(expected: &WastRet<'_>, got: &Val) -> bool {
    match expected {
        WastRet::Core(c) => matches_core(c, got),
        _ => false,
    }
}

fn matches_core(expected: &WastRetCore<'_>, got: &Val) -> bool {
    match (expected, got) {
        (WastRetCore::I32(e), Val::I32(g)) => e == g,
        (WastRetCore::I64(e), Val::I64(g)) => e == g,
        (WastRetCore::F32(p), Val::F32(g)) => f32_matches(p, *g),
        (WastRetCore::F64(p), Val::F64(g)) => f64_matches(p, *g),
        (WastRetCore::V128(p), Val::V128(g)) => v128_matches(p, *g),
        (WastRetCore::RefNull(None), Val::FuncRef(r)) => r.is_none(),
        (WastRetCore::RefNull(None), Val::ExternRef(r)) => r.is_none(),
        (WastRetCore::RefNull(Some(ht)), Val::FuncRef(r)) => {
            ref_family(ht) == Ok(RefFamily::Func) && r.is_none()
        }
        (WastRetCore::RefNull(Some(ht)), Val::ExternRef(r)) => {
            ref_family(ht) == Ok(RefFamily::Extern) && r.is_none()
        }
        (WastRetCore::RefExtern(None), Val::ExternRef(r)) => r.is_some(),
        (WastRetCore::RefExtern(Some(n)), Val::ExternRef(r)) => *r == Some(ExternRef(*n)),
        // Function identity is not observable through the public API; the
        // spec tests only ever need "some non-null funcref" here.
        (WastRetCore::RefFunc(_), Val::FuncRef(r)) => r.is_some(),
        (WastRetCore::Either(alts), g) => alts.iter().any(|a| matches_core(a, g)),
        _ => false,
    }
}

const F32_SIGN: u32 = 0x8000_0000;
const F32_EXP: u32 = 0x7f80_0000;
const F32_QUIET: u32 = 0x0040_0000;
const F64_SIGN: u64 = 0x8000_0000_0000_0000;
const F64_EXP: u64 = 0x7ff0_0000_0000_0000;
const F64_QUIET: u64 = 0x0008_0000_0000_0000;

/// Canonical NaN: only the quiet bit set in the payload, either sign.
pub fn is_canonical_nan_f32(bits: u32) -> bool {
    bits & !F32_SIGN == F32_EXP | F32_QUIET
}

/// Arithmetic NaN: quiet bit set, any other payload, either sign.
pub fn is_arithmetic_nan_f32(bits: u32) -> bool {
    bits & (F32_EXP | F32_QUIET) == F32_EXP | F32_QUIET
}

pub fn is_canonical_nan_f64(bits: u64) -> bool {
    bits & !F64_SIGN == F64_EXP | F64_QUIET
}

pub fn is_arithmetic_nan_f64(bits: u64) -> bool {
    bits & (F64_EXP | F64_QUIET) == F64_EXP | F64_QUIET
}

pub fn f32_matches(p: &NanPattern<F32>, bits: u32) -> bool {
    match p {
        NanPattern::CanonicalNan => is_canonical_nan_f32(bits),
        NanPattern::ArithmeticNan => is_arithmetic_nan_f32(bits),
        NanPattern::Value(v) => v.bits == bits,
    }
}

pub fn f64_matches(p: &NanPattern<F64>, bits: u64) -> bool {
    match p {
        NanPattern::CanonicalNan => is_canonical_nan_f64(bits),
        NanPattern::ArithmeticNan => is_arithmetic_nan_f64(bits),
        NanPattern::Value(v) => v.bits == bits,
    }
}

/// Lane `i` of `bits` seen as `N` lanes of `W` bytes each (little-endian).
fn lane(bits: u128, width_bytes: u32, i: usize) -> u128 {
    let w = width_bytes * 8;
    let mask = if w == 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    };
    (bits >> (w as usize * i)) & mask
}

pub fn v128_matches(p: &V128Pattern, bits: u128) -> bool {
    match p {
        V128Pattern::I8x16(l) => l
            .iter()
            .enumerate()
            .all(|(i, e)| lane(bits, 1, i) as u8 == *e as u8),
        V128Pattern::I16x8(l) => l
            .iter()
            .enumerate()
            .all(|(i, e)| lane(bits, 2, i) as u16 == *e as u16),
        V128Pattern::I32x4(l) => l
            .iter()
            .enumerate()
            .all(|(i, e)| lane(bits, 4, i) as u32 == *e as u32),
        V128Pattern::I64x2(l) => l
            .iter()
            .enumerate()
            .all(|(i, e)| lane(bits, 8, i) as u64 == *e as u64),
        V128Pattern::F32x4(l) => l
            .iter()
            .enumerate()
            .all(|(i, e)| f32_matches(e, lane(bits, 4, i) as u32)),
        V128Pattern::F64x2(l) => l
            .iter()
            .enumerate()
            .all(|(i, e)| f64_matches(e, lane(bits, 8, i) as u64)),
    }
}

// ---- Display, for failure messages ------------------------------------

pub fn show_val(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32:{x} ({:#x})", *x as u32),
        Val::I64(x) => format!("i64:{x} ({:#x})", *x as u64),
        Val::F32(b) => format!("f32:{} ({b:#010x})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64:{} ({b:#018x})", f64::from_bits(*b)),
        Val::V128(b) => format!("v128:{b:#034x}"),
        Val::FuncRef(None) => "ref.null func".into(),
        Val::FuncRef(Some(_)) => "ref.func".into(),
        Val::ExternRef(None) => "ref.null extern".into(),
        Val::ExternRef(Some(r)) => format!("ref.extern {}", r.0),
    }
}

pub fn show_vals(vs: &[Val]) -> String {
    format!(
        "[{}]",
        vs.iter().map(show_val).collect::<Vec<_>>().join(", ")
    )
}

fn show_f32p(p: &NanPattern<F32>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => format!("{} ({:#010x})", f32::from_bits(v.bits), v.bits),
    }
}

fn show_f64p(p: &NanPattern<F64>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".into(),
        NanPattern::ArithmeticNan => "nan:arithmetic".into(),
        NanPattern::Value(v) => format!("{} ({:#018x})", f64::from_bits(v.bits), v.bits),
    }
}

fn join<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(" ")
}

fn show_ret_core(r: &WastRetCore<'_>) -> String {
    match r {
        WastRetCore::I32(x) => format!("i32:{x} ({:#x})", *x as u32),
        WastRetCore::I64(x) => format!("i64:{x} ({:#x})", *x as u64),
        WastRetCore::F32(p) => format!("f32:{}", show_f32p(p)),
        WastRetCore::F64(p) => format!("f64:{}", show_f64p(p)),
        WastRetCore::V128(p) => match p {
            V128Pattern::I8x16(l) => format!("v128:i8x16 {}", join(l, |x| x.to_string())),
            V128Pattern::I16x8(l) => format!("v128:i16x8 {}", join(l, |x| x.to_string())),
            V128Pattern::I32x4(l) => format!("v128:i32x4 {}", join(l, |x| x.to_string())),
            V128Pattern::I64x2(l) => format!("v128:i64x2 {}", join(l, |x| x.to_string())),
            V128Pattern::F32x4(l) => format!("v128:f32x4 {}", join(l, show_f32p)),
            V128Pattern::F64x2(l) => format!("v128:f64x2 {}", join(l, show_f64p)),
        },
        WastRetCore::RefNull(None) => "ref.null".into(),
        WastRetCore::RefNull(Some(ht)) => match ref_family(ht) {
            Ok(RefFamily::Func) => "ref.null func".into(),
            Ok(RefFamily::Extern) => "ref.null extern".into(),
            Err(_) => format!("ref.null {ht:?}"),
        },
        WastRetCore::RefExtern(None) => "ref.extern (any)".into(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefFunc(_) => "ref.func".into(),
        WastRetCore::Either(alts) => format!(
            "either({})",
            alts.iter()
                .map(show_ret_core)
                .collect::<Vec<_>>()
                .join(" | ")
        ),
        other => format!("{other:?}"),
    }
}

pub fn show_rets(rs: &[WastRet<'_>]) -> String {
    format!(
        "[{}]",
        rs.iter()
            .map(|r| match r {
                WastRet::Core(c) => show_ret_core(c),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wast::parser::{self, ParseBuffer};

    /// Parses `(assert_return (invoke "f") RESULT)` and returns its results;
    /// the test keeps the buffer alive for the borrowed directive.
    fn with_results(result: &str, f: impl FnOnce(&[WastRet<'_>])) {
        let text = format!("(assert_return (invoke \"f\") {result})");
        let buf = ParseBuffer::new(&text).unwrap();
        let wast = parser::parse::<wast::Wast>(&buf).unwrap();
        match &wast.directives[0] {
            wast::WastDirective::AssertReturn { results, .. } => f(results),
            d => panic!("unexpected {d:?}"),
        }
    }

    fn with_args(args: &str, f: impl FnOnce(Vec<Result<Val, Unsupported>>)) {
        let text = format!("(invoke \"f\" {args})");
        let buf = ParseBuffer::new(&text).unwrap();
        let wast = parser::parse::<wast::Wast>(&buf).unwrap();
        match &wast.directives[0] {
            wast::WastDirective::Invoke(i) => f(i.args.iter().map(arg_to_val).collect()),
            d => panic!("unexpected {d:?}"),
        }
    }

    fn check(result: &str, got: Val) -> bool {
        let mut out = None;
        with_results(result, |r| {
            check_supported(&r[0]).unwrap();
            out = Some(matches(&r[0], &got));
        });
        out.unwrap()
    }

    #[test]
    fn nan_classes_f32() {
        assert!(is_canonical_nan_f32(0x7fc0_0000));
        assert!(is_canonical_nan_f32(0xffc0_0000));
        assert!(!is_canonical_nan_f32(0x7fc0_0001));
        assert!(!is_canonical_nan_f32(0x7fa0_0000));
        assert!(is_arithmetic_nan_f32(0x7fc0_0001));
        assert!(is_arithmetic_nan_f32(0xffff_ffff));
        assert!(!is_arithmetic_nan_f32(0x7fa0_0000)); // signalling
        assert!(!is_arithmetic_nan_f32(0x7f80_0000)); // infinity
        assert!(!is_arithmetic_nan_f32(0x3fc0_0000));
    }

    #[test]
    fn nan_classes_f64() {
        assert!(is_canonical_nan_f64(0x7ff8_0000_0000_0000));
        assert!(is_canonical_nan_f64(0xfff8_0000_0000_0000));
        assert!(!is_canonical_nan_f64(0x7ff8_0000_0000_0001));
        assert!(is_arithmetic_nan_f64(0x7ff8_0000_0000_0001));
        assert!(!is_arithmetic_nan_f64(0x7ff4_0000_0000_0000));
        assert!(!is_arithmetic_nan_f64(0x7ff0_0000_0000_0000));
    }

    #[test]
    fn scalars_compare_exactly_and_floats_by_bits() {
        assert!(check("(i32.const -1)", Val::I32(-1)));
        assert!(!check("(i32.const -1)", Val::I32(1)));
        assert!(!check("(i32.const 1)", Val::I64(1)));
        assert!(check("(i64.const 0x8000000000000000)", Val::I64(i64::MIN)));
        assert!(check("(f32.const 1.5)", Val::F32(1.5f32.to_bits())));
        assert!(!check("(f32.const 0.0)", Val::F32((-0.0f32).to_bits())));
        assert!(check("(f64.const -0x0p+0)", Val::F64((-0.0f64).to_bits())));
        assert!(check("(f32.const nan:0x200000)", Val::F32(0x7fa0_0000)));
        assert!(!check("(f32.const nan:0x200000)", Val::F32(0x7fc0_0000)));
        assert!(check("(f32.const nan:canonical)", Val::F32(0xffc0_0000)));
        assert!(!check("(f32.const nan:canonical)", Val::F32(0x7fc0_0001)));
        assert!(check(
            "(f64.const nan:arithmetic)",
            Val::F64(0x7ff8_0000_dead_0000)
        ));
        assert!(!check(
            "(f64.const nan:arithmetic)",
            Val::F64(1.0f64.to_bits())
        ));
    }

    #[test]
    fn v128_lanes_of_every_shape() {
        let bits =
            u128::from_le_bytes([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(check("(v128.const i32x4 1 2 3 -1)", Val::V128(bits)));
        assert!(!check("(v128.const i32x4 1 2 3 0)", Val::V128(bits)));
        assert!(check(
            "(v128.const i8x16 1 0 0 0 2 0 0 0 3 0 0 0 -1 -1 -1 255)",
            Val::V128(bits)
        ));
        assert!(check(
            "(v128.const i16x8 1 0 2 0 3 0 -1 0xffff)",
            Val::V128(bits)
        ));
        assert!(check(
            "(v128.const i64x2 0x0000000200000001 0xffffffff00000003)",
            Val::V128(bits)
        ));
        let f = (1.0f32.to_bits() as u128) | ((0x7fc0_0000u128) << 32) | ((0x7fc0_1234u128) << 64);
        assert!(check(
            "(v128.const f32x4 1.0 nan:canonical nan:arithmetic 0.0)",
            Val::V128(f)
        ));
        assert!(!check(
            "(v128.const f32x4 1.0 nan:canonical nan:canonical 0.0)",
            Val::V128(f)
        ));
        let d = 0x7ff8_0000_0000_0000u128 | ((2.0f64.to_bits() as u128) << 64);
        assert!(check("(v128.const f64x2 nan:canonical 2.0)", Val::V128(d)));
        assert!(!check("(v128.const f64x2 nan:canonical 2.5)", Val::V128(d)));
    }

    #[test]
    fn references() {
        assert!(check("(ref.null func)", Val::FuncRef(None)));
        assert!(!check("(ref.null func)", Val::ExternRef(None)));
        assert!(check("(ref.null extern)", Val::ExternRef(None)));
        assert!(!check(
            "(ref.null extern)",
            Val::ExternRef(Some(ExternRef(0)))
        ));
        assert!(check("(ref.extern 0)", Val::ExternRef(Some(ExternRef(0)))));
        assert!(!check("(ref.extern 1)", Val::ExternRef(Some(ExternRef(0)))));
        assert!(!check("(ref.extern 1)", Val::ExternRef(None)));
        assert!(check("(ref.extern)", Val::ExternRef(Some(ExternRef(7)))));
        assert!(!check("(ref.func)", Val::FuncRef(None)));
    }

    #[test]
    fn either_accepts_any_alternative() {
        assert!(check("(either (i32.const 1) (i32.const 2))", Val::I32(2)));
        assert!(!check("(either (i32.const 1) (i32.const 2))", Val::I32(3)));
    }

    #[test]
    fn gc_results_are_unsupported_not_wrong() {
        with_results("(ref.i31)", |r| assert!(check_supported(&r[0]).is_err()));
        with_results("(ref.null any)", |r| {
            assert!(check_supported(&r[0]).is_err())
        });
    }

    #[test]
    fn arguments_convert() {
        with_args(
            "(i32.const -2) (i64.const 3) (f32.const -0.0) (f64.const nan:0x4) (v128.const i16x8 1 2 3 4 5 6 7 8) (ref.null func) (ref.null extern) (ref.extern 5) (ref.null any)",
            |v| {
                assert!(matches!(v[0], Ok(Val::I32(-2))));
                assert!(matches!(v[1], Ok(Val::I64(3))));
                assert!(matches!(v[2], Ok(Val::F32(0x8000_0000))));
                assert!(matches!(v[3], Ok(Val::F64(0x7ff0_0000_0000_0004))));
                match &v[4] {
                    Ok(Val::V128(b)) => {
                        assert_eq!(lane(*b, 2, 0), 1);
                        assert_eq!(lane(*b, 2, 7), 8);
                    }
                    other => panic!("{other:?}"),
                }
                assert!(matches!(v[5], Ok(Val::FuncRef(None))));
                assert!(matches!(v[6], Ok(Val::ExternRef(None))));
                assert!(matches!(v[7], Ok(Val::ExternRef(Some(ExternRef(5))))));
                assert!(v[8].is_err());
            },
        );
    }

    #[test]
    fn display_is_informative() {
        assert_eq!(show_val(&Val::I32(-1)), "i32:-1 (0xffffffff)");
        assert_eq!(show_val(&Val::F32(0x7fc0_0000)), "f32:NaN (0x7fc00000)");
        with_results("(f64.const nan:canonical) (i32.const 3)", |r| {
            assert_eq!(show_rets(r), "[f64:nan:canonical, i32:3 (0x3)]");
        });
    }
}
