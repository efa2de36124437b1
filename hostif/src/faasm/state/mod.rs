//! The local state tier: per-user key → byte-array values, per-key lists
//! of appended elements, and reader-writer locks that Faaslets hold across
//! host calls.
//!
//! One [`StateStore`] is shared by every Faaslet of an executor; each
//! Faaslet's locks are tracked in its own [`HeldLocks`], which releases
//! whatever is still held when dropped, so a Faaslet that traps or times
//! out while holding a lock cannot wedge the others.

mod sync;

use super::FaasmError;
use super::chunks::{self, Meta};
use super::global::{GlobalLock, GlobalStore};
use rustix::fd::OwnedFd;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Default bound on all state bytes (values and appended elements) of a
/// store, so guests cannot exhaust host memory through it.
pub const DEFAULT_STATE_LIMIT: usize = 1 << 30;

/// Default bound on one user's state bytes: each key's length plus
/// [`KEY_OVERHEAD`] plus its value's bytes, and each appended element's
/// bytes plus [`ELEM_OVERHEAD`].
pub const DEFAULT_USER_STATE_LIMIT: usize = 256 << 20;

/// Bytes charged for each key (beside its length) and each appended
/// element (beside its bytes): what the host holds for them besides the
/// data, so that empty values and zero-length appends are not free.
pub const KEY_OVERHEAD: usize = 64;
/// Bytes charged for each appended element beside its bytes (see
/// [`KEY_OVERHEAD`]).
pub const ELEM_OVERHEAD: usize = 32;

/// State bytes held, in total and per user: each value costs its key's
/// length + [`KEY_OVERHEAD`] + its bytes; each key with appended elements
/// its key's length + [`KEY_OVERHEAD`], and each element
/// [`ELEM_OVERHEAD`] + its bytes.
#[derive(Debug, Default)]
struct Usage {
    total: usize,
    per_user: HashMap<String, usize>,
}

impl Usage {
    fn key_cost(key: &str) -> usize {
        key.len() + KEY_OVERHEAD
    }

    fn elem_cost(elem: usize) -> usize {
        elem + ELEM_OVERHEAD
    }

    /// Accounts for `user`'s holdings changing from `old` to `new` bytes;
    /// growth past either limit fails and changes nothing.
    fn charge(
        &mut self,
        call: &'static str,
        user: &str,
        old: usize,
        new: usize,
        limits: (usize, usize),
    ) -> Result<(), FaasmError> {
        let (total_limit, user_limit) = limits;
        let held = self.per_user.get(user).copied().unwrap_or(0);
        let user_after = held - old.min(held) + new;
        let total_after = self.total - old.min(self.total) + new;
        if new > old && (user_after > user_limit || total_after > total_limit) {
            return Err(FaasmError::StateLimit {
                call,
                user: user.to_string(),
                limit: user_limit.min(total_limit),
            });
        }
        self.total = total_after;
        if user_after == 0 {
            self.per_user.remove(user);
        } else {
            self.per_user.insert(user.to_string(), user_after);
        }
        Ok(())
    }

    fn user(&self, user: &str) -> usize {
        self.per_user.get(user).copied().unwrap_or(0)
    }
}

/// `(user, key)`: state is scoped to the calling function's user.
type StateKey = (String, String);

fn skey(user: &str, key: &str) -> StateKey {
    (user.to_string(), key.to_string())
}

#[derive(Default)]
struct Data {
    values: HashMap<StateKey, Value>,
    appended: HashMap<StateKey, Vec<Vec<u8>>>,
    /// What `values` and `appended` hold, per user.
    usage: Usage,
    /// Each value's chunks: missing, dirty, last synced (see
    /// [`chunks::Meta`]); no entry is a value whole here and clean.
    meta: HashMap<StateKey, Meta>,
}

impl Data {
    /// Marks the chunks of `range` dirty.
    fn dirty(&mut self, k: &StateKey, range: std::ops::Range<usize>) {
        self.meta
            .entry(k.clone())
            .or_default()
            .dirty
            .insert_range(chunks::touched(range));
    }
}

