//! Filesystem calls driven the way a guest drives them: through the WASI
//! dispatch (so argument order and types are exercised too) over a guest
//! memory, against scratch directories.

use super::fdtable::rights;
use super::filetype;
use super::{WasiCtx, call, implementation, signatures, unsupported};
use crate::errno::Errno;
use crate::memory::GuestMemory;
use faasm_runtime::{RawVal, ValType};

pub use super::fs_path::{OFLAGS_CREAT, OFLAGS_DIRECTORY, OFLAGS_EXCL, OFLAGS_TRUNC};
use super::vfs::Mount;
use faasm_testutil::TempDir;

const ALL_ERRNOS: [Errno; 76] = [
    Errno::TooBig,
    Errno::Acces,
    Errno::Addrinuse,
    Errno::Addrnotavail,
    Errno::Afnosupport,
    Errno::Again,
    Errno::Already,
    Errno::Badf,
    Errno::Badmsg,
    Errno::Busy,
    Errno::Canceled,
    Errno::Child,
    Errno::Connaborted,
    Errno::Connrefused,
    Errno::Connreset,
    Errno::Deadlk,
    Errno::Destaddrreq,
    Errno::Dom,
    Errno::Dquot,
    Errno::Exist,
    Errno::Fault,
    Errno::Fbig,
    Errno::Hostunreach,
    Errno::Idrm,
    Errno::Ilseq,
    Errno::Inprogress,
    Errno::Intr,
    Errno::Inval,
    Errno::Io,
    Errno::Isconn,
    Errno::Isdir,
    Errno::Loop,
    Errno::Mfile,
    Errno::Mlink,
    Errno::Msgsize,
    Errno::Multihop,
    Errno::Nametoolong,
    Errno::Netdown,
    Errno::Netreset,
    Errno::Netunreach,
    Errno::Nfile,
    Errno::Nobufs,
    Errno::Nodev,
    Errno::Noent,
    Errno::Noexec,
    Errno::Nolck,
    Errno::Nolink,
    Errno::Nomem,
    Errno::Nomsg,
    Errno::Noprotoopt,
    Errno::Nospc,
    Errno::Nosys,
    Errno::Notconn,
    Errno::Notdir,
    Errno::Notempty,
    Errno::Notrecoverable,
    Errno::Notsock,
    Errno::Notsup,
    Errno::Notty,
    Errno::Nxio,
    Errno::Overflow,
    Errno::Ownerdead,
    Errno::Perm,
    Errno::Pipe,
    Errno::Proto,
    Errno::Protonosupport,
    Errno::Prototype,
    Errno::Range,
    Errno::Rofs,
    Errno::Spipe,
    Errno::Srch,
    Errno::Stale,
    Errno::Timedout,
    Errno::Txtbsy,
    Errno::Xdev,
    Errno::Notcapable,
];

fn errno(code: i32) -> Result<(), Errno> {
    if code == 0 {
        return Ok(());
    }
    Err(*ALL_ERRNOS
        .iter()
        .find(|e| i32::from(e.code()) == code)
        .unwrap_or_else(|| panic!("not an errno: {code}")))
}

/// Memory layout: out-values at 0..64, iovecs at 64..128, the first path
/// at 1024, a second path at 2048, data buffers from 4096.
const OUT: u32 = 0;
const IOV: u32 = 64;
const PATH: u32 = 1024;
const PATH2: u32 = 2048;
const DATA: u32 = 4096;
const MEM: usize = 64 * 1024;

#[derive(Debug, PartialEq)]
pub struct Stat {
    pub filetype: u8,
    pub size: u64,
    pub ino: u64,
}

/// A guest with a context and a memory.
pub struct Guest {
    pub ctx: WasiCtx,
    pub mem: Vec<u8>,
}

impl Guest {
    /// `t` preopened read-write as `/` (descriptor 3).
    pub fn with_dir(t: &TempDir) -> Guest {
        Guest::with_mounts(vec![Mount::dir(t.path(""), "/")])
    }

    pub fn with_mounts(mounts: Vec<Mount>) -> Guest {
        let mut b = WasiCtx::builder();
        for m in mounts {
            b = b.mount(m);
        }
        Guest {
            ctx: b.build().unwrap(),
            mem: vec![0; MEM],
        }
    }

    /// One checked mount (e.g. one forced onto the fallback walk).
    pub fn with_preopen(p: &super::vfs::Preopen) -> Guest {
        Guest {
            ctx: WasiCtx::builder().preopen(p).build().unwrap(),
            mem: vec![0; MEM],
        }
    }

    pub fn mem_len(&self) -> u32 {
        self.mem.len() as u32
    }

