//! Test-case generation: a (seed, case) pair names a ChaCha stream, whose
//! bytes drive `wasm-smith` (through `arbitrary`) and then the arguments.
//! Every case can be regenerated on its own, without the cases before it.

use crate::value::Value;
use arbitrary::Unstructured;
use faasm_abi::{MemoryStrategy, ValType};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// The random stream of one case.
pub fn case_rng(seed: u64, case: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(case);
    rng
}

/// How modules are shaped.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Generate SIMD (part of WebAssembly 2.0, so on by default).
    pub simd: bool,
    /// Fuel of the counter `wasm-smith` threads through every loop and
    /// function entry: a module traps (`unreachable`) once it is spent,
    /// so every call terminates. Shared by all calls of one case.
    pub fuel: u32,
    /// Upper bound on the `arbitrary` input per module (bigger input,
    /// bigger module, up to the limits set below).
    pub max_input: usize,
    /// `compile` mode: also enable proposals we do not claim, so that
    /// modules using them are rejected with an error, not a panic.
    pub unsupported_features: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            simd: true,
            fuel: 20_000,
            max_input: 8 << 10,
            unsupported_features: false,
        }
    }
}

/// A generated module and the stream that continues after it.
pub struct Generated {
    pub wasm: Vec<u8>,
    /// Draws arguments and other per-case choices.
    pub rng: ChaCha8Rng,
}

/// The `wasm-smith` configuration: exactly the proposals both faasm and
/// wasmi implement, without imports, every entity exported, NaNs
/// canonicalised after float operations, memories and tables bounded. A
/// few limits vary per case (swarm testing) so that small and large
/// modules, with and without each proposal, all come up.
pub fn smith_config(
    u: &mut Unstructured<'_>,
    opts: &GenOptions,
) -> arbitrary::Result<wasm_smith::Config> {
    let mut c = wasm_smith::Config {
        // No imports: neither engine gets host functions.
        max_imports: 0,
        min_imports: 0,
        available_imports: None,
        // Proposals neither side claims.
        exceptions_enabled: false,
        gc_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        memory64_enabled: false,
        relaxed_simd_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        acquire_release_atomics_enabled: false,
        multibyte_array_access_enabled: false,
        // Claimed by both.
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        multi_value_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: u.ratio(7, 8)?,
        simd_enabled: opts.simd && u.ratio(1, 2)?,
        tail_call_enabled: u.ratio(1, 2)?,
        extended_const_enabled: u.ratio(1, 2)?,
        // Make every call's effect observable, and results comparable.
        export_everything: true,
        canonicalize_nans: true,
        allow_start_export: true,
        // Bounds so that a case is quick.
        max_funcs: u.int_in_range(2..=24)?,
        max_instructions: u.int_in_range(32..=1000)?,
        max_types: 16,
        max_globals: u.int_in_range(0..=8)?,
        max_exports: 64,
        max_data_segments: 8,
        max_element_segments: 8,
        max_elements: 16,
        max_values: 8,
        max_nesting_depth: u.int_in_range(2..=10)?,
        max_memories: u.int_in_range(1..=3)?,
        max_tables: u.int_in_range(1..=3)?,
        max_memory32_bytes: 8 * 65536,
        memory_max_size_required: true,
        max_table_elements: 256,
        table_max_size_required: true,
        ..wasm_smith::Config::default()
    };
    c.min_funcs = c.max_funcs.min(3);
    if !c.reference_types_enabled {
        c.max_tables = 1;
    }
    if opts.unsupported_features {
        c.threads_enabled = u.ratio(1, 4)?;
        c.memory64_enabled = u.ratio(1, 4)?;
        c.exceptions_enabled = u.ratio(1, 8)?;
        c.gc_enabled = c.reference_types_enabled && u.ratio(1, 8)?;
        c.relaxed_simd_enabled = c.simd_enabled && u.ratio(1, 4)?;
        c.wide_arithmetic_enabled = u.ratio(1, 8)?;
        c.custom_page_sizes_enabled = u.ratio(1, 8)?;
        c.allow_invalid_funcs = u.ratio(1, 8)?;
        c.canonicalize_nans = u.ratio(1, 2)?;
        c.memory_max_size_required = u.ratio(1, 2)?;
    }
    Ok(c)
}

