//! [`StatePtr`]: a state value mapped into this instance's linear memory,
//! borrowed as a slice.

use super::check_range;
use crate::{Error, abi_len, name, sys};
use std::collections::BTreeSet;
use std::ffi::{CStr, CString};
use std::ops::{Deref, DerefMut, Range};
use std::ptr::NonNull;
use std::sync::Mutex;

/// Keys with a live `StatePtr` in this instance. The host hands out the same
/// region for the same key, so a second live mapping would be a second
/// `&mut` to the same bytes; refusing it keeps the API sound.
static MAPPED: Mutex<BTreeSet<CString>> = Mutex::new(BTreeSet::new());

pub(super) fn is_mapped(key: &CStr) -> bool {
    registry().contains(key)
}

fn registry() -> std::sync::MutexGuard<'static, BTreeSet<CString>> {
    // A panic while holding it leaves the set consistent (one insert or
    // remove), so poisoning carries no information here.
    MAPPED.lock().unwrap_or_else(|p| p.into_inner())
}

/// A state value mapped into this instance's memory: reading and writing it
/// is plain memory access, with no copy per access. Dereferences to the
/// mapped bytes (`&[u8]` / `&mut [u8]`), which cannot outlive the guard.
///
/// Changes stay local until pushed: [`push`](Self::push) writes the whole
/// value back, [`push_partial`](Self::push_partial) only the ranges flagged
/// with [`flag_dirty`](Self::flag_dirty). If the value was changed through
/// `&mut` and not pushed since, dropping the guard pushes it (turn that off
/// with [`set_push_on_drop`](Self::set_push_on_drop)). Hold a
/// [write lock](super::lock_write) around read-modify-push cycles that other
/// calls may race with.
///
/// ```no_run
/// use faasm_sdk::state::{self, StatePtr};
/// let _lock = state::lock_write("hits")?;
/// let mut hits = StatePtr::map("hits", 8)?; // absent = zeros
/// let n = u64::from_le_bytes(hits[..].try_into().unwrap()) + 1;
/// hits.copy_from_slice(&n.to_le_bytes());
/// hits.push();
/// # Ok::<(), faasm_sdk::Error>(())
/// ```
#[derive(Debug)]
pub struct StatePtr {
    key: CString,
    /// The value's full size as mapped.
    total_len: usize,
    /// The part of the value this guard covers: `range` of `0..total_len`.
    range: Range<usize>,
    /// Start of `range` in linear memory.
    ptr: NonNull<u8>,
    /// Changed through `&mut` since the last push.
    modified: bool,
    push_on_drop: bool,
}

impl StatePtr {
    /// Maps the value at `key` as `total_len` bytes (zero-extended if
    /// shorter, absent = all zeros).
    ///
    /// # Errors
    /// [`Error::AlreadyMapped`] if another `StatePtr` for `key` is alive;
    /// [`Error::InvalidName`] for a bad key.
    pub fn map(key: &str, total_len: usize) -> Result<StatePtr, Error> {
        Self::map_range(key, total_len, 0..total_len)
    }

    /// Maps the value at `key` (of `total_len` bytes) and covers only bytes
    /// `range` of it: the slice is that range; pushes still write back the
    /// whole region.
    ///
    /// # Errors
    /// As [`map`](Self::map), and [`Error::OutOfRange`] if `range` does not
    /// fit in `total_len`.
    pub fn map_range(key: &str, total_len: usize, range: Range<usize>) -> Result<StatePtr, Error> {
        let len = range.end.saturating_sub(range.start);
        check_range(total_len, range.start, len)?;
        let ckey = name::key(key)?;
        if !registry().insert(ckey.clone()) {
            return Err(Error::AlreadyMapped {
                key: key.to_string(),
            });
        }
        // SAFETY: key is NUL-terminated; the host checks the lengths.
        let raw = unsafe {
            if len == total_len {
                sys::__faasm_read_state_ptr(ckey.as_ptr().cast(), abi_len(total_len))
            } else {
                sys::__faasm_read_state_offset_ptr(
                    ckey.as_ptr().cast(),
                    abi_len(total_len),
                    abi_len(range.start),
                    abi_len(len),
                )
            }
        };
        // An empty range may come back as null; a dangling pointer is a
        // valid base for an empty slice.
        let ptr = match NonNull::new(raw) {
            Some(ptr) => ptr,
            None if len == 0 => NonNull::dangling(),
            None => {
                registry().remove(&ckey);
                panic!("the host mapped state {key:?} at address 0");
            }
        };
        Ok(StatePtr {
            key: ckey,
            total_len,
            range: range.start..range.start + len,
            ptr,
            modified: false,
            push_on_drop: true,
        })
    }

