//! Descriptor functions common to every kind of descriptor: reading and
//! writing, status, seeking, closing. The standard streams are handled
//! here; files and directories are passed on to `fs_file.rs`.
//!
//! Every function validates all of its guest pointers before doing any I/O,
//! so a bad pointer yields `EFAULT` with nothing written to the stream.

use super::ctx::{FdEntry, WasiState};
use super::fdtable::FDFLAGS_APPEND;
use super::filetype;
use super::fs_file;
use super::iov;
use crate::errno::Errno;
use crate::memory::GuestMemory;

/// `filetype::character_device`: what the standard streams look like.
pub const FILETYPE_CHARACTER_DEVICE: u8 = 2;
/// Size of `fdstat` in guest memory: `{filetype u8 @0, flags u16 @2,
/// rights_base u64 @8, rights_inheriting u64 @16}`.
pub const FDSTAT_SIZE: u32 = 24;

/// Rights bits (`rights` in the spec) the standard streams carry.
pub const RIGHT_FD_READ: u64 = 1 << 1;
pub const RIGHT_FD_WRITE: u64 = 1 << 6;
pub const RIGHT_POLL_FD_READWRITE: u64 = 1 << 27;

/// `whence` values of `fd_seek`.
const WHENCE_END: u32 = 2;

pub fn fd_write(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> Result<(), Errno> {
    let sink = match st.fd(fd) {
        Some(FdEntry::Output(sink)) => sink,
        Some(FdEntry::File(f)) => return fs_file::write(f, mem, iovs, iovs_len, None, nwritten),
        Some(FdEntry::Input(_) | FdEntry::Dir(_)) | None => return Err(Errno::Badf),
    };
    let iovs = iov::checked(mem, iovs, iovs_len, nwritten)?;
    let written = iov::gather(mem, &iovs, |data, _| sink.write(data))?;
    if written == 0 && iovs.iter().any(|v| v.len > 0) {
        // Nothing fitted into a bounded pipe.
        return Err(Errno::Nospc);
    }
    mem.write_u32(nwritten, written)
}

pub fn fd_read(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Result<(), Errno> {
    let source = match st.fd(fd) {
        Some(FdEntry::Input(source)) => source,
        Some(FdEntry::File(f)) => return fs_file::read(f, mem, iovs, iovs_len, None, nread),
        Some(FdEntry::Dir(_)) => return Err(Errno::Isdir),
        Some(FdEntry::Output(_)) | None => return Err(Errno::Badf),
    };
    let iovs = iov::checked(mem, iovs, iovs_len, nread)?;
    // A source that may block is read once, so data already received is
    // returned rather than held while waiting for more.
    let total = iov::scatter(mem, &iovs, source.may_block(), |buf, _| source.read(buf))?;
    mem.write_u32(nread, total)
}

pub fn fd_close(st: &mut WasiState, fd: u32) -> Result<(), Errno> {
    // Closing a standard stream only removes the guest's handle to it; the
    // host's own stream stays open.
    match st.fds.get_mut(fd as usize) {
        Some(slot @ Some(_)) => {
            *slot = None;
            Ok(())
        }
        _ => Err(Errno::Badf),
    }
}

pub fn fd_fdstat_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    // (filetype, flags, rights, rights_inheriting); only directories
    // pass rights on, only files can be in append mode.
    let (ty, flags, rights, inheriting) = match st.fd(fd).ok_or(Errno::Badf)? {
        FdEntry::Input(_) => (
            FILETYPE_CHARACTER_DEVICE,
            0,
            RIGHT_FD_READ | RIGHT_POLL_FD_READWRITE,
            0,
        ),
        FdEntry::Output(_) => (
            FILETYPE_CHARACTER_DEVICE,
            0,
            RIGHT_FD_WRITE | RIGHT_POLL_FD_READWRITE,
            0,
        ),
        FdEntry::File(f) => {
            let flags = f.flags | if f.append { FDFLAGS_APPEND } else { 0 };
            (f.filetype, flags, f.rights, 0)
        }
        FdEntry::Dir(d) => (filetype::DIRECTORY, 0, d.rights, d.inheriting),
    };
    let mut stat = [0u8; FDSTAT_SIZE as usize];
    stat[0] = ty;
    stat[2..4].copy_from_slice(&flags.to_le_bytes());
    stat[8..16].copy_from_slice(&rights.to_le_bytes());
    stat[16..24].copy_from_slice(&inheriting.to_le_bytes());
    mem.write(out, &stat)
}

pub fn fd_seek(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: i64,
    whence: u32,
    newoffset: u32,
) -> Result<(), Errno> {
    let entry = st.fd(fd).ok_or(Errno::Badf)?;
    if whence > WHENCE_END {
        return Err(Errno::Inval);
    }
    mem.check(newoffset, 8)?;
    match entry {
        FdEntry::File(f) => fs_file::seek(f, mem, offset, whence, newoffset),
        FdEntry::Dir(_) => Err(Errno::Badf),
        // The standard streams are streams: not seekable.
        FdEntry::Input(_) | FdEntry::Output(_) => Err(Errno::Spipe),
    }
}

pub fn fd_tell(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: u32,
) -> Result<(), Errno> {
    let entry = st.fd(fd).ok_or(Errno::Badf)?;
    mem.check(offset, 8)?;
    match entry {
        FdEntry::File(f) => fs_file::seek(f, mem, 0, 1, offset),
        FdEntry::Dir(_) => Err(Errno::Badf),
        FdEntry::Input(_) | FdEntry::Output(_) => Err(Errno::Spipe),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::{OutputPipe, WasiCtx};

    struct Fixture {
        ctx: WasiCtx,
        out: OutputPipe,
        err: OutputPipe,
        mem: Vec<u8>,
    }

    fn fixture(stdin: &str) -> Fixture {
        let out = OutputPipe::new();
        let err = OutputPipe::new();
        let ctx = WasiCtx::builder()
            .stdout_pipe(out.clone())
            .stderr_pipe(err.clone())
            .stdin_bytes(stdin)
            .build()
            .unwrap();
        Fixture {
            ctx,
            out,
            err,
            mem: vec![0; 256],
        }
    }

    /// Lays out `bufs` at 64.. and their iovec array at 0; returns the count.
    fn iovs(mem: &mut GuestMemory<'_>, bufs: &[&[u8]]) -> u32 {
        let mut at = 64;
        for (i, b) in bufs.iter().enumerate() {
            mem.write(at, b).unwrap();
            mem.write_u32(i as u32 * 8, at).unwrap();
            mem.write_u32(i as u32 * 8 + 4, b.len() as u32).unwrap();
            at += b.len() as u32;
        }
        bufs.len() as u32
    }

    #[test]
    fn write_gathers_iovecs_to_the_right_stream() {
        let mut f = fixture("");
        let st = f.ctx.lock();
        let mut mem = GuestMemory::new(&mut f.mem);
        let n = iovs(&mut mem, &[b"Hello, ", b"", b"world!\n"]);
        fd_write(&st, &mut mem, 1, 0, n, 200).unwrap();
        assert_eq!(mem.read_u32(200).unwrap(), 14);
        fd_write(&st, &mut mem, 2, 0, 1, 200).unwrap();
        assert_eq!(mem.read_u32(200).unwrap(), 7);
        assert_eq!(f.out.contents(), b"Hello, world!\n");
        assert_eq!(f.err.contents(), b"Hello, ");
    }

    #[test]
    fn write_with_bad_pointers_is_efault_and_writes_nothing() {
        let mut f = fixture("");
        let st = f.ctx.lock();
        let mut mem = GuestMemory::new(&mut f.mem);
        let n = iovs(&mut mem, &[b"abc", b"def"]);
        // nwritten out of bounds.
        assert_eq!(fd_write(&st, &mut mem, 1, 0, n, 254), Err(Errno::Fault));
        // iovec array out of bounds / absurd count.
        assert_eq!(fd_write(&st, &mut mem, 1, 250, 1, 200), Err(Errno::Fault));
        assert_eq!(
            fd_write(&st, &mut mem, 1, 0, u32::MAX, 200),
            Err(Errno::Fault)
        );
        // Second buffer points past the end of memory.
        mem.write_u32(8, 255).unwrap();
        assert_eq!(fd_write(&st, &mut mem, 1, 0, n, 200), Err(Errno::Fault));
        mem.write_u32(8, u32::MAX).unwrap();
        assert_eq!(fd_write(&st, &mut mem, 1, 0, n, 200), Err(Errno::Fault));
        assert!(
            f.out.contents().is_empty(),
            "a faulting write produced output"
        );
    }

    #[test]
    fn write_to_wrong_or_closed_descriptor_is_ebadf() {
        let mut f = fixture("");
        let mut st = f.ctx.lock();
        let mut mem = GuestMemory::new(&mut f.mem);
        let n = iovs(&mut mem, &[b"x"]);
        assert_eq!(fd_write(&st, &mut mem, 0, 0, n, 200), Err(Errno::Badf));
        assert_eq!(fd_write(&st, &mut mem, 3, 0, n, 200), Err(Errno::Badf));
        fd_close(&mut st, 1).unwrap();
        assert_eq!(fd_write(&st, &mut mem, 1, 0, n, 200), Err(Errno::Badf));
        assert_eq!(fd_close(&mut st, 1), Err(Errno::Badf));
        assert_eq!(fd_close(&mut st, 99), Err(Errno::Badf));
        // stderr is unaffected.
        fd_write(&st, &mut mem, 2, 0, n, 200).unwrap();
        assert_eq!(f.err.contents(), b"x");
    }

    #[test]
    fn full_pipe_gives_short_write_then_enospc() {
        let pipe = OutputPipe::with_limit(4);
        let ctx = WasiCtx::builder()
            .stdout_pipe(pipe.clone())
            .build()
            .unwrap();
        let st = ctx.lock();
        let mut bytes = vec![0u8; 256];
        let mut mem = GuestMemory::new(&mut bytes);
        let n = iovs(&mut mem, &[b"abc", b"def"]);
        fd_write(&st, &mut mem, 1, 0, n, 200).unwrap();
        assert_eq!(mem.read_u32(200).unwrap(), 4);
        assert_eq!(fd_write(&st, &mut mem, 1, 0, n, 200), Err(Errno::Nospc));
        assert_eq!(pipe.contents(), b"abcd");
    }

    #[test]
    fn read_scatters_stdin_then_eof() {
        let mut f = fixture("hello");
        let st = f.ctx.lock();
        let mut mem = GuestMemory::new(&mut f.mem);
        // Two 3-byte buffers at 64 and 67.
        let n = iovs(&mut mem, &[b"...", b"..."]);
        fd_read(&st, &mut mem, 0, 0, n, 200).unwrap();
        assert_eq!(mem.read_u32(200).unwrap(), 5);
        assert_eq!(mem.slice(64, 6).unwrap(), b"hello.");
        fd_read(&st, &mut mem, 0, 0, n, 200).unwrap();
        assert_eq!(mem.read_u32(200).unwrap(), 0);
        assert_eq!(fd_read(&st, &mut mem, 1, 0, n, 200), Err(Errno::Badf));
        assert_eq!(fd_read(&st, &mut mem, 0, 0, n, 256), Err(Errno::Fault));
    }

    #[test]
    fn fdstat_describes_character_devices() {
        let mut f = fixture("");
        let mut st = f.ctx.lock();
        let mut mem = GuestMemory::new(&mut f.mem);
        mem.write(100, &[0xff; 24]).unwrap();
        fd_fdstat_get(&st, &mut mem, 1, 100).unwrap();
        assert_eq!(mem.slice(100, 1).unwrap(), &[FILETYPE_CHARACTER_DEVICE]);
        assert_eq!(mem.slice(102, 2).unwrap(), &[0, 0]);
        assert_eq!(
            mem.read_u64(108).unwrap(),
            RIGHT_FD_WRITE | RIGHT_POLL_FD_READWRITE
        );
        assert_eq!(mem.read_u64(116).unwrap(), 0);
        fd_fdstat_get(&st, &mut mem, 0, 100).unwrap();
        assert_eq!(
            mem.read_u64(108).unwrap(),
            RIGHT_FD_READ | RIGHT_POLL_FD_READWRITE
        );
        assert_eq!(fd_fdstat_get(&st, &mut mem, 1, 240), Err(Errno::Fault));
        assert_eq!(fd_fdstat_get(&st, &mut mem, 5, 100), Err(Errno::Badf));
        fd_close(&mut st, 0).unwrap();
        assert_eq!(fd_fdstat_get(&st, &mut mem, 0, 100), Err(Errno::Badf));
    }

    #[test]
    fn streams_do_not_seek_and_nothing_is_preopened() {
        let mut f = fixture("");
        let st = f.ctx.lock();
        let mut mem = GuestMemory::new(&mut f.mem);
        assert_eq!(fd_seek(&st, &mut mem, 1, 0, 0, 100), Err(Errno::Spipe));
        assert_eq!(fd_seek(&st, &mut mem, 1, 0, 3, 100), Err(Errno::Inval));
        assert_eq!(fd_seek(&st, &mut mem, 7, 0, 0, 100), Err(Errno::Badf));
        assert_eq!(fd_seek(&st, &mut mem, 1, 0, 0, 252), Err(Errno::Fault));
        assert_eq!(fd_tell(&st, &mut mem, 2, 100), Err(Errno::Spipe));
        use crate::wasi::fs_dir::{fd_prestat_dir_name, fd_prestat_get};
        assert_eq!(fd_prestat_get(&st, &mut mem, 3, 100), Err(Errno::Badf));
        assert_eq!(fd_prestat_get(&st, &mut mem, 1, 100), Err(Errno::Badf));
        assert_eq!(
            fd_prestat_dir_name(&st, &mut mem, 3, 100, 4),
            Err(Errno::Badf)
        );
    }
}
