//! The embedded global tier: files under `DIR/<user>/`, one set per key,
//! named by the key's hash (a key may be up to 1023 bytes and hold any
//! character; users are plain names):
//! - `<hash>.value`: the value;
//! - `<hash>.list`: appended elements, each a 4-byte little-endian length
//!   and its bytes;
//! - `<hash>.lock`: the state lock (`flock`: shared for readers, exclusive
//!   for writers; the kernel drops it when its process dies, so no dead
//!   Faaslet holds one forever);
//! - `<hash>.io`: a short `flock` around each access, so a range write
//!   (done in place) and a whole-value replacement (write, then rename)
//!   never interleave and readers never see half of a write.
//!
//! A whole-value `set` survives a crash (the rename is atomic); a range
//! write done in place does not (a crash mid-write leaves part of it).

use super::{GlobalError, GlobalLock, GlobalStore, LockMode, Ranges, check_key};
use rustix::fs::FlockOperation as Op;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The global tier in files under one directory (see the module docs),
/// shared by every process on this host that opens the same directory.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    dir: PathBuf,
}

impl EmbeddedStore {
    /// A store in `dir`, created when first written.
    pub fn new(dir: impl Into<PathBuf>) -> EmbeddedStore {
        EmbeddedStore { dir: dir.into() }
    }

    fn path(&self, user: &str, key: &str, ext: &str) -> Result<PathBuf, GlobalError> {
        check_key(key)?;
        let hash = blake3::hash(key.as_bytes()).to_hex();
        Ok(self.dir.join(user).join(format!("{hash}.{ext}")))
    }

    /// Runs `f` holding the key's I/O lock (`exclusive` for writers).
    fn io<T>(
        &self,
        user: &str,
        key: &str,
        exclusive: bool,
        f: impl FnOnce() -> Result<T, GlobalError>,
    ) -> Result<T, GlobalError> {
        let path = self.path(user, key, "io")?;
        let file = open_lock_file(&path)?;
        let op = if exclusive {
            Op::LockExclusive
        } else {
            Op::LockShared
        };
        // Held for one file operation only: waiting for it is short.
        loop {
            match rustix::fs::flock(&file, op) {
                Ok(()) => break,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
        }
        // Unlocked when `file` closes.
        f()
    }
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

fn open_existing(path: &Path) -> Result<Option<File>, GlobalError> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug)]
struct FileLock(#[allow(dead_code)] File);

impl GlobalLock for FileLock {}

/// How often a waiting locker tries again.
const LOCK_POLL: Duration = Duration::from_millis(1);

/// The bytes of `range` in `file` of `len` bytes, cut at its end.
fn read_range(file: &File, len: usize, range: &Range<usize>) -> io::Result<Vec<u8>> {
    let end = range.end.min(len);
    let start = range.start.min(end);
    let mut buf = vec![0; end - start];
    file.read_exact_at(&mut buf, start as u64)?;
    Ok(buf)
}

impl GlobalStore for EmbeddedStore {
    fn get(
        &self,
        user: &str,
        key: &str,
        _: Option<Instant>,
    ) -> Result<Option<Vec<u8>>, GlobalError> {
        let path = self.path(user, key, "value")?;
        self.io(user, key, false, || {
            let Some(mut f) = open_existing(&path)? else {
                return Ok(None);
            };
            let mut v = Vec::new();
            f.read_to_end(&mut v)?;
            Ok(Some(v))
        })
    }

    fn set(
        &self,
        user: &str,
        key: &str,
        value: &[u8],
        _: Option<Instant>,
    ) -> Result<(), GlobalError> {
        let path = self.path(user, key, "value")?;
        self.io(user, key, true, || {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
            std::fs::write(&tmp, value)?;
            std::fs::rename(&tmp, &path).inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })?;
            Ok(())
        })
    }

    fn get_ranges(
        &self,
        user: &str,
        key: &str,
        ranges: &[Range<usize>],
        _: Option<Instant>,
    ) -> Result<Option<Ranges>, GlobalError> {
        let path = self.path(user, key, "value")?;
        self.io(user, key, false, || {
            let Some(f) = open_existing(&path)? else {
                return Ok(None);
            };
            let len = f.metadata()?.len() as usize;
            let parts = ranges
                .iter()
                .map(|r| read_range(&f, len, r))
                .collect::<io::Result<_>>()?;
            Ok(Some((len, parts)))
        })
    }

    fn set_ranges(
        &self,
        user: &str,
        key: &str,
        writes: &[(usize, &[u8])],
        _: Option<Instant>,
    ) -> Result<(), GlobalError> {
        let path = self.path(user, key, "value")?;
        self.io(user, key, true, || {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            let f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            // pwrite past the end extends the file with zeros.
            for (offset, bytes) in writes {
                f.write_all_at(bytes, *offset as u64)?;
            }
            Ok(())
        })
    }

    fn append(
        &self,
        user: &str,
        key: &str,
        elem: &[u8],
        _: Option<Instant>,
    ) -> Result<(), GlobalError> {
        let path = self.path(user, key, "list")?;
        let len = u32::try_from(elem.len()).map_err(|_| GlobalError::Malformed {
            what: "list element (over 4 GiB)",
        })?;
        self.io(user, key, true, || {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
            // One write: length and bytes land together.
            let mut rec = Vec::with_capacity(4 + elem.len());
            rec.extend_from_slice(&len.to_le_bytes());
            rec.extend_from_slice(elem);
            f.write_all(&rec)?;
            Ok(())
        })
    }

    fn appended(
        &self,
        user: &str,
        key: &str,
        n: usize,
        _: Option<Instant>,
    ) -> Result<Vec<Vec<u8>>, GlobalError> {
        let path = self.path(user, key, "list")?;
        let bytes = self.io(user, key, false, || match open_existing(&path)? {
            None => Ok(Vec::new()),
            Some(mut f) => {
                let mut v = Vec::new();
                f.read_to_end(&mut v)?;
                Ok(v)
            }
        })?;
        let mut out = Vec::new();
        let mut rest = &bytes[..];
        while out.len() < n && !rest.is_empty() {
            let malformed = GlobalError::Malformed { what: "list file" };
            let (len, tail) = rest.split_at_checked(4).ok_or(malformed.clone())?;
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            let (elem, tail) = tail.split_at_checked(len).ok_or(malformed)?;
            out.push(elem.to_vec());
            rest = tail;
        }
        Ok(out)
    }

    fn clear_appended(&self, user: &str, key: &str, _: Option<Instant>) -> Result<(), GlobalError> {
        let path = self.path(user, key, "list")?;
        self.io(user, key, true, || match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        })
    }

    fn lock(
        &self,
        user: &str,
        key: &str,
        mode: LockMode,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn GlobalLock>, GlobalError> {
        let file = open_lock_file(&self.path(user, key, "lock")?)?;
        let op = match mode {
            LockMode::Read => Op::NonBlockingLockShared,
            LockMode::Write => Op::NonBlockingLockExclusive,
        };
        loop {
            match rustix::fs::flock(&file, op) {
                Ok(()) => return Ok(Box::new(FileLock(file))),
                Err(rustix::io::Errno::WOULDBLOCK) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(GlobalError::DeadlinePassed);
            }
            std::thread::sleep(LOCK_POLL);
        }
    }
}
