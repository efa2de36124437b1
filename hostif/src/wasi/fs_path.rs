//! Path calls: `path_open`, creating and removing directories, unlinking,
//! renaming, `path_filestat_get`/`_set_times`, symlinks (`path_symlink`,
//! `path_readlink`) and hard links (`path_link`).
//!
//! Every path goes through [`resolve`] (the sandbox rules live there) and
//! every change goes to the mount's writable layer (see `vfs.rs`). Guest
//! pointers are all checked before anything is looked up on the host.

use super::ctx::{FdEntry, WasiState};
use super::fdtable::{
    FDFLAGS_APPEND, FDFLAGS_DSYNC, FDFLAGS_NONBLOCK, FDFLAGS_RSYNC, FDFLAGS_SYNC, OpenDir,
    OpenFile, rights,
};
use super::filetype;
use super::fs_file::{FILESTAT_SIZE, write_filestat};
use super::path::{MAX_PATH, Resolved, resolve};
use super::vfs::{Access, Layer};
use crate::errno::Errno;
use crate::memory::GuestMemory;
use rustix::fs::OFlags;
use std::sync::Arc;

/// `oflags` bits.
pub const OFLAGS_CREAT: u32 = 1 << 0;
pub const OFLAGS_DIRECTORY: u32 = 1 << 1;
pub const OFLAGS_EXCL: u32 = 1 << 2;
pub const OFLAGS_TRUNC: u32 = 1 << 3;
/// `lookupflags::symlink_follow`.
pub const LOOKUP_SYMLINK_FOLLOW: u32 = 1 << 0;
/// Every defined `fdflags` bit (append, dsync, nonblock, rsync, sync).
const FDFLAGS_ALL: u32 = 0x1f;

/// The guest path at `(ptr, len)`, copied out (so it can outlive the borrow
/// of memory while the host works).
fn guest_path(mem: &GuestMemory<'_>, ptr: u32, len: u32) -> Result<Vec<u8>, Errno> {
    let bytes = mem.slice(ptr, len)?;
    if len > MAX_PATH {
        return Err(Errno::Nametoolong);
    }
    Ok(bytes.to_vec())
}

/// Resolves `path` in directory descriptor `fd` after checking it has
/// `needed`.
fn lookup<'s>(
    st: &'s WasiState,
    fd: u32,
    needed: u64,
    path: &[u8],
    follow: bool,
) -> Result<(&'s OpenDir, Resolved), Errno> {
    let dir = st.dir(fd)?;
    dir.require(needed)?;
    let r = resolve(&dir.vfs, &dir.rel, path, follow)?;
    Ok((dir, r))
}

#[allow(clippy::too_many_arguments)] // the WASI signature
pub fn path_open(
    st: &mut WasiState,
    mem: &mut GuestMemory<'_>,
    dirfd: u32,
    lookupflags: u32,
    path: u32,
    path_len: u32,
    oflags: u32,
    rights_base: u64,
    _rights_inheriting: u64,
    fdflags: u32,
    out_fd: u32,
) -> Result<(), Errno> {
    mem.check(out_fd, 4)?;
    let path = guest_path(mem, path, path_len)?;
    if oflags & !0xf != 0 || fdflags & !FDFLAGS_ALL != 0 {
        return Err(Errno::Inval);
    }
    let creat = oflags & OFLAGS_CREAT != 0;
    let directory = oflags & OFLAGS_DIRECTORY != 0;
    let truncate = oflags & OFLAGS_TRUNC != 0;
    // fdflags fit in 16 bits (checked above).
    let fdflags = fdflags as u16;
    let append = fdflags & FDFLAGS_APPEND != 0;
    let mut sync = OFlags::empty();
    for (bit, host) in [
        (FDFLAGS_SYNC, OFlags::SYNC),
        (FDFLAGS_DSYNC, OFlags::DSYNC),
        (FDFLAGS_RSYNC, OFlags::RSYNC),
    ] {
        if fdflags & bit != 0 {
            sync |= host;
        }
    }
    let flags = fdflags & (FDFLAGS_SYNC | FDFLAGS_DSYNC | FDFLAGS_RSYNC | FDFLAGS_NONBLOCK);
    let read = rights_base & rights::FD_READ != 0;
    let write = rights_base & rights::FD_WRITE != 0 || truncate || append;
    let access = Access { read, write, sync };
    let follow = lookupflags & LOOKUP_SYMLINK_FOLLOW != 0;
    let (dir, r) = lookup(st, dirfd, rights::PATH_OPEN, &path, follow)?;
    if truncate {
        // Truncating through a path is setting a size through it.
        dir.require(rights::PATH_FILESTAT_SET_SIZE)?;
    }
    let new_file = |file| {
        FdEntry::File(OpenFile {
            file,
            rights: rights_base,
            append,
            flags,
            filetype: filetype::REGULAR_FILE,
            quota: dir.vfs.quota().cloned(),
        })
    };
    let entry = match &r.found {
        Some(_) if creat && oflags & OFLAGS_EXCL != 0 => return Err(Errno::Exist),
        None if !creat || directory => return Err(Errno::Noent),
        None => {
            dir.require(rights::PATH_CREATE_FILE)?;
            dir.vfs.ensure_upper_dir(r.parent())?;
            new_file(dir.vfs.create_file(&r.rel, &access)?)
        }
        // Only reached without `symlink_follow`: like O_NOFOLLOW.
        Some((_, m)) if m.file_type().is_symlink() => return Err(Errno::Loop),
        Some((_, m)) if m.is_dir() => {
            if write {
                return Err(Errno::Isdir);
            }
            // A directory gets the rights of the one it was opened from
            // (so a read-only mount stays read-only all the way down).
            FdEntry::Dir(OpenDir {
                vfs: Arc::clone(&dir.vfs),
                rel: r.rel.clone(),
                preopen: None,
                rights: dir.rights,
                inheriting: dir.inheriting,
            })
        }
        Some(_) if directory => return Err(Errno::Notdir),
        Some((layer, m)) => {
            if write && !dir.vfs.writable() {
                return Err(Errno::Rofs);
            }
            let file = dir.vfs.open_file(*layer, &r.rel, &access, truncate)?;
            FdEntry::File(OpenFile {
                file,
                rights: rights_base,
                append,
                flags,
                filetype: filetype::of(m.file_type()),
                quota: dir.vfs.quota().cloned(),
            })
        }
    };
    let fd = st.insert(entry)?;
    mem.write_u32(out_fd, fd)
}

