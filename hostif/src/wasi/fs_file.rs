//! Descriptor calls on opened files and directories: reading and writing
//! (positioned or not), seeking, status, size, sync, flags, renumbering.
//!
//! As everywhere in hostif, each call checks all of its guest pointers
//! before any host I/O, so `EFAULT` leaves the file untouched.

use super::ctx::{FdEntry, WasiState};
use super::fdtable::{FDFLAGS_APPEND, OpenFile, rights};
use super::filetype;
use super::fs_errno::io_errno;
use super::iov;
use crate::errno::Errno;
use crate::memory::GuestMemory;
use std::fs::Metadata;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};

/// Size of `filestat`: `{dev u64 @0, ino u64 @8, filetype u8 @16,
/// nlink u64 @24, size u64 @32, atim u64 @40, mtim u64 @48, ctim u64 @56}`.
pub const FILESTAT_SIZE: u32 = 64;

fn file(st: &WasiState, fd: u32) -> Result<&OpenFile, Errno> {
    match st.fd(fd) {
        Some(FdEntry::File(f)) => Ok(f),
        Some(FdEntry::Dir(_)) => Err(Errno::Isdir),
        Some(_) => Err(Errno::Spipe),
        None => Err(Errno::Badf),
    }
}

/// Writes the iovecs at `offset` (or the current position, or the end in
/// append mode); stores the count at `nwritten`.
pub(crate) fn write(
    f: &OpenFile,
    mem: &mut GuestMemory<'_>,
    iovs: u32,
    iovs_len: u32,
    offset: Option<u64>,
    nwritten: u32,
) -> Result<(), Errno> {
    if f.rights & rights::FD_WRITE == 0 {
        return Err(Errno::Badf);
    }
    let iovs = iov::checked(mem, iovs, iovs_len, nwritten)?;
    if f.append && offset.is_none() {
        (&f.file).seek(SeekFrom::End(0)).map_err(|e| io_errno(&e))?;
    }
    if f.quota.is_some() {
        let len: u64 = iovs.iter().map(|v| u64::from(v.len)).sum();
        let at = match offset {
            Some(at) => at,
            None => (&f.file).stream_position().map_err(|e| io_errno(&e))?,
        };
        grow_to(f, at.saturating_add(len))?;
    }
    let written = iov::gather(mem, &iovs, |data, done| match offset {
        Some(at) => f.file.write_at(data, at.saturating_add(u64::from(done))),
        None => (&f.file).write(data),
    })?;
    mem.write_u32(nwritten, written)
}

/// Reads into the iovecs from `offset` (or the current position); stores
/// the count at `nread`. A short read ends the call, like `readv(2)`.
pub(crate) fn read(
    f: &OpenFile,
    mem: &mut GuestMemory<'_>,
    iovs: u32,
    iovs_len: u32,
    offset: Option<u64>,
    nread: u32,
) -> Result<(), Errno> {
    if f.rights & rights::FD_READ == 0 {
        return Err(Errno::Badf);
    }
    let iovs = iov::checked(mem, iovs, iovs_len, nread)?;
    let total = iov::scatter(mem, &iovs, false, |buf, done| match offset {
        Some(at) => f.file.read_at(buf, at.saturating_add(u64::from(done))),
        None => (&f.file).read(buf),
    })?;
    mem.write_u32(nread, total)
}

