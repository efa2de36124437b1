//! The per-user virtual filesystem behind preopened directories:
//! read-global / write-local, as in Faasm.
//!
//! A [`Mount`] shows the guest one directory tree made of up to two host
//! trees: a writable *upper* tree (the user's own files) and a read-only
//! *lower* tree (shared data every user sees). Lookups try upper first,
//! then lower, so a user's file shadows a shared one of the same name, and
//! a directory present in both lists the union of their entries. Every
//! change (create, write, truncate, rename, remove) touches upper only:
//!
//! - opening a lower-only file for writing first copies it up (a private
//!   copy in upper, creating its parent directories there as needed);
//! - removing or renaming something that exists only in lower is `EROFS`
//!   (there are no whiteouts); removing an upper file that shadows a lower
//!   one makes the shared one visible again;
//! - a mount without upper is read-only: every change is `EROFS`.
//!
//! This module only takes already-validated component lists; turning a
//! guest path into one (`..`, symlinks) is `path.rs`'s job. Every host
//! access goes through `beneath.rs` from a root held open: the kernel
//! walks the names and refuses to cross a symlink, so a component that is
//! a symlink in one layer is never followed by a lookup in that layer,
//! even if it became one a moment ago.

use super::beneath::{self, Walk};
use super::filetype;
use super::fs_errno::io_errno;
use super::quota::{DiskQuota, ENTRY_BYTES};
use crate::errno::Errno;
use rustix::fs::{AtFlags, Mode, OFlags, Timestamps};
use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One preopened directory as the embedder describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The name the guest sees (what `fd_prestat_dir_name` returns), e.g.
    /// `/`, `/data` or `.`.
    pub guest_path: String,
    /// The writable tree; `None` makes the mount read-only.
    pub upper: Option<PathBuf>,
    /// The read-only tree, looked at when upper has no such name.
    pub lower: Option<PathBuf>,
    /// Bytes the writable tree may use (see `quota.rs` for how they are
    /// counted); past it, a change that would add fails with `EDQUOT`.
    pub disk_limit: Option<u64>,
}

impl Mount {
    /// A plain writable directory (no lower tree).
    pub fn dir(host: impl Into<PathBuf>, guest: impl Into<String>) -> Mount {
        Mount {
            guest_path: guest.into(),
            upper: Some(host.into()),
            lower: None,
            disk_limit: None,
        }
    }

    /// A read-only directory.
    pub fn read_only(host: impl Into<PathBuf>, guest: impl Into<String>) -> Mount {
        Mount {
            guest_path: guest.into(),
            upper: None,
            lower: Some(host.into()),
            disk_limit: None,
        }
    }

    /// A private writable tree over a shared read-only one.
    pub fn layered(
        guest: impl Into<String>,
        upper: impl Into<PathBuf>,
        lower: impl Into<PathBuf>,
    ) -> Mount {
        Mount {
            guest_path: guest.into(),
            upper: Some(upper.into()),
            lower: Some(lower.into()),
            disk_limit: None,
        }
    }

    /// The same mount with its writable tree limited to `bytes`. Every
    /// context preopening one checked [`Preopen`] shares one count.
    pub fn with_disk_limit(self, bytes: u64) -> Mount {
        Mount {
            disk_limit: Some(bytes),
            ..self
        }
    }
}

/// A [`Mount`] already checked (host roots canonicalised), ready to be
/// preopened by any number of contexts: an embedder that gives the same
/// tree to every call (the executor, per user) checks it once instead of
/// once per call. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Preopen(pub(crate) std::sync::Arc<Vfs>);

impl Mount {
    /// Checks the mount as [`crate::wasi::WasiCtxBuilder::mount`] would.
    pub fn check(&self) -> Result<Preopen, MountError> {
        Vfs::new(self).map(|v| Preopen(std::sync::Arc::new(v)))
    }
}

/// A mount the builder refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    /// The mount has no host directory behind it.
    #[error("mount {guest:?} has neither a writable nor a read-only host directory")]
    NoLayers {
        /// The guest path of the mount.
        guest: String,
    },
    /// The guest path cannot be one.
    #[error("mount {guest:?}: guest path is empty or contains a NUL byte")]
    BadGuestPath {
        /// The guest path as given.
        guest: String,
    },
    /// A host directory cannot be opened (missing, not a directory, no
    /// permission).
    #[error("mount {guest:?}: cannot use host directory {path}: {reason}")]
    HostDir {
        /// The guest path of the mount.
        guest: String,
        /// The host directory.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
}

