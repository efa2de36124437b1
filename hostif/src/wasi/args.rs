//! `args_*` and `environ_*`: both hand out a list of NUL-terminated strings
//! as an array of pointers into one buffer the guest allocated after asking
//! for the sizes.

use super::ctx::WasiState;
use crate::errno::Errno;
use crate::memory::GuestMemory;

/// `(count, total bytes including the NULs)`, each of which must fit `size`.
fn sizes(list: &[Vec<u8>]) -> Result<(u32, u32), Errno> {
    let count = u32::try_from(list.len()).map_err(|_| Errno::Overflow)?;
    let bytes: u64 = list.iter().map(|s| s.len() as u64 + 1).sum();
    let bytes = u32::try_from(bytes).map_err(|_| Errno::Overflow)?;
    Ok((count, bytes))
}

fn write_sizes(
    list: &[Vec<u8>],
    mem: &mut GuestMemory<'_>,
    count_out: u32,
    size_out: u32,
) -> Result<(), Errno> {
    let (count, bytes) = sizes(list)?;
    mem.check(count_out, 4)?;
    mem.check(size_out, 4)?;
    mem.write_u32(count_out, count)?;
    mem.write_u32(size_out, bytes)
}

fn write_list(
    list: &[Vec<u8>],
    mem: &mut GuestMemory<'_>,
    ptrs: u32,
    buf: u32,
) -> Result<(), Errno> {
    let (count, bytes) = sizes(list)?;
    // Check both regions up front so a fault leaves memory untouched.
    mem.check(ptrs, u64::from(count) * 4)?;
    mem.check(buf, u64::from(bytes))?;
    let mut at = buf;
    for (i, s) in list.iter().enumerate() {
        mem.write_u32(ptrs + 4 * i as u32, at)?;
        mem.write(at, s)?;
        mem.write_u8(at + s.len() as u32, 0)?;
        // Cannot wrap: the whole buffer was checked to lie below 2^32.
        at += s.len() as u32 + 1;
    }
    Ok(())
}

pub fn args_sizes_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    argc: u32,
    buf_size: u32,
) -> Result<(), Errno> {
    write_sizes(&st.args, mem, argc, buf_size)
}

pub fn args_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    argv: u32,
    buf: u32,
) -> Result<(), Errno> {
    write_list(&st.args, mem, argv, buf)
}

pub fn environ_sizes_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    count: u32,
    buf_size: u32,
) -> Result<(), Errno> {
    write_sizes(&st.env, mem, count, buf_size)
}

pub fn environ_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    environ: u32,
    buf: u32,
) -> Result<(), Errno> {
    write_list(&st.env, mem, environ, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtx;

    #[test]
    fn args_round_trip_through_guest_memory() {
        let ctx = WasiCtx::builder()
            .args(["prog", "", "two words"])
            .build()
            .unwrap();
        let st = ctx.lock();
        let mut bytes = vec![0u8; 128];
        let mut mem = GuestMemory::new(&mut bytes);
        args_sizes_get(&st, &mut mem, 0, 4).unwrap();
        assert_eq!(mem.read_u32(0).unwrap(), 3);
        assert_eq!(mem.read_u32(4).unwrap(), 5 + 1 + 10);
        args_get(&st, &mut mem, 16, 64).unwrap();
        let ptrs: Vec<u32> = (0..3).map(|i| mem.read_u32(16 + 4 * i).unwrap()).collect();
        assert_eq!(ptrs, vec![64, 69, 70]);
        assert_eq!(mem.slice(64, 16).unwrap(), b"prog\0\0two words\0");
    }

    #[test]
    fn environ_round_trip() {
        let ctx = WasiCtx::builder()
            .env("A", "1")
            .env("HOME", "/")
            .build()
            .unwrap();
        let st = ctx.lock();
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);
        environ_sizes_get(&st, &mut mem, 0, 4).unwrap();
        assert_eq!(
            (mem.read_u32(0).unwrap(), mem.read_u32(4).unwrap()),
            (2, 11)
        );
        environ_get(&st, &mut mem, 8, 32).unwrap();
        assert_eq!(mem.read_u32(8).unwrap(), 32);
        assert_eq!(mem.read_u32(12).unwrap(), 36);
        assert_eq!(mem.slice(32, 11).unwrap(), b"A=1\0HOME=/\0");
    }

    #[test]
    fn bad_pointers_fault_without_partial_writes() {
        let ctx = WasiCtx::builder().args(["prog", "arg"]).build().unwrap();
        let st = ctx.lock();
        let mut bytes = vec![0u8; 32];
        let mut mem = GuestMemory::new(&mut bytes);
        // Pointer array fits, string buffer (9 bytes) runs past the end.
        assert_eq!(args_get(&st, &mut mem, 0, 24), Err(Errno::Fault));
        // Pointer array (8 bytes) runs past the end.
        assert_eq!(args_get(&st, &mut mem, 28, 0), Err(Errno::Fault));
        assert_eq!(args_sizes_get(&st, &mut mem, 0, 30), Err(Errno::Fault));
        assert_eq!(
            args_sizes_get(&st, &mut mem, u32::MAX, 0),
            Err(Errno::Fault)
        );
        assert!(
            bytes.iter().all(|&b| b == 0),
            "a faulting call wrote to memory"
        );
    }

    #[test]
    fn empty_lists() {
        let ctx = WasiCtx::builder().build().unwrap();
        let st = ctx.lock();
        let mut bytes = vec![0xffu8; 8];
        let mut mem = GuestMemory::new(&mut bytes);
        environ_sizes_get(&st, &mut mem, 0, 4).unwrap();
        assert_eq!((mem.read_u32(0).unwrap(), mem.read_u32(4).unwrap()), (0, 0));
        // Nothing to write, but the pointers are still checked.
        environ_get(&st, &mut mem, 8, 8).unwrap();
        assert_eq!(environ_get(&st, &mut mem, 100, 0), Err(Errno::Fault));
    }
}
