//! Host opens confined to a directory descriptor: the one place where a
//! checked guest path (a list of plain names, see `path.rs`) becomes a
//! host file.
//!
//! The names are looked up by the kernel relative to a mount root that is
//! held open, and no symlink is ever followed by the host: on Linux 5.6+
//! with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS)` (one syscall; the kernel refuses any walk that
//! would leave the root or cross a link), elsewhere (`ENOSYS`) by walking
//! one `openat(O_NOFOLLOW | O_DIRECTORY)` per component. Either way the
//! check and the use are the same kernel lookup, so nothing that renames
//! or swaps in a symlink (a host process, or a guest sharing the tree)
//! between the resolver's look and the open can redirect it outside the
//! root: the worst it can cause is an error (`ELOOP`, `ENOTDIR`,
//! `ENOENT`). The guest still sees symlinks inside its tree followed: the
//! resolver expands them in the guest's namespace and hands over only
//! names that were real directories.

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno as Host;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Cleared the first time `openat2` turns out to be missing (`ENOSYS`).
static HAVE_OPENAT2: AtomicBool = AtomicBool::new(true);

/// How intermediate components are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walk {
    /// `openat2` if the kernel has it, else [`Walk::Components`].
    Best,
    /// One `openat(O_NOFOLLOW)` per component (the `ENOSYS` fallback;
    /// tests force it to check both).
    #[cfg_attr(not(test), allow(dead_code))]
    Components,
}

/// Refuses anything but a plain name: the resolver never produces one,
/// so this only guards against a bug elsewhere turning into an escape.
fn plain(name: &OsStr) -> std::io::Result<&OsStr> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') || b.contains(&0) {
        return Err(Host::INVAL.into());
    }
    Ok(name)
}

/// Opens `rel` (plain names; empty for `root` itself) under `root` with
/// `flags` (always `O_NOFOLLOW | O_CLOEXEC`: a final symlink is opened as
/// itself with `O_PATH`, refused with `ELOOP` otherwise).
pub(crate) fn open(
    root: BorrowedFd<'_>,
    rel: &[OsString],
    flags: OFlags,
    mode: Mode,
    walk: Walk,
) -> std::io::Result<OwnedFd> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    for name in rel {
        plain(name)?;
    }
    if walk == Walk::Best && HAVE_OPENAT2.load(Ordering::Relaxed) {
        let mut path = Vec::new();
        for (i, name) in rel.iter().enumerate() {
            if i > 0 {
                path.push(b'/');
            }
            path.extend_from_slice(name.as_bytes());
        }
        if path.is_empty() {
            path.push(b'.');
        }
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        // EAGAIN: the kernel saw a concurrent rename and could not prove
        // the walk stayed beneath; it is safe to try again.
        for _ in 0..8 {
            match rustix::fs::openat2(root, path.as_slice(), flags, mode, resolve) {
                Err(Host::AGAIN) => continue,
                Err(Host::NOSYS) => {
                    HAVE_OPENAT2.store(false, Ordering::Relaxed);
                    break;
                }
                other => return other.map_err(Into::into),
            }
        }
        if HAVE_OPENAT2.load(Ordering::Relaxed) {
            return Err(Host::AGAIN.into());
        }
    }
    components(root, rel, flags, mode)
}

/// The fallback walk: every directory on the way is opened with
/// `O_NOFOLLOW | O_DIRECTORY` relative to the previous one, so a symlink
/// anywhere is `ELOOP`/`ENOTDIR` rather than followed.
fn components(
    root: BorrowedFd<'_>,
    rel: &[OsString],
    flags: OFlags,
    mode: Mode,
) -> std::io::Result<OwnedFd> {
    let Some((last, parents)) = rel.split_last() else {
        return Ok(rustix::fs::openat(root, ".", flags, mode)?);
    };
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut cur: Option<OwnedFd> = None;
    for name in parents {
        let at = cur.as_ref().map_or(root, |fd| fd.as_fd());
        cur = Some(rustix::fs::openat(
            at,
            name.as_os_str(),
            dir_flags,
            Mode::empty(),
        )?);
    }
    let at = cur.as_ref().map_or(root, |fd| fd.as_fd());
    Ok(rustix::fs::openat(at, last.as_os_str(), flags, mode)?)
}