/// Which tree a name was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    Upper,
    Lower,
}

/// A mount after validation: each host root opened once and held, so every
/// later lookup starts from the very directory that was checked, whatever
/// happens to the path it was configured by.
#[derive(Debug)]
pub(crate) struct Vfs {
    pub guest_path: String,
    upper: Option<Root>,
    lower: Option<Root>,
    walk: Walk,
    /// The upper tree's quota, if the mount has one.
    quota: Option<Arc<DiskQuota>>,
}

/// One host tree of a mount.
#[derive(Debug)]
struct Root {
    fd: OwnedFd,
}

/// One name in a directory listing of the merged view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirEntry {
    pub name: OsString,
    pub ino: u64,
    /// The WASI `filetype` (unfollowed).
    pub filetype: u8,
}

fn root(guest: &str, path: &Path) -> Result<Root, MountError> {
    let err = |reason: String| MountError::HostDir {
        guest: guest.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    // The embedder's own path may go through symlinks; from here on only
    // the directory it named at this moment counts.
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => Ok(Root { fd }),
        Err(rustix::io::Errno::NOTDIR) => Err(err("not a directory".to_string())),
        Err(e) => Err(err(std::io::Error::from(e).to_string())),
    }
}

/// Whether a lookup error only means "not in this layer": missing, or a
/// component on the way is not a real directory there (a file, or a
/// symlink, which a layer lookup never crosses).
fn absent(e: &std::io::Error) -> bool {
    use rustix::io::Errno as H;
    matches!(H::from_io_error(e), Some(H::NOENT | H::NOTDIR | H::LOOP))
}

fn host(e: rustix::io::Errno) -> Errno {
    io_errno(&e.into())
}

/// Access mode and sync flags of a host open.
pub(crate) struct Access {
    pub read: bool,
    pub write: bool,
    /// `O_SYNC` / `O_DSYNC` / `O_RSYNC` as the guest asked.
    pub sync: OFlags,
}

impl Access {
    fn flags(&self) -> OFlags {
        // The host needs some access mode; a guest asking for neither
        // (only to fstat, say) gets a read-only host handle it cannot use.
        let mode = match (self.read, self.write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        mode | self.sync
    }
}

impl Vfs {
    pub fn new(m: &Mount) -> Result<Vfs, MountError> {
        if m.guest_path.is_empty() || m.guest_path.contains('\0') {
            return Err(MountError::BadGuestPath {
                guest: m.guest_path.clone(),
            });
        }
        if m.upper.is_none() && m.lower.is_none() {
            return Err(MountError::NoLayers {
                guest: m.guest_path.clone(),
            });
        }
        let upper = m.upper.as_deref().map(|p| root(&m.guest_path, p));
        let lower = m.lower.as_deref().map(|p| root(&m.guest_path, p));
        let upper = upper.transpose()?;
        let quota = match (&upper, m.disk_limit) {
            (Some(root), Some(limit)) => Some(Arc::new(
                DiskQuota::new(root.fd.as_fd(), limit).map_err(|e| MountError::HostDir {
                    guest: m.guest_path.clone(),
                    path: m.upper.clone().unwrap_or_default(),
                    reason: e.to_string(),
                })?,
            )),
            _ => None,
        };
        Ok(Vfs {
            guest_path: m.guest_path.clone(),
            upper,
            lower: lower.transpose()?,
            walk: Walk::Best,
            quota,
        })
    }

    /// The same mount looked up with the `openat2`-less fallback walk.
    #[cfg(test)]
    pub fn with_component_walk(mut self) -> Vfs {
        self.walk = Walk::Components;
        self
    }

    pub fn writable(&self) -> bool {
        self.upper.is_some()
    }

    /// The quota files opened for writing charge their growth to.
    pub fn quota(&self) -> Option<&Arc<DiskQuota>> {
        self.quota.as_ref()
    }

    /// Reserves `bytes` of the quota for a change about to be made.
    fn charge(&self, bytes: u64) -> Result<(), Errno> {
        self.quota.as_ref().map_or(Ok(()), |q| q.charge(bytes))
    }

    /// Something was removed or shrunk: the quota recounts when it next
    /// matters.
    fn freed(&self) {
        if let Some(q) = &self.quota {
            q.freed();
        }
    }

