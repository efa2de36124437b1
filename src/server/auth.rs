//! Users and tokens: `$FAASM_HOME/tokens` holds one line per token,
//! `ID USER ROLE HASH`, where HASH is the blake3 hash of the token.
//!
//! Tokens are 32 bytes from the OS's random source, so a fast unsalted
//! hash is enough: there is nothing to brute-force that is cheaper than
//! guessing 256 random bits, unlike a password. The hash of a presented
//! token is compared with every stored one in constant time (no early
//! exit on the first differing byte, nor on the first match), so timing
//! tells nothing about how close a guess was.
//!
//! The server keeps the list in memory and looks at the file again (a
//! `stat`, and a re-read if it changed) at most every [`REFRESH`], on the
//! first request after that time: a `stat` per request cost more than
//! the rest of the check. So `faasm-run token revoke` takes effect within
//! [`REFRESH`]. A token the list does not know makes the server look at
//! once, so a token just created works from its first request.

use hyper::header::HeaderValue;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// How often, at most, the server looks at the token file: a revocation
/// takes effect within this.
pub const REFRESH: Duration = Duration::from_millis(50);

/// What a token reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Every user's functions, state and calls (also `--insecure-no-auth`).
    Admin,
    /// Only this user's.
    User(String),
}

impl Caller {
    pub fn may_reach(&self, user: &str) -> bool {
        match self {
            Caller::Admin => true,
            Caller::User(u) => u == user,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::Admin)
    }
}

/// Why a request is not authenticated (all 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing Authorization header (expected `Bearer TOKEN`)")]
    Missing,
    #[error("malformed Authorization header (expected `Bearer TOKEN`)")]
    Malformed,
    #[error("unknown or revoked token")]
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: malformed token entry")]
    Corrupt { path: String, line: usize },
    #[error("no token or token id {0:?}")]
    NotFound(String),
    #[error("cannot get random bytes: {0}")]
    Random(String),
    #[error(transparent)]
    Name(#[from] crate::executor::StoreError),
}

/// One stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub user: String,
    pub admin: bool,
    hash: [u8; 32],
}

const PREFIX: &str = "faasm_";
const SECRET_HEX: usize = 64;

/// The token file under `home`.
pub fn tokens_path(home: &Path) -> PathBuf {
    home.join("tokens")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn random_hex(n: usize) -> Result<String, TokenError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(hex(&bytes))
}

/// Whether `token` has the shape of one of ours (checked before hashing,
/// so that garbage is "malformed", not "unknown").
fn well_formed(token: &str) -> bool {
    token.strip_prefix(PREFIX).is_some_and(|s| {
        s.len() == SECRET_HEX
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

fn hash(token: &str) -> [u8; 32] {
    *blake3::hash(token.as_bytes()).as_bytes()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TokenError + '_ {
    move |source| TokenError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<Entry>, TokenError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let corrupt = || TokenError::Corrupt {
            path: path.display().to_string(),
            line: n + 1,
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        let [id, user, role, h] = f.as_slice() else {
            return Err(corrupt());
        };
        let admin = match *role {
            "admin" => true,
            "user" => false,
            _ => return Err(corrupt()),
        };
        out.push(Entry {
            id: id.to_string(),
            user: user.to_string(),
            admin,
            hash: unhex32(h).ok_or_else(corrupt)?,
        });
    }
    Ok(out)
}

fn read_entries(path: &Path) -> Result<Vec<Entry>, TokenError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(path)(e)),
    }
}