    fn m(&mut self) -> GuestMemory<'_> {
        GuestMemory::new(&mut self.mem)
    }

    /// Calls `name` with `args` converted to its parameter types.
    pub fn call(&mut self, name: &str, args: &[u64]) -> Result<(), Errno> {
        let sig = signatures::signature(name).unwrap();
        assert_eq!(sig.params.len(), args.len(), "{name}");
        let mut slots: Vec<RawVal> = sig
            .params
            .iter()
            .zip(args)
            .map(|(t, &a)| match t {
                ValType::I32 => RawVal::new(a as u32),
                _ => RawVal::new(a),
            })
            .collect();
        if slots.is_empty() {
            slots.push(RawVal::default());
        }
        let body = implementation(name).unwrap_or(unsupported);
        call(sig, body, &self.ctx.state, &mut self.mem, &mut slots).unwrap();
        errno(slots[0].get::<i32>())
    }

    fn put_path(&mut self, at: u32, path: &str) -> (u64, u64) {
        self.m().write(at, path.as_bytes()).unwrap();
        (u64::from(at), path.len() as u64)
    }

    pub fn open_at(
        &mut self,
        dir: u32,
        lookup: u32,
        path: &str,
        oflags: u32,
        rights: u64,
        fdflags: u16,
    ) -> Result<u32, Errno> {
        let (p, l) = self.put_path(PATH, path);
        let args = [
            dir.into(),
            lookup.into(),
            p,
            l,
            oflags.into(),
            rights,
            rights,
            fdflags.into(),
            8,
        ];
        self.call("path_open", &args)?;
        Ok(self.m().read_u32(8).unwrap())
    }

    /// Opens relative to descriptor 3, following symlinks like libc.
    pub fn open(
        &mut self,
        path: &str,
        oflags: u32,
        rights: u64,
        fdflags: u16,
    ) -> Result<u32, Errno> {
        self.open_at(3, 1, path, oflags, rights, fdflags)
    }

    pub fn raw_write(&mut self, fd: u32, data: &[u8], nwritten: u32) -> Result<u32, Errno> {
        let mut m = self.m();
        m.write(DATA, data).unwrap();
        m.write_u32(IOV, DATA).unwrap();
        m.write_u32(IOV + 4, data.len() as u32).unwrap();
        self.call("fd_write", &[fd.into(), IOV.into(), 1, nwritten.into()])?;
        Ok(self.m().read_u32(nwritten).unwrap())
    }

    pub fn write(&mut self, fd: u32, data: &[u8]) -> Result<u32, Errno> {
        self.raw_write(fd, data, OUT)
    }

    pub fn raw_read(&mut self, fd: u32, n: u32, nread: u32) -> Result<Vec<u8>, Errno> {
        let mut m = self.m();
        m.write_u32(IOV, DATA).unwrap();
        m.write_u32(IOV + 4, n).unwrap();
        self.call("fd_read", &[fd.into(), IOV.into(), 1, nread.into()])?;
        let got = self.m().read_u32(nread).unwrap();
        Ok(self.m().slice(DATA, got).unwrap().to_vec())
    }

    pub fn read(&mut self, fd: u32, n: u32) -> Result<Vec<u8>, Errno> {
        self.raw_read(fd, n, OUT)
    }

    pub fn pread(&mut self, fd: u32, n: u32, offset: u64) -> Result<Vec<u8>, Errno> {
        let mut m = self.m();
        m.write_u32(IOV, DATA).unwrap();
        m.write_u32(IOV + 4, n).unwrap();
        self.call("fd_pread", &[fd.into(), IOV.into(), 1, offset, OUT.into()])?;
        let got = self.m().read_u32(OUT).unwrap();
        Ok(self.m().slice(DATA, got).unwrap().to_vec())
    }

    pub fn pwrite(&mut self, fd: u32, data: &[u8], offset: u64) -> Result<u32, Errno> {
        let mut m = self.m();
        m.write(DATA, data).unwrap();
        m.write_u32(IOV, DATA).unwrap();
        m.write_u32(IOV + 4, data.len() as u32).unwrap();
        self.call("fd_pwrite", &[fd.into(), IOV.into(), 1, offset, OUT.into()])?;
        Ok(self.m().read_u32(OUT).unwrap())
    }

    pub fn seek(&mut self, fd: u32, offset: i64, whence: u32) -> Result<u64, Errno> {
        self.call(
            "fd_seek",
            &[fd.into(), offset as u64, whence.into(), OUT.into()],
        )?;
        Ok(self.m().read_u64(OUT).unwrap())
    }

    pub fn close(&mut self, fd: u32) -> Result<(), Errno> {
        self.call("fd_close", &[fd.into()])
    }

    /// (filetype, flags, rights_base, rights_inheriting)
    pub fn fdstat(&mut self, fd: u32) -> Result<(u8, u16, u64, u64), Errno> {
        self.call("fd_fdstat_get", &[fd.into(), 32])?;
        let m = self.m();
        let flags = u16::from_le_bytes(m.slice(34, 2).unwrap().try_into().unwrap());
        Ok((
            m.slice(32, 1).unwrap()[0],
            flags,
            m.read_u64(40).unwrap(),
            m.read_u64(48).unwrap(),
        ))
    }

    pub fn set_flags(&mut self, fd: u32, flags: u16) -> Result<(), Errno> {
        self.call("fd_fdstat_set_flags", &[fd.into(), flags.into()])
    }

    pub fn set_size(&mut self, fd: u32, size: u64) -> Result<(), Errno> {
        self.call("fd_filestat_set_size", &[fd.into(), size])
    }

    pub fn allocate(&mut self, fd: u32, offset: u64, len: u64) -> Result<(), Errno> {
        self.call("fd_allocate", &[fd.into(), offset, len])
    }

    pub fn sync(&mut self, fd: u32) -> Result<(), Errno> {
        self.call("fd_sync", &[fd.into()])?;
        self.call("fd_datasync", &[fd.into()])
    }

    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.call("fd_renumber", &[from.into(), to.into()])
    }

    fn stat_at(&mut self, at: u32) -> Stat {
        let m = self.m();
        Stat {
            ino: m.read_u64(at + 8).unwrap(),
            filetype: m.slice(at + 16, 1).unwrap()[0],
            size: m.read_u64(at + 32).unwrap(),
        }
    }

    pub fn raw_filestat(&mut self, fd: u32, out: u32) -> Result<Stat, Errno> {
        self.call("fd_filestat_get", &[fd.into(), out.into()])?;
        Ok(self.stat_at(out))
    }

    pub fn filestat(&mut self, fd: u32) -> Result<Stat, Errno> {
        self.raw_filestat(fd, 256)
    }

    pub fn path_stat(&mut self, path: &str, follow: bool) -> Result<Stat, Errno> {
        let (p, l) = self.put_path(PATH, path);
        self.call("path_filestat_get", &[3, follow.into(), p, l, 256])?;
        Ok(self.stat_at(256))
    }

    pub fn mkdir(&mut self, path: &str) -> Result<(), Errno> {
        let (p, l) = self.put_path(PATH, path);
        self.call("path_create_directory", &[3, p, l])
    }

    pub fn rmdir(&mut self, path: &str) -> Result<(), Errno> {
        let (p, l) = self.put_path(PATH, path);
        self.call("path_remove_directory", &[3, p, l])
    }

    pub fn unlink(&mut self, path: &str) -> Result<(), Errno> {
        let (p, l) = self.put_path(PATH, path);
        self.call("path_unlink_file", &[3, p, l])
    }

    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), Errno> {
        let (p, l) = self.put_path(PATH, from);
        let (p2, l2) = self.put_path(PATH2, to);
        self.call("path_rename", &[3, p, l, 3, p2, l2])
    }

    pub fn symlink(&mut self, target: &str, path: &str) -> Result<(), Errno> {
        let (p, l) = self.put_path(PATH, target);
        let (p2, l2) = self.put_path(PATH2, path);
        self.call("path_symlink", &[p, l, 3, p2, l2])
    }

    pub fn link(&mut self, from: &str, follow: bool, to: &str) -> Result<(), Errno> {
        let (p, l) = self.put_path(PATH, from);
        let (p2, l2) = self.put_path(PATH2, to);
        self.call("path_link", &[3, follow.into(), p, l, 3, p2, l2])
    }

    pub fn readlink(&mut self, path: &str, buf_len: u32) -> Result<Vec<u8>, Errno> {
        let (p, l) = self.put_path(PATH, path);
        self.call(
            "path_readlink",
            &[3, p, l, DATA.into(), buf_len.into(), OUT.into()],
        )?;
        let n = self.m().read_u32(OUT).unwrap();
        Ok(self.m().slice(DATA, n).unwrap().to_vec())
    }

    /// One fd_readdir call: the raw bytes.
    pub fn readdir_raw(&mut self, fd: u32, buf_len: u32, cookie: u64) -> Result<Vec<u8>, Errno> {
        self.call(
            "fd_readdir",
            &[fd.into(), DATA.into(), buf_len.into(), cookie, OUT.into()],
        )?;
        let n = self.m().read_u32(OUT).unwrap();
        assert!(n <= buf_len);
        Ok(self.m().slice(DATA, n).unwrap().to_vec())
    }

    /// All names in directory `fd`, read the way wasi-libc does: small
    /// buffers, resuming from the last complete entry's cookie.
    pub fn list(&mut self, fd: u32, buf_len: u32) -> Vec<(String, u8)> {
        let mut names = Vec::new();
        let mut cookie = 0;
        loop {
            let buf = self.readdir_raw(fd, buf_len, cookie).unwrap();
            let mut at = 0;
            let mut progressed = false;
            while at + 24 <= buf.len() {
                let next = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
                let len = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
                if at + 24 + len > buf.len() {
                    break;
                }
                let name = String::from_utf8(buf[at + 24..at + 24 + len].to_vec()).unwrap();
                names.push((name, buf[at + 20]));
                cookie = next;
                at += 24 + len;
                progressed = true;
            }
            if buf.len() < buf_len as usize {
                return names;
            }
            assert!(progressed, "buffer of {buf_len} too small for one entry");
        }
    }

    pub fn prestat_name(&mut self, fd: u32) -> Result<String, Errno> {
        self.call("fd_prestat_get", &[fd.into(), 16])?;
        let m = self.m();
        assert_eq!(m.slice(16, 1).unwrap()[0], 0, "tag must be dir");
        let len = m.read_u32(20).unwrap();
        self.call("fd_prestat_dir_name", &[fd.into(), DATA.into(), len.into()])?;
        Ok(String::from_utf8(self.m().slice(DATA, len).unwrap().to_vec()).unwrap())
    }
}

