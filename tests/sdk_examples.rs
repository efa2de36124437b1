//! The SDK examples (examples/c/{echo,counter,pi,pi_ptr}.c and
//! examples/{echo,counter,pi}-rust) run as functions through the executor:
//! `faasm-run upload user/func FILE.wasm`, then `faasm-run invoke user/func
//! --input TEXT`, each test with its own temporary FAASM_HOME. The guests
//! come from examples/build.sh (see `common::examples`).

mod common;

use common::{Home, examples};

#[test]
fn echo_returns_its_input() {
    let dir = examples();
    let home = Home::new("sdk-echo");
    for guest in ["echo-c", "echo-rust"] {
        let function = format!("demo/{guest}");
        home.upload(&function, dir, guest);
        home.invoke(&function, "hello, faasm")
            .assert_output("hello, faasm");
        home.invoke(&function, "  spaces and ünïcode  ")
            .assert_output("  spaces and ünïcode  ");
        home.invoke(&function, "").assert_output("");
    }
}

/// State persists in the installation's global tier (embedded, under
/// `$FAASM_HOME/state`): separate `faasm-run invoke` processes count 1, 2,
/// 3, and two processes incrementing at once lose no increment (the write
/// lock holds across processes).
#[test]
fn counter_counts_across_processes() {
    let dir = examples();
    for guest in ["counter-c", "counter-rust"] {
        let home = Home::new("sdk-counter");
        let function = format!("demo/{guest}");
        home.upload(&function, dir, guest);
        for n in 1..=3 {
            home.invoke(&function, "").assert_output(&n.to_string());
        }
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..10 {
                        let run = home.invoke(&function, "");
                        assert_eq!(run.code, Some(0), "{run:#?}");
                    }
                });
            }
        });
        home.invoke(&function, "").assert_output("24");
    }
}

/// Fan-out/fan-in: pi by name (C and Rust) and by function pointer (C). The
/// three share their generator and sampling, so for the same N they print
/// exactly the same estimate.
#[test]
fn pi_fans_out_and_in() {
    let dir = examples();
    let home = Home::new("sdk-pi");
    // Different users, so both can be `pi` (the default worker name).
    home.upload("c/pi", dir, "pi-c");
    home.upload("rust/pi", dir, "pi-rust");
    home.upload("c/pi_ptr", dir, "pi_ptr-c");

    let mut estimates = Vec::new();
    for function in ["c/pi", "rust/pi", "c/pi_ptr"] {
        for input in ["", "10", "25"] {
            let run = home.invoke(function, input);
            assert_eq!(run.code, Some(0), "{function} {input:?}: {run:#?}");
            let text = run.output();
            assert_eq!(
                text.split_once('.').map(|(_, decimals)| decimals.len()),
                Some(3),
                "{function}: want 3 decimals, got {text:?}"
            );
            let pi: f64 = text
                .parse()
                .unwrap_or_else(|_| panic!("{function}: {run:#?}"));
            assert!(
                (pi - std::f64::consts::PI).abs() < 0.2,
                "{function} {input:?}: {pi} is not close to pi"
            );
            estimates.push((function, input, text.to_string()));
        }
    }
    for input in ["", "10", "25"] {
        let same: Vec<_> = estimates.iter().filter(|(_, i, _)| *i == input).collect();
        assert!(
            same.iter().all(|(_, _, e)| *e == same[0].2),
            "the estimates for {input:?} differ: {same:?}"
        );
    }
}

/// A worker that cannot run (an unknown function name) fails its call; the
/// driver sees the non-zero return code and fails in turn, saying which.
#[test]
fn pi_reports_a_failed_worker() {
    let dir = examples();
    let home = Home::new("sdk-pi-fail");
    for (function, guest) in [("c/pi", "pi-c"), ("rust/pi", "pi-rust")] {
        home.upload(function, dir, guest);
        let run = home.invoke(function, "3 no-such-function");
        assert_eq!(run.signal, None, "{run:#?}");
        assert_eq!(run.code, Some(1), "{run:#?}");
        // The failed call's output may go to stdout or stderr.
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(
            said.contains("pi: worker 1 failed (1)"),
            "{function}: {run:#?}"
        );
        // Bad input is the function's own error, not a trap.
        let run = home.invoke(function, "many");
        assert_eq!(run.code, Some(1), "{run:#?}");
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(said.contains("the input must be"), "{run:#?}");
    }
}

/// FAASM_ZYGOTE runs once, at snapshot time: every call sees it ran once and
/// is the first call (nothing one call writes reaches the next). Without
/// snapshots the same holds (it runs per fresh Faaslet). Plain runs of a
/// module, with no snapshot, are `sdk_abi`'s entry-point test.
#[test]
fn the_zygote_runs_once_and_calls_start_from_it() {
    let dir = examples();
    let home = Home::new("sdk-zygote");
    home.upload("demo/zygote", dir, "zygote-c");
    assert!(home.0.join("functions/demo/zygote/function.snap").is_file());
    for _ in 0..3 {
        home.invoke("demo/zygote", "")
            .assert_output("zygote ran 1 time(s), call 1");
    }
    // Once, at upload: not in any of the three calls.
    let log = home.0.join("users/demo/fs/zygote.log");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "zygote\n");
    let run = home.run(&["invoke", "--no-snapshots", "demo/zygote", "--input", ""]);
    run.assert_output("zygote ran 1 time(s), call 1");
}
