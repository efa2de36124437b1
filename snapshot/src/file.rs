//! The snapshot file, `function.snap` beside `function.faasm`:
//!
//! ```text
//! magic "\0FAASMSN" | version u32 LE | fingerprint [32] | checksum [32] | body
//! ```
//!
//! `fingerprint` is the BLAKE3 hash of the artifact the snapshot was taken
//! from, so a snapshot never restores into another module (or another
//! build of it); `checksum` is BLAKE3 of the body, which is the postcard
//! encoding of [`FileBody`] (the snapshot's parts: only non-zero memory
//! is stored). Decoding checks all three before the parts are checked
//! against the module ([`faasm_runtime::Snapshot::from_parts`]).

use faasm_runtime::{Error, MemoryParts, Module, SnapRef, SnapValue, Snapshot, SnapshotParts};
use serde::{Deserialize, Serialize};

pub const SNAPSHOT_MAGIC: &[u8; 8] = b"\0FAASMSN";
/// Bumped whenever the body's meaning changes.
pub const SNAPSHOT_VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 32 + 32;

/// Why a stored snapshot cannot be used. Every case is safe to handle by
/// initialising the function afresh.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a snapshot (bad magic number)")]
    BadMagic,
    #[error("snapshot format version {found}, this runtime reads {SNAPSHOT_VERSION}")]
    Version { found: u32 },
    #[error("snapshot was taken of another artifact")]
    OtherArtifact,
    #[error("snapshot is corrupted (checksum mismatch)")]
    Checksum,
    #[error("snapshot is corrupted: {0}")]
    Decode(String),
    #[error("snapshot does not fit the function: {0}")]
    Mismatch(Error),
}

/// The BLAKE3 hash of an artifact's bytes, which binds snapshots to it.
pub fn fingerprint(artifact: &[u8]) -> [u8; 32] {
    *blake3::hash(artifact).as_bytes()
}

#[derive(Serialize, Deserialize)]
struct FileBody {
    memories: Vec<FileMemory>,
    tables: Vec<Vec<FileRef>>,
    globals: Vec<FileValue>,
    data_dropped: Vec<bool>,
    elems_dropped: Vec<bool>,
}

#[derive(Serialize, Deserialize)]
struct FileMemory {
    pages: u64,
    runs: Vec<(u64, Vec<u8>)>,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
enum FileRef {
    Null,
    Func(u32),
}

#[derive(Serialize, Deserialize)]
enum FileValue {
    Bits(u128),
    Ref(FileRef),
}

impl From<SnapRef> for FileRef {
    fn from(r: SnapRef) -> FileRef {
        match r {
            SnapRef::Null => FileRef::Null,
            SnapRef::Func(i) => FileRef::Func(i),
        }
    }
}

impl From<FileRef> for SnapRef {
    fn from(r: FileRef) -> SnapRef {
        match r {
            FileRef::Null => SnapRef::Null,
            FileRef::Func(i) => SnapRef::Func(i),
        }
    }
}

/// The file bytes of `snapshot`, bound to the artifact with `fingerprint`.
pub fn encode(snapshot: &Snapshot, fingerprint: &[u8; 32]) -> Result<Vec<u8>, Error> {
    let p = snapshot.to_parts()?;
    let body = FileBody {
        memories: p
            .memories
            .into_iter()
            .map(|m| FileMemory {
                pages: m.pages,
                runs: m.runs,
            })
            .collect(),
        tables: p
            .tables
            .into_iter()
            .map(|t| t.into_iter().map(FileRef::from).collect())
            .collect(),
        globals: p
            .globals
            .into_iter()
            .map(|g| match g {
                SnapValue::Bits(b) => FileValue::Bits(b),
                SnapValue::Ref(r) => FileValue::Ref(r.into()),
            })
            .collect(),
        data_dropped: p.data_dropped,
        elems_dropped: p.elems_dropped,
    };
    let body = postcard::to_stdvec(&body).expect("snapshot serialisation cannot fail");
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(fingerprint);
    out.extend_from_slice(blake3::hash(&body).as_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// A snapshot of `module` (whose artifact has `fingerprint`) from file
/// bytes, checked from the header down to every part.
pub fn decode(
    bytes: &[u8],
    module: &Module,
    fingerprint: &[u8; 32],
) -> Result<Snapshot, SnapshotError> {
    if !bytes.starts_with(SNAPSHOT_MAGIC) {
        return Err(SnapshotError::BadMagic);
    }
    if bytes.len() < HEADER {
        return Err(SnapshotError::Decode("truncated header".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version { found: version });
    }
    if &bytes[12..44] != fingerprint {
        return Err(SnapshotError::OtherArtifact);
    }
    let body = &bytes[HEADER..];
    if blake3::hash(body).as_bytes()[..] != bytes[44..76] {
        return Err(SnapshotError::Checksum);
    }
    let body: FileBody =
        postcard::from_bytes(body).map_err(|e| SnapshotError::Decode(e.to_string()))?;
    let parts = SnapshotParts {
        memories: body
            .memories
            .into_iter()
            .map(|m| MemoryParts {
                pages: m.pages,
                runs: m.runs,
            })
            .collect(),
        tables: body
            .tables
            .into_iter()
            .map(|t| t.into_iter().map(SnapRef::from).collect())
            .collect(),
        globals: body
            .globals
            .into_iter()
            .map(|g| match g {
                FileValue::Bits(b) => SnapValue::Bits(b),
                FileValue::Ref(r) => SnapValue::Ref(r.into()),
            })
            .collect(),
        data_dropped: body.data_dropped,
        elems_dropped: body.elems_dropped,
    };
    Snapshot::from_parts(module, parts).map_err(SnapshotError::Mismatch)
}