pub fn fd_pread(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> Result<(), Errno> {
    read(file(st, fd)?, mem, iovs, iovs_len, Some(offset), nread)
}

pub fn fd_pwrite(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> Result<(), Errno> {
    write(file(st, fd)?, mem, iovs, iovs_len, Some(offset), nwritten)
}

/// `fd_seek` on a file (`whence` already checked by the caller).
pub(crate) fn seek(
    f: &OpenFile,
    mem: &mut GuestMemory<'_>,
    offset: i64,
    whence: u32,
    newoffset: u32,
) -> Result<(), Errno> {
    mem.check(newoffset, 8)?;
    let to = match whence {
        0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        1 => SeekFrom::Current(offset),
        _ => SeekFrom::End(offset),
    };
    let pos = (&f.file).seek(to).map_err(|e| io_errno(&e))?;
    mem.write_u64(newoffset, pos)
}

fn nanos(secs: i64, nsec: i64) -> u64 {
    // Times before 1970 have no unsigned representation: clamp to 0.
    u64::try_from(secs)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(nsec).unwrap_or(0))
}

/// Writes a `filestat` for `m` at `out`.
pub(crate) fn write_filestat(
    mem: &mut GuestMemory<'_>,
    out: u32,
    m: &Metadata,
) -> Result<(), Errno> {
    let mut b = [0u8; FILESTAT_SIZE as usize];
    b[0..8].copy_from_slice(&m.dev().to_le_bytes());
    b[8..16].copy_from_slice(&m.ino().to_le_bytes());
    b[16] = filetype::of(m.file_type());
    b[24..32].copy_from_slice(&m.nlink().to_le_bytes());
    b[32..40].copy_from_slice(&m.size().to_le_bytes());
    b[40..48].copy_from_slice(&nanos(m.atime(), m.atime_nsec()).to_le_bytes());
    b[48..56].copy_from_slice(&nanos(m.mtime(), m.mtime_nsec()).to_le_bytes());
    b[56..64].copy_from_slice(&nanos(m.ctime(), m.ctime_nsec()).to_le_bytes());
    mem.write(out, &b)
}

pub fn fd_filestat_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    mem.check(out, u64::from(FILESTAT_SIZE))?;
    match st.fd(fd).ok_or(Errno::Badf)? {
        FdEntry::File(f) => {
            let m = f.file.metadata().map_err(|e| io_errno(&e))?;
            write_filestat(mem, out, &m)
        }
        FdEntry::Dir(d) => {
            let (_, m) = d.vfs.lstat(&d.rel)?.ok_or(Errno::Noent)?;
            write_filestat(mem, out, &m)
        }
        FdEntry::Input(_) | FdEntry::Output(_) => {
            // The host's stdio are not the guest's business: a bare
            // character device with nothing else known.
            let mut b = [0u8; FILESTAT_SIZE as usize];
            b[16] = filetype::CHARACTER_DEVICE;
            mem.write(out, &b)
        }
    }
}

pub fn fd_filestat_set_size(st: &WasiState, fd: u32, size: u64) -> Result<(), Errno> {
    let f = file(st, fd).map_err(|e| if e == Errno::Spipe { Errno::Inval } else { e })?;
    if f.rights & rights::FD_WRITE == 0 {
        return Err(Errno::Badf);
    }
    if size > i64::MAX as u64 {
        return Err(Errno::Fbig);
    }
    if let Some(q) = &f.quota {
        if size < current_size(f)? {
            q.freed();
        }
        grow_to(f, size)?;
    }
    f.file.set_len(size).map_err(|e| io_errno(&e))
}

fn current_size(f: &OpenFile) -> Result<u64, Errno> {
    Ok(f.file.metadata().map_err(|e| io_errno(&e))?.len())
}

/// Charges the file's quota for making it `end` bytes long, if that is
/// longer than it is.
fn grow_to(f: &OpenFile, end: u64) -> Result<(), Errno> {
    let Some(q) = &f.quota else {
        return Ok(());
    };
    let size = current_size(f)?;
    if end > size {
        q.charge(end - size)?;
    }
    Ok(())
}

/// `fd_sync` and `fd_datasync`: real syncs on files, nothing to do for a
/// directory (its entries are synced with the files), `EINVAL` on streams
/// like `fsync(2)` on a pipe.
pub fn fd_sync(st: &WasiState, fd: u32, data_only: bool) -> Result<(), Errno> {
    match st.fd(fd).ok_or(Errno::Badf)? {
        FdEntry::File(f) => {
            let r = if data_only {
                f.file.sync_data()
            } else {
                f.file.sync_all()
            };
            r.map_err(|e| io_errno(&e))
        }
        FdEntry::Dir(_) => Ok(()),
        _ => Err(Errno::Inval),
    }
}