/// Rewrites the file through a temporary one and a rename (readers see
/// the old or the new list, never half of one), readable by the owner
/// only.
fn write_entries(path: &Path, entries: &[Entry]) -> Result<(), TokenError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut text = String::from("# faasm tokens: ID USER ROLE BLAKE3(TOKEN)\n");
    for e in entries {
        let role = if e.admin { "admin" } else { "user" };
        text.push_str(&format!("{} {} {role} {}\n", e.id, e.user, hex(&e.hash)));
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(text.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Runs `f` on the entries with the file locked against other `token`
/// commands (two concurrent creates must not lose one).
fn update<T>(
    home: &Path,
    f: impl FnOnce(&mut Vec<Entry>) -> Result<T, TokenError>,
) -> Result<T, TokenError> {
    std::fs::create_dir_all(home).map_err(io(home))?;
    let lock_path = home.join("tokens.lock");
    let lock = std::fs::File::create(&lock_path).map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    let path = tokens_path(home);
    let mut entries = read_entries(&path)?;
    let r = f(&mut entries)?;
    write_entries(&path, &entries)?;
    Ok(r)
}

/// Makes a token for `user`; returns its entry and the token itself
/// (shown once, never stored).
pub fn create(home: &Path, user: &str, admin: bool) -> Result<(Entry, String), TokenError> {
    crate::executor::store::validate_name("user", user)?;
    let token = format!("{PREFIX}{}", random_hex(SECRET_HEX / 2)?);
    let entry = Entry {
        id: random_hex(8)?,
        user: user.to_string(),
        admin,
        hash: hash(&token),
    };
    update(home, |entries| {
        entries.push(entry.clone());
        Ok(())
    })?;
    Ok((entry, token))
}

/// Removes the token given as itself or by its id.
pub fn revoke(home: &Path, token_or_id: &str) -> Result<Entry, TokenError> {
    let h = well_formed(token_or_id).then(|| hash(token_or_id));
    update(home, |entries| {
        let pos = entries
            .iter()
            .position(|e| h.is_some_and(|h| e.hash == h) || e.id == token_or_id)
            .ok_or_else(|| TokenError::NotFound(token_or_id.to_string()))?;
        Ok(entries.remove(pos))
    })
}

/// Every token entry (no secrets: those are not stored).
pub fn list(home: &Path) -> Result<Vec<Entry>, TokenError> {
    read_entries(&tokens_path(home))
}

/// What identifies one version of the file: a rename makes a new inode.
type Stamp = Option<(u64, i64, i64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.mtime(), m.mtime_nsec(), m.size()))
}

/// The server's view of the token file.
pub struct Tokens {
    path: PathBuf,
    cache: RwLock<(Stamp, Vec<Entry>)>,
    /// Looks at the file at most this often.
    refresh: Duration,
    /// When it last did, in nanoseconds since `opened`.
    looked: AtomicU64,
    opened: Instant,
}

impl Tokens {
    /// The tokens under `home`, looked at again every [`REFRESH`].
    pub fn open(home: &Path) -> Result<Tokens, TokenError> {
        Tokens::with_refresh(home, REFRESH)
    }

    /// The tokens under `home`, looked at again every `refresh` (zero:
    /// on every request).
    pub fn with_refresh(home: &Path, refresh: Duration) -> Result<Tokens, TokenError> {
        let path = tokens_path(home);
        let st = stamp(&path);
        let entries = read_entries(&path)?;
        Ok(Tokens {
            path,
            cache: RwLock::new((st, entries)),
            refresh,
            looked: AtomicU64::new(0),
            opened: Instant::now(),
        })
    }

