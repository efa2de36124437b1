//! Lays compiled functions out in one text section and resolves the calls
//! between them, so the artifact needs no load-time relocations.

use cranelift_codegen::binemit::Reloc;
use faasm_abi::{InlinedRange, TrapKind, TrapSite};

/// Every function starts on a 32-byte boundary: Cranelift's preferred
/// function alignment on x86-64 and aarch64 (`TargetIsa::function_alignment`),
/// and what wasmtime lays out. At 16, floyd-warshall (scalar build) took
/// 1.14-1.16x and gemm (SIMD build) 1.10x wasmtime's time with
/// instruction-for-instruction identical bodies; at 32, 0.98-1.00x (A/B in
/// benches/README.md). Also more than the 16 bytes Cranelift's constant
/// pools need.
pub(crate) const FUNC_ALIGN: usize = 32;

/// A function of at most this many bytes is placed within one 4 KiB page
/// of the text. On the AMD EPYC machines we measure on, the interpreter
/// kernel's dispatch loop (a `br_table` in a 986-byte function) took 2-3x
/// as long whenever the function straddled a 4 KiB boundary: 9.4-15 ms
/// against 4.4-6.6 ms in eleven layouts (every straddling one slow, every
/// other fast; benches/README.md). The padding this costs is at most the
/// function's size and s^2/8 KiB bytes on average for a function of s
/// bytes: under 13% of a 1 KiB function, under 1% of a 64-byte one.
const PAGE_LOCAL_MAX: usize = 1024;

/// The page size [`PAGE_LOCAL_MAX`] is about.
const CODE_PAGE: usize = 4096;

/// Padding between functions; never executed, but a stray jump into it
/// should fault rather than slide into the next function.
#[cfg(target_arch = "x86_64")]
const PAD: u8 = 0xcc; // int3
#[cfg(not(target_arch = "x86_64"))]
const PAD: u8 = 0; // udf #0 on aarch64

/// A call from one function to a defined function, still unresolved.
#[derive(Debug, Clone)]
pub(crate) struct CallReloc {
    /// Offset of the patched field, relative to the calling function.
    pub offset: u32,
    pub kind: Reloc,
    /// Wasm function index of the callee.
    pub callee: u32,
    pub addend: i64,
}

/// Machine code of one function (or trampoline) before layout.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledCode {
    pub code: Vec<u8>,
    pub relocs: Vec<CallReloc>,
    /// Offsets relative to the start of `code`.
    pub traps: Vec<(u32, TrapKind)>,
    /// `(start, end, func_index)`: code copied from an inlined function,
    /// relative to the start of `code`, sorted and disjoint.
    pub inlined: Vec<(u32, u32, u32)>,
}

/// The result of layout: text plus where each input landed.
pub(crate) struct Layout {
    pub text: Vec<u8>,
    /// Start offset of each input, in input order.
    pub offsets: Vec<u32>,
    /// Sorted by offset.
    pub traps: Vec<TrapSite>,
    /// Sorted by start (pieces are laid out in order).
    pub inlined: Vec<InlinedRange>,
}

/// Places `pieces` one after another, then patches every call.
/// `piece_of_callee(callee)` gives the index into `pieces` of a defined wasm
/// function, or `None` if the callee is not one (imported or out of range).
/// Errors name the index of the piece that could not be linked.
pub(crate) fn link(
    pieces: &[&CompiledCode],
    piece_of_callee: impl Fn(u32) -> Option<usize>,
) -> Result<Layout, (usize, String)> {
    let too_big = |i: usize| (i, "text section exceeds 4 GiB".to_string());
    let mut text = Vec::new();
    let mut offsets = Vec::with_capacity(pieces.len());
    let mut traps = Vec::new();
    let mut inlined = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        text.resize(text.len().next_multiple_of(FUNC_ALIGN), PAD);
        // A small function never straddles a 4 KiB boundary (see
        // PAGE_LOCAL_MAX).
        let offset_in_page = text.len() % CODE_PAGE;
        if piece.code.len() <= PAGE_LOCAL_MAX && offset_in_page + piece.code.len() > CODE_PAGE {
            text.resize(text.len() + CODE_PAGE - offset_in_page, PAD);
        }
        let start = u32::try_from(text.len()).map_err(|_| too_big(i))?;
        offsets.push(start);
        text.extend_from_slice(&piece.code);
        traps.extend(piece.traps.iter().map(|&(off, kind)| TrapSite {
            offset: start + off,
            kind,
        }));
        inlined.extend(
            piece
                .inlined
                .iter()
                .map(|&(s, e, func_index)| InlinedRange {
                    start: start + s,
                    end: start + e,
                    func_index,
                }),
        );
    }
    u32::try_from(text.len()).map_err(|_| too_big(pieces.len().saturating_sub(1)))?;

    for (i, (piece, &start)) in pieces.iter().zip(&offsets).enumerate() {
        for r in &piece.relocs {
            let target = piece_of_callee(r.callee)
                .map(|p| offsets[p])
                .ok_or_else(|| {
                    (
                        i,
                        format!("call to function {} which is not defined", r.callee),
                    )
                })?;
            patch(&mut text, start + r.offset, r.kind, target, r.addend).map_err(|m| (i, m))?;
        }
    }
    traps.sort_by_key(|t| t.offset);
    Ok(Layout {
        text,
        offsets,
        traps,
        inlined,
    })
}