/// A value: plain bytes, or, once a Faaslet has mapped it into its memory
/// ([`StateStore::share`]), a memfd that every Faaslet mapping the key
/// shares, so their writes are each other's with no copy.
enum Value {
    Bytes(Vec<u8>),
    Shared(SharedValue),
}

/// Invariant: the file is `capacity` bytes and never shrinks (a mapping
/// past the end of a file faults); bytes past `len` read as zero.
struct SharedValue {
    fd: Arc<OwnedFd>,
    len: usize,
    capacity: usize,
}

fn io_err(call: &'static str) -> impl Fn(std::io::Error) -> FaasmError {
    move |e| FaasmError::global(call, e.into())
}

fn pread_all(fd: &OwnedFd, offset: usize, dst: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < dst.len() {
        let n = rustix::io::pread(fd, &mut dst[done..], (offset + done) as u64)?;
        if n == 0 {
            // Past the end of the file (never for `len <= capacity`).
            dst[done..].fill(0);
            break;
        }
        done += n;
    }
    Ok(())
}

fn pwrite_all(fd: &OwnedFd, offset: usize, src: &[u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < src.len() {
        done += rustix::io::pwrite(fd, &src[done..], (offset + done) as u64)?;
    }
    Ok(())
}

/// Writes `bytes` at `offset` of a value long enough for them.
fn write_value(value: &mut Value, offset: usize, bytes: &[u8]) -> std::io::Result<()> {
    match value {
        Value::Bytes(b) => {
            b[offset..offset + bytes.len()].copy_from_slice(bytes);
            Ok(())
        }
        Value::Shared(s) => pwrite_all(&s.fd, offset, bytes),
    }
}

/// The bytes `range` of a value (inside it).
fn read_value(value: &Value, range: std::ops::Range<usize>) -> std::io::Result<Vec<u8>> {
    match value {
        Value::Bytes(b) => Ok(b[range].to_vec()),
        Value::Shared(s) => {
            let mut out = vec![0; range.len()];
            pread_all(&s.fd, range.start, &mut out)?;
            Ok(out)
        }
    }
}

impl SharedValue {
    fn new(bytes: &[u8], capacity: usize) -> std::io::Result<SharedValue> {
        let fd = rustix::fs::memfd_create("faasm-state", rustix::fs::MemfdFlags::CLOEXEC)?;
        let capacity = capacity.max(bytes.len()).next_multiple_of(PAGE);
        rustix::fs::ftruncate(&fd, capacity as u64)?;
        pwrite_all(&fd, 0, bytes)?;
        Ok(SharedValue {
            fd: Arc::new(fd),
            len: bytes.len(),
            capacity,
        })
    }

    fn reserve(&mut self, capacity: usize) -> std::io::Result<()> {
        if capacity > self.capacity {
            let capacity = capacity.next_multiple_of(PAGE);
            rustix::fs::ftruncate(&*self.fd, capacity as u64)?;
            self.capacity = capacity;
        }
        Ok(())
    }

    /// Sets the length, zeroing what a shorter value leaves behind.
    fn set_len(&mut self, len: usize) -> std::io::Result<()> {
        self.reserve(len)?;
        if len < self.len {
            pwrite_all(&self.fd, len, &vec![0; self.len - len])?;
        }
        self.len = len;
        Ok(())
    }
}

/// Region and file granularity (a wasm page).
const PAGE: usize = 65536;

impl Value {
    fn len(&self) -> usize {
        match self {
            Value::Bytes(b) => b.len(),
            Value::Shared(s) => s.len,
        }
    }
}

/// Which lock of a key: the ABI has a local and a global one, separate
/// locks even though both tiers live on this host for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// The local tier's lock: this host's Faaslets only.
    Local,
    /// The global tier's lock: every host sharing the global store.
    Global,
}