pub fn path_create_directory(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = guest_path(mem, path, path_len)?;
    let (dir, r) = lookup(st, fd, rights::PATH_CREATE_DIRECTORY, &path, false)?;
    if r.found.is_some() {
        return Err(Errno::Exist);
    }
    dir.vfs.ensure_upper_dir(r.parent())?;
    dir.vfs.create_dir(&r.rel)
}

pub fn path_remove_directory(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = guest_path(mem, path, path_len)?;
    let (dir, r) = lookup(st, fd, rights::PATH_REMOVE_DIRECTORY, &path, false)?;
    let Some((layer, m)) = &r.found else {
        return Err(Errno::Noent);
    };
    if !m.is_dir() {
        return Err(Errno::Notdir);
    }
    // `.` (or a path that comes back to it): the descriptor's own directory.
    if r.rel.len() <= dir.rel.len() {
        return Err(Errno::Inval);
    }
    if *layer == Layer::Lower {
        return Err(Errno::Rofs);
    }
    dir.vfs.remove_dir(&r.rel)
}

pub fn path_unlink_file(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let path = guest_path(mem, path, path_len)?;
    let (dir, r) = lookup(st, fd, rights::PATH_UNLINK_FILE, &path, false)?;
    match &r.found {
        None => Err(Errno::Noent),
        Some((_, m)) if m.is_dir() => Err(Errno::Isdir),
        Some((Layer::Lower, _)) => Err(Errno::Rofs),
        Some(_) => dir.vfs.remove_file(&r.rel),
    }
}

pub fn path_rename(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old: (u32, u32),
    new_fd: u32,
    new: (u32, u32),
) -> Result<(), Errno> {
    let old = guest_path(mem, old.0, old.1)?;
    let new = guest_path(mem, new.0, new.1)?;
    let (from_dir, from) = lookup(st, old_fd, rights::PATH_RENAME_SOURCE, &old, false)?;
    let (to_dir, to) = lookup(st, new_fd, rights::PATH_RENAME_TARGET, &new, false)?;
    if !Arc::ptr_eq(&from_dir.vfs, &to_dir.vfs) {
        return Err(Errno::Xdev);
    }
    let vfs = &from_dir.vfs;
    let Some((layer, m)) = &from.found else {
        return Err(Errno::Noent);
    };
    if from.rel.len() <= from_dir.rel.len() || to.rel.len() <= to_dir.rel.len() {
        return Err(Errno::Inval);
    }
    if from.rel == to.rel {
        return Ok(());
    }
    if to.rel.starts_with(&from.rel) {
        // A directory into itself.
        return Err(Errno::Inval);
    }
    if *layer == Layer::Lower {
        return Err(Errno::Rofs);
    }
    match &to.found {
        Some((_, t)) if m.is_dir() && !t.is_dir() => return Err(Errno::Notdir),
        Some((_, t)) if !m.is_dir() && t.is_dir() => return Err(Errno::Isdir),
        Some((_, t)) if t.is_dir() && !vfs.list(&to.rel)?.is_empty() => {
            return Err(Errno::Notempty);
        }
        _ => {}
    }
    vfs.ensure_upper_dir(to.parent())?;
    vfs.rename(&from.rel, &to.rel)
}

