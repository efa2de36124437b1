//! The descriptor table: what each guest file descriptor refers to, and the
//! rights it carries.
//!
//! 0-2 are the standard streams, preopened directories follow from 3 in
//! the order the embedder gave them, and files or directories the guest
//! opens take the lowest free number from 3 up. Directory descriptors hold
//! no host descriptor, only their place in a mount (their components), so
//! a guest cannot pin host resources by opening directories; each file
//! holds one host `File`, and the table is capped at [`MAX_FDS`].

use super::quota::DiskQuota;
use super::stdio::{InputSource, OutputSink};
use super::vfs::Vfs;
use crate::errno::Errno;
use std::ffi::OsString;
use std::fs::File;
use std::sync::Arc;

/// Most descriptors one guest may hold open.
pub const MAX_FDS: usize = 1024;

/// `rights` bits of WASI preview 1 (the whole table, used or not, so the
/// numbering can be checked against the spec in one place).
#[allow(dead_code)]
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    pub const ALL: u64 = (1 << 30) - 1;

    /// What changes a tree: a directory on a read-only mount lacks these.
    pub const DIR_WRITE: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// What a directory descriptor can be used for.
    pub const DIR_BASE: u64 = DIR_WRITE
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_FILESTAT_GET
        | FD_FILESTAT_GET
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_DATASYNC;
}

/// `fdflags` bits. Append is emulated (it can be switched); the sync
/// flags are the host's own `O_DSYNC`/`O_RSYNC`/`O_SYNC`, fixed at open;
/// non-blocking has no effect on files and is only recorded.
pub const FDFLAGS_APPEND: u16 = 1 << 0;
pub const FDFLAGS_DSYNC: u16 = 1 << 1;
pub const FDFLAGS_NONBLOCK: u16 = 1 << 2;
pub const FDFLAGS_RSYNC: u16 = 1 << 3;
pub const FDFLAGS_SYNC: u16 = 1 << 4;

/// An open regular file (or other non-directory).
#[derive(Debug)]
pub(crate) struct OpenFile {
    pub file: File,
    pub rights: u64,
    /// Emulated rather than the host's `O_APPEND`, so that
    /// `fd_fdstat_set_flags` can turn it on and off: each write first moves
    /// to the end (under the context lock, so atomic for this guest).
    pub append: bool,
    /// The other `fdflags` the file was opened with (sync, non-blocking),
    /// reported by `fd_fdstat_get`.
    pub flags: u16,
    pub filetype: u8,
    /// The quota of the tree the file is in, charged for its growth.
    pub quota: Option<Arc<DiskQuota>>,
}

/// An open directory: a place in a mount.
#[derive(Debug)]
pub(crate) struct OpenDir {
    pub vfs: Arc<Vfs>,
    /// Components under the mount root.
    pub rel: Vec<OsString>,
    /// The guest name of a preopened directory.
    pub preopen: Option<Vec<u8>>,
    pub rights: u64,
    pub inheriting: u64,
}

impl OpenDir {
    /// The root of a mount, as a preopen.
    pub fn preopen(vfs: Arc<Vfs>) -> OpenDir {
        let name = vfs.guest_path.clone().into_bytes();
        let rights = if vfs.writable() {
            rights::DIR_BASE
        } else {
            rights::DIR_BASE & !rights::DIR_WRITE
        };
        OpenDir {
            vfs,
            rel: Vec::new(),
            preopen: Some(name),
            rights,
            // Everything may be asked for on open; a read-only mount then
            // answers a request to write with EROFS, which tells the guest
            // why (wasi-libc masks what it asks for by these bits, so
            // withholding them would turn "read-only" into a silent EBADF
            // at the first write).
            inheriting: rights::ALL,
        }
    }

    /// Fails with `ENOTCAPABLE` unless this descriptor holds `needed`, or
    /// with `EROFS` if what is missing is write access to a read-only mount.
    pub fn require(&self, needed: u64) -> Result<(), Errno> {
        if self.rights & needed == needed {
            Ok(())
        } else if needed & rights::DIR_WRITE != 0 && !self.vfs.writable() {
            Err(Errno::Rofs)
        } else {
            Err(Errno::Notcapable)
        }
    }
}

/// What an open descriptor refers to.
#[derive(Debug)]
pub(crate) enum FdEntry {
    Input(InputSource),
    Output(OutputSink),
    File(OpenFile),
    Dir(OpenDir),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtx;

    #[test]
    fn insert_reuses_the_lowest_free_slot_and_is_bounded() {
        let ctx = WasiCtx::builder().build().unwrap();
        let mut st = ctx.lock();
        let a = st.insert(FdEntry::Output(OutputSink::Null)).unwrap();
        let b = st.insert(FdEntry::Output(OutputSink::Null)).unwrap();
        assert_eq!((a, b), (3, 4));
        st.fds[3] = None;
        // Closing stdin does not make 0 available: preopen scans start at 3.
        st.fds[0] = None;
        assert_eq!(st.insert(FdEntry::Output(OutputSink::Null)).unwrap(), 3);
        while st.fds.len() < MAX_FDS {
            st.insert(FdEntry::Output(OutputSink::Null)).unwrap();
        }
        assert_eq!(
            st.insert(FdEntry::Output(OutputSink::Null)),
            Err(Errno::Mfile)
        );
        assert_eq!(st.dir(1).unwrap_err(), Errno::Notdir);
        assert_eq!(st.dir(5000).unwrap_err(), Errno::Badf);
    }
}
