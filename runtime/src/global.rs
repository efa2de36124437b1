//! Global variables: their 16-byte cells (owned by an instance or
//! standalone) and the [`Global`] handle.

use crate::keepalive::KeepAlive;
use crate::values::{val_from_raw, val_to_raw};
use crate::vm::ValSlot;
use crate::{Error, Val};
use faasm_abi::GlobalType;
use std::cell::UnsafeCell;
use std::sync::Arc;

/// A global variable. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Global {
    pub(crate) inner: Arc<GlobalInner>,
    /// The instance that defines this entity, for handles given out by
    /// it: a handle keeps its instance alive (the entity may hold
    /// references into it). `None` inside the instance itself.
    pub(crate) owner: Option<Arc<crate::objects::InstanceInner>>,
}

/// The value lives in a 16-byte slot at a stable address that compiled code
/// reads and writes directly.
pub(crate) struct GlobalInner {
    ty: GlobalType,
    slot: Box<UnsafeCell<ValSlot>>,
    pub(crate) keepalive: KeepAlive,
}

// SAFETY: the slot is plain memory accessed with whole-value reads and
// writes, exactly as compiled code accesses it.
unsafe impl Send for GlobalInner {}
// SAFETY: as above.
unsafe impl Sync for GlobalInner {}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global")
            .field("ty", &self.inner.ty)
            .finish_non_exhaustive()
    }
}

impl Global {
    /// A host-defined global holding `val`; fails unless `val` has the
    /// global's value type.
    pub fn new(ty: GlobalType, val: Val) -> Result<Global, Error> {
        check_type(ty, &val)?;
        let inner = GlobalInner::new(ty, val_to_raw(&val)?);
        if let Val::FuncRef(Some(f)) = &val {
            inner.keepalive.hold_func(f);
        }
        Ok(Global {
            inner: Arc::new(inner),
            owner: None,
        })
    }

    /// The global's value type and mutability.
    pub fn ty(&self) -> GlobalType {
        self.inner.ty
    }

    /// The global's current value.
    pub fn get(&self) -> Val {
        // SAFETY: the slot always holds a value of the global's type, and a
        // referenced function is kept alive by the global's owners.
        unsafe { val_from_raw(self.inner.ty.ty, self.inner.get_raw()) }
    }

    /// Fails on an immutable global or a value of the wrong type.
    pub fn set(&self, val: Val) -> Result<(), Error> {
        if !self.inner.ty.mutable {
            return Err(Error::Usage("cannot set an immutable global".into()));
        }
        check_type(self.inner.ty, &val)?;
        let raw = val_to_raw(&val)?;
        if let Val::FuncRef(Some(f)) = &val {
            self.inner.keepalive.hold_func(f);
        }
        self.inner.set_raw(raw);
        Ok(())
    }

    /// Whether two handles denote the same entity.
    pub fn same(&self, other: &Global) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

fn check_type(ty: GlobalType, val: &Val) -> Result<(), Error> {
    if val.ty() != ty.ty {
        return Err(Error::Usage(format!(
            "global of type {} cannot hold a {}",
            ty.ty,
            val.ty()
        )));
    }
    Ok(())
}

impl GlobalInner {
    pub(crate) fn new(ty: GlobalType, raw: u128) -> GlobalInner {
        GlobalInner {
            ty,
            slot: Box::new(UnsafeCell::new(ValSlot(raw))),
            keepalive: KeepAlive::default(),
        }
    }

    pub(crate) fn ty(&self) -> GlobalType {
        self.ty
    }

    pub(crate) fn storage(&self) -> *mut u8 {
        self.slot.get().cast()
    }

    pub(crate) fn get_raw(&self) -> u128 {
        // SAFETY: the box is live and aligned.
        unsafe { self.slot.get().read().0 }
    }

    pub(crate) fn set_raw(&self, raw: u128) {
        // SAFETY: the box is live and aligned.
        unsafe { self.slot.get().write(ValSlot(raw)) }
    }
}
