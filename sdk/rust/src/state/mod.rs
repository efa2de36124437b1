//! Shared state: byte arrays by key, visible to every function of the same
//! user. The first tier is local to the executor (one process); keys are
//! scoped to the user, so `"counter"` of `alice/*` is not `"counter"` of
//! `bob/*`.
//!
//! Values are read and written whole ([`get`], [`set`]), by range
//! ([`get_offset`], [`set_offset`]), appended to ([`append`]) or mapped into
//! this instance's memory ([`StatePtr`]). Concurrent calls coordinate with
//! the reader-writer locks ([`lock_read`], [`lock_write`] and the global
//! tier's [`lock_global_read`], [`lock_global_write`]), whose guards unlock
//! when dropped.
//!
//! ```no_run
//! use faasm_sdk::state;
//! let _guard = state::lock_write("visits")?;
//! let n = state::get("visits")?.len();
//! state::set("visits", &vec![b'x'; n + 1])?;
//! # Ok::<(), faasm_sdk::Error>(())
//! ```

mod lock;
mod ptr;

pub use lock::{StateLock, lock_global_read, lock_global_write, lock_read, lock_write};
pub use ptr::StatePtr;

use crate::{Error, abi_len, host_size, name, sys};

/// The size in bytes of the value at `key` (0 if there is none).
pub fn size(key: &str) -> Result<usize, Error> {
    let key = name::key(key)?;
    // SAFETY: key is NUL-terminated; length 0 touches no buffer.
    let size = unsafe { sys::__faasm_read_state(key.as_ptr().cast(), std::ptr::null_mut(), 0) };
    Ok(host_size(size))
}

/// The value at `key` (empty if there is none).
pub fn get(key: &str) -> Result<Vec<u8>, Error> {
    let key = name::key(key)?;
    let key = key.as_ptr().cast();
    // SAFETY: key is NUL-terminated; length 0 touches no buffer.
    let mut size = host_size(unsafe { sys::__faasm_read_state(key, std::ptr::null_mut(), 0) });
    loop {
        let mut buf = vec![0u8; size];
        if size == 0 {
            return Ok(buf);
        }
        // SAFETY: key is NUL-terminated; buf is a live allocation of
        // `size` bytes, the length passed.
        let now =
            host_size(unsafe { sys::__faasm_read_state(key, buf.as_mut_ptr(), abi_len(size)) });
        // Another call may have resized the value between the two reads:
        // a shorter one was copied whole, a longer one needs a bigger buffer.
        if now <= size {
            buf.truncate(now);
            return Ok(buf);
        }
        size = now;
    }
}

/// Replaces the value at `key` with `value`.
pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
    let key = name::key(key)?;
    // SAFETY: key is NUL-terminated; value is valid for reads of its length.
    unsafe { sys::__faasm_write_state(key.as_ptr().cast(), value.as_ptr(), abi_len(value.len())) };
    Ok(())
}

/// Bytes `offset..offset + len` of the value at `key`, which reads as
/// zero-extended to `total_len` bytes.
///
/// # Errors
/// [`Error::OutOfRange`] if the range does not fit in `total_len`.
pub fn get_offset(
    key: &str,
    total_len: usize,
    offset: usize,
    len: usize,
) -> Result<Vec<u8>, Error> {
    check_range(total_len, offset, len)?;
    let key = name::key(key)?;
    let mut buf = vec![0u8; len];
    // SAFETY: key is NUL-terminated; buf is a live allocation of len bytes.
    unsafe {
        sys::__faasm_read_state_offset(
            key.as_ptr().cast(),
            abi_len(total_len),
            abi_len(offset),
            buf.as_mut_ptr(),
            abi_len(len),
        )
    };
    Ok(buf)
}

/// Replaces bytes `offset..offset + data.len()` of the value at `key`,
/// first growing it (zero-filled) to at least `total_len` bytes.
///
/// # Errors
/// [`Error::OutOfRange`] if the range does not fit in `total_len`.
pub fn set_offset(key: &str, total_len: usize, offset: usize, data: &[u8]) -> Result<(), Error> {
    check_range(total_len, offset, data.len())?;
    let key = name::key(key)?;
    // SAFETY: key is NUL-terminated; data is valid for reads of its length.
    unsafe {
        sys::__faasm_write_state_offset(
            key.as_ptr().cast(),
            abi_len(total_len),
            abi_len(offset),
            data.as_ptr(),
            abi_len(data.len()),
        )
    };
    Ok(())
}

