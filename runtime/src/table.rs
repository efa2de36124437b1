//! Tables of references: element storage compiled code reads through the
//! vmctx, growth within a hard cap, and the safe [`Table`] handle.

use crate::budget::{self, Budget, TABLE_ELEM_BYTES};
use crate::keepalive::KeepAlive;
use crate::values::{val_from_raw, val_to_raw};
use crate::vm::VMDefinition;
use crate::{Error, Val};
use faasm_abi::TableType;
use std::cell::UnsafeCell;
use std::sync::{Arc, Mutex};

/// No table grows beyond this many elements, whatever its declared maximum.
pub(crate) const MAX_TABLE_ELEMS: u64 = 10_000_000;

/// A table of references. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Table {
    pub(crate) inner: Arc<TableInner>,
    /// The instance that defines this entity, for handles given out by
    /// it: a handle keeps its instance alive (the entity may hold
    /// references into it). `None` inside the instance itself.
    pub(crate) owner: Option<Arc<crate::objects::InstanceInner>>,
}

/// Elements are raw words (funcref: `VMFuncRef` pointer, externref:
/// handle plus one; 0 = null). Compiled code indexes `def.base` directly, so
/// the storage never moves (its capacity is the table's maximum), and
/// growth updates `def.length` under the `elems` lock.
pub(crate) struct TableInner {
    ty: TableType,
    def: Box<UnsafeCell<VMDefinition>>,
    elems: Mutex<Vec<u64>>,
    /// Owners of the functions referenced from this table.
    pub(crate) keepalive: KeepAlive,
    /// The instance's budget (`Config::max_memory_pages`), charged
    /// [`TABLE_ELEM_BYTES`] per element.
    budget: Option<Arc<Budget>>,
}

// SAFETY: `def` and the element buffer are only changed under the `elems`
// lock (compiled code writes elements in place on the thread running it,
// like any wasm store).
unsafe impl Send for TableInner {}
// SAFETY: as above.
unsafe impl Sync for TableInner {}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("elem", &self.inner.ty.elem)
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

impl Table {
    /// A host-defined table of `ty.min` elements, each `init`; fails unless
    /// `init` is a reference of the table's element type.
    pub fn new(ty: TableType, init: Val) -> Result<Table, Error> {
        let raw = check_ref(&ty, &init)?;
        let inner = TableInner::new(ty, raw)?;
        hold_ref(&inner.keepalive, &init);
        Ok(Table {
            inner: Arc::new(inner),
            owner: None,
        })
    }

    /// The table's type, with `min` being its current size.
    pub fn ty(&self) -> TableType {
        TableType {
            min: self.size(),
            ..self.inner.ty
        }
    }

    /// The number of elements now.
    pub fn size(&self) -> u64 {
        self.inner.size()
    }

    /// The element at `index`, or `None` past the end.
    pub fn get(&self, index: u64) -> Option<Val> {
        let raw = self.inner.get(index)?;
        // SAFETY: every word in a table is null or a reference of the
        // table's element type kept alive by the table's owners.
        Some(unsafe { val_from_raw(self.inner.ty.elem, raw as u128) })
    }

    /// Stores `val` at `index`; fails past the end or for a value of
    /// another type.
    pub fn set(&self, index: u64, val: Val) -> Result<(), Error> {
        let raw = check_ref(&self.inner.ty, &val)?;
        if !self.inner.set(index, raw) {
            return Err(Error::Usage(format!(
                "table index {index} out of bounds (size {})",
                self.size()
            )));
        }
        hold_ref(&self.inner.keepalive, &val);
        Ok(())
    }

    /// Returns the old size.
    pub fn grow(&self, delta: u64, init: Val) -> Result<u64, Error> {
        let raw = check_ref(&self.inner.ty, &init)?;
        let old = self.inner.grow(delta, raw).ok_or_else(|| {
            Error::Usage(format!(
                "cannot grow table of size {} by {delta}",
                self.size()
            ))
        })?;
        hold_ref(&self.inner.keepalive, &init);
        Ok(old)
    }

    /// Whether two handles denote the same entity.
    pub fn same(&self, other: &Table) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// The raw word for `val`, checking it has the table's element type.
fn check_ref(ty: &TableType, val: &Val) -> Result<u64, Error> {
    if val.ty() != ty.elem {
        return Err(Error::Usage(format!(
            "expected a {} for this table, got a {}",
            ty.elem,
            val.ty()
        )));
    }
    Ok(val_to_raw(val)? as u64)
}

/// The table now references `val`'s function: keep its owner alive.
fn hold_ref(keepalive: &KeepAlive, val: &Val) {
    if let Val::FuncRef(Some(f)) = val {
        keepalive.hold_func(f);
    }
}

impl TableInner {
    pub(crate) fn new(ty: TableType, init: u64) -> Result<TableInner, Error> {
        TableInner::new_budgeted(ty, init, None)
    }

