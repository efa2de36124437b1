//! `artifact` mode: a valid artifact, corrupted, must load with an error,
//! never a panic or a crash.
//!
//! Two families of corruption:
//! - raw, with the checksum left as it is: bit flips, truncation, random
//!   bytes. Every one must be refused (by the magic or the CRC-32);
//! - hostile, with the CRC recomputed over the corrupted body: bit flips,
//!   random bytes, inserted or deleted bytes, a rewritten length prefix,
//!   and structured edits of the decoded metadata (indices, counts,
//!   limits, constant expressions). These reach postcard and the
//!   runtime's checks. An artifact that still loads is instantiated (its
//!   start function cleared: with CRC recomputed, corrupted *code* runs
//!   as written, a known hole closed by a MAC elsewhere), and its exports
//!   are read. Only panics and crashes count as findings here.

use crate::cases::{CaseInput, Runner, Verdict};
use faasm_abi::{
    ARTIFACT_MAGIC, Artifact, ConstExpr, ConstOp, ExportKind, MemoryStrategy, SegmentMode, ValType,
};
use faasm_runtime::{Extern, Linker, Module};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::RngCore;

fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        rng.next_u64() as usize % n
    }
}

/// A "interesting" number for a count, index or size field.
fn weird(rng: &mut ChaCha8Rng) -> u64 {
    const EDGES: [u64; 10] = [
        0,
        1,
        2,
        255,
        65535,
        65536,
        1 << 31,
        u32::MAX as u64,
        1 << 40,
        u64::MAX,
    ];
    if rng.next_u32().is_multiple_of(4) {
        rng.next_u64()
    } else {
        EDGES[below(rng, EDGES.len())]
    }
}

fn weird32(rng: &mut ChaCha8Rng) -> u32 {
    weird(rng) as u32
}

/// Re-seals a (corrupted) artifact body: magic plus the integrity check
/// the loader verifies, recomputed, so that the corruption reaches the
/// decoder and the metadata checks. The one place that knows how an
/// artifact is sealed (a CRC-32 here; with a keyed tag, the key goes here).
/// The key the fuzzer's engines load artifacts with (the runtime's
/// per-process default): a hostile artifact is tagged with it, as an
/// attacker holding the installation's key could.
fn key() -> faasm_abi::ArtifactKey {
    faasm_runtime::Config::default().artifact_key
}

/// Magic and tag before an artifact's body.
const HEADER: usize = ARTIFACT_MAGIC.len() + faasm_abi::key::KEY_LEN;

fn reseal(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + HEADER);
    out.extend_from_slice(ARTIFACT_MAGIC);
    out.extend_from_slice(&key().tag(body));
    out.extend_from_slice(body);
    out
}

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// Rewrites the length prefix of the text section (postcard: a varint
/// before the bytes) to a wrong value, keeping the rest in place.
fn wrong_text_length(rng: &mut ChaCha8Rng, art: &Artifact, body: &mut Vec<u8>) -> bool {
    if art.text.is_empty() {
        return false;
    }
    let len = art.text.len();
    let prefix = varint(len as u64);
    let Some(at) = body.windows(len).position(|w| w == art.text.as_slice()) else {
        return false;
    };
    let Some(start) = at.checked_sub(prefix.len()) else {
        return false;
    };
    if body[start..at] != prefix[..] {
        return false;
    }
    let new_len = match rng.next_u32() % 4 {
        0 => len as u64 + 1 + below(rng, 16) as u64,
        1 => len.saturating_sub(1 + below(rng, 16)) as u64,
        _ => weird(rng),
    };
    body.splice(start..at, varint(new_len));
    true
}

fn const_op(rng: &mut ChaCha8Rng) -> ConstOp {
    match rng.next_u32() % 8 {
        0 => ConstOp::GlobalGet(weird32(rng)),
        1 => ConstOp::RefFunc(weird32(rng)),
        2 => ConstOp::RefNull(ValType::I32),
        3 => ConstOp::I64Const(weird(rng) as i64),
        4 => ConstOp::F64Const(weird(rng)),
        5 => ConstOp::I32Add,
        6 => ConstOp::V128Const(weird(rng) as u128),
        _ => ConstOp::I32Const(weird(rng) as i32),
    }
}

