//! Chunk bookkeeping of the local tier: which chunks of a value are not
//! fetched from the global tier yet, which were written since the last
//! push, and what each chunk held when it last matched the global tier.
//!
//! Host write paths (`write_state*`, a copied region's push, flagged
//! ranges) mark chunks dirty. Guests that write a mapped region change the
//! value's pages without any host call, so for a mapped (shared) value a
//! partial push also compares each chunk's hash with its hash when last
//! pushed or pulled: a chunk sent is one flagged dirty or one whose bytes
//! changed. Hashes cost 16 bytes a chunk (64 KiB), instead of a second
//! copy of the value.

use super::global::CHUNK;
use std::ops::Range;

/// The chunks bytes `range` touches.
pub(crate) fn touched(range: Range<usize>) -> Range<usize> {
    if range.is_empty() {
        return 0..0;
    }
    range.start / CHUNK..range.end.div_ceil(CHUNK)
}

/// Chunks of a value of `len` bytes.
pub(crate) fn count(len: usize) -> usize {
    len.div_ceil(CHUNK)
}

/// The bytes of chunk `i` of a value of `len` bytes.
pub(crate) fn bytes(i: usize, len: usize) -> Range<usize> {
    (i * CHUNK).min(len)..((i + 1) * CHUNK).min(len)
}

pub(crate) type Hash = [u8; 16];

pub(crate) fn hash(bytes: &[u8]) -> Hash {
    let h = blake3::hash(bytes);
    h.as_bytes()[..16].try_into().expect("16 of 32 bytes")
}

/// A set of chunk indices.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ChunkSet(Vec<u64>);

impl ChunkSet {
    pub fn insert(&mut self, i: usize) {
        let w = i / 64;
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (i % 64);
    }

    pub fn insert_range(&mut self, r: Range<usize>) {
        for i in r {
            self.insert(i);
        }
    }

    pub fn remove(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The members, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, bits)| {
            (0..64)
                .filter(move |b| bits & (1 << b) != 0)
                .map(move |b| w * 64 + b)
        })
    }

    /// The members below `n`.
    pub fn below(&self, n: usize) -> Vec<usize> {
        self.iter().take_while(|i| *i < n).collect()
    }
}

/// What the local tier knows of one value's chunks.
#[derive(Debug, Default, Clone)]
pub(crate) struct Meta {
    /// Not fetched yet: the local bytes there are zeros, not the value's.
    pub missing: ChunkSet,
    /// Written locally since the last push.
    pub dirty: ChunkSet,
    /// For a mapped value, each chunk's hash when it last matched the
    /// global tier (`None`: unknown, so sent by the next partial push).
    pub synced: Option<Vec<Option<Hash>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_arithmetic() {
        assert_eq!(touched(0..0), 0..0);
        assert_eq!(touched(0..1), 0..1);
        assert_eq!(touched(CHUNK - 1..CHUNK + 1), 0..2);
        assert_eq!(touched(CHUNK..2 * CHUNK), 1..2);
        assert_eq!(count(0), 0);
        assert_eq!(count(CHUNK + 1), 2);
        assert_eq!(bytes(1, CHUNK + 10), CHUNK..CHUNK + 10);
        assert_eq!(bytes(3, CHUNK + 10), CHUNK + 10..CHUNK + 10);
    }

    #[test]
    fn chunk_sets() {
        let mut s = ChunkSet::default();
        assert!(s.is_empty());
        s.insert_range(62..66);
        s.insert(200);
        assert!(s.contains(63) && s.contains(65) && !s.contains(66));
        assert_eq!(s.iter().collect::<Vec<_>>(), [62, 63, 64, 65, 200]);
        assert_eq!(s.below(65), [62, 63, 64]);
        s.remove(63);
        assert!(!s.contains(63));
        s.clear();
        assert!(s.is_empty() && !s.contains(200));
    }
}
