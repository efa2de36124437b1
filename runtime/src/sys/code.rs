//! Executable code: the artifact's text section copied into its own mapping
//! and then made read+execute (never writable and executable at once).

use super::mmap::Mmap;
use std::io;

/// A module's text section, mapped executable. Offsets in the artifact are
/// relative to [`CodeMemory::base`].
#[derive(Debug)]
pub struct CodeMemory {
    map: Mmap,
    len: usize,
}

impl CodeMemory {
    pub fn new(text: &[u8]) -> io::Result<CodeMemory> {
        let map = Mmap::reserve(text.len())?;
        if !text.is_empty() {
            map.make_accessible(0, text.len())?;
            // SAFETY: the first `text.len()` bytes of the fresh mapping were
            // just made writable, and the mapping cannot overlap `text`.
            unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), map.as_ptr(), text.len()) };
            map.make_executable(0, text.len())?;
            flush_icache(map.as_ptr(), text.len());
        }
        Ok(CodeMemory {
            map,
            len: text.len(),
        })
    }

    pub fn base(&self) -> *const u8 {
        self.map.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Address of the instruction at `offset` in the text.
    pub fn at(&self, offset: u32) -> *const u8 {
        assert!((offset as usize) < self.len, "code offset outside the text");
        // SAFETY: in bounds of our mapping (checked above).
        unsafe { self.base().add(offset as usize) }
    }

    /// `(start, end)` address range of the text.
    pub fn range(&self) -> (usize, usize) {
        let start = self.base() as usize;
        (start, start + self.len)
    }
}

#[cfg(target_arch = "x86_64")]
fn flush_icache(_start: *const u8, _len: usize) {
    // x86 keeps instruction fetch coherent with data writes.
}

#[cfg(target_arch = "aarch64")]
fn flush_icache(start: *const u8, len: usize) {
    unsafe extern "C" {
        fn __clear_cache(start: *mut libc::c_char, end: *mut libc::c_char);
    }
    // SAFETY: `[start, start + len)` is our freshly written code mapping;
    // `__clear_cache` only performs cache maintenance on it.
    unsafe { __clear_cache(start as *mut _, start.add(len) as *mut _) };
}
