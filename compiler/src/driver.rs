//! Whole-module compilation: parse, validate, translate in parallel, lay
//! out one text section and emit the artifact.

use crate::link::{self, CallReloc, CompiledCode};
use crate::module_env::{self, FunctionBodyData};
use crate::translate::{self, FUNC_NAMESPACE, FuncEnv};
use crate::{CompileConfig, CompileError, inline, isa, signature, trampolines, traps};
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName, UserFuncName};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{CodegenError, Context, FinalizedRelocTarget};
use cranelift_frontend::FunctionBuilderContext;
use faasm_abi::{Artifact, CompiledFunc, EntityType, FuncType, TypeIndex, VMOffsets};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use wasmparser::FuncValidatorAllocations;

/// Where compile time went (`faasmc compile --timings`).
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Parsing and validating everything outside function bodies.
    pub validation: Duration,
    /// Translating (and validating) function bodies, summed over threads.
    pub translation: Duration,
    /// Cranelift code generation, summed over threads.
    pub codegen: Duration,
    /// Wall clock for the whole compile.
    pub total: Duration,
}

/// The two code generators: the usual one, and one whose register
/// allocator runs in linear time, for functions so large that the usual
/// allocator's superlinear cost would let one function hold a compile for
/// minutes (20,000 locals live across a loop took 37 s, against 0.4 s).
/// Their code is slower, which only functions past the thresholds pay.
struct Isas {
    opt_level: &'static str,
    /// Run the IR verifier (`CompileConfig::verify_ir`), in both.
    verify: bool,
    normal: cranelift_codegen::isa::OwnedTargetIsa,
    /// Made when first needed: most modules have no such function.
    large: std::sync::OnceLock<Option<cranelift_codegen::isa::OwnedTargetIsa>>,
}

/// A function body longer than this is compiled by `Isas::large`.
const LARGE_BODY_BYTES: u64 = 256 << 10;
/// ...and so is one whose locals × body bytes pass this (the live values
/// the allocator juggles grow with the first, its passes with the second).
const LARGE_LOCALS_BY_BYTES: u64 = 1 << 28;

impl Isas {
    fn new(config: &CompileConfig) -> Result<Isas, CompileError> {
        Ok(Isas {
            opt_level: config.opt_level,
            verify: config.verify_ir,
            normal: isa::host_isa(
                config.opt_level,
                isa::RegAlloc::Backtracking,
                config.verify_ir,
            )?,
            large: std::sync::OnceLock::new(),
        })
    }

    /// The linear-time allocator's ISA, made on first use.
    fn large(&self) -> Option<&dyn TargetIsa> {
        self.large
            .get_or_init(|| {
                isa::host_isa(self.opt_level, isa::RegAlloc::SinglePass, self.verify).ok()
            })
            .as_deref()
    }

    /// The generator for a function: the linear-time one if `large`
    /// ([`is_large`]) and it could be made.
    fn for_size(&self, large: bool) -> &dyn TargetIsa {
        // It differs from `normal` in one setting: if that failed, the
        // usual allocator is still correct, only slow.
        match large.then(|| self.large()).flatten() {
            Some(isa) => isa,
            None => &*self.normal,
        }
    }
}

/// Whether `body` is past the thresholds that send it to the linear-time
/// allocator.
fn is_large(body: &FunctionBodyData<'_>) -> bool {
    let range = body.body.range();
    let bytes = range.end - range.start;
    let locals: u64 = body
        .body
        .get_locals_reader()
        .map(|r| {
            r.into_iter()
                .filter_map(Result::ok)
                .map(|(n, _)| u64::from(n))
                .sum()
        })
        .unwrap_or(0);
    bytes > LARGE_BODY_BYTES || locals.saturating_mul(bytes) > LARGE_LOCALS_BY_BYTES
}

pub fn compile(wasm: &[u8], config: &CompileConfig) -> Result<Artifact, CompileError> {
    compile_with_timings(wasm, config).map(|(a, _)| a)
}

