//! The compiler–runtime identity an artifact must match to run: the
//! compiler version, and the target the code was generated for.
//!
//! An artifact's target is the triple plus the CPU features its code may
//! use, e.g. `x86_64-unknown-linux-gnu+sse3,ssse3,sse41,popcnt`. The
//! compiler writes it from the ISA it compiled with; the runtime checks it
//! here, without Cranelift: the triple must be this build's and every
//! feature present on this CPU (so code for fewer features runs on a CPU
//! with more). A feature name this table does not know is refused, never
//! assumed.

/// The version string written into artifacts; artifacts load only into a
/// runtime whose version string is equal (the layouts in this crate are
/// versioned with it).
pub fn compiler_version() -> String {
    format!("faasmc {} (abi 8)", env!("CARGO_PKG_VERSION"))
}

/// The triple this crate was built for, as the compiler writes it.
pub fn host_triple() -> String {
    target_lexicon::HOST.to_string()
}

/// Why code for a target cannot run here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetMismatch {
    #[error("built for {found}, this machine is {host}")]
    Triple { found: String, host: String },
    #[error("needs CPU feature {0}, which this machine lacks")]
    MissingFeature(String),
    #[error("needs CPU feature {0}, which this runtime cannot check")]
    UnknownFeature(String),
}

/// Whether code for `target` (`TRIPLE[+FEATURE,...]`) runs on this machine.
pub fn check_runs_here(target: &str) -> Result<(), TargetMismatch> {
    let (triple, features) = target.split_once('+').unwrap_or((target, ""));
    let host = host_triple();
    if triple != host {
        return Err(TargetMismatch::Triple {
            found: triple.to_string(),
            host,
        });
    }
    for f in features.split(',').filter(|f| !f.is_empty()) {
        match cpu_has(f) {
            Some(true) => {}
            Some(false) => return Err(TargetMismatch::MissingFeature(f.to_string())),
            None => return Err(TargetMismatch::UnknownFeature(f.to_string())),
        }
    }
    Ok(())
}

/// Whether this CPU has the feature Cranelift calls `name` (its ISA flag
/// without `has_`); `None` for names not known here.
#[cfg(target_arch = "x86_64")]
fn cpu_has(name: &str) -> Option<bool> {
    use std::arch::is_x86_feature_detected as has;
    Some(match name {
        "sse3" => has!("sse3"),
        "ssse3" => has!("ssse3"),
        "cmpxchg16b" => has!("cmpxchg16b"),
        "sse41" => has!("sse4.1"),
        "sse42" => has!("sse4.2"),
        "avx" => has!("avx"),
        "avx2" => has!("avx2"),
        "fma" => has!("fma"),
        "avx_vnni" => has!("avxvnni"),
        "avx512bitalg" => has!("avx512bitalg"),
        "avx512dq" => has!("avx512dq"),
        "avx512vl" => has!("avx512vl"),
        "avx512vbmi" => has!("avx512vbmi"),
        "avx512f" => has!("avx512f"),
        "avx512vnni" => has!("avx512vnni"),
        "popcnt" => has!("popcnt"),
        "bmi1" => has!("bmi1"),
        "bmi2" => has!("bmi2"),
        "lzcnt" => has!("lzcnt"),
        _ => return None,
    })
}

#[cfg(target_arch = "aarch64")]
fn cpu_has(name: &str) -> Option<bool> {
    use std::arch::is_aarch64_feature_detected as has;
    Some(match name {
        "lse" => has!("lse"),
        "pauth" => has!("paca") && has!("pacg"),
        "fp16" => has!("fp16"),
        "dotprod" => has!("dotprod"),
        "i8mm" => has!("i8mm"),
        // Code-generation choices whose instructions are hints (no-ops on
        // CPUs without the extension), not requirements.
        "sign_return_address"
        | "sign_return_address_all"
        | "sign_return_address_with_bkey"
        | "use_bti"
        | "use_csdb" => true,
        _ => return None,
    })
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn cpu_has(_name: &str) -> Option<bool> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bare_host_triple_runs_here() {
        assert_eq!(check_runs_here(&host_triple()), Ok(()));
        assert_eq!(check_runs_here(&format!("{}+", host_triple())), Ok(()));
    }

    #[test]
    fn another_triple_or_an_unknown_feature_is_refused() {
        let other = if host_triple().starts_with("x86_64") {
            "aarch64-unknown-linux-gnu"
        } else {
            "x86_64-unknown-linux-gnu"
        };
        assert!(matches!(
            check_runs_here(other),
            Err(TargetMismatch::Triple { .. })
        ));
        assert_eq!(
            check_runs_here(&format!("{}+teleport", host_triple())),
            Err(TargetMismatch::UnknownFeature("teleport".into()))
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn features_follow_the_cpu() {
        // Every x86_64 CPU has SSE2-era features; sse3 is near universal
        // but checked, not assumed.
        let want = std::arch::is_x86_feature_detected!("sse3");
        let r = check_runs_here(&format!("{}+sse3", host_triple()));
        assert_eq!(r.is_ok(), want, "{r:?}");
    }
}
