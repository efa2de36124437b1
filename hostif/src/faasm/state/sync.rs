//! Moving values between the local tier and the global one: whole values
//! (`pull`, `push`, `fetch`) and chunks (`fetch_range`, `push_partial`),
//! and appended lists, which live in the global tier when there is one.
//!
//! Every call takes the calling Faaslet's deadline: the global tier gives
//! up (retries included) by then.

use super::{Data, StateStore, Usage, Value, io_err, lock, read_value, skey, write_value};
use crate::faasm::FaasmError;
use crate::faasm::chunks::{self, ChunkSet, Hash, Meta};
use crate::faasm::global::{CHUNK, GlobalStore};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

/// Deadline of a call into the global tier.
type Deadline = Option<Instant>;

fn hashes_of(value: &Value) -> Option<Vec<Option<Hash>>> {
    let Value::Shared(_) = value else { return None };
    let len = value.len();
    Some(
        (0..chunks::count(len))
            .map(|i| {
                read_value(value, chunks::bytes(i, len))
                    .ok()
                    .map(|b| chunks::hash(&b))
            })
            .collect(),
    )
}

impl StateStore {
    fn global(&self) -> Option<&Arc<dyn GlobalStore>> {
        self.global.as_ref()
    }

    /// `pull`: replaces the local value with the global tier's, if it has
    /// one (nothing to do without a global tier). Local changes not pushed
    /// are lost.
    pub fn pull(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        deadline: Deadline,
    ) -> Result<(), FaasmError> {
        let Some(g) = self.global() else {
            return Ok(());
        };
        let Some(v) = g
            .get(user, key, deadline)
            .map_err(|e| FaasmError::global(call, e))?
        else {
            return Ok(());
        };
        self.set(call, user, key, &v)?;
        // What `set` marked dirty is what the global tier holds.
        let mut data = lock(&self.data);
        let k = skey(user, key);
        let synced = data.values.get(&k).and_then(hashes_of);
        data.meta.insert(
            k,
            Meta {
                synced,
                ..Meta::default()
            },
        );
        Ok(())
    }

    /// Makes the whole value present here: pulls a value this store does
    /// not hold yet (a read of a key another process wrote), or the chunks
    /// of it not fetched yet.
    pub fn fetch(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        deadline: Deadline,
    ) -> Result<(), FaasmError> {
        if self.global().is_none() {
            return Ok(());
        }
        let missing = {
            let data = lock(&self.data);
            let k = skey(user, key);
            data.values.get(&k).map(|v| {
                data.meta
                    .get(&k)
                    .map_or(Vec::new(), |m| m.missing.below(chunks::count(v.len())))
            })
        };
        match missing {
            None => self.pull(call, user, key, deadline),
            Some(m) if m.is_empty() => Ok(()),
            Some(m) => self.fetch_chunks(call, user, key, &m, deadline),
        }
    }

    /// Makes the chunks that `range` touches present here, fetching only
    /// those (and none already here).
    pub fn fetch_range(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        range: Range<usize>,
        deadline: Deadline,
    ) -> Result<(), FaasmError> {
        if self.global().is_none() {
            return Ok(());
        }
        let want: Vec<usize> = {
            let data = lock(&self.data);
            let k = skey(user, key);
            let touched = chunks::touched(range);
            match (data.values.get(&k), data.meta.get(&k)) {
                (None, _) => touched.collect(),
                (Some(_), None) => Vec::new(),
                (Some(_), Some(m)) => touched.filter(|i| m.missing.contains(*i)).collect(),
            }
        };
        if want.is_empty() {
            return Ok(());
        }
        self.fetch_chunks(call, user, key, &want, deadline)
    }

    /// Fetches chunks `want` into the local value (made, zero-filled with
    /// every other chunk missing, if this store has none yet).
    fn fetch_chunks(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        want: &[usize],
        deadline: Deadline,
    ) -> Result<(), FaasmError> {
        let Some(g) = self.global() else {
            return Ok(());
        };
        let ranges: Vec<Range<usize>> = want.iter().map(|i| i * CHUNK..(i + 1) * CHUNK).collect();
        let Some((len, parts)) = g
            .get_ranges(user, key, &ranges, deadline)
            .map_err(|e| FaasmError::global(call, e))?
        else {
            return Ok(());
        };
        let mut data = lock(&self.data);
        let k = skey(user, key);
        if !data.values.contains_key(&k) {
            let cost = Usage::key_cost(key) + len;
            let limits = self.limits();
            data.usage.charge(call, user, 0, cost, limits)?;
            data.values.insert(k.clone(), Value::Bytes(vec![0; len]));
            let mut missing = ChunkSet::default();
            missing.insert_range(0..chunks::count(len));
            data.meta.insert(
                k.clone(),
                Meta {
                    missing,
                    ..Meta::default()
                },
            );
        }
        let Data { values, meta, .. } = &mut *data;
        let (Some(value), Some(meta)) = (values.get_mut(&k), meta.get_mut(&k)) else {
            return Ok(());
        };
        for (&i, part) in want.iter().zip(&parts) {
            if !meta.missing.contains(i) {
                continue;
            }
            // The global value may have changed length since: keep ours.
            let local = chunks::bytes(i, value.len());
            let n = local.len().min(part.len());
            write_value(value, local.start, &part[..n]).map_err(io_err(call))?;
            meta.missing.remove(i);
            // A mapped value's partial push compares chunks with what was
            // last synced: this chunk now holds the global bytes.
            if let Some(synced) = &mut meta.synced {
                let bytes = read_value(value, local).map_err(io_err(call))?;
                if synced.len() <= i {
                    synced.resize(i + 1, None);
                }
                synced[i] = Some(chunks::hash(&bytes));
            }
        }
        Ok(())
    }

