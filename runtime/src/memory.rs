use crate::Error;
use faasm_abi::MemoryType;

/// A host access outside a memory's current size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("memory access out of bounds")]
pub struct MemoryAccessError;

/// A linear memory. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Memory {}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory").finish_non_exhaustive()
    }
}

impl Memory {
    /// A host-created memory (guarded strategy).
    pub fn new(ty: MemoryType) -> Result<Memory, Error> {
        let _ = ty;
        todo!()
    }

    pub fn ty(&self) -> MemoryType {
        todo!()
    }

    /// Current size in pages.
    pub fn size(&self) -> u64 {
        todo!()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        todo!()
    }

    /// Grows by `delta` pages; returns the old size in pages.
    pub fn grow(&self, delta: u64) -> Result<u64, Error> {
        let _ = delta;
        todo!()
    }

    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), MemoryAccessError> {
        let _ = (offset, buf);
        todo!()
    }

    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), MemoryAccessError> {
        let _ = (offset, data);
        todo!()
    }
}
