//! Executes the directives of one `.wast` file against the faasm runtime.

use crate::Options;
use crate::panics;
use crate::report::{Failure, FileReport, Location, Skip};
use crate::spectest::define_spectest;
use crate::traps::{message_matches, trap_message};
use crate::values::{Unsupported, arg_to_val, check_supported, matches, show_rets, show_vals};
use crate::watchdog::Watchdog;
use faasm_compiler::CompileError;
use faasm_runtime::{Engine, Error, Extern, Instance, Linker, Module, TrapKind, Val};
use std::collections::HashMap;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, QuoteWatTest, Wast, WastDirective, WastExecute, WastInvoke, Wat};

/// How a directive turned out.
#[derive(Debug)]
enum Outcome {
    Pass,
    Fail { expected: String, got: String },
    Skip(String),
}

fn fail(expected: impl Into<String>, got: impl Into<String>) -> Outcome {
    Outcome::Fail {
        expected: expected.into(),
        got: got.into(),
    }
}

/// What a module name (or "the current module") refers to.
#[derive(Clone)]
enum Slot {
    Live(Instance),
    /// The module directive failed; directives using it fail too.
    Failed {
        at: Location,
        why: String,
    },
    /// The module needs something unsupported; directives using it are
    /// skipped with the same reason.
    Unsupported {
        at: Location,
        why: String,
    },
    /// Compile-only mode: the module compiled and was not loaded.
    CompiledOnly,
}

/// A module that passed compilation.
enum Loaded {
    Module(Module),
    /// Compile-only mode: the artifact was produced and dropped.
    CompiledOnly,
}

const COMPILE_ONLY: &str = "compile-only mode: modules are compiled, not instantiated";

/// Runs `source` on the current thread. The caller provides the big stack
/// (see [`crate::run_wast`]).
pub fn run_wast_here(name: &str, source: &str, opts: &Options) -> FileReport {
    panics::capture_on_this_thread();
    let mut report = FileReport::new(name);
    let mut lexer = wast::lexer::Lexer::new(source);
    // The spec suite deliberately contains bidirectional-override
    // characters inside strings (names.wast).
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => return parse_failure(report, e, source),
    };
    let wast = match parser::parse::<Wast>(&buf) {
        Ok(w) => w,
        Err(e) => return parse_failure(report, e, source),
    };
    let mut config = opts.config.clone();
    config.features = crate::features_for(name, config.features);
    let engine = Engine::new(config);
    let mut linker = Linker::new(&engine);
    let spectest = if opts.compile_only {
        Ok(Ok(()))
    } else {
        panics::catch(|| define_spectest(&mut linker))
    };
    match spectest {
        Ok(Ok(())) => {}
        // Counted as a failure: every module importing `spectest` would
        // otherwise fail with a confusing link error and no root cause.
        Ok(Err(e)) => report.fail(setup_failure(e.to_string())),
        Err(p) => report.fail(setup_failure(p)),
    }
    let mut runner = Runner {
        engine,
        linker,
        opts,
        source,
        report,
        current: None,
        instances: HashMap::new(),
        definitions: HashMap::new(),
        last_definition: None,
        watchdog: opts.invoke_timeout.map(|_| Watchdog::new()),
    };
    for d in wast.directives {
        runner.run_directive(d);
    }
    runner.report
}

fn setup_failure(got: String) -> Failure {
    Failure {
        location: Location { line: 0, col: 0 },
        directive: "spectest".into(),
        expected: "the spectest host module to be defined".into(),
        got,
    }
}

fn parse_failure(mut report: FileReport, mut e: wast::Error, source: &str) -> FileReport {
    let (line, col) = e.span().linecol_in(source);
    e.set_text(source);
    report.fail(Failure {
        location: Location {
            line: line + 1,
            col: col + 1,
        },
        directive: "parse".into(),
        expected: "a parseable .wast file".into(),
        got: e.to_string(),
    });
    report
}