    pub fn count(&self) -> usize {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).1.len()
    }

    /// [`Tokens::refresh`] if the last look is `refresh` old. The time of
    /// the look is stored once it is done, so a request that finds the
    /// look not due runs on a list at most `refresh` old (requests that
    /// arrive during a look make their own).
    fn refresh_if_due(&self) {
        let now = self.opened.elapsed().as_nanos() as u64;
        let last = self.looked.load(Ordering::Acquire);
        if now.saturating_sub(last) >= self.refresh.as_nanos() as u64 {
            self.refresh();
            self.looked.fetch_max(now, Ordering::Release);
        }
    }

    /// Re-reads the file if it changed. A file that cannot be read now
    /// keeps the last good list, except that a deleted file means no
    /// tokens (a revocation by removal must work).
    fn refresh(&self) {
        let now = stamp(&self.path);
        if self.cache.read().unwrap_or_else(|e| e.into_inner()).0 == now {
            return;
        }
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        match read_entries(&self.path) {
            Ok(entries) => *cache = (now, entries),
            Err(e) => tracing::warn!(error = %e, "cannot re-read the token file"),
        }
    }

    /// Who the `Authorization` header identifies.
    pub fn check(&self, header: Option<&HeaderValue>) -> Result<Caller, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| well_formed(t))
            .ok_or(AuthError::Malformed)?;
        let h = hash(token);
        self.refresh_if_due();
        match self.find(&h) {
            Some(c) => Ok(c),
            // Perhaps created since the last look.
            None => {
                self.refresh();
                self.find(&h).ok_or(AuthError::Unknown)
            }
        }
    }

    /// Who holds the token hashed `h`, if anyone.
    fn find(&self, h: &[u8; 32]) -> Option<Caller> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        // Every entry is compared, whatever matched: constant time in
        // the token (the number of entries is not secret).
        let mut found: Option<&Entry> = None;
        for e in &cache.1 {
            let m: bool = e.hash.ct_eq(h).into();
            if m {
                found = Some(e);
            }
        }
        found.map(|e| {
            if e.admin {
                Caller::Admin
            } else {
                Caller::User(e.user.clone())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(name: &str) -> PathBuf {
        faasm_testutil::scratch_dir(&format!("auth-{name}"))
    }

    fn bearer(t: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {t}")).unwrap()
    }

    #[test]
    fn tokens_are_created_checked_and_revoked() {
        let h = home("cycle");
        let (alice, ta) = create(&h, "alice", false).unwrap();
        let (_, tr) = create(&h, "root", true).unwrap();
        // Only the hash is stored.
        let file = std::fs::read_to_string(tokens_path(&h)).unwrap();
        assert!(!file.contains(&ta[PREFIX.len()..]));
        let tokens = Tokens::with_refresh(&h, Duration::ZERO).unwrap();
        assert_eq!(
            tokens.check(Some(&bearer(&ta))),
            Ok(Caller::User("alice".into()))
        );
        assert_eq!(tokens.check(Some(&bearer(&tr))), Ok(Caller::Admin));
        assert_eq!(tokens.check(None), Err(AuthError::Missing));
        for bad in ["", "Basic x", "Bearer", "Bearer faasm_xyz"] {
            let v = HeaderValue::from_str(bad).unwrap();
            assert_eq!(tokens.check(Some(&v)), Err(AuthError::Malformed), "{bad}");
        }
        let wrong = format!("{PREFIX}{}", "0".repeat(64));
        assert_eq!(tokens.check(Some(&bearer(&wrong))), Err(AuthError::Unknown));
        // Revoked by id; the server's view follows the file.
        revoke(&h, &alice.id).unwrap();
        assert_eq!(tokens.check(Some(&bearer(&ta))), Err(AuthError::Unknown));
        // Revoked by the token itself.
        revoke(&h, &tr).unwrap();
        assert_eq!(tokens.check(Some(&bearer(&tr))), Err(AuthError::Unknown));
        assert!(matches!(revoke(&h, &tr), Err(TokenError::NotFound(_))));
        assert!(create(&h, "../x", false).is_err());
    }

    #[test]
    fn a_revocation_is_seen_within_the_refresh_time_and_new_tokens_at_once() {
        let h = home("refresh");
        let (_, ta) = create(&h, "alice", false).unwrap();
        let refresh = Duration::from_millis(300);
        let tokens = Tokens::with_refresh(&h, refresh).unwrap();
        assert_eq!(
            tokens.check(Some(&bearer(&ta))),
            Ok(Caller::User("alice".into()))
        );
        // A token made after the server read the file works at once.
        let (_, tb) = create(&h, "bob", false).unwrap();
        assert_eq!(
            tokens.check(Some(&bearer(&tb))),
            Ok(Caller::User("bob".into()))
        );
        // Revoked: refused once the refresh time has passed since it.
        revoke(&h, &ta).unwrap();
        std::thread::sleep(refresh);
        assert_eq!(tokens.check(Some(&bearer(&ta))), Err(AuthError::Unknown));
        assert_eq!(
            tokens.check(Some(&bearer(&tb))),
            Ok(Caller::User("bob".into()))
        );
        // The file removed: no token is valid any more.
        std::fs::remove_file(tokens_path(&h)).unwrap();
        std::thread::sleep(refresh);
        assert_eq!(tokens.check(Some(&bearer(&tb))), Err(AuthError::Unknown));
    }
}
