//! The global state tier through `faasm-run`, process by process: the
//! store chosen with `--state-store` / `FAASM_STATE_STORE`, Redis down at
//! start, the counter counting across processes on Redis, and two
//! processes writing the embedded store at once.

mod common;

use common::{FAASM_RUN, Run, scratch_dir};
use faasm_hostif::faasm::global::testing::RedisServer;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Increments state "count" (4 bytes LE) under the write lock (which also
/// takes the global tier's) and outputs the new value.
const COUNTER: &str = r#"(module
  (import "env" "__faasm_read_state" (func $read_state (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_write_state" (func $write_state (param i32 i32 i32)))
  (import "env" "__faasm_lock_state_write" (func $lock_write (param i32)))
  (import "env" "__faasm_unlock_state_write" (func $unlock_write (param i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "count\00")
  (func (export "_start")
    (call $lock_write (i32.const 0))
    (drop (call $read_state (i32.const 0) (i32.const 16) (i32.const 4)))
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (call $write_state (i32.const 0) (i32.const 16) (i32.const 4))
    (call $unlock_write (i32.const 0))
    (call $write_output (i32.const 16) (i32.const 4))))"#;

/// Writes "big" (128 KiB, two chunks, every byte the input's first) 20
/// times, alternately whole and by one offset write of both chunks.
const WRITER: &str = r#"(module
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_state" (func $write_state (param i32 i32 i32)))
  (import "env" "__faasm_write_state_offset" (func $write_offset (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "big\00")
  (func (export "_start") (local $i i32)
    (drop (call $read_input (i32.const 16) (i32.const 1)))
    (memory.fill (i32.const 65536) (i32.load8_u (i32.const 16)) (i32.const 131072))
    (loop $l
      (call $write_state (i32.const 0) (i32.const 65536) (i32.const 131072))
      (call $write_offset (i32.const 0) (i32.const 131072) (i32.const 0)
        (i32.const 65536) (i32.const 131072))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20))))))"#;

/// Reads "big" and outputs its first byte if all 128 KiB are that byte,
/// else "torn" (or "size" for another length).
const READER: &str = r#"(module
  (import "env" "__faasm_read_state" (func $read_state (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "big\00")
  (data (i32.const 32) "torn")
  (data (i32.const 48) "size")
  (func (export "_start") (local $i i32)
    (if (i32.ne (call $read_state (i32.const 0) (i32.const 65536) (i32.const 131072))
                (i32.const 131072))
      (then (call $write_output (i32.const 48) (i32.const 4)) (return)))
    (local.set $i (i32.const 1))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const 131072)))
      (if (i32.ne (i32.load8_u (i32.add (i32.const 65536) (local.get $i)))
                  (i32.load8_u (i32.const 65536)))
        (then (call $write_output (i32.const 32) (i32.const 4)) (return)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (call $write_output (i32.const 65536) (i32.const 1))))"#;

/// A function store of its own, with the state store `url` (none: the
/// embedded one) passed as `--state-store` to every invoke.
struct Home {
    dir: PathBuf,
    url: Option<String>,
}

impl Home {
    fn new(name: &str, url: Option<String>) -> Home {
        Home {
            dir: scratch_dir(name),
            url,
        }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Command::new(FAASM_RUN)
            .args(args)
            .env("FAASM_HOME", &self.dir)
            .env_remove("FAASM_STATE_STORE")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("cannot start faasm-run")
            .into()
    }

    fn upload(&self, function: &str, wat: &str) {
        let file = self.dir.join(format!("{}.wat", function.replace('/', "-")));
        std::fs::create_dir_all(&self.dir).unwrap();
        std::fs::write(&file, wat).unwrap();
        let run = self.run(&["upload", function, file.to_str().unwrap()], &[]);
        assert_eq!(run.code, Some(0), "upload {function}: {run:#?}");
    }

    fn invoke(&self, function: &str, input: &str) -> Run {
        let mut args = vec!["invoke", function, "--input", input];
        if let Some(url) = &self.url {
            args.extend(["--state-store", url]);
        }
        self.run(&args, &[])
    }

    fn count(&self) -> u32 {
        let run = self.invoke("demo/counter", "");
        assert_eq!(run.code, Some(0), "{run:#?}");
        let bytes: [u8; 4] = run.stdout.as_bytes().try_into().expect("4 bytes");
        u32::from_le_bytes(bytes)
    }

    fn embedded_state(&self) -> PathBuf {
        self.dir.join("state")
    }
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn exists(p: &Path) -> bool {
    p.exists()
}

/// Redis asked for and not there, by flag or by environment: one clear
/// error line, status 1, and the embedded store is not used instead.
#[test]
fn redis_down_at_start_is_an_error_not_the_embedded_store() {
    let url = format!("redis://127.0.0.1:{}", unused_port());
    let home = Home::new("state-down", Some(url.clone()));
    home.upload("demo/counter", COUNTER);
    let want = format!("state store {url}: cannot connect");
    home.invoke("demo/counter", "").assert_error(&want);
    let by_env = Home {
        dir: home.dir.clone(),
        url: None,
    };
    by_env
        .run(
            &["invoke", "demo/counter"],
            &[("FAASM_STATE_STORE", url.as_str())],
        )
        .assert_error(&want);
    // upload builds an executor too.
    let file = home.dir.join("demo-counter.wat");
    home.run(
        &[
            "upload",
            "demo/again",
            file.to_str().unwrap(),
            "--state-store",
            &url,
        ],
        &[],
    )
    .assert_error(&want);
    assert!(!exists(&home.embedded_state().join("demo")));
    home.run(
        &["invoke", "demo/counter", "--state-store", "memcached://x"],
        &[],
    )
    .assert_error("expected redis://HOST:PORT");
}

/// On Redis, separate processes count 1, 2, 3, and two processes
/// incrementing at once lose nothing; nothing lands in the embedded store.
#[test]
fn counter_counts_across_processes_on_redis() {
    let server = RedisServer::start("counter_counts_across_processes_on_redis");
    let home = Home::new("state-redis-counter", Some(server.url()));
    home.upload("demo/counter", COUNTER);
    for n in 1..=3 {
        assert_eq!(home.count(), n);
    }
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..5 {
                    home.count();
                }
            });
        }
    });
    assert_eq!(home.count(), 14);
    assert!(!exists(&home.embedded_state().join("demo")));
    // The same store named by the environment instead.
    let by_env = Home {
        dir: home.dir.clone(),
        url: None,
    };
    let url = server.url();
    let run = by_env.run(
        &["invoke", "demo/counter"],
        &[("FAASM_STATE_STORE", url.as_str())],
    );
    assert_eq!(run.stdout.as_bytes(), 15u32.to_le_bytes(), "{run:#?}");
}

