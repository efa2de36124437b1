//! Function names and state keys as the ABI passes them: NUL-terminated
//! strings the host reads at most 1024 bytes of.

use crate::Error;
use std::ffi::CString;

/// The longest name or key in bytes (the host reads at most 1024 bytes,
/// including the terminating NUL).
pub const MAX_NAME_LEN: usize = 1023;

/// A state key: any string without NUL of at most [`MAX_NAME_LEN`] bytes.
pub(crate) fn key(key: &str) -> Result<CString, Error> {
    checked(key)
}

/// A function name: a key that is not empty and has no `/` (a call can only
/// chain functions of its own user).
pub(crate) fn function(name: &str) -> Result<CString, Error> {
    if name.is_empty() {
        return Err(invalid(name, "function names cannot be empty"));
    }
    if name.contains('/') {
        return Err(invalid(
            name,
            "function names cannot contain '/' (calls chain their own user's functions)",
        ));
    }
    checked(name)
}

fn checked(s: &str) -> Result<CString, Error> {
    if s.len() > MAX_NAME_LEN {
        return Err(invalid(s, "longer than 1023 bytes"));
    }
    CString::new(s).map_err(|_| invalid(s, "contains a NUL byte"))
}

fn invalid(name: &str, reason: &'static str) -> Error {
    Error::InvalidName {
        name: name.to_string(),
        reason,
    }
}

// Host-side unit tests of the validation alone (`cargo test` in sdk/rust on
// the build machine): nothing here calls into the host.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_anything_but_nul_up_to_the_limit() {
        assert_eq!(key("counter").unwrap().as_bytes(), b"counter");
        assert_eq!(key("").unwrap().as_bytes(), b"");
        assert_eq!(key("a/b").unwrap().as_bytes(), b"a/b");
        assert!(key(&"k".repeat(MAX_NAME_LEN)).is_ok());
        assert!(matches!(
            key(&"k".repeat(MAX_NAME_LEN + 1)),
            Err(Error::InvalidName { reason, .. }) if reason.contains("1023")
        ));
        assert!(matches!(
            key("a\0b"),
            Err(Error::InvalidName { reason, .. }) if reason.contains("NUL")
        ));
    }

    #[test]
    fn function_names_are_not_empty_and_have_no_slash() {
        assert_eq!(function("pi").unwrap().as_bytes(), b"pi");
        for bad in ["", "alice/pi", "/", "a\0"] {
            let err = function(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidName { .. }), "{bad:?}: {err}");
        }
        let err = function("alice/pi").unwrap_err().to_string();
        assert!(err.contains("'/'"), "{err}");
    }
}
