//! What a host function sees of the wasm instance that called it: its
//! memory, data, exports, budget and wasm backtrace ([`Caller`]).

use crate::instance::Instance;
use crate::objects::InstanceInner;
use crate::{Extern, Memory};

/// The calling instance, as seen from a host function.
pub struct Caller<'a> {
    pub(crate) instance: Option<&'a InstanceInner>,
    /// The frame pointer of the host trampoline compiled code called (0
    /// when the host function was called from the host).
    pub(crate) exit_fp: usize,
}
impl<'a> Caller<'a> {
    /// The wasm functions on the stack of this host call, innermost (the
    /// one that called the host) first; empty when called from the host.
    pub fn wasm_backtrace(&self) -> crate::Backtrace {
        let mut frames = crate::sys::backtrace::RawFrames::EMPTY;
        if let Some(stop) = crate::sys::signals::innermost_entry_sp() {
            let here = crate::sys::stack::current_sp();
            // Only a frame pointer of this thread's stack between here and
            // the innermost entry is walked (a `Caller` handed to another
            // thread finds nothing).
            if self.exit_fp > here {
                // SAFETY: `[here, stop)` is this thread's live stack: the
                // frames of this host call, of the trampoline and of the
                // wasm code below the innermost entry.
                unsafe { crate::sys::backtrace::walk(self.exit_fp, here, stop, &mut frames) };
            }
        }
        crate::frames::resolve_frames(None, &frames)
    }

    /// Charges `bytes` the host is about to hold for the calling instance
    /// (beyond its call) to the instance's memory budget, until the
    /// returned charge is dropped. `Err` past the budget.
    pub fn charge_host_bytes(&self, bytes: u64) -> Result<crate::HostCharge, crate::OverBudget> {
        match self.instance {
            Some(inner) => crate::HostCharge::take(&inner.budget, bytes),
            None => Ok(crate::HostCharge::none()),
        }
    }

    /// The data the calling instance was made with
    /// ([`crate::Linker::instantiate_with`]), if it is a `T`. Borrowed from
    /// the instance, not from this `Caller`, so it can be held while the
    /// caller's memory is borrowed mutably.
    pub fn data<T: std::any::Any>(&self) -> Option<&'a T> {
        let inner = self.instance?;
        // SAFETY: the data is only replaced by `Instance::set_data`, which
        // requires that no call runs; this `Caller` exists only during one.
        let data = unsafe { &*inner.data.get() };
        data.as_deref()?.downcast_ref::<T>()
    }

    /// The caller's memory 0, if it has one.
    pub fn memory(&self) -> Option<Memory> {
        let inner = self.instance?;
        if inner.memories.is_empty() {
            return None;
        }
        // SAFETY: the caller instance is alive for the duration of the call.
        Some(unsafe { InstanceInner::arc_from_ptr(inner) }.memory(0))
    }

    /// The caller's memory 0 as a byte slice, valid for this host call.
    /// Host functions bounds-check guest pointers against it.
    pub fn memory_mut(&mut self) -> Option<&mut [u8]> {
        let mem = &self.instance?.memories.first()?.inner;
        let base = mem.checked_ptr(0, 0).ok()?;
        // SAFETY: the memory's first `len` bytes are accessible and stay so
        // for this host call (the borrow of `self` prevents the caller from
        // growing it through this `Caller` meanwhile).
        Some(unsafe { std::slice::from_raw_parts_mut(base, mem.len()) })
    }

    /// An export of the calling instance.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let inner = self.instance?;
        let instance = Instance {
            // SAFETY: the caller instance is alive for the duration of the call.
            inner: unsafe { InstanceInner::arc_from_ptr(inner) },
        };
        instance.get_export(name)
    }
}