/// Two processes write a two-chunk value of the embedded store at once
/// (whole and by offset), while a third reads it: every read, and the
/// final value, is one writer's whole value.
#[test]
fn two_processes_writing_the_embedded_store_at_once() {
    let home = Home::new("state-embedded-writers", None);
    home.upload("demo/writer", WRITER);
    home.upload("demo/reader", READER);
    let outputs = std::thread::scope(|s| {
        for input in ["a", "b"] {
            let home = &home;
            s.spawn(move || {
                let run = home.invoke("demo/writer", input);
                assert_eq!(run.code, Some(0), "{run:#?}");
            });
        }
        let reader = s.spawn(|| {
            (0..10)
                .map(|_| home.invoke("demo/reader", "").stdout)
                .collect::<Vec<_>>()
        });
        reader.join().unwrap()
    });
    for out in outputs {
        assert!(["a", "b", "size"].contains(&out.as_str()), "read {out:?}");
    }
    let last = home.invoke("demo/reader", "").stdout;
    assert!(["a", "b"].contains(&last.as_str()), "final value {last:?}");
}

/// The embedded store, counting the bytes of values it hands out.
#[derive(Debug)]
struct Counting {
    inner: faasm_hostif::faasm::EmbeddedStore,
    fetched: std::sync::atomic::AtomicUsize,
}

mod counting {
    use super::Counting;
    use faasm_hostif::faasm::global::{GlobalLock, LockMode, Ranges};
    use faasm_hostif::faasm::{GlobalError, GlobalStore};
    use std::ops::Range;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    type D = Option<Instant>;

