//! The AOT artifact: native code for one module plus what the runtime needs
//! to load it. Position independent: calls between functions are resolved at
//! compile time inside one text section, and everything else is reached
//! through the instance context, so loading maps the text and applies no
//! relocations.
//!
//! On disk: `ARTIFACT_MAGIC`, a 32-byte tag of the rest (keyed BLAKE3 with
//! the installation's [`ArtifactKey`]; see `key.rs` for the trust model),
//! then the postcard-encoded [`Artifact`]. Nothing past the tag is decoded
//! unless the tag checks out.

use crate::key::{ArtifactKey, KEY_LEN};
use crate::{ModuleInfo, TrapKind, TypeIndex};
use serde::{Deserialize, Serialize};

pub const ARTIFACT_MAGIC: &[u8; 8] = b"\0FAASMA2";

const HEADER_LEN: usize = ARTIFACT_MAGIC.len() + KEY_LEN;

/// Which SFI scheme the code was compiled for; the runtime allocates
/// memories to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemoryStrategy {
    /// Reserve the whole 32-bit space plus `guard_bytes`; accesses whose
    /// static offset lands in the guard need no explicit check.
    Guarded { guard_bytes: u64 },
    /// Reserve only the memory's maximum (no guard); every access is
    /// checked against the current length, with the address clamped by a
    /// select so a mispredicted check cannot read out of bounds.
    Explicit,
}

impl Default for MemoryStrategy {
    fn default() -> Self {
        MemoryStrategy::Guarded {
            guard_bytes: 32 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledFunc {
    /// Offset of the function's first instruction in `text`.
    pub offset: u32,
    pub len: u32,
}

/// Code of a function inlined into another (faasmc copies small callees
/// into their direct callers): `[start, end)` of `text` runs the body of
/// `func_index`, inside the function whose code holds the range. Backtraces
/// list that function as a frame of its own, above its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinedRange {
    pub start: u32,
    pub end: u32,
    /// Wasm function index (imports first) of the inlined function.
    pub func_index: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapSite {
    /// Offset in `text` of the instruction that traps.
    pub offset: u32,
    pub kind: TrapKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// `faasmc` version and ABI revision that produced the code.
    pub compiler_version: String,
    /// Target triple plus the CPU features the code relies on.
    pub target: String,
    pub memory_strategy: MemoryStrategy,
    /// Whether loop headers and function entries poll the interrupt word
    /// (otherwise only the runtime's signal stops running code).
    pub poll_interrupts: bool,
    pub info: ModuleInfo,
    pub text: Vec<u8>,
    /// One per defined function, in index order.
    pub funcs: Vec<CompiledFunc>,
    /// `extern "C" fn(vmctx, code, values: *mut [u8; 16])`, one per module
    /// type: the host calls any wasm function of that type through it.
    pub entry_trampolines: Vec<(TypeIndex, u32)>,
    /// Wasm-callable adapters, one per type of an imported function: they
    /// spill arguments to 16-byte slots and call the host dispatcher.
    pub host_trampolines: Vec<(TypeIndex, u32)>,
    /// Sorted by offset.
    pub traps: Vec<TrapSite>,
    /// Sorted by start, non-empty and disjoint.
    pub inlined: Vec<InlinedRange>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArtifactError {
    #[error("not a faasm artifact (bad magic number)")]
    BadMagic,
    #[error(
        "artifact is corrupted or was not made by this installation (its tag does not match \
         this installation's artifact key); recompile it from the .wasm"
    )]
    Unauthenticated,
    #[error(
        "this is a faasm artifact, which runs as native code: only files named *.faasm are \
         loaded as artifacts"
    )]
    NotNamedAsArtifact,
    #[error("artifact is corrupted: {0}")]
    Decode(String),
    #[error("artifact was built by {found}, this runtime needs {expected}; recompile it")]
    Version { found: String, expected: String },
    #[error("artifact targets {found}, this machine is {expected}; recompile it")]
    Target { found: String, expected: String },
    #[error("artifact targets {target}: {reason}; recompile it")]
    CannotRun {
        target: String,
        reason: crate::target::TargetMismatch,
    },
}

impl Artifact {
    /// The artifact's bytes, tagged with `key`.
    pub fn serialize(&self, key: &ArtifactKey) -> Vec<u8> {
        let body = postcard::to_stdvec(self).expect("artifact serialisation cannot fail");
        let mut out = Vec::with_capacity(body.len() + HEADER_LEN);
        out.extend_from_slice(ARTIFACT_MAGIC);
        out.extend_from_slice(&key.tag(&body));
        out.extend_from_slice(&body);
        out
    }

