//! The disk quota of one writable tree (a user's `users/<user>/fs`).
//!
//! Linux has no per-directory quota an unprivileged process can set, so the
//! host counts. What a tree *uses* is the sum over its entries (files,
//! directories, symlinks) of each one's size rounded up to 4 KiB, at least
//! 4 KiB an entry: logical sizes, so a sparse file costs what it could
//! become, and names cost something, so a million empty files are not free.
//!
//! Invariant: `used` is never below what the tree really uses, as far as
//! this process changed it. Every change that can add is charged *before*
//! it happens, with an estimate that is never low (the bytes a write puts
//! past the end, 4 KiB for a new name, the whole file for a copy-up). What
//! removes (unlink, rmdir, truncate, rename over a name) only marks the
//! count stale: it is credited by the next recount, a walk of the tree,
//! done when a charge would pass the limit and the count is stale or was
//! never taken. A walk that cannot finish (a tree deeper than the
//! descriptors it may hold) is not trusted; the count then only grows.
//!
//! Several processes using one tree (`faasm-run invoke` each) each count
//! from their first walk plus their own writes, so their sum can pass the
//! limit by what they wrote since; one executor holds one count per user.

use crate::errno::Errno;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

/// What a name costs at least, and the unit sizes are rounded up to.
pub const ENTRY_BYTES: u64 = 4096;

/// A walk holds one directory open per level below the root; deeper trees
/// are not counted exactly (see the module docs).
const MAX_WALK_DEPTH: usize = 256;

#[derive(Debug)]
pub(crate) struct DiskQuota {
    limit: u64,
    /// The tree's root, for recounts.
    root: OwnedFd,
    count: Mutex<Count>,
}

#[derive(Debug, Default)]
struct Count {
    /// Bytes in use, never low; `None` until the first walk.
    used: Option<u64>,
    /// Something was removed or shrunk since the last walk.
    stale: bool,
}

impl DiskQuota {
    pub fn new(root: BorrowedFd<'_>, limit: u64) -> std::io::Result<DiskQuota> {
        Ok(DiskQuota {
            limit,
            root: rustix::fs::openat(
                root,
                ".",
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?,
            count: Mutex::new(Count::default()),
        })
    }

    /// Reserves `bytes` for a change about to happen, or `EDQUOT` if the
    /// tree would then use more than the limit.
    pub fn charge(&self, bytes: u64) -> Result<(), Errno> {
        let mut c = self.lock();
        if c.used.is_none() {
            self.recount(&mut c);
        }
        let fits = |c: &Count| c.used.unwrap_or(u64::MAX).saturating_add(bytes) <= self.limit;
        if !fits(&c) && c.stale {
            self.recount(&mut c);
        }
        if !fits(&c) {
            return Err(Errno::Dquot);
        }
        c.used = c.used.map(|u| u + bytes);
        Ok(())
    }

    /// Something in the tree was removed or shrunk: credited at the next
    /// recount.
    pub fn freed(&self) {
        self.lock().stale = true;
    }

    /// Bytes in use as counted now (a walk if none was taken yet).
    #[cfg(test)]
    pub fn used(&self) -> u64 {
        let mut c = self.lock();
        if c.used.is_none() {
            self.recount(&mut c);
        }
        c.used.unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Count> {
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Walks the tree. A complete walk replaces the count; an incomplete
    /// one can only raise it (or sets it, the first time). Either way
    /// there is nothing more to credit until the next removal. (A write
    /// charged but not yet made when a complete walk ends is missed by it:
    /// the count can be low by what is in flight at that moment.)
    fn recount(&self, c: &mut Count) {
        let (walked, complete) = usage(self.root.as_fd());
        c.used = match c.used {
            Some(old) if !complete => Some(old.max(walked)),
            _ => Some(walked),
        };
        c.stale = false;
    }
}

/// The cost of an entry of `size` bytes.
pub fn entry_cost(size: u64) -> u64 {
    size.div_ceil(ENTRY_BYTES)
        .max(1)
        .saturating_mul(ENTRY_BYTES)
}

/// What the tree under `root` uses, and whether every directory in it
/// could be read.
fn usage(root: BorrowedFd<'_>) -> (u64, bool) {
    let mut total = 0u64;
    let mut complete = true;
    let Ok(top) = open_dir(root, ".") else {
        return (0, false);
    };
    // Depth-first, one open directory per level.
    let mut stack: Vec<(OwnedFd, Dir)> = Vec::new();
    match Dir::read_from(&top) {
        Ok(d) => stack.push((top, d)),
        Err(_) => return (0, false),
    }
    loop {
        let deeper = stack.len() < MAX_WALK_DEPTH;
        let Some((fd, dir)) = stack.last_mut() else {
            break;
        };
        let Some(entry) = dir.next() else {
            stack.pop();
            continue;
        };
        let Ok(entry) = entry else {
            complete = false;
            stack.pop();
            continue;
        };
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        // Gone since it was listed: it costs nothing now.
        let Ok(st) = rustix::fs::statat(fd.as_fd(), name, AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        total = total.saturating_add(entry_cost(st.st_size.max(0) as u64));
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            continue;
        }
        if !deeper {
            complete = false;
            continue;
        }
        let opened = open_dir(fd.as_fd(), name).and_then(|sub| {
            let d = Dir::read_from(&sub)?;
            Ok((sub, d))
        });
        match opened {
            Ok(level) => stack.push(level),
            Err(_) => complete = false,
        }
    }
    (total, complete)
}

fn open_dir<P: rustix::path::Arg>(dir: BorrowedFd<'_>, name: P) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasm_testutil::TempDir;
    use std::fs;

    fn quota(dir: &std::path::Path, limit: u64) -> DiskQuota {
        let root = fs::File::open(dir).unwrap();
        DiskQuota::new(root.as_fd(), limit).unwrap()
    }

    #[test]
    fn a_walk_counts_entries_rounded_up_and_never_follows_links() {
        let t = TempDir::new("quota-walk");
        let outside = TempDir::new("quota-outside");
        fs::write(outside.path("big"), vec![1u8; 1 << 20]).unwrap();
        fs::create_dir(t.path("d")).unwrap();
        fs::write(t.path("d/a"), vec![0u8; 5000]).unwrap();
        fs::write(t.path("empty"), b"").unwrap();
        std::os::unix::fs::symlink(outside.path(""), t.path("out")).unwrap();
        // d (4 KiB) + a (8 KiB) + empty (4 KiB) + the link (4 KiB); the
        // megabyte behind the link is not counted.
        assert_eq!(quota(&t.path(""), 1 << 30).used(), 20 << 10);
    }

    #[test]
    fn charges_stop_at_the_limit_and_removals_are_credited_by_a_recount() {
        let t = TempDir::new("quota-charge");
        fs::write(t.path("f"), vec![0u8; 8192]).unwrap();
        let q = quota(&t.path(""), 16 << 10);
        q.charge(4096).unwrap();
        q.charge(4096).unwrap();
        assert_eq!(q.charge(1), Err(Errno::Dquot));
        // Removing without saying so credits nothing...
        fs::remove_file(t.path("f")).unwrap();
        assert_eq!(q.charge(1), Err(Errno::Dquot));
        // ...saying so makes the next charge past the limit recount. The
        // 8 KiB charged above were never written: the recount finds an
        // empty tree.
        q.freed();
        q.charge(16 << 10).unwrap();
        assert_eq!(q.used(), 16 << 10);
    }
}
