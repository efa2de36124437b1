//! Faasm-style functions in C and C++ against sdk/c (examples/c/{chain_demo,
//! state_demo,mmap_time}.c and examples/cpp/*.cpp, built by
//! examples/build.sh), run end to end: `faasm-run upload` then `invoke`,
//! each test with its own FAASM_HOME.

mod common;

use common::{Home, examples};

/// Chaining by name (Faasm's char ** output form), by pointer (the buffer
/// form and the size), and faasmChainBatch's success and failure.
#[test]
fn c_chaining_by_name_pointer_and_batch() {
    let dir = examples();
    let home = Home::new("demo-chain");
    home.upload("demo/echo", dir, "echo-c");
    home.upload("demo/chain_demo", dir, "chain_demo-c");
    home.assert_output(
        "demo/chain_demo",
        "",
        "name=by name(0) ptr=ptrptr(0,6) batch=0,3",
    );
}

/// Write, size, read, offsets, append, a file into state, a masked push
/// and the configuration flags, all from one C function; a second call
/// sees the values the first left.
#[test]
fn c_state_calls() {
    let dir = examples();
    let home = Home::new("demo-state");
    home.upload("demo/state_demo", dir, "state_demo-c");
    let want = "read=hello size=5\noffset=ello!!! size=8\nappended=abcde\n\
                file=from a file (11)\nmasked=WXYZ flag=1,0\n";
    home.assert_output("demo/state_demo", "", want.trim_end());
    home.assert_output("demo/state_demo", "", want.trim_end());
    // The file the function wrote is in the user's tree.
    let file = home.0.join("users/demo/fs/state_demo.txt");
    assert_eq!(std::fs::read_to_string(file).unwrap(), "from a file");
}

#[test]
fn c_mmap_and_clocks() {
    let dir = examples();
    let home = Home::new("demo-mmap");
    home.upload("demo/mmap_time", dir, "mmap_time-c");
    home.assert_output("demo/mmap_time", "", "mmap=ok reuse=ok time=ok");
}

/// C++: iostreams, the STL, `new` and libfaasm's input helper.
#[test]
fn cpp_hello_uses_the_stl_and_iostreams() {
    let dir = examples();
    let home = Home::new("demo-cpp-hello");
    home.upload("demo/hello", dir, "hello-cpp");
    home.assert_output(
        "demo/hello",
        "",
        "Hello, world!\n1 words, 1 distinct, longest world",
    );
    home.assert_output(
        "demo/hello",
        "to be or not to be",
        "Hello, to be or not to be!\n6 words, 4 distinct, longest not",
    );
}

/// Faasm's echo in C++: bytes in, the same bytes out.
#[test]
fn cpp_echo() {
    let dir = examples();
    let home = Home::new("demo-cpp-echo");
    home.upload("demo/echo", dir, "echo-cpp");
    home.assert_output("demo/echo", "bytes in, bytes out", "bytes in, bytes out");
    home.assert_output("demo/echo", "", "Nothing to echo");
}

/// State from C++: whole value, size, a mapped pointer written in place,
/// an offset read and appended entries; the same on every call.
#[test]
fn cpp_state_calls() {
    let dir = examples();
    let home = Home::new("demo-cpp-state");
    home.upload("demo/state", dir, "state-cpp");
    let want = "size=64 sum=28 mapped=1007 slice=5,6,1007 log=2:first,second";
    home.assert_output("demo/state", "", want);
    home.assert_output("demo/state", "", want);
}

/// A C++ global constructor and FAASM_ZYGOTE run once, when the snapshot
/// is taken; every call starts from it (its own writes are gone next time).
#[test]
fn cpp_zygote_and_constructors_run_once() {
    let dir = examples();
    let home = Home::new("demo-cpp-zygote");
    home.upload("demo/zygote", dir, "zygote-cpp");
    let want = "ctor=1 zygote=1 calls=1 squares[999]=998001 names=static,call";
    for _ in 0..3 {
        home.assert_output("demo/zygote", "", want);
    }
    let log = home.0.join("users/demo/fs/zygote-cpp.log");
    assert_eq!(std::fs::read_to_string(log).unwrap(), "zygote\n");
}

/// fstreams, a directory listing, rename and remove in the user's tree.
#[test]
fn cpp_file_io() {
    let dir = examples();
    let home = Home::new("demo-cpp-files");
    home.upload("demo/files", dir, "files-cpp");
    let want = "read=hi! list=a.txt,last.txt renamed=hi! gone=1";
    home.assert_output("demo/files", "hi", want);
    home.assert_output("demo/files", "hi", want);
    let notes = home.0.join("users/demo/fs/notes");
    assert_eq!(
        std::fs::read_to_string(notes.join("last.txt")).unwrap(),
        "hi"
    );
    assert!(!notes.join("a.txt").exists() && !notes.join("b.txt").exists());
}

/// Faasm's mmap host call and std::chrono's clocks from C++.
#[test]
fn cpp_mmap_and_clocks() {
    let dir = examples();
    let home = Home::new("demo-cpp-mmap");
    home.upload("demo/mmap_time", dir, "mmap_time-cpp");
    home.assert_output(
        "demo/mmap_time",
        "",
        "mmap=ok sum=2096128 steady=ok system=ok",
    );
}

/// Faasm's own C++ idiom: const char * outputs, char ** / int * awaits.
#[test]
fn cpp_chain_output_as_faasm_writes_it() {
    let dir = examples();
    let home = Home::new("demo-cpp-chain");
    home.upload("demo/chain", dir, "chain-cpp");
    home.assert_output("demo/chain", "", "A=expected A B=longer expected B");
}

#[test]
fn cpp_helper_headers() {
    let dir = examples();
    let home = Home::new("demo-cpp-helpers");
    home.upload("demo/helpers", dir, "helpers-cpp");
    home.assert_output(
        "demo/helpers",
        "",
        "parsed equal: 1\n[3, 1, 2]\n[0, 1, 2, 3, 4]\nrandom in range: 1\n\
         random string: 7\nepoch ok: 1\nfile: file text (9)",
    );
    // Another list: the comparison against {3, 1, 2} fails and says where.
    let run = home.run(&["invoke", "demo/helpers", "--input", "3 5 2"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(
        run.stdout
            .starts_with("arrays differ at index 1:\n[3, 5, 2]\n[3, 1, 2]\nparsed equal: 0\n"),
        "{run:#?}"
    );
}

/// A `throw` ends the call with return code 1 and a message naming the
/// exception; without it the function runs normally.
#[test]
fn cpp_throw_ends_the_call_with_a_clear_message() {
    let dir = examples();
    let home = Home::new("demo-cpp-throw");
    home.upload("demo/throw", dir, "throw-cpp");
    home.assert_output("demo/throw", "calm", "no throw");
    let run = home.run(&["invoke", "demo/throw", "--input", "throw"]);
    assert_eq!(run.signal, None, "{run:#?}");
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains(
            "uncaught C++ exception of type std::runtime_error: exceptions are not supported"
        ),
        "{run:#?}"
    );
    assert!(run.stderr.contains("trap"), "{run:#?}");
}
