//! State regions: `__faasm_read_state_ptr` and friends give the guest a
//! pointer into its own linear memory where the value is. The host makes
//! room by growing memory by whole pages (below anything the guest's
//! allocator will hand out later: it always grows from the current end),
//! then maps the value's shared file over those pages
//! ([`StateStore::share`], `Memory::map_shared`): every Faaslet of the host
//! that maps the key sees the others' writes at once, with no copy, and
//! SFI is intact (the pages are inside the Faaslet's own reservation).
//! Where the memory cannot map (a test's plain buffer) the region is a
//! copy instead. Push and pull reach the global tier, if the store has
//! one; for a copied region they also copy between region and store.

use super::FaasmError;
use super::guest::{slice, slice_mut};
use super::state::StateStore;
use crate::memory::GuestMemory;
use std::collections::HashMap;

const PAGE: u64 = 65536;

/// What a region needs from the caller's memory.
pub(crate) trait RegionMemory {
    /// Grows by `pages`; the old size in pages, or `None` if refused.
    fn grow(&mut self, pages: u64) -> Option<u64>;
    /// The memory's current contents.
    fn bytes(&mut self) -> &mut [u8];
    /// Maps `fd`'s first `len` bytes shared at `offset` (page-aligned,
    /// inside the memory); `false` if this memory cannot.
    fn map_shared(&mut self, _offset: u32, _len: u32, _fd: rustix::fd::BorrowedFd<'_>) -> bool {
        false
    }
}

impl RegionMemory for Vec<u8> {
    fn grow(&mut self, pages: u64) -> Option<u64> {
        let old = self.len() as u64 / PAGE;
        let new_len = (old + pages) * PAGE;
        if new_len > 1 << 32 {
            return None;
        }
        self.resize(new_len as usize, 0);
        Some(old)
    }

    fn bytes(&mut self) -> &mut [u8] {
        self
    }
}

#[derive(Debug)]
struct Region {
    ptr: u32,
    len: u32,
    /// `(offset, len)` ranges flagged dirty since the last push.
    dirty: Vec<(u32, u32)>,
    /// Mapped from the value's shared file (else a copy).
    shared: bool,
}

/// One Faaslet's regions, by key.
#[derive(Debug, Default)]
pub struct Regions {
    map: HashMap<String, Region>,
}

/// Where the user's state is and who asks.
pub(crate) struct StateRef<'a> {
    pub store: &'a StateStore,
    pub user: &'a str,
    /// The calling Faaslet's: calls to the global tier give up by then.
    pub deadline: Option<std::time::Instant>,
}

fn check_range(
    call: &'static str,
    total_len: u32,
    offset: u32,
    len: u32,
) -> Result<(), FaasmError> {
    if u64::from(offset) + u64::from(len) > u64::from(total_len) {
        return Err(FaasmError::StateRange {
            call,
            offset,
            len,
            total_len,
        });
    }
    Ok(())
}

impl Regions {
    /// The region of `key`, mapped (and filled from the store) on first
    /// use. Asking for more than was mapped before is an error: the
    /// pointer the guest already has must stay valid.
    pub(crate) fn map(
        &mut self,
        call: &'static str,
        mem: &mut dyn RegionMemory,
        state: &StateRef<'_>,
        key: &str,
        total_len: u32,
    ) -> Result<u32, FaasmError> {
        self.map_for(call, mem, state, key, total_len, None)
    }

