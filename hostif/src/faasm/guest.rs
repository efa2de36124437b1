//! Guest-memory helpers for the Faasm calls: every access goes through
//! [`GuestMemory`]'s checks and a failure names the call and the buffer.

use super::FaasmError;
use crate::memory::GuestMemory;

/// The longest C string (function name, state key) the host looks for a NUL
/// in, terminator included.
pub const MAX_CSTR: u32 = 1024;

fn out_of_bounds(
    mem: &GuestMemory<'_>,
    call: &'static str,
    what: &'static str,
    ptr: u32,
    len: u64,
) -> FaasmError {
    FaasmError::OutOfBounds {
        call,
        what,
        ptr,
        len,
        memory: mem.len(),
    }
}

pub(crate) fn slice<'m>(
    mem: &'m GuestMemory<'_>,
    call: &'static str,
    what: &'static str,
    ptr: u32,
    len: u32,
) -> Result<&'m [u8], FaasmError> {
    match mem.check(ptr, u64::from(len)) {
        Ok(()) => Ok(mem.slice(ptr, len).expect("checked")),
        Err(_) => Err(out_of_bounds(mem, call, what, ptr, u64::from(len))),
    }
}

pub(crate) fn slice_mut<'m>(
    mem: &'m mut GuestMemory<'_>,
    call: &'static str,
    what: &'static str,
    ptr: u32,
    len: u32,
) -> Result<&'m mut [u8], FaasmError> {
    if mem.check(ptr, u64::from(len)).is_err() {
        return Err(out_of_bounds(mem, call, what, ptr, u64::from(len)));
    }
    Ok(mem.slice_mut(ptr, len).expect("checked"))
}

/// A NUL-terminated UTF-8 string at `ptr`, at most [`MAX_CSTR`] bytes
/// including the NUL.
pub(crate) fn read_cstr(
    mem: &GuestMemory<'_>,
    call: &'static str,
    what: &'static str,
    ptr: u32,
) -> Result<String, FaasmError> {
    if u64::from(ptr) >= mem.len() as u64 {
        return Err(out_of_bounds(mem, call, what, ptr, 1));
    }
    let avail = (mem.len() as u64 - u64::from(ptr)).min(u64::from(MAX_CSTR)) as u32;
    let bytes = mem.slice(ptr, avail).expect("within memory");
    let Some(end) = bytes.iter().position(|&b| b == 0) else {
        return Err(FaasmError::Unterminated { call, what, ptr });
    };
    String::from_utf8(bytes[..end].to_vec()).map_err(|_| FaasmError::NotUtf8 { call, what, ptr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cstrings_are_bounded() {
        let mut bytes = vec![b'k'; 2048];
        bytes[5] = 0;
        bytes[2000] = 0;
        let mem = GuestMemory::new(&mut bytes);
        assert_eq!(read_cstr(&mem, "c", "key", 0).unwrap(), "kkkkk");
        assert_eq!(read_cstr(&mem, "c", "key", 5).unwrap(), "");
        // 1994 bytes before the NUL: longer than the limit.
        let e = read_cstr(&mem, "c", "key", 6).unwrap_err();
        assert_eq!(
            e.to_string(),
            "c: key at 0x6 is not NUL-terminated within 1024 bytes"
        );
        assert_eq!(
            read_cstr(&mem, "c", "key", 2048).unwrap_err().to_string(),
            "c: key 0x800 + 1 is outside memory (2048 bytes)"
        );
        // Exactly at the limit: 1023 characters and the NUL.
        let mut bytes = vec![b'a'; 1024];
        bytes[1023] = 0;
        assert_eq!(
            read_cstr(&GuestMemory::new(&mut bytes), "c", "k", 0)
                .unwrap()
                .len(),
            1023
        );
        let mut bad = vec![0xff, 0];
        assert!(read_cstr(&GuestMemory::new(&mut bad), "c", "k", 0).is_err());
    }
}
