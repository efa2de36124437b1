//! Anonymous memory reservations: reserve address space inaccessible, then
//! open up (or lock down) parts of it. Linear memories and code both use it.

use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};
use std::io;
use std::ptr::NonNull;

/// The operating system's page size.
pub fn page_size() -> usize {
    rustix::param::page_size()
}

/// Rounds `n` up to a multiple of the page size (`None` on overflow).
pub fn round_up_to_page(n: usize) -> Option<usize> {
    let p = page_size();
    n.checked_add(p - 1).map(|v| v & !(p - 1))
}

/// A mapping this value owns, unmapped on drop: an anonymous reservation
/// (`reserve`) or a read-only view of a file (`map_file_readonly`). A zero-length `Mmap`
/// owns nothing and has a dangling (never dereferenced) base.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; it has no thread
// affinity, and all access to its contents goes through raw pointers whose
// synchronisation is the owner's business.
unsafe impl Send for Mmap {}
// SAFETY: as above; `&Mmap` only exposes the address and length.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Reserves `len` bytes (rounded up to pages) of address space with no
    /// access rights and no swap reservation.
    pub fn reserve(len: usize) -> io::Result<Mmap> {
        if len == 0 {
            return Ok(Mmap {
                ptr: NonNull::dangling(),
                len: 0,
            });
        }
        let len =
            round_up_to_page(len).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        // SAFETY: an anonymous mapping at a kernel-chosen address cannot
        // alias any existing Rust object.
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )?
        };
        Ok(Mmap {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns null on success"),
            len,
        })
    }

    /// Maps the first `len` bytes (a page multiple, not zero) of the file
    /// `fd` shared and read-only at a kernel-chosen address. The caller
    /// keeps the file at least `len` bytes long while the mapping lives.
    pub fn map_file_readonly(fd: rustix::fd::BorrowedFd<'_>, len: usize) -> io::Result<Mmap> {
        if len == 0 || !len.is_multiple_of(page_size()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a file view must be a non-empty page multiple",
            ));
        }
        // SAFETY: a new mapping at a kernel-chosen address cannot alias any
        // existing Rust object; read-only, so nothing is written through it.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::SHARED,
                fd,
                0,
            )?
        };
        Ok(Mmap {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns null on success"),
            len,
        })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Reserved length in bytes (a page multiple).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Changes the protection of `[start, start + len)`, which must be
    /// page-aligned and inside the reservation.
    fn protect(&self, start: usize, len: usize, flags: MprotectFlags) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let ps = page_size();
        assert!(start.is_multiple_of(ps), "unaligned protection change");
        let end = start.checked_add(len).expect("range overflow");
        assert!(end <= self.len, "protection change outside the reservation");
        // SAFETY: the range lies inside our own mapping (checked above), so
        // changing its protection affects no memory we do not own.
        unsafe { rustix::mm::mprotect(self.as_ptr().add(start).cast(), len, flags)? };
        Ok(())
    }

    /// Makes `[start, start + len)` readable and writable; `len` is rounded
    /// up to whole pages.
    pub fn make_accessible(&self, start: usize, len: usize) -> io::Result<()> {
        let len =
            round_up_to_page(len).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        self.protect(start, len, MprotectFlags::READ | MprotectFlags::WRITE)
    }

    /// Makes `[start, start + len)` (page-aligned) inaccessible again.
    pub fn make_inaccessible(&self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, MprotectFlags::empty())
    }

    /// Makes `[start, start + len)` readable and executable (not writable).
    pub fn make_executable(&self, start: usize, len: usize) -> io::Result<()> {
        let len =
            round_up_to_page(len).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        self.protect(start, len, MprotectFlags::READ | MprotectFlags::EXEC)
    }
}

impl Mmap {
    /// Discards the contents of `[0, len)` (rounded up to pages) and makes
    /// it inaccessible again, as if freshly reserved: the range is replaced
    /// by a new anonymous mapping in a single call.
    pub fn reset_prefix(&self, len: usize) -> io::Result<()> {
        let len = round_up_to_page(len)
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?
            .min(self.len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: MAP_FIXED over a range inside our own reservation replaces
        // only memory this value owns; no Rust reference into it may exist
        // (the owner is being recycled).
        let p = unsafe {
            rustix::mm::mmap_anonymous(
                self.as_ptr().cast(),
                len,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE | MapFlags::FIXED,
            )?
        };
        debug_assert_eq!(p.cast(), self.as_ptr());
        Ok(())
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: we own exactly this mapping; nothing borrows it any more
        // (owners drop it only once no code or reference can reach it).
        let r = unsafe { rustix::mm::munmap(self.as_ptr().cast(), self.len) };
        debug_assert!(r.is_ok(), "munmap failed: {r:?}");
    }
}