/// Advice is only a hint: checked, then ignored.
pub fn fd_advise(
    st: &WasiState,
    fd: u32,
    _offset: u64,
    _len: u64,
    advice: u32,
) -> Result<(), Errno> {
    file(st, fd)?;
    if advice > 5 {
        return Err(Errno::Inval);
    }
    Ok(())
}

/// Makes the file at least `offset + len` bytes long (new bytes read as
/// zeros, possibly sparse: the guarantee of space is not given).
pub fn fd_allocate(st: &WasiState, fd: u32, offset: u64, len: u64) -> Result<(), Errno> {
    let f = file(st, fd)?;
    if f.rights & rights::FD_WRITE == 0 {
        return Err(Errno::Badf);
    }
    let end = offset.checked_add(len).filter(|&e| e <= i64::MAX as u64);
    let end = end.ok_or(Errno::Fbig)?;
    let size = current_size(f)?;
    if end > size {
        grow_to(f, end)?;
        f.file.set_len(end).map_err(|e| io_errno(&e))?;
    }
    Ok(())
}

/// Only `append` can be changed; asking to change any other flag is
/// `ENOTSUP` (the sync flags are fixed when the file is opened).
pub fn fd_fdstat_set_flags(st: &mut WasiState, fd: u32, flags: u32) -> Result<(), Errno> {
    let entry = st.fd_mut(fd).ok_or(Errno::Badf)?;
    let other = flags & !u32::from(FDFLAGS_APPEND);
    match entry {
        FdEntry::File(f) if other == u32::from(f.flags) => {
            f.append = flags & u32::from(FDFLAGS_APPEND) != 0;
            Ok(())
        }
        FdEntry::File(_) => Err(Errno::Notsup),
        _ if flags == 0 => Ok(()),
        _ => Err(Errno::Notsup),
    }
}

