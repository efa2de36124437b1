//! The `readv`/`writev` loops behind `fd_read`, `fd_write`, `fd_pread` and
//! `fd_pwrite`, for streams and files alike.
//!
//! Every pointer is checked before the first byte moves (the iovec array,
//! each buffer, the result slot), so `EFAULT` means nothing happened. As
//! with `readv(2)`/`writev(2)`, a short transfer ends the call and an error
//! after some bytes moved is a short count, not a failure.

use super::fs_errno::io_errno;
use crate::errno::Errno;
use crate::memory::{GuestMemory, IoVec};

/// The iovecs at `iovs`, checked along with the 4-byte result slot at
/// `nresult`; their total length must fit the u32 count.
pub(crate) fn checked(
    mem: &GuestMemory<'_>,
    iovs: u32,
    iovs_len: u32,
    nresult: u32,
) -> Result<Vec<IoVec>, Errno> {
    mem.check(nresult, 4)?;
    let iovs = mem.iovecs(iovs, iovs_len)?;
    let total: u64 = iovs.iter().map(|v| u64::from(v.len)).sum();
    u32::try_from(total).map_err(|_| Errno::Inval)?;
    Ok(iovs)
}

/// Writes each buffer with `write(data, written_so_far)`; the count.
pub(crate) fn gather(
    mem: &GuestMemory<'_>,
    iovs: &[IoVec],
    mut write: impl FnMut(&[u8], u32) -> std::io::Result<usize>,
) -> Result<u32, Errno> {
    let mut written: u32 = 0;
    for v in iovs.iter().filter(|v| v.len > 0) {
        let data = mem.slice(v.ptr, v.len)?;
        match write(data, written) {
            Ok(n) => {
                // n <= v.len, and the lengths sum to a u32 (`checked`).
                written += n as u32;
                if n < data.len() {
                    break;
                }
            }
            Err(_) if written > 0 => break,
            Err(e) => return Err(io_errno(&e)),
        }
    }
    Ok(written)
}

/// Fills each buffer with `read(buf, read_so_far)`; the count. `once`:
/// stop after the first read that returned data, so a source that may
/// block hands over what it has instead of holding it for more.
pub(crate) fn scatter(
    mem: &mut GuestMemory<'_>,
    iovs: &[IoVec],
    once: bool,
    mut read: impl FnMut(&mut [u8], u32) -> std::io::Result<usize>,
) -> Result<u32, Errno> {
    let mut total: u32 = 0;
    for v in iovs.iter().filter(|v| v.len > 0) {
        let buf = mem.slice_mut(v.ptr, v.len)?;
        match read(buf, total) {
            Ok(n) => {
                total += n as u32;
                if n < buf.len() || once {
                    break;
                }
            }
            Err(_) if total > 0 => break,
            Err(e) => return Err(io_errno(&e)),
        }
    }
    Ok(total)
}
