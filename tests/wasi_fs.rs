//! Guests using files through `faasm-run --dir`: examples/c/files.c
//! (wasi-libc) and a small Rust std program, both built with real
//! toolchains, run against scratch directories, and both unable to reach
//! a host file outside the directory they were given.

mod common;

use common::{
    artifact, faasm_run, install_toolchain, required_guests, run_checked, scratch_dir, write,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A Rust std guest: the same kind of work through std::fs.
const RUST_GUEST: &str = r#"
use std::io::{Read, Seek, SeekFrom, Write};
fn main() {
    let dir = std::env::args().nth(1).expect("DIR");
    let p = |n: &str| format!("{dir}/{n}");
    std::fs::write(p("r.txt"), "from rust\n").unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(p("r.txt")).unwrap();
    f.write_all(b"appended\n").unwrap();
    let mut f = std::fs::File::open(p("r.txt")).unwrap();
    f.seek(SeekFrom::Start(5)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    print!("tail: {s}");
    std::fs::create_dir_all(p("x/y")).unwrap();
    std::fs::rename(p("r.txt"), p("x/y/r.txt")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    println!("entries: {names:?}");
    println!("size: {}", std::fs::metadata(p("x/y/r.txt")).unwrap().len());
    std::fs::remove_dir_all(p("x")).unwrap();
    println!("gone: {}", !std::path::Path::new(&p("x")).exists());
    for bad in [p("../outside.txt"), p("link-out"), "/etc/passwd".to_string()] {
        match std::fs::read_to_string(&bad) {
            Ok(_) => { println!("ESCAPED: {bad}"); std::process::exit(1) }
            Err(_) => println!("refused"),
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(10));
    println!("done");
}
"#;

/// `files-c.wasm` and `files-rust.wasm`, built once per test binary (a
/// missing toolchain fails the test).
fn guests() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasi-fs-guests");
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        install_toolchain()?;
        run_checked(
            Command::new("clang")
                .args(["--target=wasm32-wasi", "-O2", "-Wall", "-Werror"])
                .arg(root.join("examples/c/files.c"))
                .arg("-o")
                .arg(out.join("files-c.wasm")),
        )?;
        let src = out.join("files_rust.rs");
        std::fs::write(&src, RUST_GUEST).map_err(|e| e.to_string())?;
        run_checked(
            Command::new("rustc")
                .args(["--edition", "2021", "-O", "--target", "wasm32-wasip1"])
                .arg(&src)
                .arg("-o")
                .arg(out.join("files-rust.wasm")),
        )?;
        Ok(out)
    });
    required_guests("file example", built)
}

/// A sandbox `root` inside a scratch dir whose parent holds a secret, with
/// a symlink in the sandbox pointing at it.
fn sandbox(name: &str) -> (PathBuf, PathBuf) {
    let outer = scratch_dir(name);
    std::fs::write(outer.join("outside.txt"), "secret").unwrap();
    let root = outer.join("root");
    std::fs::create_dir(&root).unwrap();
    std::os::unix::fs::symlink("../outside.txt", root.join("link-out")).unwrap();
    (outer, root)
}

const C_OUTPUT: &str = "\
read: hello files
at 6: files (size 17)
entry: a.txt (file)
entry: link-out (link)
entry: sub (dir)
renamed: c.txt has 17 bytes
slept: yes
escape refused: Capabilities insufficient
escape refused: Capabilities insufficient
escape refused: Capabilities insufficient
entry: kept.txt (file)
entry: link-out (link)
";

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn c_guest_uses_files_and_cannot_escape() {
    let dir = guests();
    let wasm = dir.join("files-c.wasm");
    let scratch = scratch_dir("files-c-artifact");
    let faasm = write(
        &scratch,
        "files.faasm",
        &artifact(&std::fs::read(&wasm).unwrap()),
    );
    for file in [wasm, faasm] {
        let (outer, root) = sandbox("files-c");
        let spec = format!("{}::/data", root.display());
        faasm_run(["--dir", &spec, file.to_str().unwrap(), "/data"]).assert_ok(0, C_OUTPUT);
        assert_eq!(names(&root), ["kept.txt", "link-out"]);
        assert_eq!(
            std::fs::read_to_string(root.join("kept.txt")).unwrap(),
            "kept\n"
        );
        assert_eq!(names(&outer), ["outside.txt", "root"]);
        assert_eq!(
            std::fs::read_to_string(outer.join("outside.txt")).unwrap(),
            "secret"
        );
    }
}

#[test]
fn guest_name_defaults_to_the_host_path() {
    let dir = guests();
    let (_outer, root) = sandbox("files-default");
    let host = root.to_str().unwrap();
    let wasm = dir.join("files-c.wasm");
    faasm_run(["--dir", host, wasm.to_str().unwrap(), host]).assert_ok(0, C_OUTPUT);
    assert_eq!(names(&root), ["kept.txt", "link-out"]);
}

#[test]
fn rust_guest_uses_std_fs() {
    let dir = guests();
    let (outer, root) = sandbox("files-rust");
    let spec = format!("{}::/work", root.display());
    let wasm = dir.join("files-rust.wasm");
    faasm_run(["--dir", &spec, wasm.to_str().unwrap(), "/work"]).assert_ok(
        0,
        "tail: rust\nappended\n\
         entries: [\"link-out\", \"x\"]\n\
         size: 19\ngone: true\nrefused\nrefused\nrefused\ndone\n",
    );
    assert_eq!(names(&root), ["link-out"]);
    assert_eq!(names(&outer), ["outside.txt", "root"]);
}

#[test]
fn without_dir_there_are_no_files() {
    let dir = guests();
    let run = faasm_run([dir.join("files-c.wasm").to_str().unwrap(), "/data"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stdout.starts_with("FAILED: a.txt: "), "{run:#?}");
}

#[test]
fn a_missing_host_dir_is_one_error_line() {
    let missing = scratch_dir("files-missing").join("nope");
    let spec = format!("{}::/data", missing.display());
    faasm_run(["--dir", &spec, "demo"]).assert_error("cannot use host directory");
    let file = write(&scratch_dir("files-notdir"), "f", b"x");
    faasm_run(["--dir", file.to_str().unwrap(), "demo"]).assert_error("not a directory");
    // An empty HOST is a usage error.
    let run = faasm_run(["--dir", "::/x", "demo"]);
    assert_eq!(run.code, Some(2), "{run:#?}");
}