    /// `push`: writes the whole local value (empty if unset) to the global
    /// tier, fetching any chunk not here first (else its zeros would
    /// overwrite the global bytes).
    pub fn push(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        deadline: Deadline,
    ) -> Result<(), FaasmError> {
        let Some(g) = self.global() else {
            return Ok(());
        };
        self.fetch(call, user, key, deadline)?;
        let k = skey(user, key);
        // Take the bytes and the dirty set together: a write after this
        // marks its chunks dirty again for the next push.
        let (value, taken) = {
            let mut data = lock(&self.data);
            let value = data.values.get(&k).map(|v| {
                let bytes = read_value(v, 0..v.len()).map_err(io_err(call));
                (bytes, matches!(v, Value::Shared(_)))
            });
            let taken = data
                .meta
                .get_mut(&k)
                .map(|m| std::mem::take(&mut m.dirty))
                .unwrap_or_default();
            (value, taken)
        };
        let (bytes, shared) = match value {
            Some((b, shared)) => (b?, shared),
            None => (Vec::new(), false),
        };
        if let Err(e) = g.set(user, key, &bytes, deadline) {
            self.redirty(&k, &taken);
            return Err(FaasmError::global(call, e));
        }
        if shared {
            let len = bytes.len();
            let hashes = (0..chunks::count(len))
                .map(|i| Some(chunks::hash(&bytes[chunks::bytes(i, len)])))
                .collect();
            lock(&self.data).meta.entry(k).or_default().synced = Some(hashes);
        }
        Ok(())
    }

    fn redirty(&self, k: &(String, String), chunks: &ChunkSet) {
        let mut data = lock(&self.data);
        let meta = data.meta.entry(k.clone()).or_default();
        for i in chunks.iter() {
            meta.dirty.insert(i);
        }
    }

    /// `push_partial`: writes only the chunks written since the last push
    /// (flagged dirty by a host write or a flagged range, or, for a mapped
    /// value, whose bytes differ from when they last matched the global
    /// tier). Nothing changed: no call to the global tier at all.
    pub fn push_partial(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        deadline: Deadline,
    ) -> Result<(), FaasmError> {
        let Some(g) = self.global() else {
            return Ok(());
        };
        let k = skey(user, key);
        let (writes, taken) = {
            let mut data = lock(&self.data);
            let Data { values, meta, .. } = &mut *data;
            let Some(value) = values.get(&k) else {
                return Ok(());
            };
            let Some(meta) = meta.get_mut(&k) else {
                return Ok(());
            };
            let len = value.len();
            let mut writes = Vec::new();
            let mut taken = ChunkSet::default();
            for i in 0..chunks::count(len) {
                if meta.missing.contains(i) {
                    // Never written here (writes fetch their chunks first).
                    continue;
                }
                let dirty = meta.dirty.contains(i);
                if !dirty && meta.synced.is_none() {
                    // Not mapped: host writes mark every change dirty.
                    continue;
                }
                let range = chunks::bytes(i, len);
                let bytes = read_value(value, range.clone()).map_err(io_err(call))?;
                let hash = chunks::hash(&bytes);
                let changed = meta
                    .synced
                    .as_ref()
                    .is_some_and(|s| s.get(i).copied().flatten() != Some(hash));
                if dirty || changed {
                    taken.insert(i);
                    if let Some(s) = &mut meta.synced {
                        if s.len() <= i {
                            s.resize(i + 1, None);
                        }
                        s[i] = Some(hash);
                    }
                    writes.push((range.start, bytes));
                }
            }
            meta.dirty.clear();
            (writes, taken)
        };
        if writes.is_empty() {
            return Ok(());
        }
        let refs: Vec<(usize, &[u8])> = writes.iter().map(|(o, b)| (*o, &b[..])).collect();
        if let Err(e) = g.set_ranges(user, key, &refs, deadline) {
            self.redirty(&k, &taken);
            return Err(FaasmError::global(call, e));
        }
        Ok(())
    }

    /// Marks the chunks of `range` dirty (a guest's flagged range of a
    /// mapped region).
    pub fn mark_dirty(&self, user: &str, key: &str, range: Range<usize>) {
        let mut data = lock(&self.data);
        let k = skey(user, key);
        if data.values.contains_key(&k) {
            data.dirty(&k, range);
        }
    }

    /// Appends `elem` to the key's list: in the global tier when there is
    /// one (so every process sees it), charged here either way.
    pub fn append(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        elem: &[u8],
        deadline: Deadline,
    ) -> Result<(), FaasmError> {
        self.append_local(call, user, key, elem)?;
        if let Some(g) = self.global()
            && let Err(e) = g.append(user, key, elem, deadline)
        {
            self.unappend_local(user, key);
            return Err(FaasmError::global(call, e));
        }
        Ok(())
    }

    /// The first `n` appended elements, concatenated (fewer if fewer
    /// exist): the global tier's list when there is one.
    pub fn appended(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        n: usize,
        deadline: Deadline,
    ) -> Result<Vec<u8>, FaasmError> {
        match self.global() {
            None => Ok(self.appended_local(user, key, n)),
            Some(g) => g
                .appended(user, key, n, deadline)
                .map(|elems| elems.concat())
                .map_err(|e| FaasmError::global(call, e)),
        }
    }

    /// Empties the key's list (here and in the global tier).
    pub fn clear_appended(
        &self,
        call: &'static str,
        user: &str,
        key: &str,
        deadline: Deadline,
    ) -> Result<(), FaasmError> {
        self.clear_appended_local(user, key);
        match self.global() {
            None => Ok(()),
            Some(g) => g
                .clear_appended(user, key, deadline)
                .map_err(|e| FaasmError::global(call, e)),
        }
    }
}