pub use super::global::LockMode;

type LockKey = (String, String, Tier);

#[derive(Debug, Default, Clone, Copy)]
struct LockState {
    readers: u32,
    writer: bool,
}

/// The shared state of one executor.
pub struct StateStore {
    data: Mutex<Data>,
    locks: Mutex<HashMap<LockKey, LockState>>,
    /// Signalled whenever a lock is released.
    released: Condvar,
    limit: usize,
    /// The global tier pushes go to and pulls come from, and whose locks
    /// make state locks hold across processes; none: state lives and dies
    /// with this store.
    global: Option<Arc<dyn GlobalStore>>,
    user_limit: usize,
}

impl Default for StateStore {
    fn default() -> Self {
        StateStore::new(DEFAULT_STATE_LIMIT)
    }
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; if it did, each map is
    // still consistent entry by entry.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StateStore {
    /// A store holding at most `limit` bytes of state in total (and per
    /// user).
    pub fn new(limit: usize) -> StateStore {
        StateStore::with_user_limit(limit, limit)
    }

    /// A store holding at most `limit` bytes in total and `user_limit`
    /// bytes per user (counted as for [`DEFAULT_USER_STATE_LIMIT`]).
    pub fn with_user_limit(limit: usize, user_limit: usize) -> StateStore {
        StateStore {
            data: Mutex::default(),
            locks: Mutex::default(),
            released: Condvar::new(),
            limit,
            user_limit,
            global: None,
        }
    }

    /// This store, backed by the global tier `global`: values absent here
    /// are fetched from it, pushes and writes go to it, and every state
    /// lock also takes its lock.
    pub fn backed_by(self, global: Arc<dyn GlobalStore>) -> StateStore {
        StateStore {
            global: Some(global),
            ..self
        }
    }

    fn limits(&self) -> (usize, usize) {
        (self.limit, self.user_limit)
    }

    /// Bytes all users' state is charged now.
    pub fn total_bytes(&self) -> usize {
        lock(&self.data).usage.total
    }

    /// Bytes `user`'s state is charged now.
    pub fn user_bytes(&self, user: &str) -> usize {
        lock(&self.data).usage.user(user)
    }

    /// The value of `user`'s `key`, if set.
    pub fn get(&self, user: &str, key: &str) -> Option<Vec<u8>> {
        match lock(&self.data).values.get(&skey(user, key))? {
            Value::Bytes(b) => Some(b.clone()),
            Value::Shared(s) => {
                let mut out = vec![0; s.len];
                pread_all(&s.fd, 0, &mut out).ok()?;
                Some(out)
            }
        }
    }

    /// The length of `user`'s `key` in bytes (0 if unset).
    pub fn size(&self, user: &str, key: &str) -> usize {
        lock(&self.data)
            .values
            .get(&skey(user, key))
            .map_or(0, Value::len)
    }

    /// Extends the value (with zeros, or what a shared mapping wrote past
    /// its end) to at least `len` bytes.
    pub fn extend(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        len: usize,
    ) -> Result<(), FaasmError> {
        let mut data = lock(&self.data);
        let k = skey(user, key);
        let existing = data.values.get(&k).map(Value::len);
        let old = existing.unwrap_or(0);
        if len <= old {
            return Ok(());
        }
        let cost = Usage::key_cost(key);
        let charged = existing.map_or(0, |n| cost + n);
        data.usage
            .charge(call, user, charged, cost + len, self.limits())?;
        // The bytes grown into are the value's now (zeros, or what a
        // mapping wrote there): the next push sends them.
        data.dirty(&k, old..len);
        match data.values.entry(k).or_insert(Value::Bytes(Vec::new())) {
            Value::Bytes(b) => b.resize(len, 0),
            Value::Shared(s) => {
                s.reserve(len).map_err(io_err(call))?;
                s.len = len;
            }
        }
        Ok(())
    }

