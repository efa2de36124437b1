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
//! This module only knows host paths for already-validated component
//! lists; turning a guest path into one (`..`, symlinks) is `path.rs`'s
//! job. Within one layer it still refuses to walk through anything but
//! real directories, so a component that is a symlink in one layer can
//! never be followed by a lookup in that layer.

use super::fs_errno::io_errno;
use crate::errno::Errno;
use std::ffi::OsString;
use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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
}

impl Mount {
    /// A plain writable directory (no lower tree).
    pub fn dir(host: impl Into<PathBuf>, guest: impl Into<String>) -> Mount {
        Mount {
            guest_path: guest.into(),
            upper: Some(host.into()),
            lower: None,
        }
    }

    /// A read-only directory.
    pub fn read_only(host: impl Into<PathBuf>, guest: impl Into<String>) -> Mount {
        Mount {
            guest_path: guest.into(),
            upper: None,
            lower: Some(host.into()),
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
    #[error("mount {guest:?} has neither a writable nor a read-only host directory")]
    NoLayers { guest: String },
    #[error("mount {guest:?}: guest path is empty or contains a NUL byte")]
    BadGuestPath { guest: String },
    #[error("mount {guest:?}: cannot use host directory {path}: {reason}")]
    HostDir {
        guest: String,
        path: PathBuf,
        reason: String,
    },
}

/// Which tree a name was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    Upper,
    Lower,
}

/// A mount after validation: host roots canonicalised once, so later
/// joins of checked components cannot be redirected by a symlink in the
/// configured root path itself changing meaning.
#[derive(Debug)]
pub(crate) struct Vfs {
    pub guest_path: String,
    upper: Option<PathBuf>,
    lower: Option<PathBuf>,
}

fn root(guest: &str, path: &Path) -> Result<PathBuf, MountError> {
    let err = |reason: String| MountError::HostDir {
        guest: guest.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    let canonical = std::fs::canonicalize(path).map_err(|e| err(e.to_string()))?;
    if !canonical.is_dir() {
        return Err(err("not a directory".to_string()));
    }
    Ok(canonical)
}

/// Whether a lookup error only means "not in this layer".
fn absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Opens without following a final symlink: the resolver has checked the
/// name is not one, and this closes the window in which a host process
/// could swap one in (intermediate components stay a documented TOCTOU).
fn nofollow(opts: &mut OpenOptions) -> &mut OpenOptions {
    opts.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
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
        Ok(Vfs {
            guest_path: m.guest_path.clone(),
            upper: upper.transpose()?,
            lower: lower.transpose()?,
        })
    }

    pub fn writable(&self) -> bool {
        self.upper.is_some()
    }

    fn layer_root(&self, layer: Layer) -> Option<&Path> {
        match layer {
            Layer::Upper => self.upper.as_deref(),
            Layer::Lower => self.lower.as_deref(),
        }
    }

    /// The host path of `rel` in `layer` (the layer must exist).
    pub fn host_path(&self, layer: Layer, rel: &[OsString]) -> Result<PathBuf, Errno> {
        let mut p = self.layer_root(layer).ok_or(Errno::Rofs)?.to_path_buf();
        p.extend(rel);
        Ok(p)
    }

    /// `lstat` of `rel` in one layer; `None` if it is not there, including
    /// when one of its parents in that layer is not a real directory.
    fn lstat_in(&self, layer: Layer, rel: &[OsString]) -> Result<Option<Metadata>, Errno> {
        let Some(root) = self.layer_root(layer) else {
            return Ok(None);
        };
        let mut p = root.to_path_buf();
        for (i, c) in rel.iter().enumerate() {
            p.push(c);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if i + 1 == rel.len() => return Ok(Some(m)),
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Ok(None),
                Err(e) if absent(&e) => return Ok(None),
                Err(e) => return Err(io_errno(&e)),
            }
        }
        // The root itself.
        std::fs::symlink_metadata(&p)
            .map(Some)
            .map_err(|e| io_errno(&e))
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
        std::fs::read_link(self.host_path(layer, rel)?).map_err(|e| io_errno(&e))
    }

