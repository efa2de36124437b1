//! Keeping the owners of referenced functions alive.
//!
//! Function references are raw pointers into an instance's context (or a
//! host function's context). Whatever stores such a pointer where the
//! runtime cannot see its lifetime (a table, a global, another instance)
//! holds a strong reference to the owner here. Cycles leak, which is
//! accepted; dangling pointers are not.

use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock};

type Owner = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub(crate) struct KeepAlive {
    held: Mutex<Vec<Owner>>,
    /// The instance this entity belongs to (as an address), whose own
    /// functions need no holding: that would only create a cycle.
    owner: OnceLock<usize>,
}

impl KeepAlive {
    pub fn set_owner(&self, instance: *const ()) {
        let _ = self.owner.set(instance as usize);
    }

    pub fn hold(&self, owner: Owner) {
        let addr = Arc::as_ptr(&owner) as *const () as usize;
        if self.owner.get() == Some(&addr) {
            return;
        }
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if !held
            .iter()
            .any(|h| Arc::as_ptr(h) as *const () as usize == addr)
        {
            held.push(owner);
        }
    }
}
