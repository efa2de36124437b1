//! Linear memories: the reservation a memory lives in (guard pages or
//! explicit bounds), growth within caps, shared memories that never move,
//! and the safe accessors host code uses ([`Memory`]).

use crate::Error;
use crate::budget::{self, Budget};
use crate::snapshot::MemoryState;
use crate::sys::image::{MemoryImage, back_to_image};
use crate::sys::mmap::{Mmap, page_size};
use crate::sys::pool;
use crate::vm::VMDefinition;
use faasm_abi::{MemoryStrategy, MemoryType, WASM_PAGE_SIZE};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A host access outside a memory's current size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("memory access out of bounds")]
pub struct MemoryAccessError;

/// 32-bit memories have at most one page short of 4 GiB: compiled code
/// relies on it (`faasm_abi::MAX_MEMORY32_PAGES`).
const MAX_PAGES: u64 = faasm_abi::MAX_MEMORY32_PAGES;
const FOUR_GIB: u64 = 1 << 32;
/// Guarded memories have this much inaccessible space below their base:
/// compiled code computes some wrapping sums below an address and relies
/// on the guard to fault (`faasm_abi::MEMORY_LEAD_GUARD_BYTES`).
const LEAD_GUARD: usize = faasm_abi::MEMORY_LEAD_GUARD_BYTES as usize;

/// A linear memory. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Memory {
    pub(crate) inner: Arc<MemoryInner>,
    /// The instance that defines this entity, for handles given out by
    /// it: a handle keeps its instance alive (the entity may hold
    /// references into it). `None` inside the instance itself.
    pub(crate) owner: Option<Arc<crate::objects::InstanceInner>>,
}

/// The memory itself. Compiled code reaches it through `def`, whose address
/// never changes.
///
/// Invariant: a memory never moves. Its reservation covers its maximum
/// (4 GiB plus guard for the guarded strategy; the declared maximum, capped
/// by the embedder's limit, for the explicit one), so `def.base` is fixed
/// at creation and growth only makes more of the reservation accessible
/// and raises `def.length`. Other threads running code on a shared memory,
/// builtins and host calls holding its base can therefore never see it
/// freed or replaced while the memory lives.
pub(crate) struct MemoryInner {
    ty: MemoryType,
    strategy: MemoryStrategy,
    max_pages: u64,
    def: Box<UnsafeCell<VMDefinition>>,
    /// The reservation. Held while growing so that growth is serialised.
    map: Mutex<Mmap>,
    /// The snapshot image mapped at the start of the reservation, if the
    /// memory was restored from one (what a reset returns it to).
    image: Option<Arc<MemoryImage>>,
    /// Ranges `(offset, len)` where a shared file is mapped
    /// ([`Memory::map_shared`]); a reset drops them.
    shared: Mutex<Vec<(usize, usize)>>,
    /// The instance's budget (`Config::max_memory_pages`), charged for
    /// every accessible page.
    budget: Option<Arc<Budget>>,
}

// SAFETY: `def.base` is written once, before the memory is shared;
// `def.length` is only written under the `map` lock, and Rust reads and
// writes it atomically (compiled code reads it with plain loads). The
// mapping is owned.
unsafe impl Send for MemoryInner {}
// SAFETY: as above.
unsafe impl Sync for MemoryInner {}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("pages", &self.size())
            .field("strategy", &self.inner.strategy)
            .finish_non_exhaustive()
    }
}

impl Memory {
    /// A host-created memory (guarded strategy).
    pub fn new(ty: MemoryType) -> Result<Memory, Error> {
        Memory::with_strategy(ty, MemoryStrategy::default())
    }

    /// A host-created memory allocated for code compiled with `strategy`.
    /// A module compiled with guard pages can only import a guarded memory
    /// whose guard is at least as large as its own.
    pub fn with_strategy(ty: MemoryType, strategy: MemoryStrategy) -> Result<Memory, Error> {
        Ok(Memory {
            inner: Arc::new(MemoryInner::new(ty, strategy)?),
            owner: None,
        })
    }

    /// The memory's type, with `min` being its current size (as the
    /// specification defines it for import matching).
    pub fn ty(&self) -> MemoryType {
        MemoryType {
            min: self.size(),
            ..self.inner.ty
        }
    }