/// Rights can only shrink.
pub fn fd_fdstat_set_rights(
    st: &mut WasiState,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> Result<(), Errno> {
    match st.fd_mut(fd).ok_or(Errno::Badf)? {
        FdEntry::File(f) => {
            if base & !f.rights != 0 {
                return Err(Errno::Notcapable);
            }
            f.rights = base;
        }
        FdEntry::Dir(d) => {
            if base & !d.rights != 0 || inheriting & !d.inheriting != 0 {
                return Err(Errno::Notcapable);
            }
            d.rights = base;
            d.inheriting = inheriting;
        }
        // Stdio rights are fixed; pretend only if nothing is gained.
        _ => {}
    }
    Ok(())
}

/// `fstflags` bits: set atime to the given value / to now, same for mtime.
const FST_ATIM: u32 = 1 << 0;
const FST_ATIM_NOW: u32 = 1 << 1;
const FST_MTIM: u32 = 1 << 2;
const FST_MTIM_NOW: u32 = 1 << 3;

/// The times `fst_flags` asks for, as `utimensat(2)` takes them (a time
/// not asked for is left alone).
pub(crate) fn file_times(
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<rustix::fs::Timestamps, Errno> {
    use rustix::fs::{Timespec, UTIME_NOW, UTIME_OMIT};
    if fst_flags & !0xf != 0
        || fst_flags & (FST_ATIM | FST_ATIM_NOW) == FST_ATIM | FST_ATIM_NOW
        || fst_flags & (FST_MTIM | FST_MTIM_NOW) == FST_MTIM | FST_MTIM_NOW
    {
        return Err(Errno::Inval);
    }
    let one = |ns: u64, given: u32, now: u32| {
        let (tv_sec, tv_nsec) = if fst_flags & given != 0 {
            // u64 nanoseconds: at most ~584 years, well inside i64 seconds.
            ((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as _)
        } else if fst_flags & now != 0 {
            (0, UTIME_NOW)
        } else {
            (0, UTIME_OMIT)
        };
        Timespec { tv_sec, tv_nsec }
    };
    Ok(rustix::fs::Timestamps {
        last_access: one(atim, FST_ATIM, FST_ATIM_NOW),
        last_modification: one(mtim, FST_MTIM, FST_MTIM_NOW),
    })
}

pub fn fd_filestat_set_times(
    st: &WasiState,
    fd: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Errno> {
    let times = file_times(atim, mtim, fst_flags)?;
    match st.fd(fd).ok_or(Errno::Badf)? {
        FdEntry::File(f) => rustix::fs::futimens(&f.file, &times).map_err(|e| io_errno(&e.into())),
        FdEntry::Dir(d) => {
            d.require(rights::FD_FILESTAT_SET_TIMES)?;
            d.vfs.set_times(&d.rel, &times)
        }
        _ => Err(Errno::Badf),
    }
}

/// Moves descriptor `from` to number `to`, closing what `to` held.
pub fn fd_renumber(st: &mut WasiState, from: u32, to: u32) -> Result<(), Errno> {
    st.fd(from).ok_or(Errno::Badf)?;
    st.fd(to).ok_or(Errno::Badf)?;
    if from != to {
        let entry = st.fds[from as usize].take();
        st.fds[to as usize] = entry;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::fs_tests::{Guest, OFLAGS_CREAT};
    use faasm_testutil::TempDir;

    #[test]
    fn set_times_on_files_and_paths() {
        use std::os::unix::fs::MetadataExt;
        let t = TempDir::new("file-times");
        t.write("f", "");
        let mut g = Guest::with_dir(&t);
        let fd = g.open("f", 0, rights::ALL, 0).unwrap();
        let (a, m) = (1_000_000_123_000_000u64, 2_000_000_000_000_000_000u64);
        g.call("fd_filestat_set_times", &[fd.into(), a, m, 1 | 4])
            .unwrap();
        let meta = std::fs::metadata(t.path("f")).unwrap();
        assert_eq!((meta.atime(), meta.atime_nsec()), (1_000_000, 123_000_000));
        assert_eq!(meta.mtime(), 2_000_000_000);
        // Both "given" and "now" for one time is a contradiction.
        assert_eq!(
            g.call("fd_filestat_set_times", &[fd.into(), a, m, 1 | 2]),
            Err(Errno::Inval)
        );
        g.mkdir("d").unwrap();
        // mkdir left its path ("d") at 1024.
        g.call("path_filestat_set_times", &[3, 0, 1024, 1, a, m, 4])
            .unwrap();
        assert_eq!(
            std::fs::metadata(t.path("d")).unwrap().mtime(),
            2_000_000_000
        );
        let d = g.open("d", 2, rights::FD_READ, 0).unwrap();
        g.call("fd_filestat_set_times", &[d.into(), 0, 0, 4 | 8])
            .unwrap_err();
        g.call("fd_filestat_set_times", &[d.into(), 0, 5_000_000_000, 4])
            .unwrap();
        assert_eq!(std::fs::metadata(t.path("d")).unwrap().mtime(), 5);
    }

    #[test]
    fn write_read_seek_pread_pwrite() {
        let t = TempDir::new("file-rw");
        let mut g = Guest::with_dir(&t);
        let fd = g.open("f.txt", OFLAGS_CREAT, rights::ALL, 0).unwrap();
        assert_eq!(g.write(fd, b"hello world").unwrap(), 11);
        assert_eq!(t.read("f.txt"), "hello world");
        assert_eq!(g.seek(fd, 0, 1).unwrap(), 11);
        assert_eq!(g.seek(fd, -5, 2).unwrap(), 6);
        assert_eq!(g.read(fd, 100).unwrap(), b"world");
        assert_eq!(g.read(fd, 100).unwrap(), b"");
        assert_eq!(g.seek(fd, -1, 0), Err(Errno::Inval));
        assert_eq!(g.pread(fd, 4, 2).unwrap(), b"llo ");
        assert_eq!(g.pwrite(fd, b"J", 0).unwrap(), 1);
        assert_eq!(t.read("f.txt"), "Jello world");
        // Positioned I/O leaves the position alone.
        assert_eq!(g.seek(fd, 0, 1).unwrap(), 11);
        // Reading a directory, or streams, positioned: not possible.
        assert_eq!(g.pread(3, 1, 0).unwrap_err(), Errno::Isdir);
        assert_eq!(g.pread(1, 1, 0).unwrap_err(), Errno::Spipe);
        g.close(fd).unwrap();
        assert_eq!(g.read(fd, 1).unwrap_err(), Errno::Badf);
    }

    #[test]
    fn append_truncate_size_and_stat() {
        let t = TempDir::new("file-append");
        t.write("log", "a");
        let mut g = Guest::with_dir(&t);
        let fd = g.open("log", 0, rights::ALL, FDFLAGS_APPEND).unwrap();
        assert_eq!(g.fdstat(fd).unwrap().1, FDFLAGS_APPEND);
        g.seek(fd, 0, 0).unwrap();
        g.write(fd, b"b").unwrap();
        assert_eq!(t.read("log"), "ab");
        g.set_flags(fd, 0).unwrap();
        g.seek(fd, 0, 0).unwrap();
        g.write(fd, b"X").unwrap();
        assert_eq!(t.read("log"), "Xb");
        assert_eq!(g.set_flags(fd, 4), Err(Errno::Notsup));
        g.set_size(fd, 5).unwrap();
        let st = g.filestat(fd).unwrap();
        assert_eq!((st.filetype, st.size), (filetype::REGULAR_FILE, 5));
        g.allocate(fd, 6, 4).unwrap();
        assert_eq!(g.filestat(fd).unwrap().size, 10);
        g.sync(fd).unwrap();
        assert_eq!(g.filestat(3).unwrap().filetype, filetype::DIRECTORY);
        assert_eq!(g.filestat(1).unwrap().filetype, filetype::CHARACTER_DEVICE);
        // O_TRUNC empties it.
        let fd2 = g
            .open("log", super::super::fs_tests::OFLAGS_TRUNC, rights::ALL, 0)
            .unwrap();
        assert_eq!(g.filestat(fd2).unwrap().size, 0);
    }

    #[test]
    fn read_only_descriptors_refuse_writes() {
        let t = TempDir::new("file-ro");
        t.write("f", "data");
        let mut g = Guest::with_dir(&t);
        let fd = g
            .open("f", 0, rights::FD_READ | rights::FD_SEEK, 0)
            .unwrap();
        assert_eq!(g.write(fd, b"x"), Err(Errno::Badf));
        assert_eq!(g.set_size(fd, 0), Err(Errno::Badf));
        assert_eq!(g.read(fd, 10).unwrap(), b"data");
        assert_eq!(t.read("f"), "data");
    }

    #[test]
    fn bad_pointers_fault_before_any_io() {
        let t = TempDir::new("file-fault");
        let mut g = Guest::with_dir(&t);
        let fd = g.open("f", OFLAGS_CREAT, rights::ALL, 0).unwrap();
        assert_eq!(g.raw_write(fd, b"abc", u32::MAX - 1), Err(Errno::Fault));
        assert_eq!(t.read("f"), "");
        g.write(fd, b"abc").unwrap();
        g.seek(fd, 0, 0).unwrap();
        assert_eq!(g.raw_read(fd, 3, u32::MAX), Err(Errno::Fault));
        // Nothing was consumed by the failed read.
        assert_eq!(g.seek(fd, 0, 1).unwrap(), 0);
        assert_eq!(g.raw_filestat(fd, g.mem_len() - 8), Err(Errno::Fault));
    }

    #[test]
    fn renumber_moves_and_closes() {
        let t = TempDir::new("file-renumber");
        t.write("a", "A");
        t.write("b", "B");
        let mut g = Guest::with_dir(&t);
        let a = g.open("a", 0, rights::ALL, 0).unwrap();
        let b = g.open("b", 0, rights::ALL, 0).unwrap();
        g.renumber(a, b).unwrap();
        assert_eq!(g.read(b, 1).unwrap(), b"A");
        assert_eq!(g.read(a, 1), Err(Errno::Badf));
        assert_eq!(g.renumber(a, b), Err(Errno::Badf));
    }
}