/// The directory holding `rel` (opened for use as a `*at` base) and the
/// name of `rel` in it: `(root itself, ".")` for the root.
pub(crate) fn parent<'r>(
    root: BorrowedFd<'_>,
    rel: &'r [OsString],
    walk: Walk,
) -> std::io::Result<(OwnedFd, &'r OsStr)> {
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY;
    match rel.split_last() {
        None => Ok((
            open(root, &[], dir_flags, Mode::empty(), walk)?,
            OsStr::new("."),
        )),
        Some((last, parents)) => Ok((
            open(root, parents, dir_flags, Mode::empty(), walk)?,
            plain(last)?,
        )),
    }
}

/// `lstat` without following: metadata of whatever `rel` names.
pub(crate) fn lstat(
    root: BorrowedFd<'_>,
    rel: &[OsString],
    walk: Walk,
) -> std::io::Result<std::fs::Metadata> {
    let fd = open(root, rel, OFlags::PATH, Mode::empty(), walk)?;
    std::fs::File::from(fd).metadata()
}

/// `(inode, file type)` of `name` in the open directory `dir`, unfollowed.
pub(crate) fn entry_stat(
    dir: BorrowedFd<'_>,
    name: &OsStr,
) -> std::io::Result<(u64, rustix::fs::FileType)> {
    let st = rustix::fs::statat(dir, plain(name)?, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok((st.st_ino, rustix::fs::FileType::from_raw_mode(st.st_mode)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::vfs::rel;
    use faasm_testutil::TempDir;
    use std::os::unix::fs::symlink;

    fn root(t: &TempDir) -> OwnedFd {
        rustix::fs::open(
            t.path("root"),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap()
    }

    fn errno(e: std::io::Error) -> Host {
        Host::from_io_error(&e).unwrap()
    }

    #[test]
    fn both_walks_open_plain_paths_and_never_cross_a_link() {
        let t = TempDir::new("beneath");
        t.write("root/a/b/f.txt", "inside");
        t.write("secret/s.txt", "outside");
        symlink(t.path("secret"), t.path("root/abs")).unwrap();
        symlink("../secret", t.path("root/up")).unwrap();
        symlink("b", t.path("root/a/inside")).unwrap();
        symlink("f.txt", t.path("root/a/b/lnk")).unwrap();
        let root = root(&t);
        for walk in [Walk::Best, Walk::Components] {
            let read = |p: &str| open(root.as_fd(), &rel(p), OFlags::RDONLY, Mode::empty(), walk);
            let f = read("a/b/f.txt").unwrap();
            assert_eq!(
                std::io::read_to_string(std::fs::File::from(f)).unwrap(),
                "inside"
            );
            // Links are never crossed by the host, wherever they point.
            for p in ["abs/s.txt", "up/s.txt", "a/inside/f.txt"] {
                let e = errno(read(p).unwrap_err());
                assert!(e == Host::LOOP || e == Host::NOTDIR, "{walk:?} {p}: {e:?}");
            }
            // A final link is refused when opened, reported as itself by lstat.
            assert_eq!(errno(read("a/b/lnk").unwrap_err()), Host::LOOP);
            assert!(
                lstat(root.as_fd(), &rel("a/b/lnk"), walk)
                    .unwrap()
                    .is_symlink()
            );
            assert!(lstat(root.as_fd(), &[], walk).unwrap().is_dir());
            // Names that are not plain never reach the kernel.
            let dots = [OsString::from("..")];
            let e = open(root.as_fd(), &dots, OFlags::PATH, Mode::empty(), walk);
            assert_eq!(errno(e.unwrap_err()), Host::INVAL);
        }
    }
}
