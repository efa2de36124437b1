//! The errors of this crate: arguments the host would refuse, caught before
//! the call so that they are recoverable instead of ending the function.

use std::fmt;

/// Why an SDK call was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A function name or state key the ABI cannot carry.
    InvalidName {
        /// The offending name (lossy if it was not valid UTF-8).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A byte range outside the value's `total_len`.
    OutOfRange {
        /// Start of the range.
        offset: usize,
        /// Length of the range.
        len: usize,
        /// The value's size.
        total_len: usize,
    },
    /// The key is mapped by a live [`StatePtr`](crate::state::StatePtr): a
    /// second mapping or a pull through the key would alias its slice.
    AlreadyMapped {
        /// The key.
        key: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidName { name, reason } => write!(f, "invalid name {name:?}: {reason}"),
            Error::OutOfRange {
                offset,
                len,
                total_len,
            } => write!(
                f,
                "range {offset}..{offset}+{len} is outside a value of {total_len} bytes"
            ),
            Error::AlreadyMapped { key } => {
                write!(f, "state key {key:?} is already mapped by a StatePtr")
            }
        }
    }
}

impl std::error::Error for Error {}
