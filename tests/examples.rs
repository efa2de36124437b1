//! The example guests (examples/c/hello.c, examples/hello-rust) built by
//! examples/build.sh with real toolchains, run through `faasm-run` from
//! `.wasm`, from an artifact written with the compiler API, and from one
//! written by the `faasmc` binary.

mod common;

use common::{artifact, examples, faasm_run, faasmc, scratch_dir, write};
use std::path::{Path, PathBuf};

const GUESTS: [&str; 2] = ["hello-c", "hello-rust"];

/// Each guest as `.wasm`, as an API-compiled artifact and as a
/// `faasmc`-compiled artifact.
fn forms(dir: &Path, guest: &str) -> Vec<PathBuf> {
    let wasm_path = dir.join(format!("{guest}.wasm"));
    let wasm = std::fs::read(&wasm_path).unwrap();
    let out = scratch_dir(guest);
    let api = write(&out, &format!("{guest}-api.faasm"), &artifact(&wasm));
    let cli = out.join(format!("{guest}-cli.faasm"));
    let status = std::process::Command::new(faasmc())
        .env("FAASM_HOME", common::test_home())
        .arg("compile")
        .arg("-o")
        .arg(&cli)
        .arg(&wasm_path)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "faasmc compile {} failed",
        wasm_path.display()
    );
    vec![wasm_path, api, cli]
}

#[test]
fn hello_world() {
    let dir = examples();
    for guest in GUESTS {
        for file in forms(dir, guest) {
            faasm_run([&file]).assert_ok(0, "Hello, world!\n");
        }
    }
}

#[test]
fn arguments_and_environment() {
    let dir = examples();
    for guest in GUESTS {
        for file in forms(dir, guest) {
            let f = file.to_str().unwrap();
            faasm_run(["--env", "NAME=Faasm", f, "one", "--two", ""]).assert_ok(
                0,
                "Hello, Faasm!\nargv[1] = one\nargv[2] = --two\nargv[3] = \n",
            );
            // Arguments after FILE belong to the guest, even option-like ones.
            faasm_run([f, "--env", "NAME=x"])
                .assert_ok(0, "Hello, world!\nargv[1] = --env\nargv[2] = NAME=x\n");
        }
    }
}

#[test]
fn exit_status_is_the_process_status() {
    let dir = examples();
    for guest in GUESTS {
        for file in forms(dir, guest) {
            let run = faasm_run([file.as_os_str(), "exit".as_ref(), "3".as_ref()]);
            run.assert_ok(3, "Hello, world!\nargv[1] = exit\nargv[2] = 3\n");
            assert_eq!(run.stderr, "exiting with status 3\n", "{run:#?}");
            faasm_run([file.as_os_str(), "exit".as_ref(), "0".as_ref()])
                .assert_ok(0, "Hello, world!\nargv[1] = exit\nargv[2] = 0\n");
        }
    }
}