    /// Current size in pages.
    pub fn size(&self) -> u64 {
        self.inner.len() as u64 / WASM_PAGE_SIZE
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        self.inner.len()
    }

    /// Grows by `delta` pages; returns the old size in pages.
    pub fn grow(&self, delta: u64) -> Result<u64, Error> {
        self.inner.grow(delta)
    }

    /// Copies the bytes at `offset` into `buf`; fails, reading nothing,
    /// unless the whole range is inside the memory.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), MemoryAccessError> {
        let src = self.inner.checked_ptr(offset, buf.len() as u64)?;
        // SAFETY: `checked_ptr` verified the range is inside the accessible
        // part of the memory; `buf` is a distinct Rust allocation.
        unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` to `offset`; fails, writing nothing, unless the whole
    /// range is inside the memory.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), MemoryAccessError> {
        let dst = self.inner.checked_ptr(offset, data.len() as u64)?;
        // SAFETY: as in `read`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    /// The SFI scheme this memory was allocated for.
    pub fn strategy(&self) -> MemoryStrategy {
        self.inner.strategy
    }

    /// Maps the first `len` bytes of the file `fd` shared over
    /// `[offset, offset + len)` of this memory, which must be page-aligned
    /// and inside its current size: writes through either side are seen by
    /// every mapping of the file, with no copy. This is how state values
    /// are shared between Faaslets. The caller keeps the file at least
    /// `len` bytes long while the memory lives (a shorter file makes guest
    /// accesses trap). A reset ([`crate::Instance::reset`]) drops the
    /// mapping.
    pub fn map_shared(
        &self,
        offset: u64,
        len: u64,
        fd: rustix::fd::BorrowedFd<'_>,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let map = inner.map.lock().unwrap_or_else(|e| e.into_inner());
        let end = offset.checked_add(len);
        if end.is_none_or(|e| e > inner.len() as u64) {
            return Err(Error::Usage(format!(
                "shared region {offset:#x} + {len} is outside memory ({} bytes)",
                inner.len()
            )));
        }
        map.map_shared(offset as usize, len as usize, fd)
            .map_err(|e| Error::Resource(format!("cannot map a shared region: {e}")))?;
        inner
            .shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((offset as usize, len as usize));
        Ok(())
    }

    /// Whether two handles denote the same entity.
    pub fn same(&self, other: &Memory) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl MemoryInner {
    pub(crate) fn new(ty: MemoryType, strategy: MemoryStrategy) -> Result<MemoryInner, Error> {
        MemoryInner::new_capped(ty, strategy, None)
    }

    /// As `new`, with the embedder's cap (`Config::max_memory_pages`) on
    /// top of the type's maximum: a minimum above it fails here, and
    /// growth beyond it fails like growth beyond the declared maximum.
    pub(crate) fn new_capped(
        ty: MemoryType,
        strategy: MemoryStrategy,
        cap_pages: Option<u64>,
    ) -> Result<MemoryInner, Error> {
        MemoryInner::new_with(ty, strategy, cap_pages, None, None)
    }

    /// As `new_capped`; with `snapshot`, the memory starts at the
    /// snapshot's size with its image mapped copy-on-write; with `budget`,
    /// its pages are charged to it (at creation, growth and reset).
    pub(crate) fn new_with(
        ty: MemoryType,
        strategy: MemoryStrategy,
        cap_pages: Option<u64>,
        snapshot: Option<&MemoryState>,
        budget: Option<Arc<Budget>>,
    ) -> Result<MemoryInner, Error> {
        if ty.memory64 {
            return Err(Error::Usage("64-bit memories are not supported".into()));
        }
        if let Some(cap) = cap_pages
            && ty.min > cap
        {
            return Err(Error::Resource(format!(
                "memory minimum of {} pages exceeds the configured limit of {cap} pages",
                ty.min
            )));
        }
        let max_pages = ty
            .max
            .unwrap_or(MAX_PAGES)
            .min(MAX_PAGES)
            .min(cap_pages.unwrap_or(MAX_PAGES));
        if ty.min > max_pages {
            return Err(Error::Usage(format!(
                "memory minimum of {} pages exceeds its maximum of {max_pages}",
                ty.min
            )));
        }
        let initial_pages = snapshot.map_or(ty.min, |s| s.pages);
        if initial_pages > max_pages {
            return Err(Error::Resource(format!(
                "snapshot memory of {initial_pages} pages exceeds the limit of {max_pages} pages"
            )));
        }
        let initial = initial_pages * WASM_PAGE_SIZE;
        if !budget::charge(&budget, initial) {
            return Err(Error::Resource(format!(
                "memory of {initial_pages} pages exceeds the instance's memory limit of {} bytes \
                 (over all its memories and tables)",
                budget.as_ref().map_or(0, |b| b.limit())
            )));
        }
        // Refunded if anything below fails.
        let charged = ChargeGuard(&budget, initial);
        let reserve = match strategy {
            MemoryStrategy::Guarded { guard_bytes } => FOUR_GIB.checked_add(guard_bytes),
            // The maximum, so that the memory never moves (see the type's
            // invariant); only address space, never backed until grown into.
            MemoryStrategy::Explicit => Some((max_pages * WASM_PAGE_SIZE).max(initial)),
        }
        .ok_or_else(|| Error::Resource("memory reservation too large".into()))?;
        let pooled = matches!(strategy, MemoryStrategy::Guarded { .. });
        // A reservation a dropped Faaslet of this snapshot gave back has the
        // image mapped already: no mmap, so no mm write lock.
        let lead = if pooled { LEAD_GUARD } else { 0 };
        let spare = snapshot.and_then(|s| s.image.take_mapped(lead, reserve as usize));
        let mapped = snapshot.map_or(0, |s| s.image.len());
        let map = match spare {
            Some(map) => map,
            None => {
                let map = match pooled.then(|| pool::take(lead, reserve as usize)).flatten() {
                    Some(map) => map,
                    None => Mmap::reserve_with_lead(lead, reserve as usize).map_err(|e| {
                        Error::Resource(format!("cannot reserve linear memory: {e}"))
                    })?,
                };
                if let Some(s) = snapshot {
                    map.map_image(&s.image)
                        .map_err(|e| Error::Resource(format!("cannot map a memory image: {e}")))?;
                }
                map
            }
        };
        map.make_accessible(mapped, (initial as usize).saturating_sub(mapped))
            .map_err(|e| Error::Resource(format!("cannot map linear memory: {e}")))?;
        std::mem::forget(charged);
        Ok(MemoryInner {
            ty,
            strategy,
            max_pages,
            budget,
            def: Box::new(UnsafeCell::new(VMDefinition {
                base: map.as_ptr(),
                length: initial,
            })),
            map: Mutex::new(map),
            image: snapshot.map(|s| s.image.clone()),
            shared: Mutex::default(),
        })
    }

    /// Shared memories never move and may be waited on.
    pub(crate) fn is_shared(&self) -> bool {
        self.ty.shared
    }

    /// The stable address compiled code reads the definition from.
    pub(crate) fn def_ptr(&self) -> *mut VMDefinition {
        self.def.get()
    }

    /// The current length in bytes, read atomically: another thread may
    /// be growing a shared memory.
    fn length(&self) -> &AtomicU64 {
        // SAFETY: the field is a live, aligned u64 that Rust only accesses
        // atomically; compiled code reads it with plain loads.
        unsafe { AtomicU64::from_ptr(&raw mut (*self.def.get()).length) }
    }

    fn base(&self) -> *mut u8 {
        // SAFETY: the box is live; `base` never changes after creation.
        unsafe { (*self.def.get()).base }
    }

    pub(crate) fn len(&self) -> usize {
        self.length().load(Ordering::Acquire) as usize
    }

    /// Base pointer of `[offset, offset + len)` if it is in bounds.
    pub(crate) fn checked_ptr(&self, offset: u64, len: u64) -> Result<*mut u8, MemoryAccessError> {
        let length = self.length().load(Ordering::Acquire);
        match offset.checked_add(len) {
            Some(end) if end <= length => {
                // SAFETY: `offset <= length`, inside the accessible prefix.
                Ok(unsafe { self.base().add(offset as usize) })
            }
            _ => Err(MemoryAccessError),
        }
    }

    /// Returns a memory restored from `state` to it: private copies of
    /// pages are dropped (the image shows through again, pages past it read
    /// zero) and pages grown since become inaccessible again. The caller
    /// guarantees nothing runs on the memory meanwhile.
    pub(crate) fn reset_to(&self, state: &MemoryState) -> Result<(), Error> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if !self
            .image
            .as_ref()
            .is_some_and(|i| Arc::ptr_eq(i, &state.image))
        {
            return Err(Error::Usage(
                "memory was not restored from this snapshot".into(),
            ));
        }
        let io = |e: std::io::Error| Error::Resource(format!("cannot reset linear memory: {e}"));
        // Shared regions go first: the ranges become private, reserved
        // address space again (the grown part is made inaccessible below,
        // a region inside the image is covered by the image again).
        for (offset, len) in
            std::mem::take(&mut *self.shared.lock().unwrap_or_else(|e| e.into_inner()))
        {
            map.unmap_to_reserved(offset, len).map_err(io)?;
            if offset < state.image.len() {
                let end = (offset + len).min(state.image.len());
                map.map_image_range(&state.image, offset, end - offset)
                    .map_err(io)?;
            }
        }
        let len = self.len();
        let keep = state.image.len();
        // Private copies dropped, the grown part inaccessible again.
        back_to_image(&map, &state.image, len).map_err(io)?;
        if len > keep {
            budget::refund(&self.budget, (len - keep) as u64);
        }
        self.length().store(keep as u64, Ordering::Release);
        Ok(())
    }

    /// `memory.grow`: the old size in pages, or an error leaving the memory
    /// unchanged.
    pub(crate) fn grow(&self, delta: u64) -> Result<u64, Error> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let old_len = self.len();
        let old_pages = old_len as u64 / WASM_PAGE_SIZE;
        let new_pages = old_pages
            .checked_add(delta)
            .filter(|p| *p <= self.max_pages)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "cannot grow memory from {old_pages} by {delta} pages: maximum is {}",
                    self.max_pages
                ))
            })?;
        if delta == 0 {
            return Ok(old_pages);
        }
        let new_len = (new_pages * WASM_PAGE_SIZE) as usize;
        // The reservation covers the maximum (the type's invariant).
        if new_len > map.len() {
            return Err(Error::Resource(format!(
                "cannot grow memory to {new_pages} pages: beyond its reservation"
            )));
        }
        // Past the instance's budget fails like past the maximum.
        let bytes = delta * WASM_PAGE_SIZE;
        if !budget::charge(&self.budget, bytes) {
            return Err(Error::Usage(format!(
                "cannot grow memory from {old_pages} by {delta} pages: the instance's memory \
                 limit is {} bytes over all its memories and tables",
                self.budget.as_ref().map_or(0, |b| b.limit())
            )));
        }
        // Whole wasm pages are whole OS pages, so `old_len` is aligned.
        debug_assert!(old_len.is_multiple_of(page_size()));
        if let Err(e) = map.make_accessible(old_len, new_len - old_len) {
            budget::refund(&self.budget, bytes);
            return Err(Error::Resource(format!("cannot grow linear memory: {e}")));
        }
        // Published after the pages are accessible, so a reader that sees
        // the new length can use it.
        self.length().store(new_len as u64, Ordering::Release);
        Ok(old_pages)
    }
}

/// Refunds a charge unless forgotten.
struct ChargeGuard<'a>(&'a Option<Arc<Budget>>, u64);

impl Drop for ChargeGuard<'_> {
    fn drop(&mut self) {
        budget::refund(self.0, self.1);
    }
}

impl Drop for MemoryInner {
    fn drop(&mut self) {
        let used = self.def.get_mut().length as usize;
        budget::refund(&self.budget, used as u64);
        let take = |m: &mut Mutex<Mmap>| {
            std::mem::replace(
                m.get_mut().unwrap_or_else(|e| e.into_inner()),
                Mmap::reserve(0).expect("empty reservations cannot fail"),
            )
        };
        // A restored memory with no shared file mapped into it goes back to
        // its image's spares, the image still mapped (the next restore of
        // the snapshot needs no mmap, this drop no munmap).
        let mut map = match &self.image {
            Some(image) if self.shared.get_mut().is_ok_and(|s| s.is_empty()) => {
                match image.give_mapped(take(&mut self.map), used) {
                    Ok(()) => return,
                    Err(map) => Some(map),
                }
            }
            _ => None,
        };
        // Guarded reservations all have the same size: recycle them.
        if let MemoryStrategy::Guarded { .. } = self.strategy {
            let map = map.take().unwrap_or_else(|| take(&mut self.map));
            pool::give(map, used);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(min: u64, max: Option<u64>, shared: bool) -> MemoryType {
        MemoryType {
            min,
            max,
            shared,
            memory64: false,
        }
    }

    fn base(m: &MemoryInner) -> *mut u8 {
        m.checked_ptr(0, 0).unwrap()
    }

    fn lead(m: &MemoryInner) -> usize {
        m.map.lock().unwrap().lead()
    }

    /// Compiled code computes some sums below the base and relies on a
    /// fault there (`faasm_abi::MEMORY_LEAD_GUARD_BYTES`): every guarded
    /// memory has the lead, fresh, reused from the pool or restored from a
    /// snapshot's spares.
    #[test]
    fn guarded_memories_have_the_lead_guard_on_every_path() {
        let guarded = MemoryStrategy::default();
        for _ in 0..3 {
            let m = MemoryInner::new(ty(1, None, false), guarded).unwrap();
            assert_eq!(lead(&m), LEAD_GUARD);
        }
        let image = Arc::new(MemoryImage::new(65536, [(8, &b"image"[..])]).unwrap());
        let state = MemoryState { pages: 1, image };
        for _ in 0..3 {
            let m = MemoryInner::new_with(ty(1, None, false), guarded, None, Some(&state), None)
                .unwrap();
            assert_eq!(lead(&m), LEAD_GUARD);
        }
        // Explicit bounds checks never reach below the base.
        let m = MemoryInner::new(ty(1, Some(2), false), MemoryStrategy::Explicit).unwrap();
        assert_eq!(lead(&m), 0);
    }

    /// Other threads keep using a shared memory's base while one grows it
    /// (compiled code, builtins, host calls): it must never move.
    #[test]
    fn a_shared_explicit_memory_never_moves() {
        let m = MemoryInner::new(ty(1, Some(4096), true), MemoryStrategy::Explicit).unwrap();
        let before = base(&m);
        for _ in 0..64 {
            m.grow(63).unwrap();
            assert_eq!(base(&m), before);
        }
        assert_eq!(m.len() as u64, (1 + 64 * 63) * WASM_PAGE_SIZE);
        // The last page is writable where it was mapped.
        let last = m.checked_ptr(m.len() as u64 - 1, 1).unwrap();
        // SAFETY: in bounds of the accessible prefix, owned by this test.
        unsafe { last.write(7) };
    }

    #[test]
    fn no_memory_moves_on_grow() {
        for strategy in [MemoryStrategy::Explicit, MemoryStrategy::default()] {
            let m = MemoryInner::new(ty(0, None, false), strategy).unwrap();
            let before = base(&m);
            assert_eq!(m.grow(1000).unwrap(), 0);
            assert_eq!(base(&m), before);
            assert!(m.grow(70_000).is_err(), "past 4 GiB");
        }
    }

    #[test]
    fn memories_share_the_instance_budget() {
        let b = Some(Arc::new(Budget::new(4 * WASM_PAGE_SIZE)));
        let new = |min| {
            MemoryInner::new_with(
                ty(min, None, false),
                MemoryStrategy::Explicit,
                None,
                None,
                b.clone(),
            )
        };
        let m1 = new(2).unwrap();
        let m2 = new(1).unwrap();
        assert!(new(2).is_err(), "2 + 1 + 2 pages over a budget of 4");
        assert!(m2.grow(2).is_err());
        assert_eq!(m2.len() as u64, WASM_PAGE_SIZE);
        assert_eq!(m1.grow(1).unwrap(), 2);
        assert!(m2.grow(1).is_err());
        drop(m1);
        assert_eq!(m2.grow(3).unwrap(), 1);
    }

    #[test]
    fn growth_past_the_cap_fails_and_changes_nothing() {
        let m =
            MemoryInner::new_capped(ty(1, None, false), MemoryStrategy::Explicit, Some(3)).unwrap();
        assert!(m.grow(3).is_err());
        assert_eq!(m.len() as u64, WASM_PAGE_SIZE);
        assert_eq!(m.grow(2).unwrap(), 1);
        assert!(m.checked_ptr(3 * WASM_PAGE_SIZE, 1).is_err());
    }
}
