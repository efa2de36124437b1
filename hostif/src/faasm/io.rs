//! `__faasm_read_input` and `__faasm_write_output`.

use super::FaasmError;
use super::guest::{slice, slice_mut};
use crate::memory::GuestMemory;
use std::sync::Mutex;

/// `len == 0`: the input's size; else copies `min(len, size)` bytes to
/// `buf` and returns how many.
pub(crate) fn read_input(
    input: &[u8],
    mem: &mut GuestMemory<'_>,
    buf: u32,
    len: u32,
) -> Result<i32, FaasmError> {
    const CALL: &str = "__faasm_read_input";
    let size = i32::try_from(input.len()).unwrap_or(i32::MAX);
    if len == 0 {
        return Ok(size);
    }
    let dst = slice_mut(mem, CALL, "guest buffer", buf, len)?;
    let n = input.len().min(len as usize);
    dst[..n].copy_from_slice(&input[..n]);
    Ok(n as i32)
}

/// Replaces the call's output with `buf[..len]`.
pub(crate) fn write_output(
    output: &Mutex<Option<Vec<u8>>>,
    limit: usize,
    mem: &GuestMemory<'_>,
    buf: u32,
    len: u32,
) -> Result<(), FaasmError> {
    const CALL: &str = "__faasm_write_output";
    // The limit comes first: a 1 GB write fails the same way wherever it
    // points.
    if len as usize > limit {
        return Err(FaasmError::OutputLimit {
            len: len as usize,
            limit,
        });
    }
    let data = slice(mem, CALL, "guest buffer", buf, len)?.to_vec();
    *output.lock().unwrap_or_else(|e| e.into_inner()) = Some(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_input_size_then_copy() {
        let mut bytes = vec![0u8; 32];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(read_input(b"hello", &mut mem, 0, 0).unwrap(), 5);
        assert_eq!(read_input(b"hello", &mut mem, 4, 3).unwrap(), 3);
        assert_eq!(mem.slice(4, 4).unwrap(), b"hel\0");
        assert_eq!(read_input(b"hello", &mut mem, 10, 20).unwrap(), 5);
        assert_eq!(mem.slice(10, 6).unwrap(), b"hello\0");
        assert_eq!(read_input(b"", &mut mem, 0, 8).unwrap(), 0);
        let e = read_input(b"hello", &mut mem, 30, 4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "__faasm_read_input: guest buffer 0x1e + 4 is outside memory (32 bytes)"
        );
        // A length that wraps 32-bit arithmetic.
        assert!(read_input(b"x", &mut mem, 8, u32::MAX).is_err());
    }

    #[test]
    fn write_output_replaces_and_is_limited() {
        let out = Mutex::new(None);
        let mut bytes = vec![7u8; 32];
        let mem = GuestMemory::new(&mut bytes);
        write_output(&out, 16, &mem, 0, 4).unwrap();
        write_output(&out, 16, &mem, 0, 2).unwrap();
        assert_eq!(out.lock().unwrap().as_deref(), Some(&[7u8, 7][..]));
        write_output(&out, 16, &mem, 32, 0).unwrap();
        assert_eq!(out.lock().unwrap().as_deref(), Some(&[][..]));
        let e = write_output(&out, 16, &mem, 0, 17).unwrap_err();
        assert!(e.to_string().contains("output limit exceeded"), "{e}");
        assert!(write_output(&out, 64, &mem, 20, 16).is_err());
        assert_eq!(out.lock().unwrap().as_deref(), Some(&[][..]));
    }
}
