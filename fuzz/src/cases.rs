//! The modes' per-case logic: `compile`, `exec`, `diff` (and `artifact`
//! in its own module). Each returns a [`Verdict`]; panics are caught by
//! the driver around these functions.

use crate::faasm_side::{self, FaasmInstance};
use crate::oracle::{self, Oracle};
use crate::oracle_bugs;
use crate::smith::{self, GenOptions};
use crate::value::{Outcome, TrapClass, Value};
use crate::watchdog::Watchdog;
use faasm_abi::MemoryStrategy;
use faasm_runtime::Module;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::RngCore;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// A finding, described.
    Fail(String),
    /// Inconclusive, with the reason counted in the summary.
    Skip(String),
}

impl Verdict {
    pub(crate) fn skip(why: impl Into<String>) -> Verdict {
        Verdict::Skip(why.into())
    }
}

/// The input of a case, as it is saved next to a finding.
pub struct CaseInput {
    pub bytes: Vec<u8>,
    /// File extension: `wasm` or `faasm`.
    pub ext: &'static str,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub generation: GenOptions,
    /// Per call (faasm: interrupt; the oracle has fuel).
    pub call_timeout: Duration,
    /// Rounds of calls: every exported function is called once per round,
    /// with fresh arguments.
    pub rounds: u32,
    /// Print every call's outcome.
    pub verbose: bool,
    /// `artifact`: do not instantiate hostile artifacts that load.
    pub load_only: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            generation: GenOptions::default(),
            call_timeout: Duration::from_secs(2),
            rounds: 2,
            verbose: false,
            load_only: false,
        }
    }
}

/// Per-thread state reused across cases.
pub struct Runner {
    pub opts: RunOptions,
    dog: Watchdog,
    wasmi: wasmi::Engine,
}

impl Runner {
    pub fn new(opts: RunOptions) -> Runner {
        let wasmi = oracle::engine(opts.generation.simd);
        Runner {
            opts,
            dog: Watchdog::new(),
            wasmi,
        }
    }

    pub(crate) fn log(&self, msg: impl FnOnce() -> String) {
        if self.opts.verbose {
            eprintln!("  {}", msg());
        }
    }

    /// Compiles and runs `wasm` on faasm only; traps are fine, errors that
    /// are neither traps nor results are findings.
    pub fn exec_wasm(
        &self,
        wasm: &[u8],
        rng: &mut ChaCha8Rng,
        strategy: MemoryStrategy,
    ) -> Verdict {
        let engine = faasm_side::engine(strategy);
        let module = match Module::new(&engine, wasm) {
            Ok(m) => m,
            Err(e) => return Verdict::Fail(format!("faasm rejects a generated module: {e}")),
        };
        let inst = match FaasmInstance::new(&module) {
            Ok(i) => i,
            Err(e) => {
                return match faasm_side::outcome_of_error(&e) {
                    Outcome::Trapped(_) => Verdict::Pass,
                    Outcome::Inconclusive(why) => Verdict::skip(why),
                    o => Verdict::Fail(format!("instantiation: {o}")),
                };
            }
        };
        let mut timeouts = 0;
        for _ in 0..self.opts.rounds {
            for (name, params) in inst.funcs() {
                let args: Vec<Value> = params.iter().map(|t| smith::arg(rng, *t)).collect();
                let out = inst.call(&self.dog, self.opts.call_timeout, &name, &args);
                self.log(|| format!("{name}({}) -> {out}", show(&args)));
                match out {
                    Outcome::Returned(_) | Outcome::Trapped(_) => {}
                    Outcome::Inconclusive(_) => timeouts += 1,
                    Outcome::Error(e) => return Verdict::Fail(format!("call `{name}`: {e}")),
                }
            }
        }
        let _ = inst.state();
        if timeouts > 0 {
            return Verdict::skip("timeout");
        }
        Verdict::Pass
    }