pub fn compile_with_timings(
    wasm: &[u8],
    config: &CompileConfig,
) -> Result<(Artifact, Timings), CompileError> {
    let start = Instant::now();
    let isas = Isas::new(config)?;
    let isa = &*isas.normal;

    let t = Instant::now();
    let module_env::ModuleEnv { info, bodies } = module_env::parse(wasm, config.features)?;
    let mut timings = Timings {
        validation: t.elapsed(),
        ..Timings::default()
    };

    let env = FuncEnv {
        info: &info,
        offsets: VMOffsets::new(&info),
        config,
    };
    // Translate every function first, so each one can be compiled with
    // the bodies of the small functions it calls (inline.rs).
    let translated = run_all(config, bodies, |w, i, body| {
        within_limit(config, start)?;
        w.translate_func(&env, i, body)
    })?;
    let callees = config
        .inline
        .then(|| inline::Callees::new(info.num_imported_funcs, translated.iter().map(|t| &t.func)));
    let outputs = run_all(config, translated, |w, i, t| {
        within_limit(config, start)?;
        let isa = isas.for_size(t.large);
        let callees = callees.as_ref().filter(|_| !t.large);
        w.compile_func(isa, info.num_imported_funcs + i as u32, t, callees)
    })?;
    let mut funcs = Vec::with_capacity(outputs.len());
    for out in outputs {
        timings.translation += out.translation;
        timings.codegen += out.codegen;
        funcs.push(out.code);
    }

    let t = Instant::now();
    let mut w = Worker::default();
    let entry_types: Vec<TypeIndex> = (0..info.types.len() as u32).collect();
    let entry = w.trampolines(
        isa,
        &info.types,
        &entry_types,
        trampolines::entry_trampoline,
    )?;
    let host_types = host_trampoline_types(&info.imports);
    let host = w.trampolines(isa, &info.types, &host_types, trampolines::host_trampoline)?;
    timings.codegen += t.elapsed();

    let num_imported = info.num_imported_funcs;
    let pieces: Vec<&CompiledCode> = funcs.iter().chain(&entry).chain(&host).collect();
    let layout = link::link(&pieces, |callee| {
        let defined = callee.checked_sub(num_imported)? as usize;
        (defined < funcs.len()).then_some(defined)
    })
    .map_err(|(piece, message)| {
        let message = format!("linking: {message}");
        match piece.checked_sub(funcs.len()) {
            None => CompileError::Codegen {
                func: num_imported + piece as u32,
                message,
            },
            Some(t) => CompileError::Trampoline {
                ty: entry_types
                    .iter()
                    .chain(&host_types)
                    .nth(t)
                    .copied()
                    .unwrap_or(0),
                message,
            },
        }
    })?;

    let (func_offsets, rest) = layout.offsets.split_at(funcs.len());
    let (entry_offsets, host_offsets) = rest.split_at(entry.len());
    let artifact = Artifact {
        compiler_version: crate::version(),
        target: isa::host_target(),
        memory_strategy: config.memory_strategy,
        poll_interrupts: config.poll_interrupts,
        funcs: funcs
            .iter()
            .zip(func_offsets)
            .map(|(f, &offset)| CompiledFunc {
                offset,
                len: f.code.len() as u32,
            })
            .collect(),
        entry_trampolines: entry_types
            .into_iter()
            .zip(entry_offsets.iter().copied())
            .collect(),
        host_trampolines: host_types
            .into_iter()
            .zip(host_offsets.iter().copied())
            .collect(),
        traps: layout.traps,
        inlined: layout.inlined,
        text: layout.text,
        info,
    };
    timings.total = start.elapsed();
    Ok((artifact, timings))
}

/// One host trampoline per distinct type of an imported function, in type
/// order (the runtime looks them up by type index).
fn host_trampoline_types(imports: &[faasm_abi::Import]) -> Vec<TypeIndex> {
    let types: BTreeSet<TypeIndex> = imports
        .iter()
        .filter_map(|i| match i.ty {
            EntityType::Func(ty) => Some(ty),
            _ => None,
        })
        .collect();
    types.into_iter().collect()
}