const RW: u64 = rights::ALL;
const RO: u64 = rights::FD_READ | rights::FD_SEEK | rights::FD_FILESTAT_GET;

#[test]
fn preopens_are_listed_from_3() {
    let a = TempDir::new("pre-a");
    let b = TempDir::new("pre-b");
    let mut g = Guest::with_mounts(vec![
        Mount::dir(a.path(""), "/"),
        Mount::read_only(b.path(""), "/shared"),
    ]);
    assert_eq!(g.prestat_name(3).unwrap(), "/");
    assert_eq!(g.prestat_name(4).unwrap(), "/shared");
    assert_eq!(g.prestat_name(5), Err(Errno::Badf));
    assert_eq!(g.prestat_name(1), Err(Errno::Badf));
    // A name buffer too small, and one out of bounds.
    assert_eq!(
        g.call("fd_prestat_dir_name", &[4, 0, 3]),
        Err(Errno::Nametoolong)
    );
    assert_eq!(
        g.call("fd_prestat_dir_name", &[4, u64::from(g.mem_len()) - 2, 7]),
        Err(Errno::Fault)
    );
    let (ty, _, base, inheriting) = g.fdstat(3).unwrap();
    assert_eq!(ty, filetype::DIRECTORY);
    assert_eq!(base & rights::PATH_CREATE_FILE, rights::PATH_CREATE_FILE);
    assert_eq!(inheriting, rights::ALL);
    // The read-only mount does not hand out the rights to change it.
    let (_, _, base, _) = g.fdstat(4).unwrap();
    assert_eq!(base & rights::DIR_WRITE, 0);
    assert_ne!(base & rights::PATH_OPEN, 0);
}

