use crate::{Error, Extern, Memory, Trap, Val};
use faasm_abi::FuncType;

/// A host function's body: reads `params`, writes every slot of `results`
/// (pre-filled with zero values of the right types).
pub type HostFn = dyn Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync;

/// A function: wasm code of some instance, or a host closure. Cheap to clone.
#[derive(Clone)]
pub struct Func {}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Func").finish_non_exhaustive()
    }
}

impl Func {
    /// A host function of type `ty`.
    pub fn new(
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        let _ = (ty, f);
        todo!()
    }

    pub fn ty(&self) -> FuncType {
        todo!()
    }

    /// Calls the function. Arguments are checked against its type
    /// (`Error::Usage` on a mismatch); a trap is `Error::Trap`.
    pub fn call(&self, args: &[Val]) -> Result<Vec<Val>, Error> {
        let _ = args;
        todo!()
    }
}

/// The calling instance, as seen from a host function.
pub struct Caller<'a> {
    _marker: std::marker::PhantomData<&'a mut ()>,
}

impl Caller<'_> {
    /// The caller's memory 0, if it has one.
    pub fn memory(&self) -> Option<Memory> {
        todo!()
    }

    /// The caller's memory 0 as a byte slice, valid for this host call.
    /// Host functions bounds-check guest pointers against it.
    pub fn memory_mut(&mut self) -> Option<&mut [u8]> {
        todo!()
    }

    /// An export of the calling instance.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let _ = name;
        todo!()
    }
}