/// Runs `f` on every item, on the rayon pool if the config says so, with
/// one [`Worker`] per thread. The error returned is the first in index
/// order, whatever finished first, so it does not depend on scheduling;
/// sequentially there is no reason to go past it.
fn run_all<T: Send, U: Send>(
    config: &CompileConfig,
    items: Vec<T>,
    f: impl Fn(&mut Worker, usize, T) -> Result<U, CompileError> + Sync + Send,
) -> Result<Vec<U>, CompileError> {
    if config.parallel {
        let outputs: Vec<Result<U, CompileError>> = items
            .into_par_iter()
            .enumerate()
            .map_init(Worker::default, |w, (i, item)| f(w, i, item))
            .collect();
        outputs.into_iter().collect()
    } else {
        let mut w = Worker::default();
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| f(&mut w, i, item))
            .collect()
    }
}

/// A function translated to Cranelift IR, not yet optimised.
struct Translated {
    func: ir::Function,
    translation: Duration,
    /// Compiled by the linear-time allocator ([`is_large`]); such a
    /// function takes no inlined bodies, being large already.
    large: bool,
}

struct FuncOutput {
    code: CompiledCode,
    translation: Duration,
    codegen: Duration,
}

/// Per-thread state reused from one function to the next.
struct Worker {
    builder: FunctionBuilderContext,
    ctx: Context,
    allocs: FuncValidatorAllocations,
}

impl Default for Worker {
    fn default() -> Self {
        Worker {
            builder: FunctionBuilderContext::new(),
            ctx: Context::new(),
            allocs: FuncValidatorAllocations::default(),
        }
    }
}

impl Worker {
    /// Translates (and validates) one function body to Cranelift IR.
    fn translate_func(
        &mut self,
        env: &FuncEnv<'_>,
        defined_index: usize,
        body: FunctionBodyData<'_>,
    ) -> Result<Translated, CompileError> {
        let large = is_large(&body);
        let index = env.info.num_imported_funcs + defined_index as u32;
        let ty = env.info.func_type(index);
        let mut func = ir::Function::with_name_signature(
            UserFuncName::user(FUNC_NAMESPACE, index),
            signature::wasm_signature(ty),
        );
        let mut validator = body
            .validator
            .into_validator(std::mem::take(&mut self.allocs));

        let t = Instant::now();
        let translated = translate::translate_function(
            env,
            index,
            &body.body,
            &mut validator,
            &mut func,
            &mut self.builder,
        );
        let translation = t.elapsed();
        self.allocs = validator.into_allocations();
        if let Err(e) = translated {
            // A translation that stopped half way leaves the builder context
            // dirty; the next function needs a clean one.
            self.builder = FunctionBuilderContext::new();
            return Err(e);
        }
        Ok(Translated {
            func,
            translation,
            large,
        })
    }

    /// Inlines what `callees` offers into `t` (if given) and generates
    /// its code.
    fn compile_func(
        &mut self,
        isa: &dyn TargetIsa,
        index: u32,
        t: Translated,
        callees: Option<&inline::Callees>,
    ) -> Result<FuncOutput, CompileError> {
        let failed = |message: String| CompileError::Codegen {
            func: index,
            message,
        };
        let start = Instant::now();
        self.ctx.clear();
        self.ctx.func = t.func;
        if let Some(callees) = callees {
            let mut inliner = callees.for_caller();
            self.ctx
                .inline(&mut inliner)
                .map_err(|e| failed(format!("inlining: {e}")))?;
            inliner.mark_inlined(&mut self.ctx.func);
        }
        let code = emit(isa, &mut self.ctx).map_err(failed)?;
        Ok(FuncOutput {
            code,
            translation: t.translation,
            codegen: start.elapsed(),
        })
    }

