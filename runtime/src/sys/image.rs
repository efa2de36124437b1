//! Memory images: the initial contents of a linear memory in a sealed
//! memfd, mapped copy-on-write into reservations.
//!
//! One image serves every instance restored from a snapshot. Mapping it
//! `MAP_PRIVATE` over the start of a reservation costs one `mmap`; pages
//! the instance only reads stay shared with every other instance (and in
//! the page cache once), pages it writes are copied for it alone. Dropping
//! the private copies (`madvise(MADV_DONTNEED)`) makes the image show
//! through again, which is how an instance is reset.
//!
//! An image keeps a few reservations with itself already mapped
//! ([`MemoryImage::take_mapped`]): a dropped Faaslet's memory is reset
//! like a reused one (one `madvise`) and kept, so the next restore of the
//! snapshot needs no `mmap` and the drop no `munmap`, the two calls that
//! take the process's mm lock for writing (`benches/README.md`, "Cold
//! starts against wasmtime").
//!
//! A reset copies the image back over the pages a call wrote when they
//! are few (at most [`COPY_BACK_MAX_PAGES`], found by
//! [`super::pagemap`]) rather than dropping them: copying changes no
//! page-table entry, so no other CPU's TLB is flushed, and the next call
//! finds those pages already mapped. Up to that many private pages then
//! stay with a reset instance (or a spare); more, or a kernel that cannot
//! say which, and the reset drops them all.
//!
//! Invariants: the memfd is sealed against writes, growth and shrinking
//! once filled, so no mapping can ever see it change; its length is a
//! whole number of OS pages. A reservation in an image's spare list has the
//! image mapped over `[0, len)`, readable and writable, with no private
//! page, and everything after it inaccessible and empty: exactly what
//! `map_image` over a fresh reservation gives.

use super::mmap::{Mmap, page_size, round_up_to_page};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{MemfdFlags, SealFlags};
use rustix::mm::{MapFlags, ProtFlags};
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Spare mapped reservations one image keeps, and all images together
/// (each holds address space, 4 GiB and guard for guarded memories, and
/// two memory mappings, so they must not pile up over many functions).
const SPARES: usize = 16;
const SPARES_TOTAL: usize = 64;

/// Pages a reset copies back from the image; a call that wrote more gets
/// them dropped (256 KiB with 4 KiB pages: about as long to copy as the
/// `madvise` and the faults it causes later, and a bound on what a reset
/// instance keeps).
pub const COPY_BACK_MAX_PAGES: usize = 64;

/// Spare reservations held by all images.
static SPARE_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Immutable page-aligned bytes in a sealed memfd.
#[derive(Debug)]
pub struct MemoryImage {
    fd: OwnedFd,
    len: usize,
    /// The image mapped shared and read-only (none when empty): what a
    /// reset copies back from.
    view: Option<Mmap>,
    /// Reservations with this image mapped and nothing else in them (see
    /// the module's invariants), for the next restore.
    spares: Mutex<Vec<Mmap>>,
}