    /// The memfd behind `user`'s `key`, at least `capacity` bytes long
    /// (a page multiple), made from the current value (or empty) on first
    /// use: what a Faaslet maps to share the value. The file never
    /// shrinks, so mappings of it stay valid.
    pub fn share(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        capacity: usize,
    ) -> Result<Arc<OwnedFd>, FaasmError> {
        let mut data = lock(&self.data);
        let k = skey(user, key);
        if !data.values.contains_key(&k) {
            // A new (empty) key: charged like any other.
            data.usage
                .charge(call, user, 0, Usage::key_cost(key), self.limits())?;
        }
        let v = data.values.remove(&k);
        let shared = match v {
            Some(Value::Shared(mut s)) => s.reserve(capacity).map(|()| s),
            Some(Value::Bytes(b)) => SharedValue::new(&b, capacity),
            None => SharedValue::new(&[], capacity),
        };
        match shared {
            Ok(s) => {
                let fd = s.fd.clone();
                let value = Value::Shared(s);
                let meta = data.meta.entry(k.clone()).or_default();
                if meta.synced.is_none() {
                    // From now on guests change the bytes unseen: remember
                    // what each clean chunk held (dirty or missing ones are
                    // sent by the next partial push anyway).
                    let len = value.len();
                    let hashes = (0..chunks::count(len))
                        .map(|i| {
                            let clean = !meta.dirty.contains(i) && !meta.missing.contains(i);
                            let bytes = read_value(&value, chunks::bytes(i, len)).ok()?;
                            clean.then(|| chunks::hash(&bytes))
                        })
                        .collect();
                    meta.synced = Some(hashes);
                }
                data.values.insert(k, value);
                Ok(fd)
            }
            Err(e) => Err(io_err(call)(e)),
        }
    }

    /// Copies `value[offset..offset + dst.len()]` into `dst`, reading
    /// past the value's end as zeros.
    pub fn read_at(&self, user: &str, key: &str, offset: usize, dst: &mut [u8]) {
        let data = lock(&self.data);
        let value = data.values.get(&skey(user, key));
        let have = value
            .map_or(0, Value::len)
            .saturating_sub(offset)
            .min(dst.len());
        match value {
            Some(Value::Bytes(b)) if have > 0 => {
                dst[..have].copy_from_slice(&b[offset..offset + have])
            }
            Some(Value::Shared(s))
                if have > 0 && pread_all(&s.fd, offset, &mut dst[..have]).is_err() =>
            {
                dst[..have].fill(0)
            }
            _ => {}
        }
        dst[have..].fill(0);
    }

    /// Replaces the value.
    pub fn set(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), FaasmError> {
        let mut data = lock(&self.data);
        let k = skey(user, key);
        let cost = Usage::key_cost(key);
        let old = data.values.get(&k).map_or(0, |v| cost + v.len());
        data.usage
            .charge(call, user, old, cost + value.len(), self.limits())?;
        let meta = data.meta.entry(k.clone()).or_default();
        meta.missing.clear();
        meta.dirty.insert_range(0..chunks::count(value.len()));
        match data.values.get_mut(&k) {
            Some(Value::Shared(s)) => {
                let r = s
                    .set_len(value.len())
                    .and_then(|()| pwrite_all(&s.fd, 0, value));
                r.map_err(io_err(call))
            }
            _ => {
                data.values.insert(k, Value::Bytes(value.to_vec()));
                Ok(())
            }
        }
    }

