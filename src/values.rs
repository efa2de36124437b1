//! Command-line text ↔ wasm values, for `faasm-run --invoke`.

use faasm_runtime::{Val, ValType};

/// Why an argument could not be turned into a value of its parameter type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {text:?} as {ty}: {reason}")]
pub struct ParseValError {
    pub text: String,
    pub ty: ValType,
    pub reason: String,
}

/// Integers: decimal (signed, or unsigned up to the type's width, so
/// `4294967295` is the i32 `-1`) or `0x` hexadecimal. Floats: Rust's float
/// syntax, including `inf`, `-inf` and `NaN`. `v128`: one 128-bit integer.
/// References: only `null`.
pub fn parse_val(text: &str, ty: ValType) -> Result<Val, ParseValError> {
    let err = |reason: &str| ParseValError {
        text: text.to_string(),
        ty,
        reason: reason.to_string(),
    };
    match ty {
        ValType::I32 => parse_int(text, 32)
            .map(|v| Val::I32(v as u32 as i32))
            .map_err(err),
        ValType::I64 => parse_int(text, 64)
            .map(|v| Val::I64(v as u64 as i64))
            .map_err(err),
        ValType::V128 => parse_int(text, 128)
            .map(|v| Val::V128(v as u128))
            .map_err(err),
        ValType::F32 => text
            .parse::<f32>()
            .map(|f| Val::F32(f.to_bits()))
            .map_err(|_| err("not a number")),
        ValType::F64 => text
            .parse::<f64>()
            .map(|f| Val::F64(f.to_bits()))
            .map_err(|_| err("not a number")),
        ValType::FuncRef if text == "null" => Ok(Val::FuncRef(None)),
        ValType::ExternRef if text == "null" => Ok(Val::ExternRef(None)),
        ValType::FuncRef | ValType::ExternRef => {
            Err(err("only `null` can be passed as a reference"))
        }
    }
}

/// An integer that fits `bits` as either a signed or an unsigned number,
/// returned as its two's complement bit pattern (in the low `bits`).
fn parse_int(text: &str, bits: u32) -> Result<i128, &'static str> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u128::from_str_radix(hex, 16),
        None => digits.parse::<u128>(),
    }
    .map_err(|_| "not an integer")?;
    // Both ends are representable in i128 for every width up to 64; for
    // v128 the unsigned maximum and the signed minimum need u128 care.
    let unsigned_max: u128 = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let signed_min_magnitude: u128 = 1u128 << (bits - 1);
    if negative {
        if magnitude > signed_min_magnitude {
            return Err("out of range");
        }
        Ok((magnitude as i128).wrapping_neg())
    } else {
        if magnitude > unsigned_max {
            return Err("out of range");
        }
        Ok(magnitude as i128)
    }
}

/// A result as `faasm-run` prints it: integers as signed decimal, floats in
/// Rust's shortest round-trip form, v128 as 32 hex digits.
pub fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(x) => format!("0x{x:032x}"),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(r)) => format!("<externref {}>", r.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str, ty: ValType) -> String {
        format_val(&parse_val(text, ty).unwrap())
    }

    #[test]
    fn integers() {
        assert_eq!(p("42", ValType::I32), "42");
        assert_eq!(p("-7", ValType::I32), "-7");
        assert_eq!(p("4294967295", ValType::I32), "-1");
        assert_eq!(p("0xff", ValType::I32), "255");
        assert_eq!(p("-2147483648", ValType::I32), "-2147483648");
        assert_eq!(p("18446744073709551615", ValType::I64), "-1");
        assert_eq!(
            p("-9223372036854775808", ValType::I64),
            "-9223372036854775808"
        );
        assert_eq!(p("1", ValType::V128), format!("0x{:032x}", 1));
        assert_eq!(p("-1", ValType::V128), format!("0x{}", "f".repeat(32)));
        for bad in ["4294967296", "-2147483649", "", "-", "1.5", "x", "0x"] {
            assert!(parse_val(bad, ValType::I32).is_err(), "{bad:?} accepted");
        }
        assert!(parse_val("18446744073709551616", ValType::I64).is_err());
    }

    #[test]
    fn floats_keep_their_bits() {
        assert_eq!(p("1.5", ValType::F32), "1.5");
        assert_eq!(p("-0", ValType::F64), "-0");
        assert_eq!(p("inf", ValType::F64), "inf");
        assert_eq!(p("NaN", ValType::F32), "NaN");
        assert!(matches!(parse_val("0.1", ValType::F64), Ok(Val::F64(b)) if b == 0.1f64.to_bits()));
        assert!(parse_val("one", ValType::F32).is_err());
    }

    #[test]
    fn references() {
        assert_eq!(p("null", ValType::FuncRef), "null");
        assert_eq!(p("null", ValType::ExternRef), "null");
        let e = parse_val("1", ValType::ExternRef).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse \"1\" as externref: only `null` can be passed as a reference"
        );
    }
}