    fn root_fd(&self, layer: Layer) -> Option<BorrowedFd<'_>> {
        match layer {
            Layer::Upper => self.upper.as_ref().map(|r| r.fd.as_fd()),
            Layer::Lower => self.lower.as_ref().map(|r| r.fd.as_fd()),
        }
    }

    /// Opens `rel` in `layer` (see `beneath.rs`; never follows a link).
    fn open_in(
        &self,
        layer: Layer,
        rel: &[OsString],
        flags: OFlags,
        mode: Mode,
    ) -> Result<OwnedFd, Errno> {
        let root = self.root_fd(layer).ok_or(Errno::Rofs)?;
        beneath::open(root, rel, flags, mode, self.walk).map_err(|e| io_errno(&e))
    }

    /// The directory of `rel` in `layer` and `rel`'s name in it.
    fn parent_in<'r>(
        &self,
        layer: Layer,
        rel: &'r [OsString],
    ) -> Result<(OwnedFd, &'r OsStr), Errno> {
        let root = self.root_fd(layer).ok_or(Errno::Rofs)?;
        beneath::parent(root, rel, self.walk).map_err(|e| io_errno(&e))
    }

    /// `lstat` of `rel` in one layer; `None` if it is not there, including
    /// when one of its parents in that layer is not a real directory.
    fn lstat_in(&self, layer: Layer, rel: &[OsString]) -> Result<Option<Metadata>, Errno> {
        let Some(root) = self.root_fd(layer) else {
            return Ok(None);
        };
        match beneath::lstat(root, rel, self.walk) {
            Ok(m) => Ok(Some(m)),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(io_errno(&e)),
        }
    }

    /// `lstat` of `rel` in the merged view: upper first, then lower.
    pub fn lstat(&self, rel: &[OsString]) -> Result<Option<(Layer, Metadata)>, Errno> {
        for layer in [Layer::Upper, Layer::Lower] {
            if let Some(m) = self.lstat_in(layer, rel)? {
                return Ok(Some((layer, m)));
            }
        }
        Ok(None)
    }

    pub fn read_link(&self, layer: Layer, rel: &[OsString]) -> Result<PathBuf, Errno> {
        let (dir, name) = self.parent_in(layer, rel)?;
        let target = rustix::fs::readlinkat(&dir, name, Vec::new()).map_err(host)?;
        Ok(PathBuf::from(OsString::from_vec(target.into_bytes())))
    }

    /// The entries of directory `rel` in one layer.
    fn list_in(&self, layer: Layer, rel: &[OsString]) -> Result<Vec<DirEntry>, Errno> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        let dir = self.open_in(layer, rel, flags, Mode::empty())?;
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&dir).map_err(host)? {
            let entry = entry.map_err(host)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            // An entry deleted while listing is simply skipped.
            if let Ok((ino, ty)) = beneath::entry_stat(dir.as_fd(), name) {
                out.push(DirEntry {
                    name: name.to_os_string(),
                    ino,
                    filetype: filetype::of_host(ty),
                });
            }
        }
        Ok(out)
    }

    /// The names in directory `rel` of the merged view, sorted. Lower
    /// entries show only if upper has a directory or nothing at `rel`, and
    /// only where upper lacks the name.
    pub fn list(&self, rel: &[OsString]) -> Result<Vec<DirEntry>, Errno> {
        let mut layers = Vec::new();
        match self.lstat_in(Layer::Upper, rel)? {
            Some(m) if m.is_dir() => layers.push(Layer::Upper),
            Some(_) => return Err(Errno::Notdir),
            None => {}
        }
        if matches!(self.lstat_in(Layer::Lower, rel)?, Some(m) if m.is_dir()) {
            layers.push(Layer::Lower);
        }
        if layers.is_empty() {
            return Err(Errno::Noent);
        }
        let mut out: Vec<DirEntry> = Vec::new();
        for layer in layers {
            for e in self.list_in(layer, rel)? {
                if !out.iter().any(|o| o.name == e.name) {
                    out.push(e);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Makes every directory of `dir` (a directory in the merged view)
    /// exist in upper, creating the ones only lower has: the directory
    /// half of copy-up.
    pub fn ensure_upper_dir(&self, dir: &[OsString]) -> Result<(), Errno> {
        if !self.writable() {
            return Err(Errno::Rofs);
        }
        for n in 1..=dir.len() {
            let prefix = &dir[..n];
            match self.lstat_in(Layer::Upper, prefix)? {
                Some(m) if m.is_dir() => {}
                Some(_) => return Err(Errno::Notdir),
                None => match self.create_dir(prefix) {
                    Ok(()) | Err(Errno::Exist) => {}
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(())
    }

    /// Opens the existing file `rel` found in `layer`. Writing needs it in
    /// upper: a lower file is copied up first (its contents skipped if the
    /// caller is about to truncate anyway).
    pub fn open_file(
        &self,
        layer: Layer,
        rel: &[OsString],
        access: &Access,
        truncate: bool,
    ) -> Result<File, Errno> {
        let mut flags = access.flags();
        if truncate && access.write {
            flags |= OFlags::TRUNC;
            self.freed();
        }
        if access.write && layer == Layer::Lower {
            self.copy_up(rel, truncate)?;
        }
        let layer = if access.write { Layer::Upper } else { layer };
        Ok(File::from(self.open_in(
            layer,
            rel,
            flags,
            Mode::empty(),
        )?))
    }

    /// Gives upper its own copy of the lower file or symlink `rel`.
    fn copy_up(&self, rel: &[OsString], empty: bool) -> Result<(), Errno> {
        let (parent, _) = rel.split_at(rel.len().saturating_sub(1));
        self.ensure_upper_dir(parent)?;
        let (_, m) = self.lstat(rel)?.ok_or(Errno::Noent)?;
        if m.is_symlink() {
            let target = self.read_link(Layer::Lower, rel)?;
            return self.symlink(target.as_os_str(), rel);
        }
        let write = Access {
            read: false,
            write: true,
            sync: OFlags::empty(),
        };
        if !empty {
            self.charge(m.len())?;
        }
        let mut dst = self.create_file(rel, &write)?;
        if !empty {
            let src = self.open_in(Layer::Lower, rel, OFlags::RDONLY, Mode::empty())?;
            std::io::copy(&mut File::from(src), &mut dst).map_err(|e| io_errno(&e))?;
        }
        Ok(())
    }

    /// Creates a new file `rel` in upper (its parent must exist there).
    pub fn create_file(&self, rel: &[OsString], access: &Access) -> Result<File, Errno> {
        let access = Access {
            write: true,
            sync: access.sync,
            read: access.read,
        };
        let flags = access.flags() | OFlags::CREATE | OFlags::EXCL;
        self.charge(ENTRY_BYTES)?;
        let fd = self.open_in(Layer::Upper, rel, flags, Mode::from_raw_mode(0o666))?;
        Ok(File::from(fd))
    }

    pub fn create_dir(&self, rel: &[OsString]) -> Result<(), Errno> {
        let (dir, name) = self.parent_in(Layer::Upper, rel)?;
        self.charge(ENTRY_BYTES)?;
        rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o777)).map_err(host)
    }

    pub fn remove_file(&self, rel: &[OsString]) -> Result<(), Errno> {
        let (dir, name) = self.parent_in(Layer::Upper, rel)?;
        rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(host)?;
        self.freed();
        Ok(())
    }

    /// Removes an upper directory that is empty in the merged view.
    pub fn remove_dir(&self, rel: &[OsString]) -> Result<(), Errno> {
        if let Some(m) = self.lstat_in(Layer::Lower, rel)?
            && m.is_dir()
            && !self.list_in(Layer::Lower, rel)?.is_empty()
        {
            return Err(Errno::Notempty);
        }
        let (dir, name) = self.parent_in(Layer::Upper, rel)?;
        rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR).map_err(host)?;
        self.freed();
        Ok(())
    }

    /// Sets the times of `rel` itself, even if it is a symlink (in upper;
    /// the shared tree is read-only).
    pub fn set_times(&self, rel: &[OsString], times: &Timestamps) -> Result<(), Errno> {
        let (dir, name) = self.parent_in(Layer::Upper, rel)?;
        rustix::fs::utimensat(&dir, name, times, AtFlags::SYMLINK_NOFOLLOW).map_err(host)
    }

    pub fn rename(&self, from: &[OsString], to: &[OsString]) -> Result<(), Errno> {
        let (from_dir, from_name) = self.parent_in(Layer::Upper, from)?;
        let (to_dir, to_name) = self.parent_in(Layer::Upper, to)?;
        rustix::fs::renameat(&from_dir, from_name, &to_dir, to_name).map_err(host)?;
        // It may have replaced what `to` named.
        self.freed();
        Ok(())
    }

    /// Creates the symlink `rel` (in upper) holding `target` as given:
    /// what a link says is the guest's business, following it is
    /// `path.rs`'s, and the host never follows one.
    pub fn symlink(&self, target: &OsStr, rel: &[OsString]) -> Result<(), Errno> {
        let (dir, name) = self.parent_in(Layer::Upper, rel)?;
        self.charge(ENTRY_BYTES)?;
        rustix::fs::symlinkat(target, &dir, name).map_err(host)
    }

    /// Makes `to` another name of the file (or symlink, unfollowed) `from`
    /// found in `layer`. Both names end up in upper: a lower file is copied
    /// up first, so the shared inode never gets a name a user can write
    /// through.
    pub fn link(&self, layer: Layer, from: &[OsString], to: &[OsString]) -> Result<(), Errno> {
        if layer == Layer::Lower {
            self.copy_up(from, false)?;
        }
        let (from_dir, from_name) = self.parent_in(Layer::Upper, from)?;
        let (to_dir, to_name) = self.parent_in(Layer::Upper, to)?;
        self.charge(ENTRY_BYTES)?;
        rustix::fs::linkat(&from_dir, from_name, &to_dir, to_name, AtFlags::empty()).map_err(host)
    }
}

/// `rel` as a display string (tests, messages).
#[cfg(test)]
pub(crate) fn display(rel: &[OsString]) -> String {
    rel.iter()
        .map(|c| c.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Components of a relative path, for tests.
#[cfg(test)]
pub(crate) fn rel(path: &str) -> Vec<OsString> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(OsString::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasm_testutil::TempDir;

    fn layered() -> (TempDir, Vfs) {
        let t = TempDir::new("vfs");
        t.mkdir("up");
        t.mkdir("low/shared");
        t.write("low/shared/data.txt", "shared");
        t.write("low/both.txt", "lower");
        t.write("up/both.txt", "upper");
        let v = Vfs::new(&Mount::layered("/", t.path("up"), t.path("low"))).unwrap();
        (t, v)
    }

    #[test]
    fn upper_shadows_lower_and_dirs_merge() {
        let (t, v) = layered();
        let (layer, _) = v.lstat(&rel("both.txt")).unwrap().unwrap();
        assert_eq!(layer, Layer::Upper);
        let (layer, _) = v.lstat(&rel("shared/data.txt")).unwrap().unwrap();
        assert_eq!(layer, Layer::Lower);
        assert!(v.lstat(&rel("nope")).unwrap().is_none());
        t.write("up/mine.txt", "");
        let names: Vec<_> = v.list(&[]).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["both.txt", "mine.txt", "shared"]);
    }

    #[test]
    fn writing_a_lower_file_copies_it_up() {
        let (t, v) = layered();
        let rw = Access {
            read: true,
            write: true,
            sync: OFlags::empty(),
        };
        let mut f = v
            .open_file(Layer::Lower, &rel("shared/data.txt"), &rw, false)
            .unwrap();
        use std::io::{Read, Seek, Write};
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "shared");
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.write_all(b"SH").unwrap();
        assert_eq!(t.read("up/shared/data.txt"), "SHared");
        assert_eq!(t.read("low/shared/data.txt"), "shared");
        assert_eq!(
            v.lstat(&rel("shared/data.txt")).unwrap().unwrap().0,
            Layer::Upper
        );
    }

    #[test]
    fn read_only_mounts_refuse_changes() {
        let t = TempDir::new("vfs-ro");
        t.write("f", "x");
        let v = Vfs::new(&Mount::read_only(t.path(""), "/ro")).unwrap();
        assert!(!v.writable());
        assert_eq!(v.ensure_upper_dir(&rel("a")), Err(Errno::Rofs));
        assert_eq!(v.create_dir(&rel("a")), Err(Errno::Rofs));
        let w = Access {
            read: false,
            write: true,
            sync: OFlags::empty(),
        };
        assert_eq!(
            v.open_file(Layer::Lower, &rel("f"), &w, false).unwrap_err(),
            Errno::Rofs
        );
        assert_eq!(display(&rel("a/b")), "a/b");
    }

    #[test]
    fn a_symlinked_directory_in_a_layer_is_never_walked() {
        let (t, v) = layered();
        std::os::unix::fs::symlink("/etc", t.path("low/etc")).unwrap();
        // The link itself is visible (as a link), what is behind it is not.
        let (_, m) = v.lstat(&rel("etc")).unwrap().unwrap();
        assert!(m.file_type().is_symlink());
        assert!(v.lstat(&rel("etc/passwd")).unwrap().is_none());
    }

    /// The open-time race: the resolver checks `d` is a real directory,
    /// then a host process (or a guest sharing the tree, by renaming a
    /// link) swaps a symlink to somewhere else in for it before the host
    /// operation. Opening by joined host path would follow it; every host
    /// access here is one kernel lookup that refuses to cross a link.
    #[test]
    fn a_symlink_swapped_in_after_resolution_is_never_crossed() {
        use crate::wasi::path::resolve;
        for fallback in [false, true] {
            let t = TempDir::new("vfs-race");
            t.write("outside/secret.txt", "secret");
            t.write("root/d/secret.txt", "inside");
            let mut v = Vfs::new(&Mount::dir(t.path("root"), "/")).unwrap();
            if fallback {
                v = v.with_component_walk();
            }
            let r = resolve(&v, &[], b"d/secret.txt", false).unwrap();
            assert!(r.found.is_some());
            std::fs::rename(t.path("root/d"), t.path("root/d.old")).unwrap();
            std::os::unix::fs::symlink(t.path("outside"), t.path("root/d")).unwrap();
            let refused = |e: Errno| matches!(e, Errno::Loop | Errno::Notdir);
            let (read, write) = (
                Access {
                    read: true,
                    write: false,
                    sync: OFlags::empty(),
                },
                Access {
                    read: true,
                    write: true,
                    sync: OFlags::empty(),
                },
            );
            let secret = rel("d/secret.txt");
            let e = v.open_file(Layer::Upper, &r.rel, &read, false).unwrap_err();
            assert!(refused(e), "fallback={fallback}: {e:?}");
            let e = v
                .open_file(Layer::Upper, &secret, &write, true)
                .unwrap_err();
            assert!(refused(e), "{e:?}");
            assert!(refused(v.create_file(&rel("d/new"), &write).unwrap_err()));
            assert!(refused(v.create_dir(&rel("d/x")).unwrap_err()));
            assert!(refused(
                v.symlink(OsStr::new("x"), &rel("d/l")).unwrap_err()
            ));
            assert!(refused(v.remove_file(&secret).unwrap_err()));
            assert!(refused(v.rename(&secret, &rel("stolen")).unwrap_err()));
            assert!(refused(
                v.link(Layer::Upper, &secret, &rel("stolen")).unwrap_err()
            ));
            let times = Timestamps {
                last_access: rustix::fs::Timespec {
                    tv_sec: 0,
                    tv_nsec: rustix::fs::UTIME_OMIT,
                },
                last_modification: rustix::fs::Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                },
            };
            assert!(refused(v.set_times(&secret, &times).unwrap_err()));
            // Lookups see the link, and nothing behind it.
            assert!(v.lstat(&secret).unwrap().is_none());
            assert_eq!(v.list(&rel("d")).unwrap_err(), Errno::Notdir);
            // The outside tree is untouched.
            assert_eq!(t.read("outside/secret.txt"), "secret");
            let names: Vec<_> = std::fs::read_dir(t.path("outside"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["secret.txt"]);
            assert!(!t.exists("root/stolen"));
        }
    }

    #[test]
    fn bad_mounts_are_refused() {
        let t = TempDir::new("vfs-bad");
        t.write("file", "");
        assert!(matches!(
            Vfs::new(&Mount::dir(t.path("missing"), "/")),
            Err(MountError::HostDir { .. })
        ));
        assert!(matches!(
            Vfs::new(&Mount::dir(t.path("file"), "/")),
            Err(MountError::HostDir { .. })
        ));
        let none = Mount {
            guest_path: "/".into(),
            upper: None,
            lower: None,
            disk_limit: None,
        };
        assert!(matches!(Vfs::new(&none), Err(MountError::NoLayers { .. })));
        assert!(matches!(
            Vfs::new(&Mount::dir(t.path(""), "")),
            Err(MountError::BadGuestPath { .. })
        ));
    }
}
