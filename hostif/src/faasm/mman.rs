//! The POSIX memory calls Faasm gives its guests (`env.mmap`,
//! `env.munmap`, `env.__sbrk`), over the caller's linear memory.
//!
//! A wasm memory only grows, so "mapping" hands out whole pages at the top
//! of memory (growing it) or pages an earlier `munmap` returned, zeroed
//! again as anonymous memory must be; `munmap` gives pages back for reuse.
//! The program break of `__sbrk` starts at the memory's end when first
//! asked and may only grow memory while nothing else (a mapping, a state
//! region) has grown it since: otherwise the heap would run into pages
//! someone else owns, and it fails with `ENOMEM` like a break that meets a
//! mapping on Linux.
//!
//! Errors are returned the way raw Linux syscalls return them: `-errno`
//! (Linux numbering), so a C guest sees `MAP_FAILED`-like values at the
//! top of the address space and `__sbrk` returns `-1` cast to a pointer.

use super::ptr::RegionMemory;
use std::collections::BTreeSet;

const PAGE: u64 = 65536;

/// Linux errno values as the guest ABI returns them.
const EINVAL: i32 = 22;
const ENOMEM: i32 = 12;
const ENODEV: i32 = 19;
/// Linux `MAP_FIXED`: placing a mapping at a chosen address is refused.
const MAP_FIXED: u32 = 0x10;

/// One Faaslet's mappings and program break.
#[derive(Debug, Default)]
pub(crate) struct Mman {
    /// Pages (by index) currently mapped by `mmap`.
    mapped: BTreeSet<u32>,
    /// Pages `munmap` returned, reused before memory grows again.
    free: BTreeSet<u32>,
    /// `(break, end of the pages the break may use)`, once `__sbrk` ran.
    brk: Option<(u64, u64)>,
}

fn pages_for(len: u32) -> u64 {
    u64::from(len).div_ceil(PAGE)
}

impl Mman {
    /// `mmap(addr, len, prot, flags, fd, offset)`: anonymous mappings
    /// only (`fd == -1`); the address hint is ignored.
    pub(crate) fn mmap(
        &mut self,
        mem: &mut dyn RegionMemory,
        len: u32,
        flags: u32,
        fd: i32,
    ) -> i32 {
        if fd != -1 {
            return -ENODEV;
        }
        if len == 0 || flags & MAP_FIXED != 0 {
            return -EINVAL;
        }
        let n = pages_for(len);
        let first = match self.take_free_run(n) {
            Some(first) => {
                let start = u64::from(first) * PAGE;
                let bytes = mem.bytes();
                bytes[start as usize..(start + n * PAGE) as usize].fill(0);
                first
            }
            None => match mem.grow(n) {
                // Fresh pages from memory.grow are already zero.
                Some(old) if old + n <= 1 << 16 => old as u32,
                _ => return -ENOMEM,
            },
        };
        self.mapped.extend(first..first + n as u32);
        // Mapped pages are below 4 GiB, so the address fits; a mapping
        // at 2 GiB or above reads as negative in i32, as a C pointer would.
        (u64::from(first) * PAGE) as u32 as i32
    }

    /// The first run of `n` consecutive free pages, taken out of the free
    /// set.
    fn take_free_run(&mut self, n: u64) -> Option<u32> {
        let mut run_start = None;
        let mut run_len = 0u64;
        let mut prev: Option<u32> = None;
        for &p in &self.free {
            if prev.is_some_and(|q| q + 1 == p) {
                run_len += 1;
            } else {
                run_start = Some(p);
                run_len = 1;
            }
            prev = Some(p);
            if run_len == n {
                break;
            }
        }
        let start = run_start.filter(|_| run_len == n)?;
        for p in start..start + n as u32 {
            self.free.remove(&p);
        }
        Some(start)
    }

    /// `munmap(addr, len)`: every page of the range must be mapped.
    pub(crate) fn munmap(&mut self, addr: u32, len: u32) -> i32 {
        if len == 0 || u64::from(addr) % PAGE != 0 {
            return -EINVAL;
        }
        let first = (u64::from(addr) / PAGE) as u32;
        let n = pages_for(len);
        let pages = first..first.saturating_add(n as u32);
        if u64::from(first) + n > 1 << 16 || !pages.clone().all(|p| self.mapped.contains(&p)) {
            return -EINVAL;
        }
        for p in pages {
            self.mapped.remove(&p);
            self.free.insert(p);
        }
        0
    }