#[test]
fn open_flags() {
    let t = TempDir::new("open");
    t.write("old.txt", "old");
    let mut g = Guest::with_dir(&t);
    assert_eq!(g.open("missing", 0, RO, 0), Err(Errno::Noent));
    let fd = g
        .open("new.txt", OFLAGS_CREAT | OFLAGS_EXCL, RW, 0)
        .unwrap();
    assert_eq!(fd, 4);
    assert!(t.exists("new.txt"));
    assert_eq!(
        g.open("new.txt", OFLAGS_CREAT | OFLAGS_EXCL, RW, 0),
        Err(Errno::Exist)
    );
    // O_CREAT alone opens the existing file without truncating.
    let fd = g.open("old.txt", OFLAGS_CREAT, RW, 0).unwrap();
    assert_eq!(g.read(fd, 10).unwrap(), b"old");
    let fd = g.open("old.txt", OFLAGS_TRUNC, RW, 0).unwrap();
    assert_eq!(g.filestat(fd).unwrap().size, 0);
    assert_eq!(
        g.open("old.txt", OFLAGS_DIRECTORY, RO, 0),
        Err(Errno::Notdir)
    );
    assert_eq!(g.open("old.txt/", 0, RO, 0), Err(Errno::Notdir));
    g.mkdir("d").unwrap();
    assert_eq!(g.open("d", 0, RW, 0), Err(Errno::Isdir));
    let d = g.open("d", OFLAGS_DIRECTORY, RO, 0).unwrap();
    assert_eq!(g.fdstat(d).unwrap().0, filetype::DIRECTORY);
    // Relative to the opened directory.
    let f = g.open_at(d, 0, "inner", OFLAGS_CREAT, RW, 0).unwrap();
    g.write(f, b"x").unwrap();
    assert_eq!(t.read("d/inner"), "x");
    assert_eq!(g.open_at(f, 0, "x", 0, RO, 0), Err(Errno::Notdir));
    assert_eq!(g.open_at(99, 0, "x", 0, RO, 0), Err(Errno::Badf));
    assert_eq!(g.open("x", 0x10, RO, 0), Err(Errno::Inval));
    // Reading a directory descriptor as a file.
    assert_eq!(g.read(d, 1), Err(Errno::Isdir));
    assert_eq!(g.write(d, b"x"), Err(Errno::Badf));
}

#[test]
fn bad_pointers_fault_before_touching_the_tree() {
    let t = TempDir::new("fault");
    let mut g = Guest::with_dir(&t);
    let end = u64::from(g.mem_len());
    // Path running past the end of memory.
    let args = [3, 1, end - 2, 8, u64::from(OFLAGS_CREAT), RW, RW, 0, 8];
    assert_eq!(g.call("path_open", &args), Err(Errno::Fault));
    // Result pointer out of bounds: nothing created.
    g.put_path(PATH, "f");
    let args = [
        3,
        1,
        u64::from(PATH),
        1,
        u64::from(OFLAGS_CREAT),
        RW,
        RW,
        0,
        end - 1,
    ];
    assert_eq!(g.call("path_open", &args), Err(Errno::Fault));
    assert!(!t.exists("f"));
    assert_eq!(
        g.call("path_create_directory", &[3, u64::from(PATH), end]),
        Err(Errno::Fault)
    );
    assert!(!t.exists("f"));
    assert_eq!(
        g.call("path_filestat_get", &[3, 0, u64::from(PATH), 1, end - 63]),
        Err(Errno::Fault)
    );
    assert_eq!(
        g.call("fd_readdir", &[3, end - 10, 20, 0, 0]),
        Err(Errno::Fault)
    );
    assert_eq!(g.call("fd_readdir", &[3, 0, 20, 0, end]), Err(Errno::Fault));
    assert_eq!(
        g.call("path_rename", &[3, u64::from(PATH), 1, 3, end, 1]),
        Err(Errno::Fault)
    );
    assert!(t.path("").read_dir().unwrap().next().is_none());
}