    /// The key.
    pub fn key(&self) -> &str {
        // Built from a &str in `map_range`, so always UTF-8.
        self.key.to_str().unwrap_or_default()
    }

    /// The value's full size as mapped (not only the covered range).
    pub fn total_len(&self) -> usize {
        self.total_len
    }

    /// Writes the whole mapped value back to the state.
    pub fn push(&mut self) {
        // SAFETY: key is NUL-terminated; the host only reads the region.
        unsafe { sys::__faasm_push_state(self.key.as_ptr().cast()) };
        self.modified = false;
    }

    /// Writes only the ranges flagged with [`flag_dirty`](Self::flag_dirty)
    /// back to the state.
    pub fn push_partial(&mut self) {
        // SAFETY: key is NUL-terminated; the host only reads the region.
        unsafe { sys::__faasm_push_state_partial(self.key.as_ptr().cast()) };
        self.modified = false;
    }

    /// Flags `range` (relative to this guard's slice) as changed, for
    /// [`push_partial`](Self::push_partial).
    ///
    /// # Errors
    /// [`Error::OutOfRange`] if `range` is not within the slice.
    pub fn flag_dirty(&mut self, range: Range<usize>) -> Result<(), Error> {
        let len = range.end.saturating_sub(range.start);
        check_range(self.range.len(), range.start, len)?;
        // SAFETY: key is NUL-terminated; the range was checked to lie within
        // the mapped value.
        unsafe {
            sys::__faasm_flag_state_offset_dirty(
                self.key.as_ptr().cast(),
                abi_len(self.total_len),
                abi_len(self.range.start + range.start),
                abi_len(len),
            )
        };
        Ok(())
    }

    /// Flags the whole mapped value (all `total_len` bytes, not only this
    /// guard's range) as changed, for [`push_partial`](Self::push_partial).
    pub fn flag_all_dirty(&mut self) {
        // SAFETY: key is NUL-terminated; total_len is the mapped size.
        unsafe { sys::__faasm_flag_state_dirty(self.key.as_ptr().cast(), abi_len(self.total_len)) };
    }

    /// Refreshes the mapped bytes from the state, discarding changes not
    /// pushed yet.
    pub fn pull(&mut self) {
        // SAFETY: key is NUL-terminated; `&mut self` guarantees no slice of
        // the region is borrowed while the host rewrites it.
        unsafe { sys::__faasm_pull_state(self.key.as_ptr().cast(), abi_len(self.total_len)) };
        self.modified = false;
    }

    /// Whether dropping the guard pushes unpushed changes (the default).
    pub fn set_push_on_drop(&mut self, push: bool) {
        self.push_on_drop = push;
    }
}

impl Deref for StatePtr {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the host keeps `range.len()` bytes at `ptr` in our linear
        // memory for the rest of this call, outside any Rust allocation; the
        // registry makes this the only guard for the key, and the borrow is
        // tied to `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.range.len()) }
    }
}

impl DerefMut for StatePtr {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.modified = true;
        // SAFETY: as in `deref`; `&mut self` makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.range.len()) }
    }
}

impl Drop for StatePtr {
    fn drop(&mut self) {
        if self.modified && self.push_on_drop {
            self.push();
        }
        registry().remove(&self.key);
    }
}