    /// Checks the tag with `key`, then decodes; the caller checks version
    /// and target.
    pub fn deserialize(bytes: &[u8], key: &ArtifactKey) -> Result<Artifact, ArtifactError> {
        if !bytes.starts_with(ARTIFACT_MAGIC) {
            return Err(ArtifactError::BadMagic);
        }
        if bytes.len() < HEADER_LEN {
            return Err(ArtifactError::Decode("truncated header".into()));
        }
        let tag: &[u8; KEY_LEN] = bytes[ARTIFACT_MAGIC.len()..HEADER_LEN]
            .try_into()
            .expect("header length checked");
        let body = &bytes[HEADER_LEN..];
        if !key.verify(body, tag) {
            return Err(ArtifactError::Unauthenticated);
        }
        let artifact: Artifact =
            postcard::from_bytes(body).map_err(|e| ArtifactError::Decode(e.to_string()))?;
        artifact.check_layout()?;
        Ok(artifact)
    }

    /// Whether this runtime may run the artifact: written by the compiler
    /// of this very version ([`crate::target::compiler_version`]) for this
    /// triple, using only CPU features this machine has.
    pub fn check_runs_here(&self) -> Result<(), ArtifactError> {
        let version = crate::target::compiler_version();
        if self.compiler_version != version {
            return Err(ArtifactError::Version {
                found: self.compiler_version.clone(),
                expected: version,
            });
        }
        crate::target::check_runs_here(&self.target).map_err(|reason| ArtifactError::CannotRun {
            target: self.target.clone(),
            reason,
        })
    }

    /// Whether the artifact was written by exactly `version` for exactly
    /// `target`.
    pub fn check_compat(&self, version: &str, target: &str) -> Result<(), ArtifactError> {
        if self.compiler_version != version {
            return Err(ArtifactError::Version {
                found: self.compiler_version.clone(),
                expected: version.to_string(),
            });
        }
        if self.target != target {
            return Err(ArtifactError::Target {
                found: self.target.clone(),
                expected: target.to_string(),
            });
        }
        Ok(())
    }

    /// Structural sanity beyond the checksum: consistent metadata
    /// ([`ModuleInfo::validate`]), offsets inside the text.
    fn check_layout(&self) -> Result<(), ArtifactError> {
        let text = self.text.len() as u64;
        let bad = |what: &str| {
            Err(ArtifactError::Decode(format!(
                "{what} outside the text section"
            )))
        };
        self.info.validate().map_err(ArtifactError::Decode)?;
        if self.funcs.len() as u32 != self.info.num_defined_funcs() {
            return Err(ArtifactError::Decode("function count mismatch".into()));
        }
        if self
            .funcs
            .iter()
            .any(|f| f.offset as u64 + f.len as u64 > text)
        {
            return bad("function");
        }
        let in_text = |off: u32| (off as u64) < text;
        if !self
            .entry_trampolines
            .iter()
            .chain(&self.host_trampolines)
            .all(|(t, off)| in_text(*off) && (*t as usize) < self.info.types.len())
        {
            return bad("trampoline");
        }
        if !self.traps.iter().all(|t| in_text(t.offset)) {
            return bad("trap site");
        }
        if !self
            .inlined
            .iter()
            .all(|r| r.start < r.end && r.end as u64 <= text)
        {
            return bad("inlined range");
        }
        if !self.inlined.windows(2).all(|w| w[0].end <= w[1].start) {
            return Err(ArtifactError::Decode(
                "inlined ranges unsorted or overlapping".into(),
            ));
        }
        if self
            .inlined
            .iter()
            .any(|r| r.func_index >= self.info.funcs.len() as u32)
        {
            return Err(ArtifactError::Decode(
                "inlined range names no function".into(),
            ));
        }
        Ok(())
    }

    /// The function inlined at `offset`, if the code there is one's.
    pub fn inlined_at(&self, offset: u32) -> Option<u32> {
        let i = self.inlined.partition_point(|r| r.start <= offset);
        let r = self.inlined.get(i.checked_sub(1)?)?;
        (offset < r.end).then_some(r.func_index)
    }

    /// The trap kind recorded for the instruction at `offset`, if any.
    pub fn trap_at(&self, offset: u32) -> Option<TrapKind> {
        lookup_trap(&self.traps, offset)
    }

    /// Index of the defined function whose code contains `offset`.
    pub fn defined_func_at(&self, offset: u32) -> Option<u32> {
        let i = self.funcs.partition_point(|f| f.offset <= offset);
        let f = self.funcs.get(i.checked_sub(1)?)?;
        (offset < f.offset + f.len).then_some((i - 1) as u32)
    }
}

pub fn lookup_trap(traps: &[TrapSite], offset: u32) -> Option<TrapKind> {
    traps
        .binary_search_by_key(&offset, |t| t.offset)
        .ok()
        .map(|i| traps[i].kind)
}