fn const_expr(rng: &mut ChaCha8Rng) -> ConstExpr {
    let n = below(rng, 3);
    ConstExpr((0..n).map(|_| const_op(rng)).collect())
}

fn val_type(rng: &mut ChaCha8Rng) -> ValType {
    const ALL: [ValType; 7] = [
        ValType::I32,
        ValType::I64,
        ValType::F32,
        ValType::F64,
        ValType::V128,
        ValType::FuncRef,
        ValType::ExternRef,
    ];
    ALL[below(rng, ALL.len())]
}

/// One structured edit of the decoded artifact.
fn edit(rng: &mut ChaCha8Rng, a: &mut Artifact) -> String {
    let info = &mut a.info;
    match rng.next_u32() % 24 {
        0 => {
            info.num_imported_funcs = weird32(rng);
            "num_imported_funcs".into()
        }
        1 => {
            info.num_imported_memories = weird32(rng);
            "num_imported_memories".into()
        }
        2 => {
            info.num_imported_tables = weird32(rng);
            "num_imported_tables".into()
        }
        3 => {
            info.num_imported_globals = weird32(rng);
            "num_imported_globals".into()
        }
        4 => {
            let i = below(rng, info.funcs.len());
            if let Some(f) = info.funcs.get_mut(i) {
                *f = weird32(rng);
            }
            "funcs[i] type index".into()
        }
        5 => {
            if rng.next_u32().is_multiple_of(2) {
                info.funcs.push(below(rng, info.types.len() + 1) as u32);
            } else {
                info.funcs.pop();
            }
            "funcs length".into()
        }
        6 => {
            info.types.truncate(below(rng, info.types.len()));
            "types truncated".into()
        }
        7 => {
            let i = below(rng, info.exports.len());
            if let Some(e) = info.exports.get_mut(i) {
                e.index = weird32(rng);
            }
            "export index".into()
        }
        8 => {
            let i = below(rng, info.exports.len());
            if let Some(e) = info.exports.get_mut(i) {
                e.kind = [
                    ExportKind::Func,
                    ExportKind::Table,
                    ExportKind::Memory,
                    ExportKind::Global,
                ][below(rng, 4)];
            }
            "export kind".into()
        }
        9 => {
            let i = below(rng, info.memories.len());
            if let Some(m) = info.memories.get_mut(i) {
                match rng.next_u32() % 4 {
                    0 => m.min = weird(rng),
                    1 => m.max = Some(weird(rng)),
                    2 => m.shared = !m.shared,
                    _ => m.memory64 = !m.memory64,
                }
            }
            "memory type".into()
        }
        10 => {
            let i = below(rng, info.tables.len());
            if let Some(t) = info.tables.get_mut(i) {
                match rng.next_u32() % 3 {
                    0 => t.min = weird(rng),
                    1 => t.max = Some(weird(rng)),
                    _ => t.elem = val_type(rng),
                }
            }
            "table type".into()
        }
        11 => {
            let i = below(rng, info.globals.len());
            if let Some(g) = info.globals.get_mut(i) {
                match rng.next_u32() % 3 {
                    0 => g.0.ty = val_type(rng),
                    1 => g.1 = Some(const_expr(rng)),
                    _ => g.1 = None,
                }
            }
            "global".into()
        }
        12 => {
            let i = below(rng, info.data.len());
            if let Some(d) = info.data.get_mut(i) {
                d.mode = SegmentMode::Active {
                    index: if rng.next_u32().is_multiple_of(2) {
                        weird32(rng)
                    } else {
                        0
                    },
                    offset: const_expr(rng),
                };
            }
            "data segment mode".into()
        }
        13 => {
            let i = below(rng, info.elems.len());
            if let Some(e) = info.elems.get_mut(i) {
                match rng.next_u32() % 3 {
                    0 => e.ty = val_type(rng),
                    1 => e.items.push(const_expr(rng)),
                    _ => {
                        e.mode = SegmentMode::Active {
                            index: if rng.next_u32().is_multiple_of(2) {
                                weird32(rng)
                            } else {
                                0
                            },
                            offset: const_expr(rng),
                        }
                    }
                }
            }
            "elem segment".into()
        }
        14 => {
            info.func_names.push((weird32(rng), "x".into()));
            "func_names".into()
        }
        15 => {
            info.imports.push(faasm_abi::Import {
                module: "m".into(),
                name: "n".into(),
                ty: faasm_abi::EntityType::Func(weird32(rng)),
            });
            "extra import".into()
        }
        16 => {
            a.entry_trampolines.pop();
            "entry trampoline removed".into()
        }
        17 => {
            let i = below(rng, a.entry_trampolines.len());
            if let Some(t) = a.entry_trampolines.get_mut(i) {
                t.0 = weird32(rng);
            }
            "entry trampoline type".into()
        }
        18 => {
            let i = below(rng, a.funcs.len());
            if let Some(f) = a.funcs.get_mut(i) {
                f.offset = weird32(rng);
                f.len = weird32(rng);
            }
            "function offset".into()
        }
        19 => {
            a.traps.reverse();
            "trap table order".into()
        }
        20 => {
            a.memory_strategy = MemoryStrategy::Explicit;
            "memory strategy".into()
        }
        21 => {
            let i = below(rng, info.types.len());
            if let Some(t) = info.types.get_mut(i) {
                t.params.push(val_type(rng));
            }
            "function type".into()
        }
        22 => {
            info.data.push(faasm_abi::DataSegment {
                mode: SegmentMode::Passive,
                bytes: vec![0; below(rng, 4)],
            });
            "extra data segment".into()
        }
        _ => {
            info.start = Some(weird32(rng));
            "start".into()
        }
    }
}