fn directive_kind(d: &WastDirective<'_>) -> &'static str {
    match d {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

/// Result of turning a module's text or binary form into bytes.
enum Encoded {
    Bytes(Vec<u8>),
    /// The text does not parse or encode (a `quote` module, or names that
    /// do not resolve).
    TextError(String),
    Unsupported(String),
}

fn encode_quote(qw: &mut QuoteWat<'_>) -> Encoded {
    match qw {
        QuoteWat::Wat(w) => encode_wat(w),
        QuoteWat::QuoteComponent(..) => Encoded::Unsupported("component model".into()),
        QuoteWat::QuoteModule(..) => match qw.to_test() {
            Err(e) => Encoded::TextError(e.to_string()),
            Ok(QuoteWatTest::Binary(b)) => Encoded::Bytes(b),
            Ok(QuoteWatTest::Text(text)) => {
                let text = match String::from_utf8(text) {
                    Ok(t) => t,
                    Err(_) => return Encoded::TextError("malformed UTF-8 encoding".into()),
                };
                let buf = match ParseBuffer::new(&text) {
                    Ok(b) => b,
                    Err(e) => return Encoded::TextError(e.to_string()),
                };
                match parser::parse::<Wat>(&buf) {
                    Ok(mut w) => encode_wat(&mut w),
                    Err(e) => Encoded::TextError(e.to_string()),
                }
            }
        },
    }
}

fn encode_wat(w: &mut Wat<'_>) -> Encoded {
    match w {
        Wat::Component(_) => Encoded::Unsupported("component model".into()),
        Wat::Module(_) => match w.encode() {
            Ok(b) => Encoded::Bytes(b),
            Err(e) => Encoded::TextError(e.to_string()),
        },
    }
}

fn show_error(e: &Error) -> String {
    let kind = match e {
        Error::Compile(_) => "compile error",
        Error::Artifact(_) => "artifact error",
        Error::Link(_) => "link error",
        Error::Trap(_) => "trap",
        Error::Usage(_) => "usage error",
        Error::Resource(_) => "resource error",
        Error::Io(_) => "io error",
    };
    format!("{kind}: {e}")
}

struct Runner<'a> {
    engine: Engine,
    linker: Linker,
    opts: &'a Options,
    source: &'a str,
    report: FileReport,
    current: Option<Slot>,
    instances: HashMap<String, Slot>,
    definitions: HashMap<String, Result<Module, Slot>>,
    last_definition: Option<Result<Module, Slot>>,
    watchdog: Option<Watchdog>,
}

impl Runner<'_> {
    fn location(&self, span: Span) -> Location {
        let (line, col) = span.linecol_in(self.source);
        Location {
            line: line + 1,
            col: col + 1,
        }
    }

    fn run_directive(&mut self, d: WastDirective<'_>) {
        let location = self.location(d.span());
        let kind = directive_kind(&d);
        if self.opts.trace {
            eprintln!("faasm-spec-trace {} {location} {kind}", self.report.name);
        }
        // Thread blocks hold directives of their own; each is reported.
        if let WastDirective::Thread(t) = d {
            self.skip_nested(location, kind, t.directives);
            return;
        }
        // A directive that defines the current module must leave a failed
        // slot behind when it panics, or later directives would silently
        // run against the previous module.
        let defines = match &d {
            WastDirective::Module(qw) => Some(qw.name().map(|id| id.name().to_string())),
            WastDirective::ModuleInstance { instance, .. } => {
                Some(instance.map(|id| id.name().to_string()))
            }
            _ => None,
        };
        let outcome = match panics::catch(|| self.execute(d, location)) {
            Ok(o) => o,
            Err(p) => {
                if let Some(name) = defines {
                    let slot = Slot::Failed {
                        at: location,
                        why: p.clone(),
                    };
                    self.set_current(name, slot);
                }
                fail(format!("{kind} to run"), p)
            }
        };
        match outcome {
            Outcome::Pass => self.report.pass(),
            Outcome::Fail { expected, got } => self.report.fail(Failure {
                location,
                directive: kind.into(),
                expected,
                got,
            }),
            Outcome::Skip(reason) => self.report.skip(Skip {
                location,
                directive: kind.into(),
                reason,
            }),
        }
    }

    fn skip_nested(&mut self, location: Location, kind: &str, nested: Vec<WastDirective<'_>>) {
        let reason = "thread/wait directives (threads proposal) are not supported".to_string();
        self.report.skip(Skip {
            location,
            directive: kind.into(),
            reason: reason.clone(),
        });
        for d in nested {
            let loc = self.location(d.span());
            let k = directive_kind(&d);
            if let WastDirective::Thread(t) = d {
                self.skip_nested(loc, k, t.directives);
            } else {
                self.report.skip(Skip {
                    location: loc,
                    directive: k.into(),
                    reason: format!("inside a thread block: {reason}"),
                });
            }
        }
    }

    fn execute(&mut self, d: WastDirective<'_>, at: Location) -> Outcome {
        match d {
            WastDirective::Module(mut qw) => {
                let name = qw.name().map(|id| id.name().to_string());
                let slot = match self.compile(&mut qw, at) {
                    Ok(module) => self.instantiate_slot(&module, at),
                    Err(slot) => slot,
                };
                self.set_current(name, slot)
            }
            WastDirective::ModuleDefinition(mut qw) => {
                let name = qw.name().map(|id| id.name().to_string());
                let def = self.compile(&mut qw, at);
                let outcome = match &def {
                    Ok(_) => Outcome::Pass,
                    Err(slot) => slot_outcome(slot, "module to compile"),
                };
                if let Some(n) = name {
                    self.definitions.insert(n, def.clone());
                }
                self.last_definition = Some(def);
                outcome
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let def = match module {
                    Some(id) => self.definitions.get(id.name()).cloned(),
                    None => self.last_definition.clone(),
                };
                let slot = match def {
                    None => return fail("a module definition to instantiate", "none found"),
                    Some(Ok(m)) => self.instantiate_slot(&m, at),
                    Some(Err(slot)) => slot,
                };
                self.set_current(instance.map(|i| i.name().to_string()), slot)
            }
            WastDirective::Register { name, module, .. } => match self.slot(module) {
                Ok(inst) => {
                    self.linker.instance(name, &inst);
                    Outcome::Pass
                }
                Err(o) => o,
            },
            WastDirective::Invoke(i) => match self.invoke(&i) {
                Err(o) => o,
                Ok(Ok(_)) => Outcome::Pass,
                Ok(Err(e)) => fail("the call to return", show_error(&e)),
            },
            WastDirective::AssertReturn { exec, results, .. } => {
                if let Err(Unsupported(why)) = results.iter().try_for_each(check_supported) {
                    return Outcome::Skip(why);
                }
                let got = match self.execute_exec(exec) {
                    Err(o) => return o,
                    Ok(r) => r,
                };
                match got {
                    Err(e) => fail(show_rets(&results), show_error(&e)),
                    Ok(vals) => {
                        if vals.len() == results.len()
                            && results.iter().zip(&vals).all(|(r, v)| matches(r, v))
                        {
                            Outcome::Pass
                        } else {
                            fail(show_rets(&results), show_vals(&vals))
                        }
                    }
                }
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute_exec(exec) {
                Err(o) => o,
                Ok(Ok(vals)) => fail(format!("trap \"{message}\""), show_vals(&vals)),
                Ok(Err(Error::Trap(t))) => {
                    if message_matches(message, &trap_message(&t)) {
                        Outcome::Pass
                    } else {
                        fail(format!("trap \"{message}\""), format!("trap \"{t}\""))
                    }
                }
                Ok(Err(e)) => fail(format!("trap \"{message}\""), show_error(&e)),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Err(o) => o,
                Ok(Ok(vals)) => fail(format!("trap \"{message}\""), show_vals(&vals)),
                Ok(Err(Error::Trap(t)))
                    if t.kind() == Some(TrapKind::StackOverflow)
                        && message_matches(message, &trap_message(&t)) =>
                {
                    Outcome::Pass
                }
                Ok(Err(e)) => fail(format!("stack overflow trap \"{message}\""), show_error(&e)),
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            }
            | WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => self.assert_rejected(&mut module, message),
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = match encode_wat(&mut module) {
                    Encoded::Bytes(b) => b,
                    Encoded::TextError(e) => return fail("module to encode", e),
                    Encoded::Unsupported(why) => return Outcome::Skip(why),
                };
                let m = match self.load(&bytes) {
                    Ok(Loaded::Module(m)) => m,
                    Ok(Loaded::CompiledOnly) => return Outcome::Skip(COMPILE_ONLY.into()),
                    Err(e) => return fail(format!("link error \"{message}\""), show_error(&e)),
                };
                match self.linker.instantiate(&m) {
                    Ok(_) => fail(format!("link error \"{message}\""), "instantiated"),
                    Err(Error::Link(e)) => {
                        let got = e.to_string();
                        if message_matches(message, &got) {
                            Outcome::Pass
                        } else {
                            fail(
                                format!("link error \"{message}\""),
                                format!("link error: {got}"),
                            )
                        }
                    }
                    Err(e) => fail(format!("link error \"{message}\""), show_error(&e)),
                }
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => Outcome::Skip(
                "custom-section validation (annotations/branch-hinting proposals) is not supported"
                    .into(),
            ),
            WastDirective::AssertException { .. } => Outcome::Skip(
                "assert_exception (exception-handling proposal) is not supported".into(),
            ),
            WastDirective::AssertSuspension { .. } => Outcome::Skip(
                "assert_suspension (stack-switching proposal) is not supported".into(),
            ),
            WastDirective::Wait { .. } | WastDirective::Thread(_) => {
                Outcome::Skip("thread/wait directives (threads proposal) are not supported".into())
            }
        }
    }

    /// Compiles a module directive's module. `Err` is the slot that
    /// directives using the module will see.
    fn compile(&mut self, qw: &mut QuoteWat<'_>, at: Location) -> Result<Module, Slot> {
        let bytes = match encode_quote(qw) {
            Encoded::Bytes(b) => b,
            Encoded::TextError(e) => {
                return Err(Slot::Failed {
                    at,
                    why: format!("text error: {e}"),
                });
            }
            Encoded::Unsupported(why) => return Err(Slot::Unsupported { at, why }),
        };
        match self.load(&bytes) {
            Ok(Loaded::Module(m)) => Ok(m),
            Ok(Loaded::CompiledOnly) => Err(Slot::CompiledOnly),
            Err(Error::Compile(CompileError::Unsupported(why))) => Err(Slot::Unsupported {
                at,
                why: format!("compiler: unsupported: {why}"),
            }),
            Err(e) => Err(Slot::Failed {
                at,
                why: show_error(&e),
            }),
        }
    }

    /// Compiles `bytes`: into a loaded module normally, or only through
    /// the compiler in compile-only mode (no runtime needed).
    fn load(&self, bytes: &[u8]) -> Result<Loaded, Error> {
        if !self.opts.compile_only {
            let module = Module::new(&self.engine, bytes)?;
            if !self.opts.via_artifact {
                return Ok(Loaded::Module(module));
            }
            // Exercise the artifact format: what runs is what was loaded
            // back from the serialized bytes.
            let artifact = module.serialize();
            drop(module);
            return Module::from_artifact(&self.engine, &artifact).map(Loaded::Module);
        }
        faasm_compiler::compile(bytes, &self.engine.config().compile_config())
            .map(|_| Loaded::CompiledOnly)
            .map_err(Error::Compile)
    }

    fn instantiate_slot(&mut self, module: &Module, at: Location) -> Slot {
        match self.linker.instantiate(module) {
            Ok(i) => Slot::Live(i),
            Err(e) => Slot::Failed {
                at,
                why: format!("instantiation: {}", show_error(&e)),
            },
        }
    }

    fn set_current(&mut self, name: Option<String>, slot: Slot) -> Outcome {
        let outcome = slot_outcome(&slot, "module to instantiate");
        if let Some(n) = name {
            self.instances.insert(n, slot.clone());
        }
        self.current = Some(slot);
        outcome
    }

    /// The live instance named `id` (or the current one); `Err` is the
    /// outcome for a directive that cannot run because of it.
    fn slot(&self, id: Option<Id<'_>>) -> Result<Instance, Outcome> {
        let slot = match id {
            Some(id) => self.instances.get(id.name()),
            None => self.current.as_ref(),
        };
        match slot {
            Some(Slot::Live(i)) => Ok(i.clone()),
            Some(Slot::Failed { at, why }) => Err(fail(
                "a live module",
                format!("module at {at} failed ({why})"),
            )),
            Some(Slot::CompiledOnly) => Err(Outcome::Skip(COMPILE_ONLY.into())),
            Some(Slot::Unsupported { at, why }) => {
                Err(Outcome::Skip(format!("uses module at {at}: {why}")))
            }
            None => Err(fail(
                "a module",
                match id {
                    Some(id) => format!("no module named ${}", id.name()),
                    None => "no module defined yet".to_string(),
                },
            )),
        }
    }

    /// Runs `invoke`; the outer `Err` is an outcome decided before calling
    /// (missing export, unsupported argument...).
    fn invoke(&self, i: &WastInvoke<'_>) -> Result<Result<Vec<Val>, Error>, Outcome> {
        let args = i
            .args
            .iter()
            .map(arg_to_val)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|Unsupported(why)| Outcome::Skip(why))?;
        let inst = self.slot(i.module)?;
        let func = match inst.get_export(i.name) {
            Some(Extern::Func(f)) => f,
            Some(_) => {
                return Err(fail(
                    format!("export \"{}\" to be a function", i.name),
                    "another kind",
                ));
            }
            None => return Err(fail(format!("an export \"{}\"", i.name), "none")),
        };
        let (Some(dog), Some(timeout)) = (&self.watchdog, self.opts.invoke_timeout) else {
            return Ok(func.call(&args));
        };
        // An interrupt handle is a nicety for hung calls; if the runtime
        // cannot provide one, call without a deadline.
        let Ok(handle) = panics::catch(|| inst.interrupt_handle()) else {
            return Ok(func.call(&args));
        };
        let armed = dog.arm(handle.clone(), timeout);
        let r = func.call(&args);
        if armed.disarm() {
            // The instance stays usable for the file's later directives.
            handle.clear();
            return Err(fail(
                "the call to finish",
                format!(
                    "timed out after {timeout:?} ({})",
                    r.err().map(|e| show_error(&e)).unwrap_or_default()
                ),
            ));
        }
        Ok(r)
    }

    fn execute_exec(&mut self, exec: WastExecute<'_>) -> Result<Result<Vec<Val>, Error>, Outcome> {
        match exec {
            WastExecute::Invoke(i) => self.invoke(&i),
            WastExecute::Get { module, global, .. } => {
                let inst = self.slot(module)?;
                match inst.get_export(global) {
                    Some(Extern::Global(g)) => Ok(Ok(vec![g.get()])),
                    Some(_) => Err(fail(
                        format!("export \"{global}\" to be a global"),
                        "another kind",
                    )),
                    None => Err(fail(format!("an export \"{global}\""), "none")),
                }
            }
            // Instantiating a module for its effect (a trapping start
            // function or segment initialisation).
            WastExecute::Wat(mut w) => {
                let bytes = match encode_wat(&mut w) {
                    Encoded::Bytes(b) => b,
                    Encoded::TextError(e) => return Err(fail("module to encode", e)),
                    Encoded::Unsupported(why) => return Err(Outcome::Skip(why)),
                };
                let m = match self.load(&bytes) {
                    Ok(Loaded::Module(m)) => m,
                    Ok(Loaded::CompiledOnly) => return Err(Outcome::Skip(COMPILE_ONLY.into())),
                    Err(e) => return Err(fail("module to compile", show_error(&e))),
                };
                Ok(self.linker.instantiate(&m).map(|_| Vec::new()))
            }
        }
    }

    fn assert_rejected(&mut self, module: &mut QuoteWat<'_>, message: &str) -> Outcome {
        let expected = format!("module rejected (\"{message}\")");
        let bytes = match encode_quote(module) {
            Encoded::Bytes(b) => b,
            // The text form is already rejected by the parser: as good as a
            // decoding/validation error for these assertions.
            Encoded::TextError(_) => return Outcome::Pass,
            Encoded::Unsupported(why) => return Outcome::Skip(why),
        };
        match self.load(&bytes) {
            Ok(_) => fail(expected, "compiled successfully"),
            Err(Error::Compile(CompileError::Invalid { .. })) => Outcome::Pass,
            Err(e) => fail(expected, show_error(&e)),
        }
    }
}

fn slot_outcome(slot: &Slot, expected: &str) -> Outcome {
    match slot {
        Slot::Live(_) => Outcome::Pass,
        Slot::Failed { why, .. } => fail(expected, why.clone()),
        Slot::Unsupported { why, .. } => Outcome::Skip(why.clone()),
        // Compiling is all a module directive checks in this mode.
        Slot::CompiledOnly => Outcome::Pass,
    }
}
