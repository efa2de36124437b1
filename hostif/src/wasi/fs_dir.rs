//! Directory listing (`fd_readdir`) and the preopen queries
//! (`fd_prestat_get`, `fd_prestat_dir_name`).

use super::ctx::{FdEntry, WasiState};
use super::fdtable::rights;
use super::filetype;
use crate::errno::Errno;
use crate::memory::GuestMemory;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

/// Size of a `dirent` header: `{d_next u64 @0, d_ino u64 @8,
/// d_namlen u32 @16, d_type u8 @20}`, followed by the name (no NUL).
pub const DIRENT_SIZE: usize = 24;
/// Size of `prestat`: `{tag u8 @0 (0 = dir), pr_name_len u32 @4}`.
pub const PRESTAT_SIZE: u32 = 8;

/// Fills `buf` with directory entries starting at position `cookie`.
///
/// Entries are `.`, `..`, then the merged view's names in byte order; an
/// entry's cookie (its `d_next`) is the position after it, so a guest
/// continues with the last `d_next` it read. The listing is taken afresh
/// each call, as from a host directory stream rewound and skipped forward,
/// so names added or removed between calls may shift it. When the buffer
/// is too small, the last entry is cut off and `bufused == buf_len` tells
/// the guest to call again (with a bigger buffer if the header did not
/// fit), as the spec describes.
pub fn fd_readdir(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> Result<(), Errno> {
    mem.check(buf, u64::from(buf_len))?;
    mem.check(bufused, 4)?;
    let dir = st.dir(fd)?;
    dir.require(rights::FD_READDIR)?;
    let (_, me) = dir.vfs.lstat(&dir.rel)?.ok_or(Errno::Noent)?;
    // `..` of a mount root is itself: the host's parent is not the guest's.
    let parent = if dir.rel.is_empty() {
        me.ino()
    } else {
        let up = &dir.rel[..dir.rel.len() - 1];
        dir.vfs.lstat(up)?.map_or(0, |(_, m)| m.ino())
    };
    let mut entries: Vec<(Vec<u8>, u64, u8)> = vec![
        (b".".to_vec(), me.ino(), filetype::DIRECTORY),
        (b"..".to_vec(), parent, filetype::DIRECTORY),
    ];
    for e in dir.vfs.list(&dir.rel)? {
        entries.push((e.name.as_bytes().to_vec(), e.ino, e.filetype));
    }
    let cap = buf_len as usize;
    let mut out: Vec<u8> = Vec::with_capacity(cap.min(64 * 1024));
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (i, (name, ino, ty)) in entries.iter().enumerate().skip(start) {
        if out.len() >= cap {
            break;
        }
        let mut header = [0u8; DIRENT_SIZE];
        header[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&ino.to_le_bytes());
        // Names are at most 255 bytes (NAME_MAX) on the host.
        header[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        header[20] = *ty;
        out.extend_from_slice(&header);
        out.extend_from_slice(name);
    }
    out.truncate(cap);
    mem.write(buf, &out)?;
    // out.len() <= buf_len.
    mem.write_u32(bufused, out.len() as u32)
}

fn preopen_name(st: &WasiState, fd: u32) -> Result<&[u8], Errno> {
    match st.fd(fd) {
        Some(FdEntry::Dir(d)) => d.preopen.as_deref().ok_or(Errno::Badf),
        // libc's startup scan stops at the first EBADF.
        _ => Err(Errno::Badf),
    }
}

pub fn fd_prestat_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    mem.check(out, u64::from(PRESTAT_SIZE))?;
    let name = preopen_name(st, fd)?;
    let mut b = [0u8; PRESTAT_SIZE as usize];
    // tag 0: a directory. Guest paths are short strings from the embedder.
    b[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
    mem.write(out, &b)
}

pub fn fd_prestat_dir_name(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    mem.check(path, u64::from(path_len))?;
    let name = preopen_name(st, fd)?;
    if (path_len as usize) < name.len() {
        return Err(Errno::Nametoolong);
    }
    mem.write(path, name)
}