    /// As `new`, its elements charged to `budget` (which also bounds the
    /// storage reserved for growth).
    pub(crate) fn new_budgeted(
        ty: TableType,
        init: u64,
        budget: Option<Arc<Budget>>,
    ) -> Result<TableInner, Error> {
        if ty.min > ty.max.unwrap_or(u64::MAX) {
            return Err(Error::Usage(format!(
                "table minimum {} exceeds its maximum {:?}",
                ty.min, ty.max
            )));
        }
        if ty.min > MAX_TABLE_ELEMS {
            return Err(Error::Resource(format!("table of {} elements", ty.min)));
        }
        // The storage is allocated for the table's maximum up front and
        // never reallocated: compiled code (possibly on another thread)
        // indexes `def.base` without taking the lock, so the elements must
        // not move when the table grows. Only address space is taken until
        // elements are written.
        let affordable = budget.as_ref().map_or(MAX_TABLE_ELEMS, |b| {
            (b.limit() / TABLE_ELEM_BYTES).max(ty.min)
        });
        let capacity = ty
            .max
            .unwrap_or(u32::MAX as u64)
            .min(MAX_TABLE_ELEMS)
            .min(affordable) as usize;
        if !budget::charge(&budget, ty.min * TABLE_ELEM_BYTES) {
            return Err(Error::Resource(format!(
                "table of {} elements exceeds the instance's memory limit of {} bytes \
                 (over all its memories and tables)",
                ty.min,
                budget.as_ref().map_or(0, |b| b.limit())
            )));
        }
        let mut elems = Vec::new();
        if elems.try_reserve_exact(capacity).is_err() {
            budget::refund(&budget, ty.min * TABLE_ELEM_BYTES);
            return Err(Error::Resource(format!(
                "table of up to {capacity} elements"
            )));
        }
        elems.resize(ty.min as usize, init);
        let def = VMDefinition {
            base: elems.as_mut_ptr().cast(),
            length: ty.min,
        };
        Ok(TableInner {
            ty,
            def: Box::new(UnsafeCell::new(def)),
            elems: Mutex::new(elems),
            keepalive: KeepAlive::default(),
            budget,
        })
    }

    pub(crate) fn ty(&self) -> TableType {
        self.ty
    }