/// Appends `element` to the append-only list at `key`.
pub fn append(key: &str, element: &[u8]) -> Result<(), Error> {
    let key = name::key(key)?;
    // SAFETY: key is NUL-terminated; element is valid for reads.
    unsafe {
        sys::__faasm_append_state(
            key.as_ptr().cast(),
            element.as_ptr(),
            abi_len(element.len()),
        )
    };
    Ok(())
}

/// The first `n_elems` elements appended at `key`, concatenated; `len` is
/// the sum of their sizes (the list does not record element boundaries, so
/// fixed-size elements are the usual pattern).
pub fn read_appended(key: &str, len: usize, n_elems: usize) -> Result<Vec<u8>, Error> {
    let key = name::key(key)?;
    let mut buf = vec![0u8; len];
    // SAFETY: key is NUL-terminated; buf is a live allocation of len bytes.
    unsafe {
        sys::__faasm_read_appended_state(
            key.as_ptr().cast(),
            buf.as_mut_ptr(),
            abi_len(len),
            abi_len(n_elems),
        )
    };
    Ok(buf)
}

/// Removes every element appended at `key`.
pub fn clear_appended(key: &str) -> Result<(), Error> {
    let key = name::key(key)?;
    // SAFETY: key is NUL-terminated.
    unsafe { sys::__faasm_clear_appended_state(key.as_ptr().cast()) };
    Ok(())
}

/// Writes this instance's mapped region for `key` (see [`StatePtr`]) back to
/// the state. [`StatePtr::push`] does the same for a live mapping.
pub fn push(key: &str) -> Result<(), Error> {
    let key = name::key(key)?;
    // SAFETY: key is NUL-terminated; the host only reads the region.
    unsafe { sys::__faasm_push_state(key.as_ptr().cast()) };
    Ok(())
}

/// Writes only the ranges of `key`'s mapped region flagged dirty back to the
/// state.
pub fn push_partial(key: &str) -> Result<(), Error> {
    let key = name::key(key)?;
    // SAFETY: key is NUL-terminated; the host only reads the region.
    unsafe { sys::__faasm_push_state_partial(key.as_ptr().cast()) };
    Ok(())
}

/// Refreshes this instance's mapped region for `key` (`total_len` bytes)
/// from the state.
///
/// # Errors
/// [`Error::AlreadyMapped`] while a [`StatePtr`] for `key` is alive: the
/// host would rewrite memory its slice borrows; use [`StatePtr::pull`].
pub fn pull(key: &str, total_len: usize) -> Result<(), Error> {
    let ckey = name::key(key)?;
    if ptr::is_mapped(&ckey) {
        return Err(Error::AlreadyMapped {
            key: key.to_string(),
        });
    }
    // SAFETY: key is NUL-terminated and no Rust reference covers the region.
    unsafe { sys::__faasm_pull_state(ckey.as_ptr().cast(), abi_len(total_len)) };
    Ok(())
}

/// `offset..offset + len` must lie within `total_len` (else the host traps).
pub(crate) fn check_range(total_len: usize, offset: usize, len: usize) -> Result<(), Error> {
    match offset.checked_add(len) {
        Some(end) if end <= total_len => Ok(()),
        _ => Err(Error::OutOfRange {
            offset,
            len,
            total_len,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_must_fit_without_overflow() {
        assert!(check_range(8, 0, 8).is_ok());
        assert!(check_range(8, 8, 0).is_ok());
        assert!(check_range(0, 0, 0).is_ok());
        assert_eq!(
            check_range(8, 4, 5),
            Err(Error::OutOfRange {
                offset: 4,
                len: 5,
                total_len: 8
            })
        );
        assert!(check_range(usize::MAX, usize::MAX, 1).is_err());
    }
}