    /// Resizes the value (zero fill) to at least `min_len`, then replaces
    /// the bytes at `offset` with `bytes`.
    pub fn write_at(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        min_len: usize,
        offset: usize,
        bytes: &[u8],
    ) -> Result<(), FaasmError> {
        let mut data = lock(&self.data);
        let k = skey(user, key);
        let existing = data.values.get(&k).map(Value::len);
        let old = existing.unwrap_or(0);
        let new = old.max(min_len).max(offset + bytes.len());
        let cost = Usage::key_cost(key);
        let charged = existing.map_or(0, |n| cost + n);
        data.usage
            .charge(call, user, charged, cost + new, self.limits())?;
        data.dirty(&k, offset..offset + bytes.len());
        data.dirty(&k, old..new);
        match data.values.entry(k).or_insert(Value::Bytes(Vec::new())) {
            Value::Bytes(value) => {
                value.resize(new, 0);
                value[offset..offset + bytes.len()].copy_from_slice(bytes);
                Ok(())
            }
            Value::Shared(s) => s
                .set_len(new)
                .and_then(|()| pwrite_all(&s.fd, offset, bytes))
                .map_err(io_err(call)),
        }
    }

    /// Appends `elem` to the local list (charged).
    fn append_local(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        elem: &[u8],
    ) -> Result<(), FaasmError> {
        let mut data = lock(&self.data);
        let k = skey(user, key);
        let new_key = if data.appended.contains_key(&k) {
            0
        } else {
            Usage::key_cost(key)
        };
        let cost = new_key + Usage::elem_cost(elem.len());
        data.usage.charge(call, user, 0, cost, self.limits())?;
        data.appended.entry(k).or_default().push(elem.to_vec());
        Ok(())
    }

    /// The local list's first `n` elements, concatenated.
    fn appended_local(&self, user: &str, key: &str, n: usize) -> Vec<u8> {
        let data = lock(&self.data);
        data.appended
            .get(&skey(user, key))
            .map(|elems| elems.iter().take(n).flatten().copied().collect())
            .unwrap_or_default()
    }

    /// Removes the local list's last element (an append the global tier
    /// refused).
    fn unappend_local(&self, user: &str, key: &str) {
        let mut data = lock(&self.data);
        let k = skey(user, key);
        let Some(elems) = data.appended.get_mut(&k) else {
            return;
        };
        let Some(elem) = elems.pop() else { return };
        let mut freed = Usage::elem_cost(elem.len());
        if elems.is_empty() {
            data.appended.remove(&k);
            freed += Usage::key_cost(key);
        }
        let limits = self.limits();
        let _ = data.usage.charge("", user, freed, 0, limits);
    }

    fn clear_appended_local(&self, user: &str, key: &str) {
        let mut data = lock(&self.data);
        if let Some(elems) = data.appended.remove(&skey(user, key)) {
            let held = Usage::key_cost(key)
                + elems
                    .iter()
                    .map(|e| Usage::elem_cost(e.len()))
                    .sum::<usize>();
            let limits = self.limits();
            // Shrinking never fails.
            let _ = data.usage.charge("", user, held, 0, limits);
        }
    }

    fn try_acquire(locks: &mut HashMap<LockKey, LockState>, key: &LockKey, mode: LockMode) -> bool {
        let st = locks.entry(key.clone()).or_default();
        match mode {
            LockMode::Read if !st.writer => st.readers += 1,
            LockMode::Write if !st.writer && st.readers == 0 => st.writer = true,
            _ => return false,
        }
        true
    }

    fn release(&self, key: &LockKey, mode: LockMode) {
        let mut locks = lock(&self.locks);
        if let Some(st) = locks.get_mut(key) {
            match mode {
                LockMode::Read => st.readers = st.readers.saturating_sub(1),
                LockMode::Write => st.writer = false,
            }
            if st.readers == 0 && !st.writer {
                locks.remove(key);
            }
        }
        drop(locks);
        self.released.notify_all();
    }
}

/// The locks one Faaslet holds; released on drop.
pub struct HeldLocks {
    store: Arc<StateStore>,
    held: HashMap<LockKey, (u32, bool)>,
    /// The global tier's locks behind `held` (one per acquisition).
    guards: HashMap<LockKey, Vec<Box<dyn GlobalLock>>>,
}

impl std::fmt::Debug for HeldLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLocks")
            .field("held", &self.held.len())
            .finish()
    }
}