    impl GlobalStore for Counting {
        fn get(&self, u: &str, k: &str, d: D) -> Result<Option<Vec<u8>>, GlobalError> {
            let v = self.inner.get(u, k, d)?;
            let n = v.as_ref().map_or(0, Vec::len);
            self.fetched.fetch_add(n, Ordering::SeqCst);
            Ok(v)
        }
        fn set(&self, u: &str, k: &str, v: &[u8], d: D) -> Result<(), GlobalError> {
            self.inner.set(u, k, v, d)
        }
        fn get_ranges(
            &self,
            u: &str,
            k: &str,
            r: &[Range<usize>],
            d: D,
        ) -> Result<Option<Ranges>, GlobalError> {
            let got = self.inner.get_ranges(u, k, r, d)?;
            let n = got
                .as_ref()
                .map_or(0, |(_, parts)| parts.iter().map(Vec::len).sum());
            self.fetched.fetch_add(n, Ordering::SeqCst);
            Ok(got)
        }
        fn set_ranges(
            &self,
            u: &str,
            k: &str,
            w: &[(usize, &[u8])],
            d: D,
        ) -> Result<(), GlobalError> {
            self.inner.set_ranges(u, k, w, d)
        }
        fn append(&self, u: &str, k: &str, e: &[u8], d: D) -> Result<(), GlobalError> {
            self.inner.append(u, k, e, d)
        }
        fn appended(&self, u: &str, k: &str, n: usize, d: D) -> Result<Vec<Vec<u8>>, GlobalError> {
            self.inner.appended(u, k, n, d)
        }
        fn clear_appended(&self, u: &str, k: &str, d: D) -> Result<(), GlobalError> {
            self.inner.clear_appended(u, k, d)
        }
        fn lock(
            &self,
            u: &str,
            k: &str,
            m: LockMode,
            d: D,
        ) -> Result<Box<dyn GlobalLock>, GlobalError> {
            self.inner.lock(u, k, m, d)
        }
    }
}

#[test]
fn offset_pointer_reads_fetch_only_the_chunks_they_touch() {
    use faasm::executor::{Executor, ExecutorConfig, FunctionStore};
    use faasm_hostif::faasm::GlobalStore;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    const CHUNK: usize = faasm_hostif::faasm::global::CHUNK;
    let home = scratch_dir("state-offset-ptr");
    let global = Arc::new(Counting {
        inner: faasm_hostif::faasm::EmbeddedStore::new(home.join("state")),
        fetched: Default::default(),
    });
    let value: Vec<u8> = (0..8 * CHUNK).map(|i| (i % 251) as u8).collect();
    global.set("alice", "big", &value, None).unwrap();
    let exec = Executor::with_global_state(
        FunctionStore::new(&home),
        ExecutorConfig::default(),
        global.clone(),
    );
    // Input: a flag. Maps 10 bytes of chunk 3 and outputs them; with the
    // flag, then maps the whole value (same Faaslet, same region) and
    // outputs all of it instead.
    let total = 8 * CHUNK;
    let at = 3 * CHUNK + 10;
    let reader = common::wat(&format!(
        r#"(module
      (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
      (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
      (import "env" "__faasm_read_state_offset_ptr" (func $offset_ptr (param i32 i32 i32 i32) (result i32)))
      (import "env" "__faasm_read_state_ptr" (func $ptr (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "big\00")
      (func (export "_start") (local $p i32)
        (drop (call $read_input (i32.const 16) (i32.const 1)))
        (local.set $p (call $offset_ptr (i32.const 0) (i32.const {total}) (i32.const {at}) (i32.const 10)))
        (if (i32.eqz (i32.load8_u (i32.const 16)))
          (then (call $write_output (local.get $p) (i32.const 10)) (return)))
        (call $write_output (call $ptr (i32.const 0) (i32.const {total})) (i32.const {total}))))"#
    ));
    exec.upload("alice", "reader", &reader).unwrap();
    let r = exec.invoke("alice", "reader", vec![0]);
    assert_eq!(
        r.output,
        value[at..at + 10],
        "{}",
        String::from_utf8_lossy(&r.output)
    );
    assert_eq!(
        global.fetched.load(Ordering::SeqCst),
        CHUNK,
        "one chunk fetched"
    );
    // A whole read in the same Faaslet fetches the other seven, once.
    let r = exec.invoke("alice", "reader", vec![1]);
    assert!(
        r.output == value,
        "{}",
        String::from_utf8_lossy(&r.output[..64.min(r.output.len())])
    );
    assert_eq!(global.fetched.load(Ordering::SeqCst), 8 * CHUNK);
}