#[test]
fn escapes_never_reach_the_host() {
    let outer = TempDir::new("escape");
    outer.write("secret.txt", "secret");
    outer.mkdir("root/sub");
    std::os::unix::fs::symlink("../secret.txt", outer.path("root/link")).unwrap();
    std::os::unix::fs::symlink("/etc", outer.path("root/etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", outer.path("root/passwd")).unwrap();
    let mut g = Guest::with_mounts(vec![Mount::dir(outer.path("root"), "/")]);
    for path in [
        "../secret.txt",
        "sub/../../secret.txt",
        "link",
        "etc/passwd",
        "passwd",
    ] {
        assert_eq!(g.open(path, 0, RO, 0), Err(Errno::Notcapable), "{path}");
        assert_eq!(g.path_stat(path, true), Err(Errno::Notcapable), "{path}");
    }
    assert_eq!(g.open("/etc/passwd", 0, RO, 0), Err(Errno::Notcapable));
    assert_eq!(g.open("../../etc/passwd", 0, RO, 0), Err(Errno::Notcapable));
    // Creating through an escape is refused too, and writes nothing.
    assert_eq!(
        g.open("../evil", OFLAGS_CREAT, RW, 0),
        Err(Errno::Notcapable)
    );
    assert_eq!(g.mkdir("../evil"), Err(Errno::Notcapable));
    assert_eq!(
        g.open("etc/evil", OFLAGS_CREAT, RW, 0),
        Err(Errno::Notcapable)
    );
    assert_eq!(g.rename("sub", "../evil"), Err(Errno::Notcapable));
    assert!(!outer.exists("evil"));
    // Without following, the last component is the link itself: opening
    // it is ELOOP, unlinking it removes the link and not its target.
    assert_eq!(g.open_at(3, 0, "link", 0, RO, 0), Err(Errno::Loop));
    assert_eq!(
        g.path_stat("link", false).unwrap().filetype,
        filetype::SYMBOLIC_LINK
    );
    assert_eq!(g.readlink("link", 100).unwrap(), b"../secret.txt");
    assert_eq!(g.readlink("link", 3).unwrap(), b"../");
    assert_eq!(g.readlink("sub", 100), Err(Errno::Inval));
    g.unlink("link").unwrap();
    assert_eq!(outer.read("secret.txt"), "secret");
    // From a subdirectory descriptor, `..` may not climb out of it.
    let sub = g.open("sub", OFLAGS_DIRECTORY, RO, 0).unwrap();
    assert_eq!(
        g.open_at(sub, 1, "../sub", 0, RO, 0),
        Err(Errno::Notcapable)
    );
    // A guest may store any relative target in a link it makes, but
    // following one that leads out is refused like a host-made one, and
    // an absolute target is refused at once.
    g.symlink("../secret.txt", "mine").unwrap();
    g.symlink("sub/../..", "up").unwrap();
    assert_eq!(g.open("mine", 0, RO, 0), Err(Errno::Notcapable));
    assert_eq!(g.open("up/secret.txt", 0, RO, 0), Err(Errno::Notcapable));
    assert_eq!(g.symlink("/etc/passwd", "abs"), Err(Errno::Perm));
    assert_eq!(g.symlink("", "empty"), Err(Errno::Noent));
    assert!(!outer.exists("root/abs") && !outer.exists("root/empty"));
    assert_eq!(outer.read("secret.txt"), "secret");
}

#[test]
fn guest_made_symlinks_and_hard_links() {
    let t = TempDir::new("links");
    t.write("f.txt", "data");
    t.mkdir("d");
    let mut g = Guest::with_dir(&t);
    // A link inside is followed when asked, seen as itself otherwise.
    g.symlink("d/../f.txt", "ln").unwrap();
    assert_eq!(
        std::fs::read_link(t.path("ln")).unwrap().to_str(),
        Some("d/../f.txt")
    );
    let fd = g.open("ln", 0, RO, 0).unwrap();
    assert_eq!(g.read(fd, 10).unwrap(), b"data");
    assert_eq!(g.open_at(3, 0, "ln", 0, RO, 0), Err(Errno::Loop));
    assert_eq!(g.readlink("ln", 100).unwrap(), b"d/../f.txt");
    assert_eq!(g.symlink("x", "ln"), Err(Errno::Exist));
    assert_eq!(g.symlink("x", "d/"), Err(Errno::Exist));
    assert_eq!(g.symlink("x", "f.txt/"), Err(Errno::Notdir));
    assert_eq!(g.symlink("x", "new/"), Err(Errno::Noent));
    // A link to a directory works as one on the way.
    g.symlink("d", "dl").unwrap();
    let fd = g.open("dl/in.txt", OFLAGS_CREAT, RW, 0).unwrap();
    g.write(fd, b"in").unwrap();
    assert_eq!(t.read("d/in.txt"), "in");
    // Its own times change without following, the target's with.
    let (p, l) = g.put_path(PATH, "ln");
    g.call(
        "path_filestat_set_times",
        &[3, 0, p, l, 0, 7_000_000_000, 4],
    )
    .unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::symlink_metadata(t.path("ln")).unwrap().mtime(), 7);
    assert_ne!(std::fs::metadata(t.path("f.txt")).unwrap().mtime(), 7);
    g.call(
        "path_filestat_set_times",
        &[3, 1, p, l, 0, 9_000_000_000, 4],
    )
    .unwrap();
    assert_eq!(std::fs::metadata(t.path("f.txt")).unwrap().mtime(), 9);
    // Hard links: another name of the same file.
    g.link("f.txt", false, "d/hard").unwrap();
    assert_eq!(
        g.path_stat("f.txt", false).unwrap().ino,
        g.path_stat("d/hard", false).unwrap().ino
    );
    assert_eq!(std::fs::metadata(t.path("f.txt")).unwrap().nlink(), 2);
    assert_eq!(g.link("f.txt", false, "d/hard"), Err(Errno::Exist));
    assert_eq!(g.link("f.txt", false, "f.txt"), Err(Errno::Exist));
    assert_eq!(g.link("d", false, "dhard"), Err(Errno::Perm));
    assert_eq!(g.link("f.txt", false, "x/"), Err(Errno::Noent));
    assert_eq!(g.link("missing", false, "x"), Err(Errno::Noent));
    assert_eq!(g.link("f.txt", false, "../x"), Err(Errno::Notcapable));
    // Unfollowed, the link itself gets the name; followed, its target.
    g.link("ln", false, "ln2").unwrap();
    assert!(
        std::fs::symlink_metadata(t.path("ln2"))
            .unwrap()
            .is_symlink()
    );
    g.link("ln", true, "f2").unwrap();
    assert_eq!(
        g.path_stat("f2", false).unwrap().ino,
        g.path_stat("f.txt", false).unwrap().ino
    );
    // Rights: a descriptor without them cannot make links.
    let d = g.open("d", OFLAGS_DIRECTORY, RO, 0).unwrap();
    g.call("fd_fdstat_set_rights", &[d.into(), rights::PATH_OPEN, 0])
        .unwrap();
    let (p, l) = g.put_path(PATH, "x");
    let (p2, l2) = g.put_path(PATH2, "y");
    assert_eq!(
        g.call("path_symlink", &[p, l, d.into(), p2, l2]),
        Err(Errno::Notcapable)
    );
    assert_eq!(
        g.call("path_link", &[3, 0, p, l, d.into(), p2, l2]),
        Err(Errno::Notcapable)
    );
}