    /// [`Regions::map`] for a read of `wanted` only (`None`: all of it).
    /// A shared region shows the local value itself, so only the chunks
    /// read need to come from the global tier now; the others stay missing
    /// (zeros in the region) until a whole read, a pull or a push fetches
    /// them, as with Faasm's offset reads. A region this memory cannot
    /// share is a copy, made once: it needs the whole value.
    fn map_for(
        &mut self,
        call: &'static str,
        mem: &mut dyn RegionMemory,
        state: &StateRef<'_>,
        key: &str,
        total_len: u32,
        wanted: Option<std::ops::Range<usize>>,
    ) -> Result<u32, FaasmError> {
        let fetch = |wanted: Option<std::ops::Range<usize>>| match wanted {
            Some(range) => state
                .store
                .fetch_range(call, state.user, key, range, state.deadline),
            None => state.store.fetch(call, state.user, key, state.deadline),
        };
        if let Some(r) = self.map.get(key) {
            if total_len > r.len {
                return Err(FaasmError::RegionTooSmall {
                    call,
                    key: key.to_string(),
                    mapped: r.len,
                    asked: total_len,
                });
            }
            // Mapped for an earlier offset read: what is read now may not
            // be here yet (a no-op when it is).
            if r.shared {
                fetch(wanted)?;
            }
            return Ok(r.ptr);
        }
        fetch(wanted.clone())?;
        let pages = u64::from(total_len).div_ceil(PAGE);
        let old = mem.grow(pages).ok_or(FaasmError::Grow { call, pages })?;
        let ptr = u32::try_from(old * PAGE).map_err(|_| FaasmError::Grow { call, pages })?;
        let span = u32::try_from(pages * PAGE).map_err(|_| FaasmError::Grow { call, pages })?;
        let fd = state.store.share(call, state.user, key, span as usize)?;
        let shared = mem.map_shared(ptr, span, rustix::fd::AsFd::as_fd(&*fd));
        if !shared {
            if wanted.is_some() {
                fetch(None)?;
            }
            let mut guest = GuestMemory::new(mem.bytes());
            let dst = slice_mut(&mut guest, call, "state region", ptr, total_len)?;
            state.store.read_at(state.user, key, 0, dst);
        }
        self.map.insert(
            key.to_string(),
            Region {
                ptr,
                len: total_len,
                dirty: Vec::new(),
                shared,
            },
        );
        Ok(ptr)
    }

