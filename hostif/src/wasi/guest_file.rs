//! Reading a file by the guest's own path, for host calls that take a path
//! (`__faasm_write_state_from_file`): the path is looked up the way
//! wasi-libc does it, under the preopened directory whose guest name is its
//! longest prefix, and then resolved with the same checks as `path_open`,
//! so a host call sees exactly the files the guest could open itself.

use super::ctx::{FdEntry, WasiCtx};
use super::path::resolve;
use super::vfs::Access;
use crate::Errno;
use rustix::fs::OFlags;
use std::io::Read;

/// `name` without leading `/` and `./`; `.` (the cwd preopen) becomes "".
fn normalise(name: &[u8]) -> &[u8] {
    let mut n = name;
    loop {
        if let Some(rest) = n.strip_prefix(b"/") {
            n = rest;
        } else if let Some(rest) = n.strip_prefix(b"./") {
            n = rest;
        } else if n == b"." {
            return b"";
        } else {
            return n;
        }
    }
}

/// What is left of `path` under the preopen `name`, if it is under it.
fn under<'p>(name: &[u8], path: &'p [u8]) -> Option<&'p [u8]> {
    if name.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix(name)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(b"/")
    }
}

impl WasiCtx {
    /// The contents of the guest's file `path`, at most `limit` bytes
    /// (`EFBIG` past that, before reading it). `ENOENT` if no preopened
    /// directory holds it; the other errors are `path_open`'s.
    pub fn read_guest_file(&self, path: &str, limit: u64) -> Result<Vec<u8>, Errno> {
        let path = normalise(path.as_bytes());
        let st = super::ctx::lock(&self.state);
        let best = st
            .fds
            .iter()
            .flatten()
            .filter_map(|e| match e {
                FdEntry::Dir(d) => {
                    let name = normalise(d.preopen.as_deref()?);
                    under(name, path).map(|rest| (name.len(), d, rest))
                }
                _ => None,
            })
            .max_by_key(|(len, _, _)| *len);
        let Some((_, dir, rest)) = best else {
            return Err(Errno::Noent);
        };
        let rest = if rest.is_empty() { b"." } else { rest };
        let r = resolve(&dir.vfs, &dir.rel, rest, true)?;
        let Some((layer, meta)) = &r.found else {
            return Err(Errno::Noent);
        };
        if meta.is_dir() {
            return Err(Errno::Isdir);
        }
        if meta.len() > limit {
            return Err(Errno::Fbig);
        }
        let read = Access {
            read: true,
            write: false,
            sync: OFlags::empty(),
        };
        let file = dir.vfs.open_file(*layer, &r.rel, &read, false)?;
        let mut bytes = Vec::new();
        // Bounded again: the file may have grown since the stat.
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| Errno::Io)?;
        if bytes.len() as u64 > limit {
            return Err(Errno::Fbig);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasm_testutil::TempDir;

    fn ctx(dir: &TempDir, guest: &str) -> WasiCtx {
        WasiCtx::builder()
            .preopen_dir(dir.path(""), guest)
            .build()
            .unwrap()
    }

    #[test]
    fn reads_files_under_the_longest_matching_preopen() {
        let root = TempDir::new("guest-file-root");
        root.write("a/x.txt", "root x");
        let data = TempDir::new("guest-file-data");
        data.write("x.txt", "data x");
        let c = WasiCtx::builder()
            .preopen_dir(root.path(""), "/")
            .preopen_dir(data.path(""), "/a")
            .build()
            .unwrap();
        assert_eq!(c.read_guest_file("/a/x.txt", 100).unwrap(), b"data x");
        assert_eq!(c.read_guest_file("a/x.txt", 100).unwrap(), b"data x");
        let c = ctx(&root, "/");
        assert_eq!(c.read_guest_file("/a/x.txt", 100).unwrap(), b"root x");
        assert_eq!(c.read_guest_file("/a/./x.txt", 100).unwrap(), b"root x");
    }

    #[test]
    fn refuses_what_the_guest_could_not_open() {
        let root = TempDir::new("guest-file-refuse");
        root.write("f.txt", "0123456789");
        let c = ctx(&root, "/d");
        assert_eq!(c.read_guest_file("/d/f.txt", 10).unwrap(), b"0123456789");
        assert_eq!(c.read_guest_file("/d/f.txt", 9), Err(Errno::Fbig));
        assert_eq!(c.read_guest_file("/d/missing", 9), Err(Errno::Noent));
        assert_eq!(c.read_guest_file("/elsewhere/f.txt", 9), Err(Errno::Noent));
        assert_eq!(c.read_guest_file("/d", 9), Err(Errno::Isdir));
        assert_eq!(
            c.read_guest_file("/d/../d/f.txt", 10),
            Err(Errno::Notcapable)
        );
        // Not a prefix by component: /dd is not under /d.
        assert_eq!(c.read_guest_file("/dd/f.txt", 10), Err(Errno::Noent));
        let none = WasiCtx::builder().build().unwrap();
        assert_eq!(none.read_guest_file("/d/f.txt", 10), Err(Errno::Noent));
    }
}