#[test]
fn links_in_layered_and_read_only_mounts() {
    let t = TempDir::new("links-layered");
    t.write("shared/lib/data.txt", "shared");
    t.mkdir("user");
    t.mkdir("other");
    t.mkdir("w");
    let mut g = Guest::with_mounts(vec![
        Mount::layered("/", t.path("user"), t.path("shared")),
        Mount::read_only(t.path("other"), "/ro"),
        Mount::dir(t.path("w"), "/w"),
    ]);
    // A user link may lead into what only the shared tree has.
    g.symlink("lib", "mylib").unwrap();
    let fd = g.open("mylib/data.txt", 0, RO, 0).unwrap();
    assert_eq!(g.read(fd, 10).unwrap(), b"shared");
    // Linking a shared file gives the user a private copy with two names:
    // the shared inode never gets a name the user can write through.
    g.link("lib/data.txt", false, "alias").unwrap();
    let fd = g.open("alias", 0, RW, FDFLAGS_APPEND_U16).unwrap();
    g.write(fd, b"!").unwrap();
    assert_eq!(t.read("user/lib/data.txt"), "shared!");
    assert_eq!(t.read("shared/lib/data.txt"), "shared");
    // Across mounts, and into a read-only one.
    let (p, l) = g.put_path(PATH, "alias");
    let (p2, l2) = g.put_path(PATH2, "x");
    assert_eq!(
        g.call("path_link", &[3, 0, p, l, 5, p2, l2]),
        Err(Errno::Xdev)
    );
    assert_eq!(
        g.call("path_link", &[3, 0, p, l, 4, p2, l2]),
        Err(Errno::Rofs)
    );
    assert_eq!(g.call("path_symlink", &[p, l, 4, p2, l2]), Err(Errno::Rofs));
    assert!(!t.exists("other/x") && !t.exists("w/x"));
}

#[test]
fn open_rights_and_flags() {
    let t = TempDir::new("open-rights");
    t.write("f", "data");
    let mut g = Guest::with_dir(&t);
    // The sync flags are the host's, fixed at open and reported.
    let sync = super::fdtable::FDFLAGS_SYNC | super::fdtable::FDFLAGS_DSYNC;
    let fd = g.open("f", 0, RW, sync | FDFLAGS_APPEND_U16).unwrap();
    assert_eq!(g.fdstat(fd).unwrap().1, sync | FDFLAGS_APPEND_U16);
    g.set_flags(fd, sync).unwrap();
    assert_eq!(g.fdstat(fd).unwrap().1, sync);
    assert_eq!(g.set_flags(fd, 0), Err(Errno::Notsup));
    // Truncating through a path needs path_filestat_set_size.
    let (_, _, base, inheriting) = g.fdstat(3).unwrap();
    assert_eq!(
        base & rights::FD_FILESTAT_SET_TIMES,
        rights::FD_FILESTAT_SET_TIMES
    );
    assert_eq!(base & rights::FD_FILESTAT_SET_SIZE, 0);
    let without = base & !rights::PATH_FILESTAT_SET_SIZE;
    g.call("fd_fdstat_set_rights", &[3, without, inheriting])
        .unwrap();
    assert_eq!(g.open("f", OFLAGS_TRUNC, 0, 0), Err(Errno::Notcapable));
    assert_eq!(t.read("f"), "data");
    g.open("f", 0, RW, 0).unwrap();
}

