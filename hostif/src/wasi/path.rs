//! Resolving a guest path inside a directory descriptor, component by
//! component, so that it can never name a host file outside the mount.
//!
//! The rules (the sandbox's core):
//! - absolute paths are refused (`ENOTCAPABLE`): a path is always relative
//!   to the directory descriptor it is passed with;
//! - `.` and empty components are skipped; `..` pops one component and is
//!   refused if it would climb above the descriptor's own directory;
//! - every component before the last must be a real directory in the
//!   merged view ([`Vfs::lstat`], which never walks a symlink either);
//! - a symlink met on the way (or last, when following was asked for) is
//!   expanded *in the guest's namespace*: its target must be relative and
//!   is resolved by these same rules, so it can only lead to names that
//!   are inside the descriptor's directory; an absolute target or one that
//!   climbs out is `ENOTCAPABLE`, and more than [`MAX_SYMLINKS`]
//!   expansions is `ELOOP`.
//!
//! The result is a list of plain names under the mount root, each before
//! the last a real directory when it was looked at. `vfs.rs` hands it to
//! `beneath.rs`, which has the kernel walk those names from the mount's
//! open root refusing to cross any symlink, so a tree changed between this
//! check and the host operation (a link swapped in by the host, or by a
//! guest renaming one it made) yields an error, never a file outside.

use super::vfs::{Layer, Vfs};
use crate::errno::Errno;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;

/// Longest guest path accepted, like the host's `PATH_MAX`.
pub const MAX_PATH: u32 = 4096;
/// Longest single name, like the host's `NAME_MAX`.
const MAX_NAME: usize = 255;
/// Symlink expansions per lookup, like Linux's limit.
pub const MAX_SYMLINKS: u32 = 40;

/// A resolved guest path.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// Components under the mount root, none of them `.`, `..` or empty.
    pub rel: Vec<OsString>,
    /// What is there now (not followed if it is a symlink), and in which
    /// layer; `None` if the last component does not exist (its parent does).
    pub found: Option<(Layer, Metadata)>,
}

impl Resolved {
    pub fn is_dir(&self) -> bool {
        matches!(&self.found, Some((_, m)) if m.is_dir())
    }

    /// The parent's components (the mount root's parent is itself).
    pub fn parent(&self) -> &[OsString] {
        &self.rel[..self.rel.len().saturating_sub(1)]
    }
}

fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