    /// `read_state_offset_ptr`: the region's address plus `offset`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn map_offset(
        &mut self,
        call: &'static str,
        mem: &mut dyn RegionMemory,
        state: &StateRef<'_>,
        key: &str,
        total_len: u32,
        offset: u32,
        len: u32,
    ) -> Result<u32, FaasmError> {
        check_range(call, total_len, offset, len)?;
        let wanted = offset as usize..offset as usize + len as usize;
        Ok(self.map_for(call, mem, state, key, total_len, Some(wanted))? + offset)
    }

    /// `push_state` (`partial == false`: the whole region) and
    /// `push_state_partial` (only the dirty ranges). Without a region
    /// there is nothing to push: `write_state` already stored the value.
    pub(crate) fn push(
        &mut self,
        call: &'static str,
        mem: &mut dyn RegionMemory,
        state: &StateRef<'_>,
        key: &str,
        partial: bool,
    ) -> Result<(), FaasmError> {
        let Some(r) = self.map.get_mut(key) else {
            return Ok(());
        };
        if r.shared {
            // The value is the mapped memory: only its length may grow to
            // the region's (zero-extended bytes the guest now owns). A
            // partial push sends the flagged chunks and those the guests
            // changed through their mappings (found by hash).
            for (offset, len) in std::mem::take(&mut r.dirty) {
                let range = offset as usize..(offset + len) as usize;
                state.store.mark_dirty(state.user, key, range);
            }
            state.store.extend(call, state.user, key, r.len as usize)?;
            return if partial {
                state
                    .store
                    .push_partial(call, state.user, key, state.deadline)
            } else {
                state.store.push(call, state.user, key, state.deadline)
            };
        }
        let guest = GuestMemory::new(mem.bytes());
        let ranges = if partial {
            std::mem::take(&mut r.dirty)
        } else {
            r.dirty.clear();
            vec![(0, r.len)]
        };
        for (offset, len) in ranges {
            let src = slice(&guest, call, "state region", r.ptr + offset, len)?;
            state
                .store
                .write_at(call, state.user, key, r.len as usize, offset as usize, src)?;
        }
        if partial {
            state
                .store
                .push_partial(call, state.user, key, state.deadline)
        } else {
            state.store.push(call, state.user, key, state.deadline)
        }
    }

    /// `push_state_partial_mask(key, mask_key)`: writes back the bytes of
    /// `key`'s region whose byte in `mask_key`'s region (mapped by this
    /// Faaslet too, at least as long) is non-zero, then pushes the value.
    /// A shared region is the value already, as for `push`.
    pub(crate) fn push_masked(
        &mut self,
        call: &'static str,
        mem: &mut dyn RegionMemory,
        state: &StateRef<'_>,
        key: &str,
        mask_key: &str,
    ) -> Result<(), FaasmError> {
        let Some(m) = self.map.get(mask_key) else {
            return Err(FaasmError::MaskNotMapped {
                call,
                mask_key: mask_key.to_string(),
            });
        };
        let (mask_ptr, mask_len) = (m.ptr, m.len);
        let Some(r) = self.map.get(key) else {
            return Ok(());
        };
        if mask_len < r.len {
            return Err(FaasmError::MaskTooShort {
                call,
                mask_key: mask_key.to_string(),
                mask_len,
                len: r.len,
            });
        }
        if r.shared {
            return self.push(call, mem, state, key, false);
        }
        let (ptr, len) = (r.ptr, r.len);
        let guest = GuestMemory::new(mem.bytes());
        let mask = slice(&guest, call, "mask region", mask_ptr, len)?;
        let data = slice(&guest, call, "state region", ptr, len)?;
        // Runs of flagged bytes, each written with one call.
        let mut i = 0;
        while i < mask.len() {
            if mask[i] == 0 {
                i += 1;
                continue;
            }
            let start = i;
            while i < mask.len() && mask[i] != 0 {
                i += 1;
            }
            state
                .store
                .write_at(call, state.user, key, len as usize, start, &data[start..i])?;
        }
        if let Some(r) = self.map.get_mut(key) {
            r.dirty.clear();
        }
        // The host writes above flagged exactly the chunks the mask
        // touches: only those go to the global tier.
        state
            .store
            .push_partial(call, state.user, key, state.deadline)
    }

    /// `pull_state`: maps the region if needed and refreshes all of it.
    pub(crate) fn pull(
        &mut self,
        call: &'static str,
        mem: &mut dyn RegionMemory,
        state: &StateRef<'_>,
        key: &str,
        total_len: u32,
    ) -> Result<(), FaasmError> {
        state.store.pull(call, state.user, key, state.deadline)?;
        let ptr = self.map(call, mem, state, key, total_len)?;
        let len = self.map[key].len;
        if self.map[key].shared {
            // The mapping shows the (pulled) value already.
            return Ok(());
        }
        let mut guest = GuestMemory::new(mem.bytes());
        let dst = slice_mut(&mut guest, call, "state region", ptr, len)?;
        state.store.read_at(state.user, key, 0, dst);
        Ok(())
    }

    /// Flags `[offset, offset + len)` of the region dirty (a no-op without
    /// a region: there is nothing a partial push could copy).
    pub(crate) fn flag_dirty(
        &mut self,
        call: &'static str,
        key: &str,
        total_len: u32,
        offset: u32,
        len: u32,
    ) -> Result<(), FaasmError> {
        check_range(call, total_len, offset, len)?;
        if let Some(r) = self.map.get_mut(key) {
            check_range(call, r.len, offset, len)?;
            r.dirty.push((offset, len));
        }
        Ok(())
    }
}

