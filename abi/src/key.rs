//! The key that authenticates artifacts.
//!
//! An artifact is native code: whoever can make the runtime load one can run
//! any instruction in the host process. So the runtime loads only artifacts
//! whose tag (keyed BLAKE3 over the whole body) was made with the key it was
//! given. The trust model:
//!
//! - An *installation* is one `$FAASM_HOME` (default `~/.faasm`); its key is
//!   `keys/artifact.key` there (32 random bytes, mode 0600, made on first
//!   use). `faasmc compile`, `faasm-run FILE.faasm` and the executor's
//!   function store all use it, so artifacts move freely between them.
//! - Whoever can read that file can make artifacts the installation runs:
//!   it is exactly as sensitive as write access to `$FAASM_HOME/functions`.
//!   Guests never see it (their files live under `users/` and `shared/`).
//! - An artifact from another installation, or a file crafted to look like
//!   one, fails with [`crate::ArtifactError::Unauthenticated`] before any of
//!   it is decoded.
//! - An embedder that only compiles and loads in-process needs no file:
//!   [`ArtifactKey::random`] gives a key no artifact from outside carries.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Length of a key and of a tag.
pub const KEY_LEN: usize = 32;

/// A secret key for artifact tags.
#[derive(Clone, PartialEq, Eq)]
pub struct ArtifactKey([u8; KEY_LEN]);

impl std::fmt::Debug for ArtifactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArtifactKey(..)")
    }
}

impl ArtifactKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> ArtifactKey {
        ArtifactKey(bytes)
    }

    /// A fresh key from the operating system's random source.
    pub fn random() -> io::Result<ArtifactKey> {
        let mut k = [0u8; KEY_LEN];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut k)?;
        Ok(ArtifactKey(k))
    }

    /// The tag of `body` under this key.
    pub fn tag(&self, body: &[u8]) -> [u8; KEY_LEN] {
        *blake3::keyed_hash(&self.0, body).as_bytes()
    }

    /// Whether `tag` is `body`'s tag (compared in constant time).
    pub fn verify(&self, body: &[u8], tag: &[u8; KEY_LEN]) -> bool {
        blake3::keyed_hash(&self.0, body) == blake3::Hash::from_bytes(*tag)
    }

    /// The key stored at `path`, made (atomically, readable by the owner
    /// only) if there is none yet. Two processes racing to make it end up
    /// with the same key.
    pub fn load_or_create(path: &Path) -> io::Result<ArtifactKey> {
        match read_key(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => return other,
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let key = ArtifactKey::random()?;
        // Unique per process and call: threads of one process race too.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".artifact.key.{}.{n}", std::process::id()));
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&key.0)?;
            f.sync_all()?;
        }
        // A hard link never replaces an existing file: the first process to
        // link wins, and everyone reads the winner's key.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_key(path),
            Err(e) => Err(e),
        }
    }

    /// The installation's key: `keys/artifact.key` under [`faasm_home`].
    pub fn installation() -> io::Result<ArtifactKey> {
        let home = faasm_home().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "neither $FAASM_HOME nor $HOME is set",
            )
        })?;
        ArtifactKey::load_or_create(&key_path(&home))
    }
}

/// Where an installation rooted at `home` keeps its artifact key.
pub fn key_path(home: &Path) -> PathBuf {
    home.join("keys").join("artifact.key")
}

/// `$FAASM_HOME`, else `$HOME/.faasm`.
pub fn faasm_home() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("FAASM_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(Path::new(&home).join(".faasm"))
}

fn read_key(path: &Path) -> io::Result<ArtifactKey> {
    let bytes = std::fs::read(path)?;
    let k: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a {KEY_LEN}-byte key", path.display()),
        )
    })?;
    Ok(ArtifactKey(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_key_and_body() {
        let a = ArtifactKey::from_bytes([1; KEY_LEN]);
        let b = ArtifactKey::from_bytes([2; KEY_LEN]);
        let t = a.tag(b"code");
        assert!(a.verify(b"code", &t));
        assert!(!a.verify(b"codf", &t));
        assert!(!b.verify(b"code", &t));
        assert_ne!(
            ArtifactKey::random().unwrap(),
            ArtifactKey::random().unwrap()
        );
    }

    #[test]
    fn a_stored_key_is_made_once_and_kept_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = faasm_testutil::TempDir::new("key");
        let path = key_path(dir.as_ref());
        let k1 = ArtifactKey::load_or_create(&path).unwrap();
        let k2 = ArtifactKey::load_or_create(&path).unwrap();
        assert_eq!(k1, k2);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, b"short").unwrap();
        assert!(ArtifactKey::load_or_create(&path).is_err());
    }

    #[test]
    fn threads_racing_to_make_the_key_agree() {
        let dir = faasm_testutil::TempDir::new("key-race");
        let path = key_path(dir.as_ref());
        let keys: Vec<ArtifactKey> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| ArtifactKey::load_or_create(&path).unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]));
    }
}