/// Generates case `case` of campaign `seed`.
pub fn generate(seed: u64, case: u64, opts: &GenOptions) -> Result<Generated, String> {
    let mut rng = case_rng(seed, case);
    let len = 64 + rng.next_u32() as usize % opts.max_input.max(1);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    let mut u = Unstructured::new(&bytes);
    let config = smith_config(&mut u, opts).map_err(|e| format!("config: {e}"))?;
    let mut module =
        wasm_smith::Module::new(config, &mut u).map_err(|e| format!("wasm-smith: {e}"))?;
    module
        .ensure_termination(opts.fuel)
        .map_err(|e| format!("ensure_termination: {e}"))?;
    Ok(Generated {
        wasm: module.to_bytes(),
        rng,
    })
}

/// The SFI scheme a case is compiled for: half the time guard pages (the
/// default), else explicit bounds checks.
pub fn memory_strategy(rng: &mut ChaCha8Rng) -> MemoryStrategy {
    match rng.next_u32() % 4 {
        0 | 1 => MemoryStrategy::Explicit,
        _ => MemoryStrategy::default(),
    }
}

const I32_EDGES: [i32; 10] = [0, 1, -1, 2, 7, 8, i32::MIN, i32::MAX, 65535, 65536];
const I64_EDGES: [i64; 8] = [0, 1, -1, 2, i64::MIN, i64::MAX, 65536, 1 << 32];
const F32_EDGES: [u32; 8] = [
    0,
    0x8000_0000, // -0
    0x3f80_0000, // 1
    0x7f80_0000, // inf
    0xff80_0000, // -inf
    0x7fc0_0000, // NaN
    0x4f00_0000, // 2^31
    0x0000_0001, // denormal
];
const F64_EDGES: [u64; 7] = [
    0,
    0x8000_0000_0000_0000,
    0x3ff0_0000_0000_0000,
    0x7ff0_0000_0000_0000,
    0xfff0_0000_0000_0000,
    0x7ff8_0000_0000_0000,
    0x43e0_0000_0000_0000, // 2^63
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, edges: &[T]) -> Option<T> {
    // Half the time an edge value, otherwise random bits.
    (rng.next_u32().is_multiple_of(2)).then(|| edges[rng.next_u32() as usize % edges.len()])
}

/// An argument of type `ty`. References are null or (for `externref`) a
/// small host integer; function references are always null since no
/// function handle is portable between the engines.
pub fn arg(rng: &mut ChaCha8Rng, ty: ValType) -> Value {
    match ty {
        ValType::I32 => Value::I32(pick(rng, &I32_EDGES).unwrap_or_else(|| {
            // Small values are likelier to be valid addresses or indices.
            if rng.next_u32().is_multiple_of(2) {
                (rng.next_u32() % 1024) as i32
            } else {
                rng.next_u32() as i32
            }
        })),
        ValType::I64 => Value::I64(pick(rng, &I64_EDGES).unwrap_or_else(|| rng.next_u64() as i64)),
        ValType::F32 => Value::F32(pick(rng, &F32_EDGES).unwrap_or_else(|| rng.next_u32())),
        ValType::F64 => Value::F64(pick(rng, &F64_EDGES).unwrap_or_else(|| rng.next_u64())),
        ValType::V128 => Value::V128(if rng.next_u32().is_multiple_of(4) {
            0
        } else {
            (rng.next_u64() as u128) << 64 | rng.next_u64() as u128
        }),
        ValType::FuncRef => Value::FuncRef(None),
        ValType::ExternRef => Value::ExternRef(match rng.next_u32() % 3 {
            0 => None,
            n => Some(n),
        }),
    }
}
