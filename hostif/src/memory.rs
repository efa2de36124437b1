//! Checked access to a guest's linear memory.
//!
//! Host functions receive guest pointers as plain `u32`s. Every access goes
//! through [`GuestMemory`], which checks `ptr + len` against the memory's
//! current size in 64-bit arithmetic (so `ptr + len` cannot wrap) and yields
//! [`Errno::Fault`] for anything outside. There is no `unsafe` here: the
//! memory is a byte slice handed out by the runtime for the duration of one
//! host call, so an unchecked index would panic rather than touch host
//! memory — and the checks below make sure it never gets that far.
//!
//! Multi-byte values are little-endian (the wasm byte order) and need no
//! alignment: WASI p1 says pointers *should* be aligned, but accepting
//! unaligned ones is harmless and matches what guests' own loads allow.

use crate::errno::Errno;
use std::ops::Range;

/// Size of a WASI `iovec`/`ciovec` in guest memory: `{buf: u32, buf_len: u32}`.
pub const IOVEC_SIZE: u32 = 8;

/// A guest buffer described by an `iovec`, already checked to lie inside
/// memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoVec {
    /// Where the buffer starts in guest memory.
    pub ptr: u32,
    /// Its length in bytes.
    pub len: u32,
}

/// A guest's linear memory for the duration of one host call.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    /// Wraps the caller's memory. A module without memory is an empty
    /// slice: every non-empty access is then a fault.
    pub fn new(bytes: &'a mut [u8]) -> GuestMemory<'a> {
        GuestMemory { bytes }
    }

    /// Current size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the memory has no bytes (a module without memory).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The host index range of `[ptr, ptr + len)`, if it lies inside memory.
    fn range(&self, ptr: u32, len: u64) -> Result<Range<usize>, Errno> {
        let start = u64::from(ptr);
        let end = start.checked_add(len).ok_or(Errno::Fault)?;
        if end > self.bytes.len() as u64 {
            return Err(Errno::Fault);
        }
        // Both fit in usize: they are at most the slice length.
        Ok(start as usize..end as usize)
    }

    /// Fails with `Fault` unless `[ptr, ptr + len)` is inside memory.
    pub fn check(&self, ptr: u32, len: u64) -> Result<(), Errno> {
        self.range(ptr, len).map(|_| ())
    }

    /// The bytes `[ptr, ptr + len)`, or `Fault` if outside memory.
    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let r = self.range(ptr, u64::from(len))?;
        Ok(&self.bytes[r])
    }

    /// The bytes `[ptr, ptr + len)` to write, or `Fault` if outside memory.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, u64::from(len))?;
        Ok(&mut self.bytes[r])
    }

    fn array<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        let r = self.range(ptr, N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[r]);
        Ok(out)
    }

    /// Reads a little-endian `u32` (wasm's byte order) at `ptr`.
    pub fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        self.array::<4>(ptr).map(u32::from_le_bytes)
    }

    /// Reads a little-endian `u64` at `ptr`.
    pub fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        self.array::<8>(ptr).map(u64::from_le_bytes)
    }

    /// Copies `data` to `ptr`; nothing is written unless all of it fits.
    pub fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let r = self.range(ptr, data.len() as u64)?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }

    /// Writes one byte at `ptr`.
    pub fn write_u8(&mut self, ptr: u32, v: u8) -> Result<(), Errno> {
        self.write(ptr, &[v])
    }

    /// Writes a little-endian `u16` at `ptr`.
    pub fn write_u16(&mut self, ptr: u32, v: u16) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// Writes a little-endian `u32` at `ptr`.
    pub fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// Writes a little-endian `u64` at `ptr`.
    pub fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// Reads an array of `count` iovecs at `ptr` and checks that every buffer
    /// they describe lies inside memory, so callers can fail before doing
    /// any I/O. The array itself is bounds-checked before anything is
    /// allocated, so a huge `count` costs nothing.
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<IoVec>, Errno> {
        let array = self.range(ptr, u64::from(count) * u64::from(IOVEC_SIZE))?;
        self.bytes[array]
            .chunks_exact(IOVEC_SIZE as usize)
            .map(|raw| {
                let buf = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                let len = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
                self.check(buf, u64::from(len))?;
                Ok(IoVec { ptr: buf, len })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_bounds_reads_and_writes() {
        let mut bytes = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut bytes);
        m.write_u32(0, 0xdead_beef).unwrap();
        m.write_u64(56, u64::MAX - 1).unwrap();
        m.write_u16(10, 0x1234).unwrap();
        m.write_u8(63, 7).unwrap();
        assert_eq!(m.read_u32(0).unwrap(), 0xdead_beef);
        assert_eq!(m.slice(0, 4).unwrap(), &[0xef, 0xbe, 0xad, 0xde]);
        assert_eq!(m.slice(10, 2).unwrap(), &[0x34, 0x12]);
        assert_eq!(m.slice(63, 1).unwrap(), &[7]);
        // Unaligned access is fine.
        m.write_u32(1, 5).unwrap();
        assert_eq!(m.read_u32(1).unwrap(), 5);
        // Empty slices at the very end are in bounds, one past is not.
        assert_eq!(m.slice(64, 0).unwrap(), &[] as &[u8]);
        assert_eq!(m.slice(65, 0), Err(Errno::Fault));
    }

    #[test]
    fn out_of_bounds_is_fault_and_writes_nothing() {
        let mut bytes = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut bytes);
        assert_eq!(m.read_u32(61), Err(Errno::Fault));
        assert_eq!(m.read_u64(57), Err(Errno::Fault));
        assert_eq!(m.write_u32(62, 1), Err(Errno::Fault));
        assert_eq!(m.write_u64(60, u64::MAX), Err(Errno::Fault));
        assert_eq!(m.slice(0, 65), Err(Errno::Fault));
        assert_eq!(m.slice_mut(u32::MAX, 1).unwrap_err(), Errno::Fault);
        // ptr + len would wrap in 32 bits: must not wrap to a small address.
        assert_eq!(m.slice(u32::MAX, u32::MAX), Err(Errno::Fault));
        assert_eq!(m.slice(1, u32::MAX), Err(Errno::Fault));
        assert!(
            bytes.iter().all(|&b| b == 0),
            "a failed write touched memory"
        );
    }

    #[test]
    fn no_memory_faults_on_everything_but_empty_access() {
        let mut m = GuestMemory::new(&mut []);
        assert!(m.is_empty());
        assert_eq!(m.read_u32(0), Err(Errno::Fault));
        assert_eq!(m.write_u8(0, 1), Err(Errno::Fault));
        assert!(m.check(0, 0).is_ok());
    }

    #[test]
    fn iovecs_are_checked_element_by_element() {
        let mut bytes = vec![0u8; 128];
        let mut m = GuestMemory::new(&mut bytes);
        // Two iovecs at 0: [100, 8) and [120, 8).
        m.write_u32(0, 100).unwrap();
        m.write_u32(4, 8).unwrap();
        m.write_u32(8, 120).unwrap();
        m.write_u32(12, 8).unwrap();
        assert_eq!(
            m.iovecs(0, 2).unwrap(),
            vec![IoVec { ptr: 100, len: 8 }, IoVec { ptr: 120, len: 8 }]
        );
        // Second buffer runs one byte past the end.
        m.write_u32(12, 9).unwrap();
        assert_eq!(m.iovecs(0, 2), Err(Errno::Fault));
        // First buffer alone is still fine.
        assert_eq!(m.iovecs(0, 1).unwrap().len(), 1);
        // The array itself out of bounds, and a count that would overflow
        // 32-bit arithmetic.
        assert_eq!(m.iovecs(124, 1), Err(Errno::Fault));
        assert_eq!(m.iovecs(0, u32::MAX), Err(Errno::Fault));
        assert_eq!(m.iovecs(0, 0).unwrap(), vec![]);
    }
}