    /// `__sbrk(increment)`: the old break, or `-1` (as a pointer).
    pub(crate) fn sbrk(&mut self, mem: &mut dyn RegionMemory, increment: i32) -> i32 {
        let mem_end = mem.bytes().len() as u64;
        let (brk, limit) = *self.brk.get_or_insert((mem_end, mem_end));
        let new_brk = brk as i64 + i64::from(increment);
        if new_brk < 0 {
            return -1;
        }
        let new_brk = new_brk as u64;
        let mut limit = limit;
        if new_brk > limit {
            // Growing memory is only ours to do if nobody grew it since.
            if limit != mem_end {
                return -1;
            }
            let pages = (new_brk - limit).div_ceil(PAGE);
            if mem.grow(pages).is_none() {
                return -1;
            }
            limit = mem.bytes().len() as u64;
        }
        self.brk = Some((new_brk, limit));
        brk as u32 as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(pages: usize) -> Vec<u8> {
        vec![0u8; pages * PAGE as usize]
    }

    #[test]
    fn mmap_grows_memory_and_hands_out_zeroed_pages() {
        let mut mem = memory(1);
        let mut m = Mman::default();
        let a = m.mmap(&mut mem, 100, 0x22, -1);
        assert_eq!(a, PAGE as i32);
        assert_eq!(mem.len(), 2 * PAGE as usize);
        let b = m.mmap(&mut mem, PAGE as u32 + 1, 0x22, -1);
        assert_eq!(b, 2 * PAGE as i32);
        assert_eq!(mem.len(), 4 * PAGE as usize);
        // Freed pages are reused, zeroed again.
        mem[a as usize] = 7;
        assert_eq!(m.munmap(a as u32, 100), 0);
        assert_eq!(m.mmap(&mut mem, 10, 0x22, -1), a);
        assert_eq!(mem[a as usize], 0);
        assert_eq!(mem.len(), 4 * PAGE as usize);
    }

    #[test]
    fn reuse_needs_a_long_enough_run() {
        let mut mem = memory(1);
        let mut m = Mman::default();
        let a = m.mmap(&mut mem, PAGE as u32, 0x22, -1);
        let _b = m.mmap(&mut mem, PAGE as u32, 0x22, -1);
        assert_eq!(m.munmap(a as u32, PAGE as u32), 0);
        // Two pages do not fit in the one-page hole: memory grows.
        let c = m.mmap(&mut mem, 2 * PAGE as u32, 0x22, -1);
        assert_eq!(c, 3 * PAGE as i32);
        assert_eq!(m.mmap(&mut mem, 1, 0x22, -1), a);
    }

    #[test]
    fn bad_requests_are_errnos() {
        let mut mem = memory(1);
        let mut m = Mman::default();
        assert_eq!(m.mmap(&mut mem, 16, 0x02, 3), -ENODEV);
        assert_eq!(m.mmap(&mut mem, 0, 0x22, -1), -EINVAL);
        assert_eq!(m.mmap(&mut mem, 16, 0x32, -1), -EINVAL);
        // Unmapping what was never mapped, twice, or misaligned.
        assert_eq!(m.munmap(0, 16), -EINVAL);
        let a = m.mmap(&mut mem, 16, 0x22, -1) as u32;
        assert_eq!(m.munmap(a + 8, 16), -EINVAL);
        assert_eq!(m.munmap(a, 0), -EINVAL);
        assert_eq!(m.munmap(u32::MAX - 0xffff, 1 << 20), -EINVAL);
        assert_eq!(m.munmap(a, 16), 0);
        assert_eq!(m.munmap(a, 16), -EINVAL);
        // Nothing was grown by the failures.
        assert_eq!(mem.len(), 2 * PAGE as usize);
    }

    #[test]
    fn mmap_beyond_4_gib_is_enomem() {
        let mut mem = memory(1);
        let mut m = Mman::default();
        assert_eq!(m.mmap(&mut mem, u32::MAX, 0x22, -1), -ENOMEM);
        assert_eq!(mem.len(), PAGE as usize);
    }

    #[test]
    fn sbrk_moves_the_break_and_grows_memory_when_needed() {
        let mut mem = memory(1);
        let mut m = Mman::default();
        assert_eq!(m.sbrk(&mut mem, 0), PAGE as i32);
        assert_eq!(m.sbrk(&mut mem, 100), PAGE as i32);
        assert_eq!(mem.len(), 2 * PAGE as usize);
        assert_eq!(m.sbrk(&mut mem, 0), PAGE as i32 + 100);
        // Within the grown page: no further growth.
        assert_eq!(m.sbrk(&mut mem, 1000), PAGE as i32 + 100);
        assert_eq!(mem.len(), 2 * PAGE as usize);
        // Shrinking moves the break back.
        assert_eq!(m.sbrk(&mut mem, -1100), PAGE as i32 + 1100);
        assert_eq!(m.sbrk(&mut mem, 0), PAGE as i32);
        assert_eq!(m.sbrk(&mut mem, -(2 * PAGE as i32)), -1);
    }

    #[test]
    fn sbrk_never_runs_into_a_mapping() {
        let mut mem = memory(1);
        let mut m = Mman::default();
        assert_eq!(m.sbrk(&mut mem, 10), PAGE as i32);
        let limit = mem.len();
        let a = m.mmap(&mut mem, 10, 0x22, -1);
        assert_eq!(a as usize, limit);
        // The break may still use its own page, but not grow past it.
        assert_eq!(m.sbrk(&mut mem, 1000), PAGE as i32 + 10);
        assert_eq!(m.sbrk(&mut mem, PAGE as i32), -1);
        assert_eq!(mem.len(), limit + PAGE as usize);
    }
}