/// Resolves `path` relative to the directory `base` (components under the
/// mount root) of `vfs`. `follow` says whether a symlink as the last
/// component is expanded (`lookupflags::symlink_follow`).
pub(crate) fn resolve(
    vfs: &Vfs,
    base: &[OsString],
    path: &[u8],
    follow: bool,
) -> Result<Resolved, Errno> {
    if path.is_empty() {
        return Err(Errno::Noent);
    }
    if path.contains(&0) {
        return Err(Errno::Inval);
    }
    if path.len() > MAX_PATH as usize {
        return Err(Errno::Nametoolong);
    }
    if path[0] == b'/' {
        return Err(Errno::Notcapable);
    }
    // A trailing slash (or `/.`) asks for a directory, like POSIX.
    let mut must_be_dir = path.ends_with(b"/") || path.ends_with(b"/.") || path == b".";
    let mut pending: VecDeque<OsString> = components(path)
        .map(|c| OsStr::from_bytes(c).to_os_string())
        .collect();
    let mut cur: Vec<OsString> = base.to_vec();
    let mut found = None;
    // Whether `found` describes `cur` (false after `..` or an expansion).
    let mut looked = false;
    let mut expansions = 0;
    while let Some(name) = pending.pop_front() {
        if name.as_bytes() == b".." {
            if cur.len() <= base.len() {
                return Err(Errno::Notcapable);
            }
            cur.pop();
            looked = false;
            continue;
        }
        if name.len() > MAX_NAME {
            return Err(Errno::Nametoolong);
        }
        cur.push(name);
        let last = pending.is_empty();
        let meta = vfs.lstat(&cur)?;
        match &meta {
            None if last => {}
            None => return Err(Errno::Noent),
            Some((layer, m)) if m.file_type().is_symlink() && (!last || follow || must_be_dir) => {
                expansions += 1;
                if expansions > MAX_SYMLINKS {
                    return Err(Errno::Loop);
                }
                let target = vfs.read_link(*layer, &cur)?;
                let target = target.as_os_str().as_bytes();
                if target.first() == Some(&b'/') || target.is_empty() {
                    return Err(Errno::Notcapable);
                }
                if target.ends_with(b"/") && last {
                    must_be_dir = true;
                }
                cur.pop();
                for c in components(target).collect::<Vec<_>>().into_iter().rev() {
                    pending.push_front(OsStr::from_bytes(c).to_os_string());
                }
                looked = false;
                continue;
            }
            Some((_, m)) if !last && !m.is_dir() => return Err(Errno::Notdir),
            Some(_) => {}
        }
        found = meta;
        looked = true;
    }
    // Ended on `..`, on a symlink expanded to nothing but `.`, or the path
    // was `.`: look at where we are now.
    if !looked {
        found = vfs.lstat(&cur)?;
        if found.is_none() {
            // A directory we walked through vanished meanwhile.
            return Err(Errno::Noent);
        }
    }
    let r = Resolved { rel: cur, found };
    if must_be_dir && r.found.is_some() && !r.is_dir() {
        return Err(Errno::Notdir);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::vfs::{Mount, display, rel};
    use faasm_testutil::TempDir;
    use std::os::unix::fs::symlink;

    fn fixture() -> (TempDir, Vfs) {
        let t = TempDir::new("path");
        t.mkdir("root/a/b");
        t.write("root/a/f.txt", "f");
        t.write("secret.txt", "outside");
        let v = Vfs::new(&Mount::dir(t.path("root"), "/")).unwrap();
        (t, v)
    }

    fn ok(v: &Vfs, base: &str, path: &str) -> (String, bool) {
        let r = resolve(v, &rel(base), path.as_bytes(), true).unwrap();
        (display(&r.rel), r.found.is_some())
    }

    fn err(v: &Vfs, base: &str, path: &str) -> Errno {
        resolve(v, &rel(base), path.as_bytes(), true).unwrap_err()
    }

    #[test]
    fn plain_paths_and_dots() {
        let (_t, v) = fixture();
        assert_eq!(ok(&v, "", "a/f.txt"), ("a/f.txt".into(), true));
        assert_eq!(ok(&v, "", "./a//b/"), ("a/b".into(), true));
        assert_eq!(ok(&v, "", "a/b/../f.txt"), ("a/f.txt".into(), true));
        assert_eq!(ok(&v, "", "."), ("".into(), true));
        assert_eq!(ok(&v, "", "a/.."), ("".into(), true));
        assert_eq!(ok(&v, "a", "b/.."), ("a".into(), true));
        assert_eq!(ok(&v, "a", "new.txt"), ("a/new.txt".into(), false));
        assert_eq!(err(&v, "", "a/missing/x"), Errno::Noent);
        assert_eq!(err(&v, "", "a/f.txt/x"), Errno::Notdir);
        assert_eq!(err(&v, "", "a/f.txt/"), Errno::Notdir);
        assert_eq!(err(&v, "", ""), Errno::Noent);
        assert_eq!(err(&v, "", "a\0b"), Errno::Inval);
        assert_eq!(err(&v, "", &"x".repeat(300)), Errno::Nametoolong);
    }

    #[test]
    fn escapes_are_refused() {
        let (_t, v) = fixture();
        assert_eq!(err(&v, "", ".."), Errno::Notcapable);
        assert_eq!(err(&v, "", "../secret.txt"), Errno::Notcapable);
        assert_eq!(err(&v, "", "a/../../secret.txt"), Errno::Notcapable);
        assert_eq!(err(&v, "", "a/b/../../.."), Errno::Notcapable);
        assert_eq!(err(&v, "", "/etc/passwd"), Errno::Notcapable);
        // `..` may not climb above the descriptor's own directory either.
        assert_eq!(err(&v, "a", "../a/f.txt"), Errno::Notcapable);
    }

    #[test]
    fn symlinks_inside_are_followed_outside_refused() {
        let (t, v) = fixture();
        symlink("../secret.txt", t.path("root/up")).unwrap();
        symlink("/etc/passwd", t.path("root/abs")).unwrap();
        symlink("/etc", t.path("root/etcdir")).unwrap();
        symlink("a/f.txt", t.path("root/inside")).unwrap();
        symlink("b/../..", t.path("root/a/parent")).unwrap();
        symlink("loop", t.path("root/loop")).unwrap();
        assert_eq!(err(&v, "", "up"), Errno::Notcapable);
        assert_eq!(err(&v, "", "abs"), Errno::Notcapable);
        assert_eq!(err(&v, "", "etcdir/passwd"), Errno::Notcapable);
        assert_eq!(err(&v, "", "loop"), Errno::Loop);
        assert_eq!(ok(&v, "", "inside"), ("a/f.txt".into(), true));
        assert_eq!(ok(&v, "", "a/parent/a/f.txt"), ("a/f.txt".into(), true));
        // From inside `a`, the same link climbs out of the descriptor.
        assert_eq!(err(&v, "a", "parent/a/f.txt"), Errno::Notcapable);
        // Not following the last component reports the link itself.
        let r = resolve(&v, &[], b"abs", false).unwrap();
        assert!(r.found.unwrap().1.file_type().is_symlink());
        // ...but an intermediate link is always expanded (and refused).
        assert_eq!(
            resolve(&v, &[], b"etcdir/passwd", false).unwrap_err(),
            Errno::Notcapable
        );
    }
}
