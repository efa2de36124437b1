//! Which pages of a copy-on-write mapping hold private copies, asked of
//! the kernel without touching the page tables (`PAGEMAP_SCAN`, Linux 6.7).
//!
//! Why: resetting a Faaslet by dropping its private pages
//! (`madvise(MADV_DONTNEED)`) zaps page-table entries, and the kernel must
//! then flush the TLB of every CPU running this process. With two busy
//! worker threads each reset interrupts the other, and cold starts per
//! second fell with a second thread instead of doubling. When a call wrote
//! only a few pages, copying the image back over exactly those pages
//! changes no mapping at all: no flush, no fault on the next call. This
//! module finds those pages; `image::back_to_image` decides and copies.
//!
//! The scan reads page-table entries under the mm lock taken for reading
//! only, so concurrent scans and page faults on other threads go on.
//!
//! Invariant relied on by callers: in a `MAP_PRIVATE` mapping of a sealed
//! memfd, every page whose contents may differ from the file is an
//! anonymous page (present or swapped out); a page the scan reports as a
//! file page *is* the file's page, so it holds the image's bytes.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

/// `struct pm_scan_arg` of `linux/fs.h`.
#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `struct page_region` of `linux/fs.h`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

const PAGE_IS_FILE: u64 = 1 << 2;
const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_SWAPPED: u64 = 1 << 4;

/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: u64 =
    (3 << 30) | ((std::mem::size_of::<PmScanArg>() as u64) << 16) | ((b'f' as u64) << 8) | 16;

/// Regions one scan can report; more means the written set is scattered
/// enough that dropping it wholesale is the better reset.
const MAX_REGIONS: usize = 32;

/// `/proc/self/pagemap`, if this kernel offers `PAGEMAP_SCAN` (checked by
/// the first scan: `None` once it failed for a reason other than the
/// range).
fn pagemap() -> Option<&'static File> {
    static PAGEMAP: OnceLock<Option<File>> = OnceLock::new();
    PAGEMAP
        .get_or_init(|| {
            let file = File::open("/proc/self/pagemap").ok()?;
            let probe = [0u8; 1];
            let base = probe.as_ptr() as usize & !(super::mmap::page_size() - 1);
            // A scan of one page of our own stack proves the ioctl works.
            scan(&file, base, base + super::mmap::page_size(), 1).map(|_| file)
        })
        .as_ref()
}

/// The runs of `[base, base + len)` (page-aligned, mapped by the caller)
/// holding anonymous pages, as byte ranges relative to `base`, if there
/// are at most `max_pages` such pages in at most `MAX_REGIONS` runs.
/// `None` when there are more, or the kernel cannot say: the caller then
/// resets the whole range the slow way.
pub fn private_runs(base: *const u8, len: usize, max_pages: usize) -> Option<Vec<Range<usize>>> {
    let file = pagemap()?;
    let start = base as usize;
    let runs = scan(file, start, start.checked_add(len)?, max_pages)?;
    Some(
        runs.into_iter()
            .map(|r| r.start - start..r.end - start)
            .collect(),
    )
}

/// One `PAGEMAP_SCAN` for anonymous pages, present or swapped, in
/// `[start, end)`: `None` if it failed or stopped early.
fn scan(file: &File, start: usize, end: usize, max_pages: usize) -> Option<Vec<Range<usize>>> {
    let mut regions = [PageRegion::default(); MAX_REGIONS];
    let mut arg = PmScanArg {
        size: std::mem::size_of::<PmScanArg>() as u64,
        start: start as u64,
        end: end as u64,
        vec: regions.as_mut_ptr() as u64,
        vec_len: MAX_REGIONS as u64,
        // One more than allowed: reaching it proves there are too many.
        max_pages: max_pages as u64 + 1,
        // Not a file page, and present or swapped out.
        category_inverted: PAGE_IS_FILE,
        category_mask: PAGE_IS_FILE,
        category_anyof_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
        return_mask: PAGE_IS_FILE | PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
        ..PmScanArg::default()
    };
    // SAFETY: PAGEMAP_SCAN only reads `arg` and writes `arg.walk_end` and
    // at most `vec_len` entries of `regions`, both live, correctly laid out
    // (`repr(C)`, the kernel's structs) and exclusively borrowed here. It
    // reads page tables of our own process and changes nothing in them.
    let n = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            PAGEMAP_SCAN as _,
            &mut arg as *mut PmScanArg,
        )
    };
    if n < 0 || arg.walk_end < arg.end {
        return None;
    }
    let found = &regions[..(n as usize).min(MAX_REGIONS)];
    let bytes: u64 = found.iter().map(|r| r.end - r.start).sum();
    if bytes / super::mmap::page_size() as u64 > max_pages as u64 {
        return None;
    }
    Some(
        found
            .iter()
            .map(|r| r.start as usize..r.end as usize)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::image::MemoryImage;
    use crate::sys::mmap::{Mmap, page_size};

    #[test]
    fn written_pages_of_an_image_mapping_are_found() {
        let ps = page_size();
        let image = MemoryImage::new(16 * ps, [(0, &[1u8; 64][..])]).unwrap();
        let map = Mmap::reserve(32 * ps).unwrap();
        map.map_image(&image).unwrap();
        let base = map.as_ptr();
        // Kernels before 6.7 have no PAGEMAP_SCAN (resets then always drop
        // pages); the machines we test on have it, so its absence fails.
        let none = private_runs(base, 16 * ps, 8)
            .expect("PAGEMAP_SCAN (Linux 6.7+) is not available on this kernel");
        assert!(none.is_empty(), "nothing written yet: {none:?}");
        // SAFETY: inside the mapped image of a reservation this test owns.
        unsafe {
            // Reading maps the file's page: not private.
            assert_eq!(base.read_volatile(), 1);
            base.add(3 * ps).write_volatile(9);
            base.add(4 * ps + 8).write_volatile(9);
            base.add(10 * ps).write_volatile(9);
        }
        let runs = private_runs(base, 16 * ps, 8).unwrap();
        assert_eq!(runs, vec![3 * ps..5 * ps, 10 * ps..11 * ps]);
        // More than allowed: the caller must reset wholesale.
        assert!(private_runs(base, 16 * ps, 2).is_none());
        assert_eq!(private_runs(base, 16 * ps, 3).unwrap().len(), 2);
    }
}