#[test]
fn directories_and_renames() {
    let t = TempDir::new("dirs");
    let mut g = Guest::with_dir(&t);
    g.mkdir("a").unwrap();
    assert_eq!(g.mkdir("a"), Err(Errno::Exist));
    assert_eq!(g.mkdir("missing/b"), Err(Errno::Noent));
    g.mkdir("a/b").unwrap();
    assert_eq!(g.rmdir("a"), Err(Errno::Notempty));
    assert_eq!(g.rmdir("."), Err(Errno::Inval));
    let f = g.open("a/f", OFLAGS_CREAT, RW, 0).unwrap();
    g.write(f, b"data").unwrap();
    assert_eq!(g.rmdir("a/f"), Err(Errno::Notdir));
    assert_eq!(g.unlink("a/b"), Err(Errno::Isdir));
    assert_eq!(g.unlink("nope"), Err(Errno::Noent));
    g.rename("a/f", "g").unwrap();
    assert_eq!(t.read("g"), "data");
    assert!(!t.exists("a/f"));
    assert_eq!(g.rename("nope", "x"), Err(Errno::Noent));
    assert_eq!(g.rename("a", "a/b/c"), Err(Errno::Inval));
    assert_eq!(g.rename("g", "a"), Err(Errno::Isdir));
    assert_eq!(g.rename("a", "g"), Err(Errno::Notdir));
    g.rename("a", "z").unwrap();
    assert!(t.exists("z/b"));
    let st = g.path_stat("g", true).unwrap();
    assert_eq!((st.filetype, st.size), (filetype::REGULAR_FILE, 4));
    g.unlink("g").unwrap();
    g.rmdir("z/b").unwrap();
    g.rmdir("z").unwrap();
    assert!(t.path("").read_dir().unwrap().next().is_none());
}

#[test]
fn readdir_lists_with_cookies_and_partial_buffers() {
    let t = TempDir::new("readdir");
    let names: Vec<String> = (0..20)
        .map(|i| format!("file-{i:02}-{}", "x".repeat(i)))
        .collect();
    for n in &names {
        t.write(n, "");
    }
    t.mkdir("sub");
    let mut g = Guest::with_dir(&t);
    let mut expect: Vec<(String, u8)> = vec![
        (".".into(), filetype::DIRECTORY),
        ("..".into(), filetype::DIRECTORY),
    ];
    expect.extend(names.iter().map(|n| (n.clone(), filetype::REGULAR_FILE)));
    expect.push(("sub".into(), filetype::DIRECTORY));
    // A large buffer, and buffers small enough to cut entries in the
    // middle of a header or a name.
    for buf_len in [4096, 64, 55, 52] {
        assert_eq!(g.list(3, buf_len), expect, "buffer {buf_len}");
    }
    // d_ino of a file matches its filestat, cookies past the end are empty.
    let raw = g.readdir_raw(3, 4096, 2).unwrap();
    let ino = u64::from_le_bytes(raw[8..16].try_into().unwrap());
    assert_eq!(ino, g.path_stat(&names[0], false).unwrap().ino);
    assert_eq!(u64::from_le_bytes(raw[0..8].try_into().unwrap()), 3);
    assert!(g.readdir_raw(3, 4096, 1000).unwrap().is_empty());
    // Too small for even one header: filled completely, so the guest
    // knows to retry with more room.
    assert_eq!(g.readdir_raw(3, 10, 0).unwrap().len(), 10);
    let f = g.open(&names[0], 0, RO, 0).unwrap();
    assert_eq!(g.readdir_raw(f, 100, 0), Err(Errno::Notdir));
}

#[test]
fn layered_mount_reads_global_writes_local() {
    let t = TempDir::new("layered");
    t.write("shared/lib/data.txt", "shared data");
    t.write("shared/both.txt", "shared both");
    t.write("user/both.txt", "my both");
    t.mkdir("user");
    let mut g = Guest::with_mounts(vec![Mount::layered("/", t.path("user"), t.path("shared"))]);
    // Reads see both trees, upper first.
    let fd = g.open("both.txt", 0, RO, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"my both");
    let fd = g.open("lib/data.txt", 0, RO, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"shared data");
    let names: Vec<String> = g.list(3, 4096).into_iter().map(|e| e.0).collect();
    assert_eq!(names, [".", "..", "both.txt", "lib"]);
    // Writing a shared file copies it up; the shared tree never changes.
    let fd = g.open("lib/data.txt", 0, RW, FDFLAGS_APPEND_U16).unwrap();
    g.write(fd, b"!").unwrap();
    assert_eq!(t.read("user/lib/data.txt"), "shared data!");
    assert_eq!(t.read("shared/lib/data.txt"), "shared data");
    // New files and directories land in the user's tree, also under a
    // directory that so far existed only in the shared tree.
    t.mkdir("shared/only");
    let fd = g.open("only/new.txt", OFLAGS_CREAT, RW, 0).unwrap();
    g.write(fd, b"n").unwrap();
    assert_eq!(t.read("user/only/new.txt"), "n");
    g.mkdir("only/d").unwrap();
    assert!(t.exists("user/only/d") && !t.exists("shared/only/d"));
    // What exists only in the shared tree cannot be removed or renamed.
    t.write("shared/ro.txt", "ro");
    assert_eq!(g.unlink("ro.txt"), Err(Errno::Rofs));
    assert_eq!(g.rename("ro.txt", "moved.txt"), Err(Errno::Rofs));
    t.mkdir("shared/emptydir");
    assert_eq!(g.rmdir("emptydir"), Err(Errno::Rofs));
    // Removing the user's copy uncovers the shared one again.
    g.unlink("both.txt").unwrap();
    let fd = g.open("both.txt", 0, RO, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"shared both");
    assert_eq!(t.read("shared/both.txt"), "shared both");
}