    /// The names in directory `rel` of the merged view, sorted, each with
    /// its (unfollowed) metadata. Lower entries show only if upper has a
    /// directory or nothing at `rel`, and only where upper lacks the name.
    pub fn list(&self, rel: &[OsString]) -> Result<Vec<(OsString, Metadata)>, Errno> {
        let mut out: Vec<(OsString, Metadata)> = Vec::new();
        let upper = self.lstat_in(Layer::Upper, rel)?;
        let mut layers = Vec::new();
        match &upper {
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
        for layer in layers {
            let dir = self.host_path(layer, rel)?;
            for entry in std::fs::read_dir(&dir).map_err(|e| io_errno(&e))? {
                let entry = entry.map_err(|e| io_errno(&e))?;
                let name = entry.file_name();
                if out.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                // An entry deleted while listing is simply skipped.
                if let Ok(meta) = std::fs::symlink_metadata(entry.path()) {
                    out.push((name, meta));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
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
                None => {
                    let p = self.host_path(Layer::Upper, prefix)?;
                    match std::fs::create_dir(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(io_errno(&e)),
                    }
                }
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
        read: bool,
        write: bool,
        truncate: bool,
    ) -> Result<File, Errno> {
        let mut opts = OpenOptions::new();
        // The host needs some access mode; a guest asking for neither
        // (only to fstat, say) gets a read-only host handle it cannot use.
        opts.read(read || !write)
            .write(write)
            .truncate(truncate && write);
        nofollow(&mut opts);
        if write && layer == Layer::Lower {
            self.copy_up(rel, truncate)?;
        }
        let layer = if write { Layer::Upper } else { layer };
        opts.open(self.host_path(layer, rel)?)
            .map_err(|e| io_errno(&e))
    }

    fn copy_up(&self, rel: &[OsString], empty: bool) -> Result<(), Errno> {
        let (parent, _) = rel.split_at(rel.len().saturating_sub(1));
        self.ensure_upper_dir(parent)?;
        let mut dst = self.create_file(rel, false)?;
        if !empty {
            let mut src = File::options();
            src.read(true);
            nofollow(&mut src);
            let mut src = src
                .open(self.host_path(Layer::Lower, rel)?)
                .map_err(|e| io_errno(&e))?;
            std::io::copy(&mut src, &mut dst).map_err(|e| io_errno(&e))?;
        }
        Ok(())
    }

    /// Creates a new file `rel` in upper (its parent must exist there).
    pub fn create_file(&self, rel: &[OsString], read: bool) -> Result<File, Errno> {
        let mut opts = OpenOptions::new();
        opts.read(read).write(true).create_new(true);
        nofollow(&mut opts);
        opts.open(self.host_path(Layer::Upper, rel)?)
            .map_err(|e| io_errno(&e))
    }

    pub fn create_dir(&self, rel: &[OsString]) -> Result<(), Errno> {
        std::fs::create_dir(self.host_path(Layer::Upper, rel)?).map_err(|e| io_errno(&e))
    }

    pub fn remove_file(&self, rel: &[OsString]) -> Result<(), Errno> {
        std::fs::remove_file(self.host_path(Layer::Upper, rel)?).map_err(|e| io_errno(&e))
    }

    /// Removes an upper directory that is empty in the merged view.
    pub fn remove_dir(&self, rel: &[OsString]) -> Result<(), Errno> {
        if let Some(m) = self.lstat_in(Layer::Lower, rel)?
            && m.is_dir()
        {
            let lower = self.host_path(Layer::Lower, rel)?;
            let mut entries = std::fs::read_dir(lower).map_err(|e| io_errno(&e))?;
            if entries.next().is_some() {
                return Err(Errno::Notempty);
            }
        }
        std::fs::remove_dir(self.host_path(Layer::Upper, rel)?).map_err(|e| io_errno(&e))
    }

    /// Sets the times of `rel` (in upper; the shared tree is read-only).
    pub fn set_times(&self, rel: &[OsString], times: std::fs::FileTimes) -> Result<(), Errno> {
        let mut opts = OpenOptions::new();
        opts.read(true);
        nofollow(&mut opts);
        let f = opts
            .open(self.host_path(Layer::Upper, rel)?)
            .map_err(|e| io_errno(&e))?;
        f.set_times(times).map_err(|e| io_errno(&e))
    }

    pub fn rename(&self, from: &[OsString], to: &[OsString]) -> Result<(), Errno> {
        std::fs::rename(
            self.host_path(Layer::Upper, from)?,
            self.host_path(Layer::Upper, to)?,
        )
        .map_err(|e| io_errno(&e))
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
    use crate::wasi::fs_testutil::TempDir;

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
        let names: Vec<_> = v.list(&[]).unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(names, ["both.txt", "mine.txt", "shared"]);
    }

    #[test]
    fn writing_a_lower_file_copies_it_up() {
        let (t, v) = layered();
        let mut f = v
            .open_file(Layer::Lower, &rel("shared/data.txt"), true, true, false)
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
        assert_eq!(
            v.open_file(Layer::Lower, &rel("f"), false, true, false)
                .unwrap_err(),
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
        };
        assert!(matches!(Vfs::new(&none), Err(MountError::NoLayers { .. })));
        assert!(matches!(
            Vfs::new(&Mount::dir(t.path(""), "")),
            Err(MountError::BadGuestPath { .. })
        ));
    }
}