/// What was done to the artifact.
enum Corruption {
    /// The checksum was left alone: loading must fail.
    Raw(&'static str),
    /// The checksum matches the corrupted body.
    Hostile(String),
}

fn corrupt(rng: &mut ChaCha8Rng, good: &[u8], art: &Artifact) -> (Vec<u8>, Corruption) {
    let mut bytes = good.to_vec();
    let mut body = good[HEADER..].to_vec();
    match rng.next_u32() % 9 {
        0 => {
            for _ in 0..1 + below(rng, 8) {
                let i = below(rng, bytes.len());
                bytes[i] ^= 1 << (rng.next_u32() % 8);
            }
            (bytes, Corruption::Raw("bit flips"))
        }
        1 => {
            bytes.truncate(below(rng, bytes.len()));
            (bytes, Corruption::Raw("truncation"))
        }
        2 => {
            let at = below(rng, bytes.len());
            let n = (1 + below(rng, 32)).min(bytes.len() - at);
            for b in &mut bytes[at..at + n] {
                *b = rng.next_u32() as u8;
            }
            (bytes, Corruption::Raw("random bytes"))
        }
        3 => {
            for _ in 0..1 + below(rng, 8) {
                let i = below(rng, body.len());
                body[i] ^= 1 << (rng.next_u32() % 8);
            }
            (reseal(&body), Corruption::Hostile("bit flips".into()))
        }
        4 => {
            let at = below(rng, body.len());
            let n = (1 + below(rng, 16)).min(body.len() - at);
            for b in &mut body[at..at + n] {
                *b = rng.next_u32() as u8;
            }
            (reseal(&body), Corruption::Hostile("random bytes".into()))
        }
        5 => {
            let at = below(rng, body.len());
            if rng.next_u32().is_multiple_of(2) {
                let n = 1 + below(rng, 8);
                let ins: Vec<u8> = (0..n).map(|_| rng.next_u32() as u8).collect();
                body.splice(at..at, ins);
                (reseal(&body), Corruption::Hostile("inserted bytes".into()))
            } else {
                let n = (1 + below(rng, 8)).min(body.len() - at);
                body.drain(at..at + n);
                (reseal(&body), Corruption::Hostile("deleted bytes".into()))
            }
        }
        6 => {
            // A varint of a weird value written over any position: a
            // length prefix that lies, wherever one is.
            let at = below(rng, body.len());
            let v = varint(weird(rng));
            let end = (at + v.len()).min(body.len());
            body.splice(at..end, v);
            (
                reseal(&body),
                Corruption::Hostile("varint overwrite".into()),
            )
        }
        7 => {
            if wrong_text_length(rng, art, &mut body) {
                (
                    reseal(&body),
                    Corruption::Hostile("text length prefix".into()),
                )
            } else {
                (reseal(&body), Corruption::Hostile("none (no text)".into()))
            }
        }
        _ => {
            let mut a = art.clone();
            let what: Vec<String> = (0..1 + below(rng, 3)).map(|_| edit(rng, &mut a)).collect();
            (
                reseal(&a.serialize(&key())[HEADER..]),
                Corruption::Hostile(format!("metadata: {}", what.join(", "))),
            )
        }
    }
}

/// The corrupted artifact of a case, without loading it (to save the
/// input of a case that panicked or crashed).
pub fn corrupted(wasm: &[u8], rng: &mut ChaCha8Rng) -> Option<Vec<u8>> {
    let engine = crate::faasm_side::engine(MemoryStrategy::default());
    let good = Module::new(&engine, wasm).ok()?.serialize();
    let art = Artifact::deserialize(&good, &key()).ok()?;
    Some(corrupt(rng, &good, &art).0)
}

/// Loads (and, if it loads, instantiates) a given artifact file: any
/// outcome but a panic passes.
pub fn check_file(runner: &Runner, bytes: &[u8]) -> Verdict {
    let engine = crate::faasm_side::engine(MemoryStrategy::default());
    check(
        runner,
        &engine,
        &[],
        bytes,
        &Corruption::Hostile("given file".into()),
    )
}

/// One `artifact` case: `wasm` is the generated module the artifact is
/// compiled from.
pub fn run(runner: &Runner, wasm: &[u8], rng: &mut ChaCha8Rng) -> (Verdict, CaseInput) {
    let engine = crate::faasm_side::engine(MemoryStrategy::default());
    let empty = || CaseInput {
        bytes: vec![],
        ext: "faasm",
    };
    let good = match Module::new(&engine, wasm) {
        Ok(m) => m.serialize(),
        Err(_) => {
            return (
                Verdict::Skip("base module does not compile".into()),
                empty(),
            );
        }
    };
    let art = Artifact::deserialize(&good, &key()).expect("a fresh artifact decodes");
    let (bytes, how) = corrupt(rng, &good, &art);
    let verdict = check(runner, &engine, &good, &bytes, &how);
    (
        verdict,
        CaseInput {
            bytes,
            ext: "faasm",
        },
    )
}

fn check(
    runner: &Runner,
    engine: &faasm_runtime::Engine,
    good: &[u8],
    bytes: &[u8],
    how: &Corruption,
) -> Verdict {
    let what = match how {
        Corruption::Raw(w) => format!("raw {w}"),
        Corruption::Hostile(w) => format!("crc-recomputed {w}"),
    };
    let loaded = Module::from_artifact(engine, bytes);
    if runner.opts.verbose {
        eprintln!(
            "  {what}: load {}",
            match &loaded {
                Ok(_) => "ok".to_string(),
                Err(e) => format!("error: {e}"),
            }
        );
    }
    let module = match (loaded, how) {
        (Err(_), _) => return Verdict::Pass,
        (Ok(_), Corruption::Raw(w)) if bytes != good => {
            return Verdict::Fail(format!("raw {w} not detected: the artifact loads"));
        }
        (Ok(_), Corruption::Raw(_)) => return Verdict::Pass,
        (Ok(m), Corruption::Hostile(_)) => m,
    };
    if bytes == good {
        return Verdict::Pass;
    }
    // Instantiation reads the (possibly corrupted) metadata without running
    // compiled code, unless there is a start function.
    if runner.opts.load_only {
        return Verdict::Skip("corrupted artifact loads (not instantiated: --load-only)".into());
    }
    if module.info().start.is_some() {
        return Verdict::Skip("corrupted artifact loads (start function, not run)".into());
    }
    let linker = Linker::new(engine);
    match linker.instantiate(&module) {
        Err(e) => {
            if runner.opts.verbose {
                eprintln!("  instantiate: {e}");
            }
            Verdict::Pass
        }
        Ok(inst) => {
            for (_, e) in inst.exports() {
                match e {
                    Extern::Global(g) => {
                        let _ = g.get();
                    }
                    Extern::Memory(m) => {
                        let _ = m.size();
                    }
                    Extern::Table(t) => {
                        let _ = t.size();
                    }
                    Extern::Func(f) => {
                        let _ = f.ty();
                    }
                }
            }
            Verdict::Skip("corrupted artifact loads and instantiates".into())
        }
    }
}