impl MemoryImage {
    /// An image of `len` bytes (rounded up to pages), zero except for
    /// `runs`, each `(offset, bytes)` inside it. Zero stretches are holes:
    /// they take no memory.
    pub fn new<'a>(
        len: usize,
        runs: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) -> io::Result<Self> {
        let len = round_up_to_page(len).ok_or(io::ErrorKind::OutOfMemory)?;
        let fd = rustix::fs::memfd_create(
            "faasm-memory-image",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        rustix::fs::ftruncate(&fd, len as u64)?;
        for (offset, bytes) in runs {
            let end = offset
                .checked_add(bytes.len() as u64)
                .filter(|e| *e <= len as u64)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "run past the image"))?;
            let mut done = 0usize;
            while done < bytes.len() {
                let n = rustix::io::pwrite(&fd, &bytes[done..], offset + done as u64)?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                done += n;
            }
            debug_assert_eq!(offset + done as u64, end);
        }
        rustix::fs::fcntl_add_seals(
            &fd,
            SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
        )?;
        let view = match len {
            0 => None,
            _ => Some(Mmap::map_file_readonly(fd.as_fd(), len)?),
        };
        Ok(MemoryImage {
            fd,
            len,
            view,
            spares: Mutex::new(Vec::new()),
        })
    }

    /// A reservation of exactly `reservation` bytes after a lead of `lead`
    /// bytes (see [`Mmap::lead`]), with this image
    /// already mapped at its start, in the state `map_image` over a fresh
    /// reservation leaves, if one was given back.
    pub fn take_mapped(&self, lead: usize, reservation: usize) -> Option<Mmap> {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        let i = spares
            .iter()
            .position(|m| m.len() == reservation && m.lead() == lead)?;
        SPARE_COUNT.fetch_sub(1, Ordering::Relaxed);
        Some(spares.swap_remove(i))
    }

    /// Keeps `map` for [`MemoryImage::take_mapped`]. `map` had this image
    /// mapped at its start and its first `used` bytes accessible; it is
    /// brought back to the promised state first (private pages dropped,
    /// pages past the image made inaccessible). A map that cannot be, or
    /// one beyond the spares kept, is handed back.
    ///
    /// The caller guarantees `map` holds nothing but this image's private
    /// mapping and anonymous memory (no shared file mapped into it).
    pub fn give_mapped(&self, map: Mmap, used: usize) -> Result<(), Mmap> {
        let full = |n: usize| n >= SPARES || SPARE_COUNT.load(Ordering::Relaxed) >= SPARES_TOTAL;
        if full(self.spares.lock().unwrap_or_else(|e| e.into_inner()).len())
            || map.len() < self.len
            || used > map.len()
            || back_to_image(&map, self, used).is_err()
        {
            return Err(map);
        }
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        if full(spares.len()) {
            return Err(map);
        }
        SPARE_COUNT.fetch_add(1, Ordering::Relaxed);
        spares.push(map);
        Ok(())
    }

    /// Copies the image back over the pages of `[0, len)` of `map` (which
    /// has this image mapped there, `len` a page multiple within it) that
    /// hold private copies, if there are at most [`COPY_BACK_MAX_PAGES`].
    /// `false`, having changed nothing, if there are more or the kernel
    /// cannot say which.
    fn copy_back(&self, map: &Mmap, len: usize) -> bool {
        let Some(view) = &self.view else {
            return len == 0;
        };
        debug_assert!(len <= self.len && len <= map.len());
        let Some(runs) = super::pagemap::private_runs(map.as_ptr(), len, COPY_BACK_MAX_PAGES)
        else {
            return false;
        };
        for run in runs {
            assert!(run.end <= len, "a scanned run past the range");
            // SAFETY: `run` lies inside `[0, len)`, which is inside both the
            // read-only view of the image and the image's private mapping at
            // the start of `map`, readable and writable (the caller's
            // contract); the two mappings are distinct, so the ranges do
            // not overlap, and nothing runs on `map` during a reset.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    view.as_ptr().add(run.start),
                    map.as_ptr().add(run.start),
                    run.len(),
                )
            };
        }
        true
    }

    /// Length in bytes (a page multiple).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Reads `[offset, offset + buf.len())` of the image.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let n = rustix::io::pread(&self.fd, &mut buf[done..], offset + done as u64)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

impl Drop for MemoryImage {
    fn drop(&mut self) {
        let spares = self.spares.get_mut().unwrap_or_else(|e| e.into_inner());
        SPARE_COUNT.fetch_sub(spares.len(), Ordering::Relaxed);
    }
}

impl Mmap {
    /// Maps `image` copy-on-write, readable and writable, over
    /// `[0, image.len())` of this reservation, replacing what was there.
    pub fn map_image(&self, image: &MemoryImage) -> io::Result<()> {
        if image.len > self.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "image larger than the reservation",
            ));
        }
        if image.len == 0 {
            return Ok(());
        }
        // SAFETY: MAP_FIXED over the start of our own reservation (checked
        // to fit above) replaces only memory this value owns, and the caller
        // holds no Rust reference into it. The memfd is sealed, so the
        // private mapping's contents cannot change under it.
        let p = unsafe {
            rustix::mm::mmap(
                self.as_ptr().cast(),
                image.len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::FIXED,
                &image.fd,
                0,
            )?
        };
        debug_assert_eq!(p.cast(), self.as_ptr());
        Ok(())
    }

    /// Maps `[start, start + len)` of `image` copy-on-write at the same
    /// offset of this reservation (page-aligned, inside both).
    pub fn map_image_range(&self, image: &MemoryImage, start: usize, len: usize) -> io::Result<()> {
        self.check_range(start, len)?;
        if start + len > image.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "range past the image",
            ));
        }
        // SAFETY: as in `map_image`, for a sub-range of it.
        let p = unsafe {
            rustix::mm::mmap(
                self.as_ptr().add(start).cast(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::FIXED,
                &image.fd,
                start as u64,
            )?
        };
        debug_assert_eq!(p.cast(), self.as_ptr().wrapping_add(start));
        Ok(())
    }

    /// Drops the private copies of `[start, start + len)` (page-aligned):
    /// an image mapped there shows through again, anonymous pages read as
    /// zero. The protection is unchanged.
    pub fn discard(&self, start: usize, len: usize) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        assert!(start.is_multiple_of(page_size()), "unaligned discard");
        let end = start.checked_add(len).expect("range overflow");
        assert!(end <= self.len(), "discard outside the reservation");
        // SAFETY: the range lies inside our own mapping; MADV_DONTNEED only
        // drops page contents (private copies), it never unmaps, so no
        // pointer into the reservation becomes dangling.
        unsafe {
            rustix::mm::madvise(
                self.as_ptr().add(start).cast(),
                len,
                rustix::mm::Advice::LinuxDontNeed,
            )?
        };
        Ok(())
    }
}