impl HeldLocks {
    /// No locks yet, over `store`'s locks.
    pub fn new(store: Arc<StateStore>) -> HeldLocks {
        HeldLocks {
            store,
            held: HashMap::new(),
            guards: HashMap::new(),
        }
    }

    /// Takes a lock, waiting (inside `blocking`, which may let the executor
    /// start another worker meanwhile) until `deadline` at most. Taking a
    /// lock this Faaslet already holds for writing, or the write lock while
    /// holding the read lock, would wait for itself forever: an error.
    #[allow(clippy::too_many_arguments)]
    pub fn lock(
        &mut self,
        call: &'static str,
        user: &str,
        key: &str,
        tier: Tier,
        mode: LockMode,
        deadline: Option<Instant>,
        blocking: impl FnOnce(&mut dyn FnMut()),
    ) -> Result<(), FaasmError> {
        let k = (user.to_string(), key.to_string(), tier);
        let (reads, write) = self.held.get(&k).copied().unwrap_or_default();
        if write || (mode == LockMode::Write && reads > 0) {
            return Err(FaasmError::AlreadyLocked {
                call,
                key: key.to_string(),
            });
        }
        let mut locks = lock(&self.store.locks);
        if !StateStore::try_acquire(&mut locks, &k, mode) {
            drop(locks);
            let mut got = false;
            blocking(&mut || {
                let mut locks = lock(&self.store.locks);
                loop {
                    if StateStore::try_acquire(&mut locks, &k, mode) {
                        got = true;
                        return;
                    }
                    match deadline {
                        None => {
                            locks = self
                                .store
                                .released
                                .wait(locks)
                                .unwrap_or_else(|e| e.into_inner())
                        }
                        Some(d) => {
                            let now = Instant::now();
                            if now >= d {
                                return;
                            }
                            locks = self
                                .store
                                .released
                                .wait_timeout(locks, d - now)
                                .unwrap_or_else(|e| e.into_inner())
                                .0;
                        }
                    }
                }
            });
            if !got {
                return Err(FaasmError::DeadlinePassed { call });
            }
        }
        // Then across processes (in-process first, so only other
        // processes can make this wait).
        if let Some(g) = &self.store.global {
            match g.lock(user, key, mode, deadline) {
                Ok(guard) => self.guards.entry(k.clone()).or_default().push(guard),
                Err(e) => {
                    self.store.release(&k, mode);
                    return Err(FaasmError::global(call, e));
                }
            }
        }
        let entry = self.held.entry(k).or_default();
        match mode {
            LockMode::Read => entry.0 += 1,
            LockMode::Write => entry.1 = true,
        }
        Ok(())
    }

    /// Releases one hold of the lock (`mode`, `tier`) of `user`'s `key`;
    /// fails with [`FaasmError::NotLocked`] unless this Faaslet holds it.
    pub fn unlock(
        &mut self,
        call: &'static str,
        user: &str,
        key: &str,
        tier: Tier,
        mode: LockMode,
    ) -> Result<(), FaasmError> {
        let k = (user.to_string(), key.to_string(), tier);
        let entry = self.held.get_mut(&k);
        let ok = match (entry, mode) {
            (Some(e), LockMode::Read) if e.0 > 0 => {
                e.0 -= 1;
                true
            }
            (Some(e), LockMode::Write) if e.1 => {
                e.1 = false;
                true
            }
            _ => false,
        };
        if !ok {
            return Err(FaasmError::NotLocked {
                call,
                key: key.to_string(),
            });
        }
        if self.held.get(&k) == Some(&(0, false)) {
            self.held.remove(&k);
        }
        if let Some(gs) = self.guards.get_mut(&k) {
            gs.pop();
        }
        self.store.release(&k, mode);
        Ok(())
    }

    /// Releases everything still held.
    pub fn release_all(&mut self) {
        self.guards.clear();
        for (k, (reads, write)) in self.held.drain() {
            for _ in 0..reads {
                self.store.release(&k, LockMode::Read);
            }
            if write {
                self.store.release(&k, LockMode::Write);
            }
        }
    }
}

