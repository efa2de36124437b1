//! The host state of one instance when a linker is shared by many.
//!
//! [`crate::wasi::add_to_linker`] and [`crate::faasm::add_to_linker`] bind
//! their functions to one context, so each instance needs a linker of its
//! own: simple, but building ~80 host functions per Faaslet costs more than
//! instantiating it. The `*_shared` variants define the functions once;
//! each call finds its context in the calling instance's data, a
//! [`HostCtx`] given to `Linker::instantiate_with`.

use crate::faasm::FaasmCtx;
use crate::wasi::WasiCtx;
use faasm_runtime::{Caller, Trap};

/// What host functions of a shared linker need from the instance calling
/// them.
pub struct HostCtx {
    /// The WASI context: arguments, environment, stdio, files, clocks.
    pub wasi: WasiCtx,
    /// The Faasm calls' context; `None` for a plain WASI instance.
    pub faasm: Option<FaasmCtx>,
}

impl HostCtx {
    /// The calling instance's context, or a trap naming `call` if it was
    /// instantiated without one (an embedder's mistake, not the guest's).
    pub(crate) fn of<'a>(caller: &Caller<'a>, call: &str) -> Result<&'a HostCtx, Trap> {
        caller.data::<HostCtx>().ok_or_else(|| {
            Trap::host(format!(
                "{call}: the calling instance has no host context (instantiate it with a HostCtx)"
            ))
        })
    }
}
