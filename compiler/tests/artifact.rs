//! The artifact on disk: round trip, integrity and compatibility checks.

mod common;
use common::*;
use faasm_abi::{ARTIFACT_MAGIC, Artifact, ArtifactError, ArtifactKey};

fn key() -> ArtifactKey {
    ArtifactKey::from_bytes([0x5a; 32])
}

fn sample() -> Artifact {
    compile_wat(
        r#"(module
             (import "env" "f" (func (param i32) (result i64)))
             (memory (export "memory") 1)
             (data (i32.const 0) "some bytes"))"#,
    )
}

#[test]
fn round_trip() {
    let a = sample();
    let bytes = a.serialize(&key());
    assert_eq!(&bytes[..8], ARTIFACT_MAGIC);
    let b = Artifact::deserialize(&bytes, &key()).unwrap();
    assert_eq!(a, b);
    b.check_compat(&faasm_compiler::version(), &faasm_compiler::host_target())
        .unwrap();
}

#[test]
fn any_corrupted_byte_is_detected() {
    let bytes = sample().serialize(&key());
    // Past the magic, every flipped byte is caught by the tag (or, in the
    // tag itself, by the mismatch it causes).
    for i in 8..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x20;
        assert_eq!(
            Artifact::deserialize(&bad, &key()),
            Err(ArtifactError::Unauthenticated),
            "byte {i}"
        );
    }
    let mut bad = bytes.clone();
    bad[0] ^= 1;
    assert_eq!(
        Artifact::deserialize(&bad, &key()),
        Err(ArtifactError::BadMagic)
    );
}

#[test]
fn another_key_is_refused_before_decoding() {
    let bytes = sample().serialize(&key());
    let other = ArtifactKey::from_bytes([0x5b; 32]);
    assert_eq!(
        Artifact::deserialize(&bytes, &other),
        Err(ArtifactError::Unauthenticated)
    );
    // Garbage after a valid header is never decoded without the key.
    let mut forged = bytes[..40].to_vec();
    forged.extend_from_slice(&[0xff; 64]);
    assert_eq!(
        Artifact::deserialize(&forged, &key()),
        Err(ArtifactError::Unauthenticated)
    );
}

#[test]
fn truncation_is_detected() {
    let bytes = sample().serialize(&key());
    for len in [0, 7, 11, 12, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            Artifact::deserialize(&bytes[..len], &key()).is_err(),
            "{len} bytes"
        );
    }
}

#[test]
fn wrong_version_or_target_is_refused() {
    let mut a = sample();
    let (version, target) = (faasm_compiler::version(), faasm_compiler::host_target());
    a.compiler_version = "faasmc 0.0.0 (abi 0)".into();
    let back = Artifact::deserialize(&a.serialize(&key()), &key()).unwrap();
    assert!(matches!(
        back.check_compat(&version, &target),
        Err(ArtifactError::Version { found, .. }) if found == "faasmc 0.0.0 (abi 0)"
    ));

    let mut a = sample();
    a.target = "riscv64gc-unknown-linux-gnu+".into();
    let back = Artifact::deserialize(&a.serialize(&key()), &key()).unwrap();
    assert!(matches!(
        back.check_compat(&version, &target),
        Err(ArtifactError::Target { expected, .. }) if expected == target
    ));
}

/// The runtime checks targets without Cranelift (`faasm_abi::target`): it
/// must accept every artifact this compiler writes on this machine, and
/// refuse one that needs a CPU feature it cannot check.
#[test]
fn the_runtime_side_check_accepts_what_this_compiler_writes() {
    let mut a = sample();
    a.target = faasm_compiler::host_target();
    a.compiler_version = faasm_compiler::version();
    assert_eq!(a.check_runs_here(), Ok(()));
    a.target = format!("{}+warp_drive", faasm_compiler::host_target());
    assert!(matches!(
        a.check_runs_here(),
        Err(ArtifactError::CannotRun { .. })
    ));
}

/// `$small` is copied into both callers; `$big` (past the size limit) is
/// not.
const CALLS: &str = r#"(module
  (func $small (param i32) (result i32) local.get 0 i32.const 3 i32.mul)
  (func $big (param i32) (result i32)
    local.get 0
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5))
    (i32.add (i32.const 1)) (i32.mul (i32.const 3)) (i32.xor (i32.const 5)))
  (func (export "a") (param i32) (result i32) (call $small (local.get 0)))
  (func (export "b") (param i32) (result i32) (call $big (call $small (local.get 0)))))"#;

fn compile_calls(inline: bool) -> Artifact {
    let config = faasm_compiler::CompileConfig {
        inline,
        ..Default::default()
    };
    faasm_compiler::compile(&wat(CALLS), &config).unwrap()
}

#[test]
fn small_direct_callees_are_recorded_as_inlined_ranges() {
    let a = compile_calls(true);
    assert!(
        a.inlined.iter().all(|r| r.func_index == 0),
        "{:?}",
        a.inlined
    );
    // Both callers (functions 2 and 3) hold a copy, inside their code.
    for caller in [2usize, 3] {
        let f = a.funcs[caller];
        let inside =
            |r: &&faasm_abi::InlinedRange| f.offset <= r.start && r.end <= f.offset + f.len;
        let r = a.inlined.iter().find(inside).expect("a copy in the caller");
        assert_eq!(a.inlined_at(r.start), Some(0));
        assert_eq!(a.inlined_at(r.end - 1), Some(0));
    }
    assert_eq!(a.inlined_at(a.funcs[0].offset), None);
    let back = Artifact::deserialize(&a.serialize(&key()), &key()).unwrap();
    assert_eq!(back, a);

    assert_eq!(compile_calls(false).inlined, []);
}

#[test]
fn a_bad_inlined_range_is_refused() {
    let good = compile_calls(true);
    assert_eq!(good.inlined.len(), 2);
    let refused = |edit: &dyn Fn(&mut Artifact)| {
        let mut a = good.clone();
        edit(&mut a);
        let got = Artifact::deserialize(&a.serialize(&key()), &key());
        assert!(matches!(got, Err(ArtifactError::Decode(_))), "{got:?}");
    };
    refused(&|a| a.inlined[0].func_index = 4);
    refused(&|a| a.inlined[1].end = a.text.len() as u32 + 1);
    refused(&|a| a.inlined[0].end = a.inlined[0].start);
    refused(&|a| a.inlined.swap(0, 1));
    refused(&|a| a.inlined[1].start = a.inlined[0].end - 1);
}