const FDFLAGS_APPEND_U16: u16 = super::fdtable::FDFLAGS_APPEND;

#[test]
fn read_only_mount_is_erofs_for_every_change() {
    let t = TempDir::new("readonly");
    t.write("f.txt", "data");
    t.mkdir("d");
    let mut g = Guest::with_mounts(vec![Mount::read_only(t.path(""), "/ro")]);
    let fd = g.open("f.txt", 0, RO, 0).unwrap();
    assert_eq!(g.read(fd, 10).unwrap(), b"data");
    assert_eq!(g.open("f.txt", 0, RW, 0), Err(Errno::Rofs));
    assert_eq!(g.open("f.txt", OFLAGS_TRUNC, RO, 0), Err(Errno::Rofs));
    assert_eq!(g.open("f.txt", 0, RO, FDFLAGS_APPEND_U16), Err(Errno::Rofs));
    assert_eq!(g.open("new", OFLAGS_CREAT, RW, 0), Err(Errno::Rofs));
    assert_eq!(g.mkdir("x"), Err(Errno::Rofs));
    assert_eq!(g.rmdir("d"), Err(Errno::Rofs));
    assert_eq!(g.unlink("f.txt"), Err(Errno::Rofs));
    assert_eq!(g.rename("f.txt", "g.txt"), Err(Errno::Rofs));
    // A directory opened inside stays read-only.
    let d = g.open("d", OFLAGS_DIRECTORY, RO, 0).unwrap();
    assert_eq!(
        g.open_at(d, 0, "new", OFLAGS_CREAT, RW, 0),
        Err(Errno::Rofs)
    );
    assert_eq!(t.read("f.txt"), "data");
    assert!(!t.exists("new") && !t.exists("d/new") && !t.exists("x"));
    // Lookups that fail anyway say why they fail, not EROFS.
    assert_eq!(g.open("../x", OFLAGS_CREAT, RW, 0), Err(Errno::Notcapable));
}

#[test]
fn no_descriptor_is_a_socket() {
    let mut g = Guest::with_mounts(vec![]);
    assert_eq!(g.call("sock_shutdown", &[3, 0]), Err(Errno::Badf));
    assert_eq!(g.call("sock_accept", &[3, 0, 0]), Err(Errno::Badf));
    assert_eq!(g.call("sock_shutdown", &[1, 0]), Err(Errno::Notsock));
    // The descriptor is checked before the (bad) pointers.
    let end = u64::from(g.mem_len());
    assert_eq!(
        g.call("sock_send", &[0, end, 5, 0, end]),
        Err(Errno::Notsock)
    );
}

/// Kernels without `openat2` get the component-by-component walk: the
/// guest must not be able to tell, escapes included.
#[test]
fn the_fallback_walk_behaves_the_same() {
    use super::vfs::{Preopen, Vfs};
    use std::sync::Arc;
    for fallback in [false, true] {
        let t = TempDir::new("fallback");
        t.write("secret.txt", "secret");
        t.write("shared/lib/data.txt", "shared");
        t.mkdir("user/d");
        let mut v = Vfs::new(&Mount::layered("/", t.path("user"), t.path("shared"))).unwrap();
        if fallback {
            v = v.with_component_walk();
        }
        let mut g = Guest::with_preopen(&Preopen(Arc::new(v)));
        std::os::unix::fs::symlink(t.path("secret.txt"), t.path("user/host-abs")).unwrap();
        std::os::unix::fs::symlink("../../secret.txt", t.path("user/d/host-up")).unwrap();
        for path in ["host-abs", "d/host-up", "../secret.txt"] {
            assert_eq!(g.open(path, 0, RO, 0), Err(Errno::Notcapable), "{path}");
        }
        g.symlink("lib", "mylib").unwrap();
        let fd = g.open("mylib/data.txt", 0, RO, 0).unwrap();
        assert_eq!(g.read(fd, 10).unwrap(), b"shared");
        let fd = g.open("d/f", OFLAGS_CREAT, RW, 0).unwrap();
        g.write(fd, b"f").unwrap();
        g.rename("d/f", "mylib/f").unwrap();
        assert_eq!(t.read("user/lib/f"), "f");
        g.link("mylib/f", false, "d/f2").unwrap();
        let names: Vec<String> = g.list(3, 4096).into_iter().map(|e| e.0).collect();
        assert_eq!(names, [".", "..", "d", "host-abs", "lib", "mylib"]);
        assert_eq!(t.read("secret.txt"), "secret");
        assert_eq!(t.read("shared/lib/data.txt"), "shared");
    }
}