impl Drop for HeldLocks {
    fn drop(&mut self) {
        self.release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(wait: &mut dyn FnMut()) {
        wait()
    }

    #[test]
    fn values_are_per_user_and_zero_extended() {
        let s = StateStore::default();
        s.set("c", "alice", "k", b"abc").unwrap();
        assert_eq!(s.size("alice", "k"), 3);
        assert_eq!(s.size("bob", "k"), 0);
        assert_eq!(s.get("bob", "k"), None);
        let mut buf = [9u8; 5];
        s.read_at("alice", "k", 1, &mut buf);
        assert_eq!(&buf, b"bc\0\0\0");
        s.read_at("alice", "k", 10, &mut buf);
        assert_eq!(buf, [0; 5]);
        s.write_at("c", "alice", "k", 6, 4, b"xy").unwrap();
        assert_eq!(s.get("alice", "k").unwrap(), b"abc\0xy");
        s.write_at("c", "alice", "k", 2, 0, b"A").unwrap();
        assert_eq!(s.get("alice", "k").unwrap(), b"Abc\0xy");
    }

    #[test]
    fn appended_elements_and_clear() {
        let s = StateStore::default();
        s.append("c", "u", "k", b"ab", None).unwrap();
        s.append("c", "u", "k", b"c", None).unwrap();
        s.append("c", "u", "k", b"de", None).unwrap();
        assert_eq!(s.appended("c", "u", "k", 2, None).unwrap(), b"abc");
        assert_eq!(s.appended("c", "u", "k", 10, None).unwrap(), b"abcde");
        assert_eq!(s.appended("c", "v", "k", 10, None).unwrap(), b"");
        s.clear_appended("c", "u", "k", None).unwrap();
        assert_eq!(s.appended("c", "u", "k", 10, None).unwrap(), b"");
        assert_eq!(lock(&s.data).usage.total, 0);
        assert_eq!(s.user_bytes("u"), 0);
    }

    #[test]
    fn the_byte_limit_holds() {
        // Key "a" costs 1 + KEY_OVERHEAD before any value byte.
        let key = 1 + KEY_OVERHEAD;
        let s = StateStore::new(key + 10);
        s.set("c", "u", "a", &[1; 6]).unwrap();
        assert_eq!(s.user_bytes("u"), key + 6);
        let e = s.set("c", "u", "b", &[]).unwrap_err();
        assert!(e.to_string().contains("state limit"), "{e}");
        assert!(s.write_at("c", "u", "a", 11, 0, &[]).is_err());
        assert!(s.append("c", "u", "a", &[], None).is_err());
        // Shrinking always works, and frees room.
        s.set("c", "u", "a", &[1; 1]).unwrap();
        s.write_at("c", "u", "a", 10, 0, &[]).unwrap();
        assert_eq!(s.user_bytes("u"), key + 10);
    }

    #[test]
    fn keys_and_empty_appends_are_charged_per_user() {
        let s = StateStore::with_user_limit(1 << 20, 1000);
        // Zero-length appends are not free: each costs ELEM_OVERHEAD.
        let mut n = 0;
        while s.append("c", "alice", "list", &[], None).is_ok() {
            n += 1;
        }
        assert_eq!(n, (1000 - 4 - KEY_OVERHEAD) / ELEM_OVERHEAD);
        let e = s.set("c", "alice", "k", b"").unwrap_err();
        assert_eq!(
            e,
            FaasmError::StateLimit {
                call: "c",
                user: "alice".into(),
                limit: 1000
            }
        );
        // Another user has a budget of their own.
        s.set("c", "bob", "k", &[7; 500]).unwrap();
        s.clear_appended("c", "alice", "list", None).unwrap();
        assert_eq!(s.user_bytes("alice"), 0);
        s.set("c", "alice", "k", &[1; 900]).unwrap();
    }

    #[test]
    fn readers_share_writers_exclude() {
        let store = Arc::new(StateStore::default());
        let mut a = HeldLocks::new(store.clone());
        let mut b = HeldLocks::new(store.clone());
        a.lock("c", "u", "k", Tier::Local, LockMode::Read, None, run)
            .unwrap();
        b.lock("c", "u", "k", Tier::Local, LockMode::Read, None, run)
            .unwrap();
        // A writer waits for both readers: with a deadline it gives up.
        let mut w = HeldLocks::new(store.clone());
        let soon = Some(Instant::now() + Duration::from_millis(20));
        let e = w
            .lock("c", "u", "k", Tier::Local, LockMode::Write, soon, run)
            .unwrap_err();
        assert!(e.to_string().contains("deadline"), "{e}");
        // The global lock of the same key is a different lock.
        w.lock("c", "u", "k", Tier::Global, LockMode::Write, soon, run)
            .unwrap();
        // Another user's key too.
        w.lock("c", "v", "k", Tier::Local, LockMode::Write, soon, run)
            .unwrap();
        a.unlock("c", "u", "k", Tier::Local, LockMode::Read)
            .unwrap();
        drop(b); // released on drop
        let t = std::thread::spawn(move || {
            w.lock("c", "u", "k", Tier::Local, LockMode::Write, None, run)
                .unwrap();
            w
        });
        let w = t.join().unwrap();
        let soon = Some(Instant::now() + Duration::from_millis(20));
        assert!(
            a.lock("c", "u", "k", Tier::Local, LockMode::Read, soon, run)
                .is_err()
        );
        drop(w);
        a.lock("c", "u", "k", Tier::Local, LockMode::Read, soon, run)
            .unwrap();
    }

    #[test]
    fn a_blocked_writer_wakes_when_the_reader_leaves() {
        let store = Arc::new(StateStore::default());
        let mut r = HeldLocks::new(store.clone());
        r.lock("c", "u", "k", Tier::Local, LockMode::Read, None, run)
            .unwrap();
        let s2 = store.clone();
        let t = std::thread::spawn(move || {
            let mut w = HeldLocks::new(s2);
            let mut blocked = false;
            w.lock("c", "u", "k", Tier::Local, LockMode::Write, None, |f| {
                blocked = true;
                f()
            })
            .unwrap();
            blocked
        });
        std::thread::sleep(Duration::from_millis(30));
        r.unlock("c", "u", "k", Tier::Local, LockMode::Read)
            .unwrap();
        assert!(
            t.join().unwrap(),
            "the writer did not go through `blocking`"
        );
    }

    #[test]
    fn misuse_is_an_error_not_a_deadlock() {
        let store = Arc::new(StateStore::default());
        let mut a = HeldLocks::new(store);
        assert!(
            a.unlock("c", "u", "k", Tier::Local, LockMode::Read)
                .is_err()
        );
        a.lock("c", "u", "k", Tier::Local, LockMode::Read, None, run)
            .unwrap();
        a.lock("c", "u", "k", Tier::Local, LockMode::Read, None, run)
            .unwrap();
        let e = a
            .lock("c", "u", "k", Tier::Local, LockMode::Write, None, run)
            .unwrap_err();
        assert!(e.to_string().contains("already holds"), "{e}");
        assert!(
            a.unlock("c", "u", "k", Tier::Local, LockMode::Write)
                .is_err()
        );
        a.unlock("c", "u", "k", Tier::Local, LockMode::Read)
            .unwrap();
        a.unlock("c", "u", "k", Tier::Local, LockMode::Read)
            .unwrap();
        let e = a
            .unlock("c", "u", "k", Tier::Local, LockMode::Read)
            .unwrap_err();
        assert!(e.to_string().contains("does not hold"), "{e}");
        a.lock("c", "u", "k", Tier::Local, LockMode::Write, None, run)
            .unwrap();
        assert!(
            a.lock("c", "u", "k", Tier::Local, LockMode::Read, None, run)
                .is_err()
        );
    }
}