/// Returns `map`, which has `image` mapped at its start (covering at
/// least `[0, image.len())`) and its first `used` bytes accessible, to the
/// image alone: private copies dropped, pages past the image inaccessible.
pub fn back_to_image(map: &Mmap, image: &MemoryImage, used: usize) -> io::Result<()> {
    let keep = image.len;
    let used_pages = round_up_to_page(used).ok_or(io::ErrorKind::OutOfMemory)?;
    let in_image = used_pages.min(keep);
    if !image.copy_back(map, in_image) {
        map.discard(0, in_image)?;
    }
    if used_pages > keep {
        // Grown past the image: anonymous pages, dropped and closed again.
        map.discard(keep, used_pages - keep)?;
        map.make_inaccessible(keep, used_pages - keep)?;
    } else if used < keep {
        // Memories only grow, but the image must be accessible whatever
        // happened.
        map.make_accessible(used, keep - used)?;
    }
    Ok(())
}

impl Mmap {
    /// Maps the first `len` bytes of the file `fd` shared, readable and
    /// writable, over `[start, start + len)` (page-aligned) of this
    /// reservation: writes through it reach the file and every other
    /// mapping of it. The caller keeps the file at least `len` bytes long
    /// for as long as the mapping lives (a shorter file faults).
    pub fn map_shared(
        &self,
        start: usize,
        len: usize,
        fd: rustix::fd::BorrowedFd<'_>,
    ) -> io::Result<()> {
        self.check_range(start, len)?;
        // SAFETY: MAP_FIXED inside our own reservation (checked) replaces
        // only memory this value owns; no Rust reference into that range
        // exists (guest memory is only reached through raw pointers and
        // per-call slices).
        let p = unsafe {
            rustix::mm::mmap(
                self.as_ptr().add(start).cast(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED | MapFlags::FIXED,
                fd,
                0,
            )?
        };
        debug_assert_eq!(p.cast(), self.as_ptr().wrapping_add(start));
        Ok(())
    }

    /// Replaces `[start, start + len)` (page-aligned) with fresh reserved,
    /// inaccessible address space, dropping whatever was mapped there.
    pub fn unmap_to_reserved(&self, start: usize, len: usize) -> io::Result<()> {
        self.check_range(start, len)?;
        // SAFETY: as in `map_shared`: our own range, no references into it.
        let p = unsafe {
            rustix::mm::mmap_anonymous(
                self.as_ptr().add(start).cast(),
                len,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE | MapFlags::FIXED,
            )?
        };
        debug_assert_eq!(p.cast(), self.as_ptr().wrapping_add(start));
        Ok(())
    }

    fn check_range(&self, start: usize, len: usize) -> io::Result<()> {
        let aligned = start.is_multiple_of(page_size()) && len.is_multiple_of(page_size());
        let inside = start.checked_add(len).is_some_and(|e| e <= self.len());
        if !aligned || !inside || len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "range not page-aligned or outside the reservation",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_maps_copy_on_write_and_resets() {
        let ps = page_size();
        let image = MemoryImage::new(3 * ps, [(ps as u64 + 5, &b"hello"[..])]).unwrap();
        assert_eq!(image.len(), 3 * ps);
        let a = Mmap::reserve(8 * ps).unwrap();
        let b = Mmap::reserve(8 * ps).unwrap();
        a.map_image(&image).unwrap();
        b.map_image(&image).unwrap();
        // SAFETY: inside the mapped image in reservations this test owns.
        unsafe {
            assert_eq!(
                std::slice::from_raw_parts(a.as_ptr().add(ps + 5), 5),
                b"hello"
            );
            a.as_ptr().add(ps + 5).write(b'J');
            assert_eq!(*a.as_ptr().add(ps + 5), b'J');
            // The other mapping and the image are untouched.
            assert_eq!(*b.as_ptr().add(ps + 5), b'h');
        }
        let mut buf = [0u8; 5];
        image.read_at(ps as u64 + 5, &mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        a.discard(0, 3 * ps).unwrap();
        // SAFETY: as above.
        unsafe { assert_eq!(*a.as_ptr().add(ps + 5), b'h') };
    }

    #[test]
    fn a_spare_comes_back_as_the_bare_image() {
        let ps = page_size();
        let image = MemoryImage::new(2 * ps, [(5, &b"image"[..])]).unwrap();
        let map = Mmap::reserve(8 * ps).unwrap();
        map.map_image(&image).unwrap();
        // A Faaslet wrote into the image and grew by two pages.
        map.make_accessible(2 * ps, 2 * ps).unwrap();
        // SAFETY: inside the accessible part of a reservation this test owns.
        unsafe {
            map.as_ptr().add(5).write(b'X');
            map.as_ptr().add(3 * ps).write(7);
        }
        let base = map.as_ptr();
        image.give_mapped(map, 4 * ps).unwrap();
        assert!(image.take_mapped(0, 4 * ps).is_none(), "only the same size");
        let map = image.take_mapped(0, 8 * ps).unwrap();
        assert_eq!(map.as_ptr(), base);
        assert!(image.take_mapped(0, 8 * ps).is_none(), "taken once");
        // SAFETY: the image part is mapped readable.
        unsafe {
            assert_eq!(std::slice::from_raw_parts(map.as_ptr().add(5), 5), b"image");
        }
        // The grown pages are inaccessible again, and zero once reopened.
        map.make_accessible(2 * ps, 2 * ps).unwrap();
        // SAFETY: as above.
        unsafe { assert_eq!(*map.as_ptr().add(3 * ps), 0) };
        // A map smaller than the image is refused.
        let small = Mmap::reserve(ps).unwrap();
        assert!(image.give_mapped(small, 0).is_err());
    }

    #[test]
    fn a_reset_copies_few_written_pages_back_and_drops_many() {
        let ps = page_size();
        let pages = COPY_BACK_MAX_PAGES + 8;
        let bytes: Vec<u8> = (0..pages * ps).map(|i| (i % 251) as u8).collect();
        let image = MemoryImage::new(pages * ps, [(0, &bytes[..])]).unwrap();
        let map = Mmap::reserve(2 * pages * ps).unwrap();
        map.map_image(&image).unwrap();
        let base = map.as_ptr();
        let contents = || {
            // SAFETY: the image part of a reservation this test owns is
            // mapped readable; nothing writes it meanwhile.
            unsafe { std::slice::from_raw_parts(base, pages * ps) }.to_vec()
        };
        let private = || super::super::pagemap::private_runs(base, pages * ps, pages).unwrap();

        // A few written pages: copied back, so they stay mapped (private)
        // and no mapping changed.
        for p in [1, 2, 40] {
            // SAFETY: inside the mapped image.
            unsafe { base.add(p * ps + 7).write_volatile(0xEE) };
        }
        back_to_image(&map, &image, pages * ps).unwrap();
        assert!(contents() == bytes, "the image's bytes are back");
        assert_eq!(private(), vec![ps..3 * ps, 40 * ps..41 * ps]);

        // More than COPY_BACK_MAX_PAGES written: dropped wholesale.
        for p in 0..=COPY_BACK_MAX_PAGES {
            // SAFETY: inside the mapped image.
            unsafe { base.add(p * ps).write_volatile(0xEE) };
        }
        back_to_image(&map, &image, pages * ps).unwrap();
        assert!(contents() == bytes, "the image's bytes are back");
        assert!(private().is_empty(), "private copies dropped");
    }

    #[test]
    fn runs_outside_the_image_are_refused() {
        assert!(MemoryImage::new(4096, [(4090, &[1u8; 10][..])]).is_err());
    }
}