pub fn path_filestat_get(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    path: u32,
    path_len: u32,
    out: u32,
) -> Result<(), Errno> {
    mem.check(out, u64::from(FILESTAT_SIZE))?;
    let path = guest_path(mem, path, path_len)?;
    let follow = lookupflags & LOOKUP_SYMLINK_FOLLOW != 0;
    let (_, r) = lookup(st, fd, rights::PATH_FILESTAT_GET, &path, follow)?;
    let (_, m) = r.found.as_ref().ok_or(Errno::Noent)?;
    write_filestat(mem, out, m)
}

#[allow(clippy::too_many_arguments)] // the WASI signature
pub fn path_filestat_set_times(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    path: (u32, u32),
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Errno> {
    let path = guest_path(mem, path.0, path.1)?;
    let times = super::fs_file::file_times(atim, mtim, fst_flags)?;
    let follow = lookupflags & LOOKUP_SYMLINK_FOLLOW != 0;
    let (dir, r) = lookup(st, fd, rights::PATH_FILESTAT_SET_TIMES, &path, follow)?;
    match &r.found {
        None => Err(Errno::Noent),
        Some((Layer::Lower, _)) => Err(Errno::Rofs),
        // Without `symlink_follow`, a link's own times.
        Some(_) => dir.vfs.set_times(&r.rel, &times),
    }
}

/// Reads a symlink's target as stored.
pub fn path_readlink(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: (u32, u32),
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> Result<(), Errno> {
    mem.check(buf, u64::from(buf_len))?;
    mem.check(bufused, 4)?;
    let path = guest_path(mem, path.0, path.1)?;
    let (dir, r) = lookup(st, fd, rights::PATH_READLINK, &path, false)?;
    let layer = match &r.found {
        Some((layer, m)) if m.file_type().is_symlink() => *layer,
        Some(_) => return Err(Errno::Inval),
        None => return Err(Errno::Noent),
    };
    use std::os::unix::ffi::OsStrExt;
    let target = dir.vfs.read_link(layer, &r.rel)?;
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(buf_len as usize);
    mem.write(buf, &bytes[..n])?;
    mem.write_u32(bufused, n as u32)
}

/// Whether a guest path names a directory by its form (`x/`, `x/.`).
fn trailing_slash(path: &[u8]) -> bool {
    path.ends_with(b"/") || path.ends_with(b"/.")
}

/// Creates the symlink `new` holding the relative path `target`. An
/// absolute target could never be followed and is refused up front
/// (`EPERM`, as the conformance suite expects); any relative one is stored
/// as given, like `symlink(2)`: links are only ever followed by the
/// resolver, in the guest's namespace, so one that climbs out of its
/// directory is `ENOTCAPABLE` when used, never at creation.
pub fn path_symlink(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    target: (u32, u32),
    fd: u32,
    new: (u32, u32),
) -> Result<(), Errno> {
    let target = guest_path(mem, target.0, target.1)?;
    let new = guest_path(mem, new.0, new.1)?;
    if target.contains(&0) {
        return Err(Errno::Inval);
    }
    if target.is_empty() {
        return Err(Errno::Noent);
    }
    if target[0] == b'/' {
        return Err(Errno::Perm);
    }
    let (dir, r) = lookup(st, fd, rights::PATH_SYMLINK, &new, false)?;
    if r.found.is_some() {
        return Err(Errno::Exist);
    }
    // A new name with a trailing slash would have to be a directory.
    if trailing_slash(&new) {
        return Err(Errno::Noent);
    }
    use std::os::unix::ffi::OsStrExt;
    dir.vfs.ensure_upper_dir(r.parent())?;
    dir.vfs
        .symlink(std::ffi::OsStr::from_bytes(&target), &r.rel)
}

/// Makes `new` another name of the file `old` (a symlink itself unless
/// `symlink_follow`). Directories cannot be linked (`EPERM`), and both
/// names must be in the same mount (`EXDEV`).
pub fn path_link(
    st: &WasiState,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_flags: u32,
    old: (u32, u32),
    new_fd: u32,
    new: (u32, u32),
) -> Result<(), Errno> {
    let old = guest_path(mem, old.0, old.1)?;
    let new = guest_path(mem, new.0, new.1)?;
    let follow = old_flags & LOOKUP_SYMLINK_FOLLOW != 0;
    let (from_dir, from) = lookup(st, old_fd, rights::PATH_LINK_SOURCE, &old, follow)?;
    let (to_dir, to) = lookup(st, new_fd, rights::PATH_LINK_TARGET, &new, false)?;
    if !Arc::ptr_eq(&from_dir.vfs, &to_dir.vfs) {
        return Err(Errno::Xdev);
    }
    let Some((layer, m)) = &from.found else {
        return Err(Errno::Noent);
    };
    if m.is_dir() {
        return Err(Errno::Perm);
    }
    if to.found.is_some() {
        return Err(Errno::Exist);
    }
    if trailing_slash(&new) {
        return Err(Errno::Noent);
    }
    let vfs = &from_dir.vfs;
    vfs.ensure_upper_dir(to.parent())?;
    vfs.link(*layer, &from.rel, &to.rel)
}