    pub(crate) fn def_ptr(&self) -> *mut VMDefinition {
        self.def.get()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u64>> {
        self.elems.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn size(&self) -> u64 {
        self.lock().len() as u64
    }

    pub(crate) fn get(&self, index: u64) -> Option<u64> {
        self.lock().get(usize::try_from(index).ok()?).copied()
    }

    pub(crate) fn set(&self, index: u64, raw: u64) -> bool {
        let mut elems = self.lock();
        match usize::try_from(index).ok().and_then(|i| elems.get_mut(i)) {
            Some(slot) => {
                *slot = raw;
                true
            }
            None => false,
        }
    }

    /// `table.grow`: the old size, or `None` past the maximum.
    pub(crate) fn grow(&self, delta: u64, init: u64) -> Option<u64> {
        let mut elems = self.lock();
        let old = elems.len() as u64;
        let new = old.checked_add(delta)?;
        if new > self.ty.max.unwrap_or(u32::MAX as u64) || new > MAX_TABLE_ELEMS {
            return None;
        }
        // Within the capacity reserved at creation: no reallocation.
        if new as usize > elems.capacity() {
            return None;
        }
        // Past the instance's budget fails like past the maximum.
        if !budget::charge(&self.budget, delta * TABLE_ELEM_BYTES) {
            return None;
        }
        elems.resize(new as usize, init);
        // SAFETY: the definition is only written under the elems lock; the
        // base is unchanged, only the length grows.
        unsafe { (*self.def.get()).length = new };
        Some(old)
    }

    /// Replaces the whole contents (and size) with `raw`, within the
    /// capacity reserved at creation (`false` past it, nothing changed).
    pub(crate) fn reset(&self, raw: &[u64]) -> bool {
        let mut elems = self.lock();
        if raw.len() > elems.capacity() {
            return false;
        }
        let (old, new) = (elems.len() as u64, raw.len() as u64);
        if new > old {
            // Restored tables start at their snapshot size and only grow,
            // so this is not expected; still, never run over the budget.
            if !budget::charge(&self.budget, (new - old) * TABLE_ELEM_BYTES) {
                return false;
            }
        } else {
            budget::refund(&self.budget, (old - new) * TABLE_ELEM_BYTES);
        }
        elems.clear();
        elems.extend_from_slice(raw);
        // SAFETY: written under the elems lock; the storage did not move
        // (within capacity).
        unsafe { (*self.def.get()).length = raw.len() as u64 };
        true
    }

    /// `table.fill`: checks the whole range first.
    pub(crate) fn fill(&self, dst: u64, raw: u64, len: u64) -> bool {
        let mut elems = self.lock();
        match range(dst, len, elems.len()) {
            Some(r) => {
                elems[r].fill(raw);
                true
            }
            None => false,
        }
    }

    /// `table.init` / element segment application from `items`.
    pub(crate) fn init(&self, dst: u64, items: &[u64], src: u64, len: u64) -> bool {
        let mut elems = self.lock();
        let (Some(d), Some(s)) = (range(dst, len, elems.len()), range(src, len, items.len()))
        else {
            return false;
        };
        elems[d].copy_from_slice(&items[s]);
        true
    }

    /// `table.copy` between `dst` and `src` (possibly the same table), with
    /// memmove semantics.
    pub(crate) fn copy(
        dst_t: &TableInner,
        src_t: &TableInner,
        dst: u64,
        src: u64,
        len: u64,
    ) -> bool {
        if std::ptr::eq(dst_t, src_t) {
            let mut elems = dst_t.lock();
            let n = elems.len();
            let (Some(d), Some(s)) = (range(dst, len, n), range(src, len, n)) else {
                return false;
            };
            elems.copy_within(s, d.start);
            return true;
        }
        // Lock in address order so two opposite copies cannot deadlock.
        let (mut dg, sg);
        if (dst_t as *const TableInner) < (src_t as *const TableInner) {
            dg = dst_t.lock();
            sg = src_t.lock();
        } else {
            sg = src_t.lock();
            dg = dst_t.lock();
        }
        let (Some(d), Some(s)) = (range(dst, len, dg.len()), range(src, len, sg.len())) else {
            return false;
        };
        dg[d].copy_from_slice(&sg[s]);
        true
    }
}

/// `start..start + len` if it fits in `size` (a zero-length range exactly at
/// the end is fine).
pub(crate) fn range(start: u64, len: u64, size: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size as u64).then_some(start as usize..end as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasm_abi::ValType;

    /// Compiled code indexes the element array without the lock, possibly
    /// on another thread than the one growing the table: it must not move.
    #[test]
    fn table_storage_never_moves_on_grow() {
        for max in [None, Some(5000)] {
            let t = TableInner::new(
                TableType {
                    elem: ValType::FuncRef,
                    min: 1,
                    max,
                },
                0,
            )
            .unwrap();
            // SAFETY: reads the definition the table owns; no grow runs.
            let base = unsafe { (*t.def_ptr()).base };
            for _ in 0..4000 {
                assert!(t.grow(1, 0).is_some());
            }
            // SAFETY: as above.
            let def = unsafe { t.def_ptr().read() };
            assert_eq!(def.base, base);
            assert_eq!(def.length, 4001);
            assert_eq!(t.size(), 4001);
        }
    }

    #[test]
    fn tables_are_charged_to_the_instance_budget() {
        let b = Some(Arc::new(Budget::new(10 * TABLE_ELEM_BYTES)));
        let ty = |min| TableType {
            elem: ValType::FuncRef,
            min,
            max: None,
        };
        let t1 = TableInner::new_budgeted(ty(4), 0, b.clone()).unwrap();
        let t2 = TableInner::new_budgeted(ty(4), 0, b.clone()).unwrap();
        assert!(TableInner::new_budgeted(ty(3), 0, b.clone()).is_err());
        assert_eq!(t1.grow(2, 0), Some(4));
        assert_eq!(t2.grow(1, 0), None);
        assert!(t1.reset(&[0; 2]));
        assert_eq!(t2.grow(4, 0), Some(4));
    }

    #[test]
    fn growth_stops_at_the_maximum() {
        let t = TableInner::new(
            TableType {
                elem: ValType::FuncRef,
                min: 0,
                max: Some(2),
            },
            0,
        )
        .unwrap();
        assert_eq!(t.grow(2, 0), Some(0));
        assert_eq!(t.grow(1, 0), None);
        assert_eq!(t.size(), 2);
    }
}
