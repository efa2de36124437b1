use crate::{Error, Val};
use faasm_abi::TableType;

/// A table of references. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Table {}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").finish_non_exhaustive()
    }
}

impl Table {
    pub fn new(ty: TableType, init: Val) -> Result<Table, Error> {
        let _ = (ty, init);
        todo!()
    }

    pub fn ty(&self) -> TableType {
        todo!()
    }

    pub fn size(&self) -> u64 {
        todo!()
    }

    pub fn get(&self, index: u64) -> Option<Val> {
        let _ = index;
        todo!()
    }

    pub fn set(&self, index: u64, val: Val) -> Result<(), Error> {
        let _ = (index, val);
        todo!()
    }

    /// Returns the old size.
    pub fn grow(&self, delta: u64, init: Val) -> Result<u64, Error> {
        let _ = (delta, init);
        todo!()
    }
}
