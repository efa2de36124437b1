//! `--mode addr`: modules made of the address shapes the compiler folds
//! (`compiler/src/translate/addr_facts.rs`), run against the oracle like
//! `--mode diff`.
//!
//! wasm-smith rarely puts two accesses at `x + c1` and `x + c2` with `x`
//! near zero or near the end of memory, which is where a wrong fold would
//! show: a sum that wraps must trap (or read the wrapped address), and a
//! sum computed in 64 bits must land on the same byte. Here every function
//! is a random sequence of loads and stores at `x + c`, with `c` and the
//! static offset drawn from the distances the fold rules turn on (small,
//! ±64 KiB and one past, near ±2^31), inside `if` arms, blocks left by a
//! branch and loops (the rules' dominance cases), and `x` is the argument
//! plus a constant drawn the same way, so the oracle's arguments (edge
//! values and small numbers) put it on both sides of zero and of the end.

use crate::smith::{Generated, case_rng};
use faasm_abi::MemoryStrategy;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::RngCore;

/// The module of case `case`, and the stream that continues after it.
pub fn generate(seed: u64, case: u64) -> Result<Generated, String> {
    let mut rng = case_rng(seed, case);
    let text = module_text(&mut rng);
    let wasm = crate::wat_to_wasm(&text).map_err(|e| format!("addr module: {e}"))?;
    Ok(Generated { wasm, rng })
}

/// Guard pages three times in four: only they fold addresses (explicit
/// bounds checks run the same modules as a control).
pub fn memory_strategy(rng: &mut ChaCha8Rng) -> MemoryStrategy {
    if rng.next_u32().is_multiple_of(4) {
        MemoryStrategy::Explicit
    } else {
        MemoryStrategy::default()
    }
}

/// Constants added to `x`: around zero, around the fold limits (64 KiB
/// above and below), around the end of a 1- or 2-page memory, and far.
const NEAR: [i64; 24] = [
    0,
    1,
    4,
    8,
    12,
    1020,
    2048,
    65532,
    65536,
    65537,
    131072,
    -1,
    -4,
    -8,
    -1020,
    -2048,
    -65532,
    -65536,
    -65537,
    -131072,
    0x7fff_fff0,
    -0x8000_0000,
    0x4000_0000,
    -0x4000_0000,
];

/// Static offsets: 0 most often (the only one the rule below an address
/// applies to), small ones, and the guard's neighbourhood.
const OFFSETS: [u64; 8] = [0, 0, 0, 4, 8, 65536, 65532, 1 << 20];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, from: &[T]) -> T {
    from[rng.next_u32() as usize % from.len()]
}

/// One access: `(ty.load offset=O (i32.add (local.get $x) (i32.const C)))`
/// added to `$acc`, or a store of `$acc` there.
fn access(rng: &mut ChaCha8Rng, out: &mut String) {
    let c = pick(rng, &NEAR) as i32;
    let offset = pick(rng, &OFFSETS);
    // `x` itself (no constant) a quarter of the time.
    let addr = if rng.next_u32().is_multiple_of(4) {
        "(local.get $x)".to_string()
    } else {
        format!("(i32.add (local.get $x) (i32.const {c}))")
    };
    let (load, store, to_i64, from_i64) = match rng.next_u32() % 5 {
        0 => (
            "i32.load8_u",
            "i32.store8",
            "i64.extend_i32_u",
            "i32.wrap_i64",
        ),
        1 => (
            "i32.load16_s",
            "i32.store16",
            "i64.extend_i32_s",
            "i32.wrap_i64",
        ),
        2 => ("i32.load", "i32.store", "i64.extend_i32_u", "i32.wrap_i64"),
        _ => ("i64.load", "i64.store", "", ""),
    };
    let wrap = |f: &str, e: String| {
        if f.is_empty() {
            e
        } else {
            format!("({f} {e})")
        }
    };
    if rng.next_u32().is_multiple_of(3) {
        let value = wrap(from_i64, "(local.get $acc)".into());
        out.push_str(&format!("({store} offset={offset} {addr} {value})\n"));
    } else {
        let loaded = wrap(to_i64, format!("({load} offset={offset} {addr})"));
        out.push_str(&format!(
            "(local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31)) {loaded}))\n"
        ));
    }
}

/// A sequence of accesses and nested scopes, `depth` levels deep at most.
fn body(rng: &mut ChaCha8Rng, depth: u32, out: &mut String) {
    let n = 1 + rng.next_u32() % 5;
    for _ in 0..n {
        match (depth, rng.next_u32() % 8) {
            (0, _) | (_, 0..=3) => access(rng, out),
            (_, 4) => {
                out.push_str("(if (i32.and (local.get $c) (i32.const 1)) (then\n");
                body(rng, depth - 1, out);
                out.push_str(") (else\n");
                body(rng, depth - 1, out);
                out.push_str("))\n");
            }
            (_, 5) => {
                // A block that a branch may leave before its accesses.
                out.push_str("(block\n");
                body(rng, depth - 1, out);
                out.push_str("(br_if 0 (i32.and (local.get $c) (i32.const 2)))\n");
                body(rng, depth - 1, out);
                out.push_str(")\n");
            }
            (_, 6) => {
                // A loop run 1 to 3 times.
                out.push_str("(local.set $n (i32.const 3))\n(loop $l\n");
                body(rng, depth - 1, out);
                out.push_str(
                    "(br_if $l (i32.and (local.get $c) (local.tee $n \
                     (i32.sub (local.get $n) (i32.const 1))))))\n",
                );
            }
            _ => {
                // Move `x` on: facts about the old value must not apply.
                let c = pick(rng, &NEAR) as i32;
                out.push_str(&format!(
                    "(local.set $x (i32.add (local.get $x) (i32.const {c})))\n"
                ));
            }
        }
    }
}

/// A module of a few such functions over a 1- or 2-page memory whose
/// bytes are all different, as WebAssembly text.
pub fn module_text(rng: &mut ChaCha8Rng) -> String {
    let pages = 1 + rng.next_u32() % 2;
    let mut out = format!("(module (memory (export \"mem\") {pages} {pages})\n");
    // Fill the memory with a pattern, so every load tells where it read.
    out.push_str(
        "(func $fill (local $i i32)
          (loop $l
            (i64.store (local.get $i)
              (i64.mul (i64.extend_i32_u (local.get $i)) (i64.const 0x9e3779b97f4a7c15)))
            (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 8)))
                               (i32.mul (memory.size) (i32.const 65536))))))
        (start $fill)\n",
    );
    for f in 0..1 + rng.next_u32() % 3 {
        let x0 = pick(rng, &NEAR) as i32;
        out.push_str(&format!(
            "(func (export \"f{f}\") (param $p i32) (param $c i32) (result i64)
              (local $x i32) (local $acc i64) (local $n i32)
              (local.set $x (i32.add (local.get $p) (i32.const {x0})))\n"
        ));
        body(rng, 3, &mut out);
        out.push_str("(local.get $acc))\n");
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn generated_modules_are_valid() {
        for case in 0..200 {
            let mut rng = ChaCha8Rng::seed_from_u64(case);
            let text = module_text(&mut rng);
            let wasm = crate::wat_to_wasm(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            wasmparser::validate(&wasm).unwrap_or_else(|e| panic!("{e}\n{text}"));
        }
    }
}