    /// Builds and compiles one trampoline per type in `types`.
    fn trampolines(
        &mut self,
        isa: &dyn TargetIsa,
        all_types: &[FuncType],
        types: &[TypeIndex],
        build: fn(&dyn TargetIsa, u32, &FuncType, &mut FunctionBuilderContext) -> ir::Function,
    ) -> Result<Vec<CompiledCode>, CompileError> {
        types
            .iter()
            .map(|&ty| {
                let failed = |message: String| CompileError::Trampoline { ty, message };
                self.ctx.clear();
                self.ctx.func = build(isa, ty, &all_types[ty as usize], &mut self.builder);
                let code = emit(isa, &mut self.ctx).map_err(failed)?;
                if !code.relocs.is_empty() {
                    return Err(failed("trampoline needs a relocation".into()));
                }
                Ok(code)
            })
            .collect()
    }
}

/// The relocations `link::patch` can resolve: PC-relative direct calls.
fn is_call(kind: Reloc) -> bool {
    matches!(
        kind,
        Reloc::X86CallPCRel4 | Reloc::X86CallPLTRel4 | Reloc::Arm64Call
    )
}

/// Runs Cranelift on `ctx.func` and extracts code, calls and trap sites.
fn emit(isa: &dyn TargetIsa, ctx: &mut Context) -> Result<CompiledCode, String> {
    ctx.compile(isa, &mut ControlPlane::default())
        .map_err(|e| match e.inner {
            // The bare Display says only "Verifier errors"; the list names
            // the offending instructions, which is what a translator bug
            // report needs.
            CodegenError::Verifier(errors) => {
                let list: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
                format!("IR verifier: {}", list.join("; "))
            }
            other => other.to_string(),
        })?;
    let compiled = ctx.compiled_code().expect("compile succeeded");
    let names = ctx.func.params.user_named_funcs();

    let relocs = compiled
        .buffer
        .relocs()
        .iter()
        .map(|r| match &r.target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(name))
                if names[*name].namespace == FUNC_NAMESPACE && is_call(r.kind) =>
            {
                Ok(CallReloc {
                    offset: r.offset,
                    kind: r.kind,
                    callee: names[*name].index,
                    addend: r.addend,
                })
            }
            other => Err(format!(
                "relocation {:?} to {other:?}: only calls to wasm functions can be linked",
                r.kind
            )),
        })
        .collect::<Result<_, _>>()?;

    let traps = compiled
        .buffer
        .traps()
        .iter()
        .map(|t| {
            traps::trap_kind(t.code)
                .map(|kind| (t.offset, kind))
                .ok_or_else(|| format!("trap code {} has no trap kind", t.code))
        })
        .collect::<Result<_, _>>()?;

    // Code whose source location is set came from an inlined callee
    // (`inline::Inliner::mark_inlined`); adjacent pieces of one callee
    // make one range.
    let mut inlined: Vec<(u32, u32, u32)> = Vec::new();
    for r in compiled.buffer.get_srclocs_sorted() {
        if r.loc.is_default() || r.start >= r.end {
            continue;
        }
        match inlined.last_mut() {
            Some(last) if last.1 == r.start && last.2 == r.loc.bits() => last.1 = r.end,
            _ => inlined.push((r.start, r.end, r.loc.bits())),
        }
    }

    Ok(CompiledCode {
        code: compiled.code_buffer().to_vec(),
        relocs,
        traps,
        inlined,
    })
}

/// `Err(TimeLimit)` once compilation that began at `start` is past the
/// configured limit.
fn within_limit(config: &CompileConfig, start: Instant) -> Result<(), CompileError> {
    match config.time_limit {
        Some(limit) if start.elapsed() > limit => Err(CompileError::TimeLimit { limit }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CompileConfig::verify_ir` is what both code generators' Cranelift
    /// flags say, whatever the build profile.
    #[test]
    fn verify_ir_reaches_both_code_generators() {
        for verify_ir in [false, true] {
            let config = CompileConfig {
                verify_ir,
                ..CompileConfig::default()
            };
            let isas = Isas::new(&config).unwrap();
            assert_eq!(isas.normal.flags().enable_verifier(), verify_ir);
            let large = isas.large().expect("the single-pass ISA builds");
            assert_eq!(large.flags().enable_verifier(), verify_ir);
        }
    }
}
