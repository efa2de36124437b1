//! The Cranelift target: the host's ISA with the features our code needs.

use crate::CompileError;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable, SettingKind};
use std::sync::OnceLock;

/// Cranelift's register allocators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegAlloc {
    /// The default: good code, superlinear time on huge functions.
    Backtracking,
    /// Linear time, slower code.
    SinglePass,
}

/// Builds the host ISA with the shared flags every artifact is compiled
/// with; `verify` runs Cranelift's IR verifier on every function (it
/// changes no generated code, only whether ill-formed IR is caught).
pub(crate) fn host_isa(
    opt_level: &str,
    regalloc: RegAlloc,
    verify: bool,
) -> Result<OwnedTargetIsa, CompileError> {
    let setting =
        |e: settings::SetError| CompileError::Unsupported(format!("Cranelift setting: {e}"));
    let mut flags = settings::builder();
    flags.set("opt_level", opt_level).map_err(|_| {
        CompileError::Unsupported(format!(
            "optimisation level {opt_level:?} (expected none, speed or speed_and_size)"
        ))
    })?;
    // Frame pointers let the runtime walk wasm frames (backtraces, and
    // the trap handler) without unwind tables, which we do not emit.
    flags.enable("preserve_frame_pointers").map_err(setting)?;
    let algorithm = match regalloc {
        RegAlloc::Backtracking => "backtracking",
        RegAlloc::SinglePass => "single_pass",
    };
    flags
        .set("regalloc_algorithm", algorithm)
        .map_err(setting)?;
    flags.set("unwind_info", "false").map_err(setting)?;
    // Stack overflow is caught by the explicit `stack_limit` check in every
    // prologue; probestack would need a libcall we do not link.
    flags.set("enable_probestack", "false").map_err(setting)?;
    // Multi-value functions may return more values than fit in registers.
    flags
        .enable("enable_multi_ret_implicit_sret")
        .map_err(setting)?;
    // The translator emits its own bounds checks (with select_spectre_guard
    // where they matter), so Cranelift's heap mitigation adds nothing.
    flags
        .set("enable_heap_access_spectre_mitigation", "false")
        .map_err(setting)?;
    // The IR verifier is slow: it checks the translator in debug builds
    // and in CI (`CompileConfig::verify_ir`), not in production compiles.
    let verify = if verify { "true" } else { "false" };
    flags.set("enable_verifier", verify).map_err(setting)?;

    let builder = cranelift_native::builder()
        .map_err(|e| CompileError::Unsupported(format!("host machine: {e}")))?;
    require_host_features()?;
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| CompileError::Unsupported(format!("host ISA: {e}")))
}

/// Features without which Cranelift would lower some wasm operators to
/// libcalls (which an artifact cannot link against).
fn require_host_features() -> Result<(), CompileError> {
    #[cfg(target_arch = "x86_64")]
    {
        // Without SSE4.1, f32/f64 ceil/floor/trunc/nearest become libcalls.
        if !std::is_x86_feature_detected!("sse4.1") {
            return Err(CompileError::Unsupported(
                "this x86-64 CPU lacks SSE4.1, which compiled code requires".into(),
            ));
        }
    }
    Ok(())
}

/// Target triple plus the CPU features compiled code relies on; recorded in
/// artifacts so a machine without them refuses to load the code.
///
/// For example `x86_64-unknown-linux-gnu+sse3,ssse3,sse41,...`. The flags
/// are exactly the enabled boolean ISA flags of the ISA we compile with, so
/// two machines produce the same string iff Cranelift would generate code
/// for the same feature set.
pub fn host_target() -> String {
    static TARGET: OnceLock<String> = OnceLock::new();
    TARGET
        // The verifier is a shared flag: it does not change the ISA flags.
        .get_or_init(|| match host_isa("speed", RegAlloc::Backtracking, false) {
            Ok(isa) => {
                let features: Vec<&str> = isa
                    .isa_flags()
                    .iter()
                    .filter(|v| v.kind() == SettingKind::Bool && v.as_bool() == Some(true))
                    .map(|v| v.name.strip_prefix("has_").unwrap_or(v.name))
                    .collect();
                format!("{}+{}", isa.triple(), features.join(","))
            }
            // Such a host cannot compile either; the bare triple still lets
            // `faasmc info` and the runtime name what they are running on.
            Err(_) => target_lexicon::Triple::host().to_string(),
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_target_names_triple_and_features() {
        let t = host_target();
        assert!(t.starts_with(&target_lexicon::Triple::host().to_string()));
        #[cfg(target_arch = "x86_64")]
        assert!(
            t.split('+')
                .nth(1)
                .unwrap()
                .split(',')
                .any(|f| f == "sse41"),
            "{t}"
        );
    }

    #[test]
    fn rejects_unknown_opt_level() {
        assert!(matches!(
            host_isa("fast", RegAlloc::Backtracking, false),
            Err(CompileError::Unsupported(_))
        ));
        assert!(host_isa("none", RegAlloc::Backtracking, false).is_ok());
        assert!(host_isa("speed", RegAlloc::SinglePass, false).is_ok());
    }

    #[test]
    fn verify_flag_reaches_cranelift_settings() {
        for verify in [false, true] {
            let isa = host_isa("speed", RegAlloc::Backtracking, verify).unwrap();
            assert_eq!(isa.flags().enable_verifier(), verify);
        }
    }
}
