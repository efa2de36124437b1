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
/// (`reserve`, `reserve_with_lead`) or a read-only view of a file
/// (`map_file_readonly`). A zero-length `Mmap` owns nothing and has a
/// dangling (never dereferenced) base.
///
/// Invariant: a reservation may be preceded by `lead` bytes of address
/// space it also owns and never makes accessible (a guard below `as_ptr`:
/// linear memories need one, see `faasm_abi::MEMORY_LEAD_GUARD_BYTES`).
/// Every offset this type takes is relative to `as_ptr`, past the lead.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
    lead: usize,
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
        Mmap::reserve_with_lead(0, len)
    }

    /// Reserves `len` bytes as [`Mmap::reserve`] does, preceded by `lead`
    /// bytes (rounded up to pages) that stay inaccessible for the
    /// reservation's whole life: an access below `as_ptr`, by up to `lead`
    /// bytes, faults.
    pub fn reserve_with_lead(lead: usize, len: usize) -> io::Result<Mmap> {
        if len == 0 {
            return Ok(Mmap {
                ptr: NonNull::dangling(),
                len: 0,
                lead: 0,
            });
        }
        let too_large = || io::Error::from(io::ErrorKind::OutOfMemory);
        let len = round_up_to_page(len).ok_or_else(too_large)?;
        let lead = round_up_to_page(lead).ok_or_else(too_large)?;
        let total = lead.checked_add(len).ok_or_else(too_large)?;
        // SAFETY: an anonymous mapping at a kernel-chosen address cannot
        // alias any existing Rust object.
        let start = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                total,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )?
        };
        // `lead < total`, so this stays inside the mapping just made.
        let ptr = start.cast::<u8>().wrapping_add(lead);
        Ok(Mmap {
            ptr: NonNull::new(ptr).expect("mmap never returns null on success"),
            len,
            lead,
        })
    }

    /// The inaccessible bytes reserved below `as_ptr` (a page multiple).
    pub fn lead(&self) -> usize {
        self.lead
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
            lead: 0,
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
        // SAFETY: we own exactly this mapping, lead included; nothing
        // borrows it any more (owners drop it only once no code or reference
        // can reach it).
        let r = unsafe {
            rustix::mm::munmap(
                self.as_ptr().wrapping_sub(self.lead).cast(),
                self.lead + self.len,
            )
        };
        debug_assert!(r.is_ok(), "munmap failed: {r:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The permissions `/proc/self/maps` gives the page holding `addr`.
    fn perms_at(addr: usize) -> Option<String> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines().find_map(|line| {
            let mut fields = line.split_whitespace();
            let (lo, hi) = fields.next()?.split_once('-')?;
            let (lo, hi) = (
                usize::from_str_radix(lo, 16).ok()?,
                usize::from_str_radix(hi, 16).ok()?,
            );
            (lo <= addr && addr < hi).then(|| fields.next().unwrap().to_string())
        })
    }

    #[test]
    fn a_lead_is_reserved_inaccessible_below_the_base() {
        let ps = page_size();
        let map = Mmap::reserve_with_lead(3 * ps, 2 * ps).unwrap();
        assert_eq!((map.lead(), map.len()), (3 * ps, 2 * ps));
        map.make_accessible(0, 2 * ps).unwrap();
        let base = map.as_ptr() as usize;
        assert_eq!(perms_at(base).as_deref(), Some("rw-p"));
        for below in [1, ps, 3 * ps] {
            assert_eq!(perms_at(base - below).as_deref(), Some("---p"), "{below}");
        }
        // (Whether drop unmapped all of it cannot be told from here: other
        // tests may map the same addresses at once.)
    }
}