/// Writes the PC-relative distance from `site` to `target + addend` in the
/// encoding `kind` needs.
pub(crate) fn patch(
    text: &mut [u8],
    site: u32,
    kind: Reloc,
    target: u32,
    addend: i64,
) -> Result<(), String> {
    let delta = target as i64 + addend - site as i64;
    let at = site as usize;
    match kind {
        Reloc::X86CallPCRel4 | Reloc::X86CallPLTRel4 => {
            let v = i32::try_from(delta).map_err(|_| format!("call at {site:#x} out of range"))?;
            let field = text
                .get_mut(at..at + 4)
                .ok_or_else(|| format!("relocation at {site:#x} outside the text"))?;
            field.copy_from_slice(&v.to_le_bytes());
        }
        Reloc::Arm64Call => {
            // `bl` holds a signed 26-bit word offset: ±128 MiB.
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(format!("call at {site:#x} out of range"));
            }
            let field = text
                .get_mut(at..at + 4)
                .ok_or_else(|| format!("relocation at {site:#x} outside the text"))?;
            let insn = u32::from_le_bytes(field.try_into().unwrap());
            let imm26 = ((delta >> 2) as u32) & 0x03ff_ffff;
            field.copy_from_slice(&((insn & 0xfc00_0000) | imm26).to_le_bytes());
        }
        other => {
            return Err(format!(
                "unsupported relocation {other:?} at {site:#x} (only direct calls are linked)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_call_is_relative_to_the_field() {
        let mut text = vec![0u8; 64];
        // A `call rel32` at 16 has its field at 17; Cranelift's addend of -4
        // makes the displacement relative to the end of the instruction.
        patch(&mut text, 17, Reloc::X86CallPCRel4, 48, -4).unwrap();
        assert_eq!(
            i32::from_le_bytes(text[17..21].try_into().unwrap()),
            48 - 21
        );
        patch(&mut text, 40, Reloc::X86CallPCRel4, 0, -4).unwrap();
        assert_eq!(i32::from_le_bytes(text[40..44].try_into().unwrap()), -44);
    }

    #[test]
    fn arm64_call_keeps_opcode_and_patches_imm26() {
        let mut text = vec![0u8; 32];
        text[8..12].copy_from_slice(&0x9400_0000u32.to_le_bytes()); // bl #0
        patch(&mut text, 8, Reloc::Arm64Call, 0, 0).unwrap();
        let insn = u32::from_le_bytes(text[8..12].try_into().unwrap());
        assert_eq!(insn >> 26, 0x25, "still a bl");
        assert_eq!(insn & 0x03ff_ffff, (-2i32 as u32) & 0x03ff_ffff);
        assert!(patch(&mut text, 8, Reloc::Arm64Call, 2, 0).is_err());
    }

    #[test]
    fn other_relocations_are_refused() {
        let mut text = vec![0u8; 16];
        let err = patch(&mut text, 0, Reloc::Abs8, 0, 0).unwrap_err();
        assert!(err.contains("Abs8"), "{err}");
    }

    #[test]
    fn layout_aligns_pads_and_places_traps_and_inlined_ranges() {
        let a = CompiledCode {
            code: vec![0x90; 5],
            relocs: vec![],
            traps: vec![(3, TrapKind::Unreachable)],
            inlined: vec![(1, 4, 9)],
        };
        let b = CompiledCode {
            code: vec![0xe8, 0, 0, 0, 0, 0xc3],
            relocs: vec![CallReloc {
                offset: 1,
                kind: Reloc::X86CallPCRel4,
                callee: 7,
                addend: -4,
            }],
            traps: vec![(0, TrapKind::HostError)],
            inlined: vec![],
        };
        let l = link(&[&b, &a], |f| (f == 7).then_some(1)).unwrap();
        assert_eq!(l.offsets, vec![0, FUNC_ALIGN as u32]);
        assert_eq!(l.text.len(), FUNC_ALIGN + 5);
        assert!(l.text[6..FUNC_ALIGN].iter().all(|&b| b == PAD));
        assert_eq!(
            i32::from_le_bytes(l.text[1..5].try_into().unwrap()),
            FUNC_ALIGN as i32 - 5
        );
        let sites: Vec<_> = l.traps.iter().map(|t| (t.offset, t.kind)).collect();
        assert_eq!(
            sites,
            vec![
                (0, TrapKind::HostError),
                (FUNC_ALIGN as u32 + 3, TrapKind::Unreachable)
            ]
        );
        let base = FUNC_ALIGN as u32;
        assert_eq!(
            l.inlined,
            vec![InlinedRange {
                start: base + 1,
                end: base + 4,
                func_index: 9
            }]
        );
        assert_eq!(link(&[&a, &b], |_| None).err().unwrap().0, 1);
    }

    #[test]
    fn small_functions_do_not_straddle_a_page_and_large_ones_are_not_moved() {
        let code = |len: usize| CompiledCode {
            code: vec![0x90; len],
            relocs: vec![],
            traps: vec![],
            inlined: vec![],
        };
        // 3,200 bytes then a 1,000-byte function: it would straddle 4 KiB,
        // so it starts on the next page; a 3,500-byte one after it is past
        // the limit and straddles the next boundary.
        let (a, b, c) = (code(3200), code(PAGE_LOCAL_MAX - 24), code(3500));
        let l = link(&[&a, &b, &c], |_| None).unwrap();
        assert_eq!(l.offsets[1], CODE_PAGE as u32);
        assert!(l.text[3200..CODE_PAGE].iter().all(|&b| b == PAD));
        let c_start = (CODE_PAGE + PAGE_LOCAL_MAX).next_multiple_of(FUNC_ALIGN) as u32;
        assert_eq!(l.offsets[2], c_start);
        // One that fits before the boundary is not moved.
        let l = link(&[&code(2000), &code(1000)], |_| None).unwrap();
        assert_eq!(l.offsets[1], 2016);
    }
}