    /// Runs `wasm` on faasm and on wasmi and compares every observable.
    pub fn diff_wasm(
        &self,
        wasm: &[u8],
        rng: &mut ChaCha8Rng,
        strategy: MemoryStrategy,
    ) -> Verdict {
        let engine = faasm_side::engine(strategy);
        let ours = Module::new(&engine, wasm);
        let theirs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wasmi::Module::new(&self.wasmi, wasm)
        }));
        let theirs = match theirs {
            Ok(t) => t,
            Err(_) => return Verdict::skip("oracle panicked compiling"),
        };
        let (module, wmodule) = match (ours, theirs) {
            (Ok(m), Ok(w)) => (m, w),
            (Err(e), Ok(_)) => {
                return Verdict::Fail(format!("faasm rejects a module wasmi accepts: {e}"));
            }
            (Ok(_), Err(e)) => {
                self.log(|| format!("wasmi rejects: {e}"));
                return Verdict::skip("oracle rejects module");
            }
            (Err(_), Err(_)) => return Verdict::skip("both reject module"),
        };

        // A divergence is a finding unless the module has the shape of a
        // known oracle miscompilation (see `oracle_bugs`): then it is
        // skipped, with the bug named.
        let differ = |what: String| match oracle_bugs::scan(wasm).first() {
            Some(bug) => {
                self.log(|| format!("{what}; module has the shape of a known oracle bug"));
                Verdict::skip(bug.reason())
            }
            None => Verdict::Fail(what),
        };
        let ours = FaasmInstance::new(&module);
        let theirs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Oracle::new(&self.wasmi, &wmodule)
        }));
        let Ok(theirs) = theirs else {
            return Verdict::skip("oracle panicked instantiating");
        };
        let (inst, mut oracle) = match (ours, theirs) {
            (Ok(i), Ok(o)) => (i, o),
            (ours, theirs) => {
                let a = match ours {
                    Ok(_) => Outcome::Returned(vec![]),
                    Err(e) => faasm_side::outcome_of_error(&e),
                };
                let b = theirs.err().unwrap_or(Outcome::Returned(vec![]));
                self.log(|| format!("instantiate: faasm {a}, wasmi {b}"));
                return match compare(&a, &b) {
                    Cmp::Same | Cmp::Stop => Verdict::Pass,
                    Cmp::Skip(why) => Verdict::skip(why),
                    Cmp::Differ => differ(format!("instantiation: faasm {a}, wasmi {b}")),
                };
            }
        };
        if let Some(d) = inst.state().diff(&oracle.state()) {
            return differ(format!("after instantiation: {d}"));
        }

        for round in 0..self.opts.rounds {
            for (name, params) in inst.funcs() {
                let args: Vec<Value> = params.iter().map(|t| smith::arg(rng, *t)).collect();
                let a = inst.call(&self.dog, self.opts.call_timeout, &name, &args);
                let b = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    oracle.call(&name, &args)
                })) {
                    Ok(b) => b,
                    Err(_) => return Verdict::skip("oracle panicked calling"),
                };
                self.log(|| format!("{name}({}): faasm {a}, wasmi {b}", show(&args)));
                let at = || format!("round {round}, call `{name}`({})", show(&args));
                match compare(&a, &b) {
                    Cmp::Same => {}
                    // Both exhausted the stack at different depths: the
                    // state from here on may legitimately differ.
                    Cmp::Stop => return Verdict::Pass,
                    Cmp::Skip(why) => return Verdict::skip(why),
                    Cmp::Differ => {
                        return differ(format!("{}: faasm {a}, wasmi {b}", at()));
                    }
                }
                if let Some(d) = inst.state().diff(&oracle.state()) {
                    return differ(format!("{}: state after the call: {d}", at()));
                }
            }
        }
        Verdict::Pass
    }
}

fn show(args: &[Value]) -> String {
    args.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

enum Cmp {
    Same,
    Stop,
    Skip(&'static str),
    Differ,
}

fn compare(a: &Outcome, b: &Outcome) -> Cmp {
    use Outcome::*;
    match (a, b) {
        (Inconclusive(why), _) | (_, Inconclusive(why)) => Cmp::Skip(why),
        (Error(e), _) if e.starts_with("resource:") => Cmp::Skip("faasm out of resources"),
        (Trapped(TrapClass::StackOverflow), Trapped(TrapClass::StackOverflow)) => Cmp::Stop,
        (Trapped(TrapClass::StackOverflow), _) | (_, Trapped(TrapClass::StackOverflow)) => {
            Cmp::Skip("stack overflow on one side")
        }
        (Returned(x), Returned(y)) => {
            let same =
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.canonical() == q.canonical());
            if same { Cmp::Same } else { Cmp::Differ }
        }
        (Trapped(x), Trapped(y)) => {
            if x == y || *x == TrapClass::Other || *y == TrapClass::Other {
                Cmp::Same
            } else {
                Cmp::Differ
            }
        }
        // Instantiation failures other than traps (wasmi reports some
        // segment errors as plain errors): both failing agrees.
        (Trapped(_) | Error(_), Trapped(_) | Error(_)) => Cmp::Same,
        _ => Cmp::Differ,
    }
}

/// Mutates `wasm` in place a few times: bit flips, byte overwrites,
/// insertions, deletions, truncation.
pub fn mutate_bytes(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    let n = 1 + rng.next_u32() % 4;
    for _ in 0..n {
        if bytes.is_empty() {
            bytes.push(rng.next_u32() as u8);
            continue;
        }
        let at = rng.next_u32() as usize % bytes.len();
        match rng.next_u32() % 6 {
            0 | 1 => bytes[at] ^= 1 << (rng.next_u32() % 8),
            2 => bytes[at] = rng.next_u32() as u8,
            3 => bytes.insert(at, rng.next_u32() as u8),
            4 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
}

/// The `compile` oracle: faasmc must accept exactly what wasmparser's
/// validator accepts with the proposals it claims, and never panic.
pub fn compile_wasm(wasm: &[u8]) -> Verdict {
    let features = faasm_runtime::Features::ALL;
    let mut f = wasmparser::WasmFeatures::WASM2;
    f.set(
        wasmparser::WasmFeatures::REFERENCE_TYPES,
        features.reference_types,
    );
    f.set(wasmparser::WasmFeatures::THREADS, features.threads);
    f.set(wasmparser::WasmFeatures::TAIL_CALL, features.tail_call);
    f.set(
        wasmparser::WasmFeatures::EXTENDED_CONST,
        features.extended_const,
    );
    f.set(
        wasmparser::WasmFeatures::MULTI_MEMORY,
        features.multi_memory,
    );
    let valid = wasmparser::Validator::new_with_features(f).validate_all(wasm);
    let config = faasm_compiler::CompileConfig {
        parallel: false,
        features,
        ..Default::default()
    };
    let compiled = faasm_compiler::compile(wasm, &config);
    match (valid, compiled) {
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => Verdict::Pass,
        (Ok(_), Err(e)) => Verdict::Fail(format!("valid module rejected by faasmc: {e}")),
        (Err(v), Ok(_)) => Verdict::Fail(format!("invalid module accepted by faasmc ({v})")),
    }
}