pub(crate) fn check_state_range(
    call: &'static str,
    total_len: u32,
    offset: u32,
    len: u32,
) -> Result<(), FaasmError> {
    check_range(call, total_len, offset, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (StateStore, Vec<u8>, Regions) {
        let store = StateStore::default();
        store.set("c", "u", "k", b"hello").unwrap();
        (store, vec![0u8; PAGE as usize], Regions::default())
    }

    #[test]
    fn map_grows_memory_and_fills_the_region() {
        let (store, mut mem, mut regions) = setup();
        let st = StateRef {
            store: &store,
            user: "u",
            deadline: None,
        };
        let p = regions.map("c", &mut mem, &st, "k", 8).unwrap();
        assert_eq!(p as u64, PAGE);
        assert_eq!(mem.len() as u64, 2 * PAGE);
        assert_eq!(&mem[p as usize..p as usize + 8], b"hello\0\0\0");
        // Same key, same pointer, no new memory.
        assert_eq!(regions.map("c", &mut mem, &st, "k", 4).unwrap(), p);
        assert_eq!(mem.len() as u64, 2 * PAGE);
        assert!(regions.map("c", &mut mem, &st, "k", 9).is_err());
        // A big value takes whole pages.
        let q = regions
            .map("c", &mut mem, &st, "big", PAGE as u32 + 1)
            .unwrap();
        assert_eq!(q as u64, 2 * PAGE);
        assert_eq!(mem.len() as u64, 4 * PAGE);
        // Offsets.
        assert_eq!(
            regions
                .map_offset("c", &mut mem, &st, "k", 8, 2, 6)
                .unwrap(),
            p + 2
        );
        assert!(
            regions
                .map_offset("c", &mut mem, &st, "k", 8, 2, 7)
                .is_err()
        );
    }

    #[test]
    fn push_pull_and_partial_push() {
        let (store, mut mem, mut regions) = setup();
        let st = StateRef {
            store: &store,
            user: "u",
            deadline: None,
        };
        let p = regions.map("c", &mut mem, &st, "k", 6).unwrap() as usize;
        mem[p..p + 6].copy_from_slice(b"HELLO!");
        // Partial push of nothing flagged changes nothing.
        regions.push("c", &mut mem, &st, "k", true).unwrap();
        assert_eq!(store.get("u", "k").unwrap(), b"hello");
        regions.flag_dirty("c", "k", 6, 1, 2).unwrap();
        regions.push("c", &mut mem, &st, "k", true).unwrap();
        assert_eq!(store.get("u", "k").unwrap(), b"hELlo\0");
        regions.push("c", &mut mem, &st, "k", false).unwrap();
        assert_eq!(store.get("u", "k").unwrap(), b"HELLO!");
        store.set("c", "u", "k", b"xy").unwrap();
        regions.pull("c", &mut mem, &st, "k", 6).unwrap();
        assert_eq!(&mem[p..p + 6], b"xy\0\0\0\0");
        // Flags outside the range, pushes without a region.
        assert!(regions.flag_dirty("c", "k", 6, 5, 2).is_err());
        assert!(regions.flag_dirty("c", "k", 10, 5, 2).is_err());
        regions.flag_dirty("c", "none", 10, 5, 2).unwrap();
        regions.push("c", &mut mem, &st, "none", false).unwrap();
        assert_eq!(store.get("u", "none"), None);
    }

    #[test]
    fn masked_push_writes_only_flagged_bytes() {
        let (store, mut mem, mut regions) = setup();
        let st = StateRef {
            store: &store,
            user: "u",
            deadline: None,
        };
        let p = regions.map("c", &mut mem, &st, "k", 6).unwrap() as usize;
        mem[p..p + 6].copy_from_slice(b"HELLO!");
        // No mask region: an error naming the mask key, nothing written.
        let e = regions
            .push_masked("c", &mut mem, &st, "k", "mask")
            .unwrap_err();
        assert!(e.to_string().contains("\"mask\""), "{e}");
        assert_eq!(store.get("u", "k").unwrap(), b"hello");
        let m = regions.map("c", &mut mem, &st, "mask", 6).unwrap() as usize;
        mem[m..m + 6].copy_from_slice(&[1, 0, 0, 0xff, 0xff, 2]);
        regions
            .push_masked("c", &mut mem, &st, "k", "mask")
            .unwrap();
        assert_eq!(store.get("u", "k").unwrap(), b"HelLO!");
        // A mask shorter than the region is refused.
        regions.map("c", &mut mem, &st, "short", 2).unwrap();
        let e = regions
            .push_masked("c", &mut mem, &st, "k", "short")
            .unwrap_err();
        assert!(e.to_string().contains("2 bytes"), "{e}");
        // Without a region for the key there is nothing to push.
        regions
            .push_masked("c", &mut mem, &st, "none", "mask")
            .unwrap();
        assert_eq!(store.get("u", "none"), None);
    }

    /// A memory that cannot grow.
    struct Full(Vec<u8>);

    impl RegionMemory for Full {
        fn grow(&mut self, _: u64) -> Option<u64> {
            None
        }
        fn bytes(&mut self) -> &mut [u8] {
            &mut self.0
        }
    }

    #[test]
    fn refused_growth_is_an_error() {
        let (store, _, mut regions) = setup();
        let st = StateRef {
            store: &store,
            user: "u",
            deadline: None,
        };
        let e = regions
            .map("c", &mut Full(vec![0; 16]), &st, "k", 8)
            .unwrap_err();
        assert!(e.to_string().contains("cannot grow"), "{e}");
    }
}
