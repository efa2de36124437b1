use crate::{Extern, Func, Memory, Module};

/// An instantiated module. Cheap to clone; lives while any handle (or any
/// instance that imported from it) does.
#[derive(Clone)]
pub struct Instance {}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").finish_non_exhaustive()
    }
}

impl Instance {
    pub fn module(&self) -> &Module {
        todo!()
    }

    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let _ = name;
        todo!()
    }

    pub fn get_func(&self, name: &str) -> Option<Func> {
        match self.get_export(name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    pub fn get_memory(&self, name: &str) -> Option<Memory> {
        match self.get_export(name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// All exports, in module order.
    pub fn exports(&self) -> Vec<(String, Extern)> {
        todo!()
    }

    /// A handle that stops this instance's running wasm from any thread
    /// (it traps with `TrapKind::Interrupt` at the next loop header).
    pub fn interrupt_handle(&self) -> InterruptHandle {
        todo!()
    }
}

/// Stops an instance's running code from another thread.
#[derive(Clone)]
pub struct InterruptHandle {}

impl InterruptHandle {
    pub fn interrupt(&self) {
        todo!()
    }
}
