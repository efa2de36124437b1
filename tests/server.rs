//! `faasm-run serve` end to end: a real server process on a free port,
//! with its own `$FAASM_HOME`, driven by a real HTTP client (ureq) and,
//! where a client must misbehave, by raw TCP.

mod common;

use common::{FAASM_RUN, faasm_run_in, scratch_dir, wat};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Guest imports used below.
const IMPORTS: &str = r#"
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
  (import "env" "__faasm_chain_name" (func $chain_name (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_await_call" (func $await (param i32) (result i32)))
  (import "env" "__faasm_write_state" (func $write_state (param i32 i32 i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
"#;

fn guest(body: &str) -> Vec<u8> {
    wat(&format!(
        "(module {IMPORTS} (memory (export \"memory\") 1) {body})"
    ))
}

/// Writes its input back.
const ECHO: &str = r#"
  (func (export "_start") (local $n i32)
    (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
    (drop (call $read_input (i32.const 1024) (local.get $n)))
    (call $write_output (i32.const 1024) (local.get $n)))"#;

/// Outputs "three" and exits with 3.
const EXIT3: &str = r#"
  (data (i32.const 0) "three")
  (func (export "_start")
    (call $write_output (i32.const 0) (i32.const 5))
    (call $exit (i32.const 3)))"#;

/// Outputs "partial", then traps.
const TRAP: &str = r#"
  (data (i32.const 0) "partial")
  (func (export "_start")
    (call $write_output (i32.const 0) (i32.const 7))
    unreachable)"#;

/// Sleeps for the milliseconds in its input (u32 LE), outputs "slept".
const SLEEP: &str = r#"
  (data (i32.const 600) "slept")
  (func (export "_start")
    (drop (call $read_input (i32.const 256) (i32.const 4)))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24)
      (i64.mul (i64.extend_i32_u (i32.load (i32.const 256))) (i64.const 1000000)))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (call $write_output (i32.const 600) (i32.const 5)))"#;

/// Never returns.
const SPIN: &str = r#"(func (export "_start") (loop $l (br $l)))"#;

/// Chains `echo` twice and awaits both.
const CHAIN: &str = r#"
  (data (i32.const 512) "echo\00")
  (func (export "_start")
    (drop (call $await (call $chain_name (i32.const 512) (i32.const 0) (i32.const 0))))
    (drop (call $await (call $chain_name (i32.const 512) (i32.const 0) (i32.const 0)))))"#;

/// Stores its input as state `saved`.
const SAVE: &str = r#"
  (data (i32.const 512) "saved\00")
  (func (export "_start") (local $n i32)
    (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
    (drop (call $read_input (i32.const 1024) (local.get $n)))
    (call $write_state (i32.const 512) (i32.const 1024) (local.get $n)))"#;

fn ms(n: u32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

/// A new token for `user` (the last line `token create` prints).
fn token(home: &Path, user: &str, admin: bool) -> String {
    let mut args = vec!["token", "create", user];
    if admin {
        args.push("--admin");
    }
    let run = faasm_run_in(home, &args, None);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let last = run.stdout.lines().last().unwrap().to_string();
    assert!(last.starts_with("faasm_") && last.len() == 70, "{last}");
    last
}

/// A running `faasm-run serve`, killed when dropped.
struct Server {
    child: Child,
    url: String,
    addr: String,
    log: PathBuf,
}

impl Server {
    fn start(home: &Path, extra: &[&str]) -> Server {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        std::fs::create_dir_all(home).unwrap();
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = home.join(format!("serve-{n}.log"));
        let mut child = Command::new(FAASM_RUN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("FAASM_HOME", home)
            .env("FAASM_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("cannot start faasm-run serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("faasm-run serve: listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "no address in {line:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        let addr = url.strip_prefix("http://").unwrap().to_string();
        Server {
            child,
            url,
            addr,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits for the process to exit; its status code.
    fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "server still running after {within:?}; log:\n{}",
            self.log()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply: status, the return-code header, body.
#[derive(Debug)]
struct Reply {
    status: u16,
    code: Option<i32>,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {self:?}"))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// `method path` with an optional token and body.
fn request(s: &Server, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Reply {
    let url = format!("{}{path}", s.url);
    let req = ureq::http::Request::builder().method(method).uri(&url);
    let req = match token {
        Some(t) => req.header("authorization", format!("Bearer {t}")),
        None => req,
    };
    let mut r = agent()
        .run(req.body(body.to_vec()).unwrap())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let code = r
        .headers()
        .get("x-faasm-return-code")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    Reply {
        status: r.status().as_u16(),
        code,
        body: r.body_mut().read_to_vec().unwrap(),
    }
}

/// Sends raw bytes on a new connection and reads until the server
/// closes it; `None` if the connection was reset instead.
fn raw(addr: &str, bytes: &[u8]) -> Option<String> {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(bytes).ok()?;
    let mut out = Vec::new();
    c.read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn status_of(reply: &str) -> u16 {
    reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {reply:?}"))
}

/// A metric's value (the first line that starts with `prefix`).
fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
}

fn upload(s: &Server, token: &str, user: &str, func: &str, wasm: &[u8]) {
    let r = request(
        s,
        "PUT",
        &format!("/v1/functions/{user}/{func}"),
        Some(token),
        wasm,
    );
    assert_eq!(r.status, 201, "{r:?}");
}

fn invoke(s: &Server, token: &str, user: &str, func: &str, input: &[u8]) -> Reply {
    let path = format!("/v1/functions/{user}/{func}/invoke");
    request(s, "POST", &path, Some(token), input)
}

/// Polls /metrics until no Faaslet is live and no worker is busy.
fn wait_idle(s: &Server, admin: &str) -> String {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let m = request(s, "GET", "/metrics", Some(admin), b"").text();
        // A worker counts as busy until its job has returned, a moment
        // after the reply went out: wait for both gauges.
        if metric(&m, "faasm_live_faaslets ") == 0.0 && metric(&m, "faasm_workers_busy ") == 0.0 {
            return m;
        }
        assert!(Instant::now() < until, "calls stuck in flight:\n{m}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_route_end_to_end() {
    let home = scratch_dir("serve-api");
    let alice = token(&home, "alice", false);
    let admin = token(&home, "root", true);
    let s = Server::start(&home, &["--timeout-ms", "400", "--workers", "2"]);

    assert_eq!(request(&s, "GET", "/healthz", None, b"").status, 200);
    for (f, g) in [
        ("echo", ECHO),
        ("exit3", EXIT3),
        ("trap", TRAP),
        ("spin", SPIN),
        ("chain", CHAIN),
        ("save", SAVE),
        ("sleep", SLEEP),
    ] {
        upload(&s, &alice, "alice", f, &guest(g));
    }
    let list = request(&s, "GET", "/v1/functions", Some(&alice), b"").json();
    assert_eq!(
        list["functions"],
        serde_json::json!([
            "alice/chain",
            "alice/echo",
            "alice/exit3",
            "alice/save",
            "alice/sleep",
            "alice/spin",
            "alice/trap"
        ])
    );

    // Output and return code.
    let r = invoke(&s, &alice, "alice", "echo", b"hello");
    assert_eq!(
        (r.status, r.code, r.text().as_str()),
        (200, Some(0), "hello")
    );
    let r = invoke(&s, &alice, "alice", "exit3", b"");
    assert_eq!(
        (r.status, r.code, r.text().as_str()),
        (200, Some(3), "three")
    );
    // A trap: 500 with the message and what it wrote before.
    let r = invoke(&s, &alice, "alice", "trap", b"");
    assert_eq!(r.status, 500, "{r:?}");
    let v = r.json();
    assert!(v["error"].as_str().unwrap().contains("unreachable"), "{v}");
    assert_eq!(v["printed"], "partial");
    // A timeout: 504.
    let t = Instant::now();
    let r = invoke(&s, &alice, "alice", "spin", b"");
    assert_eq!(r.status, 504, "{r:?}");
    assert!(r.json()["error"].as_str().unwrap().contains("timeout"));
    assert!(t.elapsed() < Duration::from_secs(5));
    // Unknown function, unknown route.
    let r = invoke(&s, &alice, "alice", "nope", b"");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.json()["error"], "unknown function alice/nope");
    assert_eq!(request(&s, "GET", "/v2/x", Some(&alice), b"").status, 404);

    // Async: 202 and an id; the call's status, then its result with the
    // ids of the calls it chained.
    let r = request(
        &s,
        "POST",
        "/v1/functions/alice/sleep/invoke?async=true",
        Some(&alice),
        &ms(150),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let id = r.json()["id"].as_u64().unwrap();
    let v = request(&s, "GET", &format!("/v1/calls/{id}"), Some(&alice), b"").json();
    assert!(
        ["queued", "running"].contains(&v["status"].as_str().unwrap()),
        "{v}"
    );
    let r = request(
        &s,
        "POST",
        "/v1/functions/alice/chain/invoke?async=true",
        Some(&alice),
        b"",
    );
    let chain_id = r.json()["id"].as_u64().unwrap();
    let done = |id: u64| loop {
        let v = request(&s, "GET", &format!("/v1/calls/{id}"), Some(&alice), b"").json();
        if v["status"] == "done" {
            return v;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let v = done(id);
    assert_eq!(
        (v["return_code"].as_i64(), v["output"].as_str()),
        (Some(0), Some("slept"))
    );
    let v = done(chain_id);
    let chained = v["chained"].as_array().unwrap();
    assert_eq!(chained.len(), 2, "{v}");
    assert!(
        chained.iter().all(|c| c.as_u64().unwrap() > chain_id),
        "{v}"
    );
    assert_eq!(
        request(&s, "GET", "/v1/calls/999999", Some(&alice), b"").status,
        404
    );

    // State: set from outside, read back; a function's write is visible.
    let r = request(&s, "PUT", "/v1/state/alice/k1", Some(&alice), b"value-1");
    assert_eq!(r.status, 204, "{r:?}");
    let r = request(&s, "GET", "/v1/state/alice/k1", Some(&alice), b"");
    assert_eq!((r.status, r.text().as_str()), (200, "value-1"));
    assert_eq!(
        request(&s, "GET", "/v1/state/alice/none", Some(&alice), b"").status,
        404
    );
    assert_eq!(
        invoke(&s, &alice, "alice", "save", b"from-guest").status,
        200
    );
    let r = request(&s, "GET", "/v1/state/alice/saved", Some(&alice), b"");
    assert_eq!(r.text(), "from-guest");

    // Metrics: calls by function and outcome, the histogram, gauges.
    let m = wait_idle(&s, &admin);
    for line in [
        "faasm_calls_total{user=\"alice\",function=\"echo\",outcome=\"ok\"} 1\n",
        "faasm_calls_total{user=\"alice\",function=\"exit3\",outcome=\"error\"} 1\n",
        "faasm_calls_total{user=\"alice\",function=\"trap\",outcome=\"failed\"} 1\n",
        "faasm_calls_total{user=\"alice\",function=\"spin\",outcome=\"timeout\"} 1\n",
        "faasm_workers 2\n",
    ] {
        assert!(m.contains(line), "{line} not in:\n{m}");
    }
    assert_eq!(metric(&m, "faasm_call_duration_seconds_count"), 7.0, "{m}");
    assert_eq!(
        metric(&m, "faasm_call_duration_seconds_bucket{le=\"+Inf\"}"),
        7.0
    );
    assert!(metric(&m, "faasm_warm_faaslets") >= 1.0, "{m}");
    assert!(metric(&m, "faasm_state_bytes") >= 17.0, "{m}");
    assert_eq!(metric(&m, "faasm_workers_busy"), 0.0);

    // Delete: gone from the list and from calls.
    let r = request(&s, "DELETE", "/v1/functions/alice/echo", Some(&alice), b"");
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(invoke(&s, &alice, "alice", "echo", b"x").status, 404);
    let r = request(&s, "DELETE", "/v1/functions/alice/echo", Some(&alice), b"");
    assert_eq!(r.status, 404, "{r:?}");
    // One log line per call, with its id, user/function, duration and
    // outcome.
    let log = s.log();
    let line = log
        .lines()
        .find(|l| l.contains("function=spin") && l.contains(" call "))
        .unwrap_or_else(|| panic!("no call line:\n{log}"));
    for field in [
        "call_id=",
        "user=alice",
        "duration_us=",
        "outcome=\"timeout\"",
    ] {
        assert!(line.contains(field), "{field} not in {line}");
    }
}

#[test]
fn tokens_reach_their_user_admins_reach_all() {
    let home = scratch_dir("serve-auth");
    let alice = token(&home, "alice", false);
    let bob = token(&home, "bob", false);
    let admin = token(&home, "root", true);
    let s = Server::start(&home, &[]);
    upload(&s, &alice, "alice", "echo", &guest(ECHO));
    upload(&s, &admin, "bob", "echo", &guest(ECHO));

    // 401: no token, malformed ones, an unknown one.
    let r = request(&s, "GET", "/v1/functions", None, b"");
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.json()["error"].as_str().unwrap().contains("missing"));
    let unknown = format!("faasm_{}", "ab".repeat(32));
    for bad in ["garbage", "faasm_123", &alice[..60], &unknown] {
        let r = request(
            &s,
            "POST",
            "/v1/functions/alice/echo/invoke",
            Some(bad),
            b"",
        );
        assert_eq!(r.status, 401, "{bad}: {r:?}");
    }
    let basic = raw(
        &s.addr,
        b"GET /v1/functions HTTP/1.1\r\nhost: x\r\nauthorization: Basic YTpi\r\nconnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(status_of(&basic), 401, "{basic}");

    // 403: another user's functions and state, the metrics.
    assert_eq!(invoke(&s, &alice, "bob", "echo", b"x").status, 403);
    assert_eq!(invoke(&s, &bob, "alice", "echo", b"x").status, 403);
    let r = request(
        &s,
        "PUT",
        "/v1/functions/bob/evil",
        Some(&alice),
        &guest(ECHO),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        request(&s, "DELETE", "/v1/functions/bob/echo", Some(&alice), b"").status,
        403
    );
    assert_eq!(
        request(&s, "PUT", "/v1/state/bob/k", Some(&alice), b"v").status,
        403
    );
    assert_eq!(
        request(&s, "GET", "/v1/state/bob/k", Some(&alice), b"").status,
        403
    );
    assert_eq!(
        request(&s, "GET", "/metrics", Some(&alice), b"").status,
        403
    );
    // Another user's async call reads as unknown.
    let r = request(
        &s,
        "POST",
        "/v1/functions/bob/echo/invoke?async=1",
        Some(&bob),
        b"",
    );
    let id = r.json()["id"].as_u64().unwrap();
    assert_eq!(
        request(&s, "GET", &format!("/v1/calls/{id}"), Some(&alice), b"").status,
        404
    );
    assert_eq!(
        request(&s, "GET", &format!("/v1/calls/{id}"), Some(&bob), b"").status,
        200
    );
    assert_eq!(
        request(&s, "GET", &format!("/v1/calls/{id}"), Some(&admin), b"").status,
        200
    );

    // Own functions only in the list; an admin sees all and reaches all.
    let l = request(&s, "GET", "/v1/functions", Some(&alice), b"").json();
    assert_eq!(l["functions"], serde_json::json!(["alice/echo"]));
    let l = request(&s, "GET", "/v1/functions", Some(&admin), b"").json();
    assert_eq!(
        l["functions"],
        serde_json::json!(["alice/echo", "bob/echo"])
    );
    assert_eq!(invoke(&s, &admin, "bob", "echo", b"hi").text(), "hi");
    assert_eq!(invoke(&s, &admin, "alice", "echo", b"hi").status, 200);
    assert_eq!(
        request(&s, "GET", "/metrics", Some(&admin), b"").status,
        200
    );

    // Revoked (by the token itself, and by id): 401 once the server's
    // refresh time has passed (it looks at the token file at most that
    // often; a request just before the revocation makes it look then).
    assert_eq!(invoke(&s, &alice, "alice", "echo", b"x").status, 200);
    let run = faasm_run_in(&home, &["token", "revoke", &alice], None);
    assert_eq!(run.code, Some(0), "{run:#?}");
    std::thread::sleep(faasm::server::auth::REFRESH);
    assert_eq!(invoke(&s, &alice, "alice", "echo", b"x").status, 401);
    let list = faasm_run_in(&home, &["token", "list"], None);
    let bob_id = list
        .stdout
        .lines()
        .find(|l| l.contains(" bob "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_string();
    assert!(!list.stdout.contains(&bob[6..]), "secrets are never listed");
    faasm_run_in(&home, &["token", "revoke", &bob_id], None)
        .assert_ok(0, &format!("revoked token {bob_id} of bob\n"));
    std::thread::sleep(faasm::server::auth::REFRESH);
    assert_eq!(invoke(&s, &bob, "bob", "echo", b"x").status, 401);
    faasm_run_in(&home, &["token", "revoke", &bob_id], None).assert_error("no token or token id");
    // Only hashes are stored.
    let file = std::fs::read_to_string(home.join("tokens")).unwrap();
    assert!(!file.contains(&admin[6..]));
}

#[test]
fn bad_input_is_refused_at_the_door() {
    let home = scratch_dir("serve-bad");
    let alice = token(&home, "alice", false);
    let s = Server::start(&home, &["--max-body", "65536"]);
    upload(&s, &alice, "alice", "echo", &guest(ECHO));
    // Not wasm: 400 with a JSON error; nothing stored.
    let r = request(
        &s,
        "PUT",
        "/v1/functions/alice/bad",
        Some(&alice),
        b"not wasm at all",
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("cannot compile")
    );
    let r = request(&s, "GET", "/v1/functions", Some(&alice), b"");
    assert_eq!(r.json()["functions"], serde_json::json!(["alice/echo"]));

    // A declared length over the limit: 413 before any body byte is sent.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        c,
        "PUT /v1/functions/alice/big HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {alice}\r\n\
         content-length: 100000000\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let n = c.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert_eq!(status_of(&head), 413, "{head}");
    // A streamed (chunked) body is cut at the limit, not buffered whole:
    // the 413 comes while the client is still sending.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        c,
        "POST /v1/functions/alice/echo/invoke HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {alice}\r\n\
         transfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'a'; 16384];
    for _ in 0..5 {
        // Writes may fail once the server has answered and closed.
        let sent = write!(c, "4000\r\n")
            .and_then(|()| c.write_all(&chunk))
            .and_then(|()| write!(c, "\r\n"));
        if sent.is_err() {
            break;
        }
    }
    // 80 KiB at most, no end chunk: the server can only answer by cutting.
    let n = c.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert_eq!(status_of(&head), 413, "{head}");

    // `..` and bad characters in names, sent raw (clients would
    // normalise them).
    for path in [
        "/v1/functions/alice/../invoke",
        "/v1/functions/../alice/echo/invoke",
        "/v1/functions/al%2e%2e/echo/invoke",
        "/v1/functions/alice/ec$ho/invoke",
        "/v1/state/alice/..",
    ] {
        let req = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {alice}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let reply = raw(&s.addr, req.as_bytes()).unwrap();
        assert_eq!(status_of(&reply), 400, "{path}: {reply}");
    }
    // Still healthy.
    assert_eq!(request(&s, "GET", "/healthz", None, b"").status, 200);
}

#[test]
fn slow_headers_are_cut_and_hangups_leak_nothing() {
    let home = scratch_dir("serve-slow");
    let alice = token(&home, "alice", false);
    let admin = token(&home, "root", true);
    let s = Server::start(&home, &["--header-timeout-ms", "300"]);
    upload(&s, &alice, "alice", "sleep", &guest(SLEEP));

    // Headers that never end: the connection is closed at the timeout.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );

    // A client that hangs up mid-call: the call still ends (its slot
    // freed, counted), and the server goes on serving.
    for _ in 0..3 {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        write!(
            c,
            "POST /v1/functions/alice/sleep/invoke HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {alice}\r\ncontent-length: 4\r\n\r\n"
        )
        .unwrap();
        c.write_all(&ms(300)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(c);
    }
    let m = request(&s, "GET", "/metrics", Some(&admin), b"").text();
    assert!(
        metric(&m, "faasm_live_faaslets ") > 0.0,
        "the calls run on:\n{m}"
    );
    let m = wait_idle(&s, &admin);
    assert!(
        m.contains("faasm_calls_total{user=\"alice\",function=\"sleep\",outcome=\"ok\"} 3\n"),
        "{m}"
    );
    let r = invoke(&s, &alice, "alice", "sleep", &ms(1));
    assert_eq!((r.status, r.text().as_str()), (200, "slept"));
}

#[test]
fn a_thousand_connections_are_served_or_refused() {
    let home = scratch_dir("serve-many");
    let alice = token(&home, "alice", false);
    let admin = token(&home, "root", true);
    let s = Server::start(
        &home,
        &["--max-connections", "400", "--max-calls-per-user", "32"],
    );
    upload(&s, &alice, "alice", "sleep", &guest(SLEEP));
    // Connections past the limit get 503 at once, before any request.
    let idle: Vec<TcpStream> = (0..400)
        .map(|_| TcpStream::connect(&s.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let reply = raw(&s.addr, b"").unwrap();
    assert_eq!(status_of(&reply), 503, "{reply}");
    drop(idle);
    std::thread::sleep(Duration::from_millis(100));
    let mut conns = Vec::new();
    let req = format!(
        "POST /v1/functions/alice/sleep/invoke HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {alice}\r\ncontent-length: 4\r\nconnection: close\r\n\r\n"
    );
    for _ in 0..1000 {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        c.write_all(req.as_bytes()).unwrap();
        c.write_all(&ms(400)).unwrap();
        conns.push(c);
    }
    let mut counts = std::collections::BTreeMap::new();
    for mut c in conns {
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        let reply = String::from_utf8_lossy(&out);
        *counts.entry(status_of(&reply)).or_insert(0) += 1;
    }
    let total: usize = counts.values().sum();
    assert_eq!(total, 1000);
    assert!(
        counts.keys().all(|k| [200, 429, 503].contains(k)),
        "{counts:?}"
    );
    assert!(counts.get(&200).copied().unwrap_or(0) >= 32, "{counts:?}");
    assert!(counts.get(&429).copied().unwrap_or(0) > 0, "{counts:?}");
    // Alive, nothing stuck, refusals counted.
    let m = wait_idle(&s, &admin);
    assert_eq!(
        metric(
            &m,
            "faasm_calls_total{user=\"alice\",function=\"sleep\",outcome=\"ok\"}"
        ),
        counts[&200] as f64
    );
    assert_eq!(
        metric(
            &m,
            "faasm_calls_total{user=\"alice\",function=\"sleep\",outcome=\"rejected\"}"
        ),
        counts[&429] as f64
    );
    assert_eq!(invoke(&s, &alice, "alice", "sleep", &ms(1)).status, 200);
}

#[test]
fn sigterm_lets_the_call_in_flight_finish() {
    let home = scratch_dir("serve-term");
    let alice = token(&home, "alice", false);
    let mut s = Server::start(&home, &["--grace-ms", "5000"]);
    upload(&s, &alice, "alice", "sleep", &guest(SLEEP));
    let (url, tok) = (s.url.clone(), alice.clone());
    let call = std::thread::spawn(move || {
        let mut r = agent()
            .post(format!("{url}/v1/functions/alice/sleep/invoke"))
            .header("authorization", format!("Bearer {tok}"))
            .send(&ms(600)[..])
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    });
    std::thread::sleep(Duration::from_millis(200));
    s.signal("-TERM");
    let t = Instant::now();
    assert_eq!(call.join().unwrap(), (200, "slept".to_string()));
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0), "{}", s.log());
    assert!(t.elapsed() < Duration::from_secs(5));
    // Not accepting any more.
    assert!(TcpStream::connect(&s.addr).is_err());
    assert!(s.log().contains("SIGTERM"), "{}", s.log());
}

#[test]
fn remote_upload_and_invoke_match_the_local_commands() {
    let home = scratch_dir("serve-remote");
    let dir = scratch_dir("serve-remote-files");
    let alice = token(&home, "alice", false);
    let s = Server::start(&home, &[]);
    let mut files = Vec::new();
    for (f, g) in [("echo", ECHO), ("exit3", EXIT3), ("trap", TRAP)] {
        let text = format!("(module {IMPORTS} (memory (export \"memory\") 1) {g})");
        let path = dir.join(format!("{f}.wat"));
        std::fs::write(&path, text).unwrap();
        files.push((f, path));
    }
    let remote = ["--remote", s.url.as_str(), "--token", alice.as_str()];
    for (f, path) in &files {
        let name = format!("alice/{f}");
        let p = path.to_str().unwrap();
        let r = faasm_run_in(
            &home,
            &[&["upload"], &remote[..], &[&name, p]].concat(),
            None,
        );
        let l = faasm_run_in(&home, &["upload", &name, p], None);
        // Same store, same paths: the same line.
        l.assert_ok(0, &r.stdout);
        assert!(
            r.stdout.starts_with(&format!("uploaded {name}: ")),
            "{r:#?}"
        );
    }
    let cases: [(&str, &[&str]); 5] = [
        ("alice/echo", &["--input", "hello"]),
        ("alice/exit3", &[]),
        ("alice/trap", &[]),
        ("alice/nope", &[]),
        ("bob/echo", &[]),
    ];
    for (name, extra) in cases {
        let r = faasm_run_in(
            &home,
            &[&["invoke"], &remote[..], &[name], extra].concat(),
            None,
        );
        let l = faasm_run_in(&home, &[&["invoke", name], extra].concat(), None);
        if name == "bob/echo" {
            // Not alice's: refused remotely (locally there is no such user).
            r.assert_error("does not reach user \"bob\"");
            continue;
        }
        assert_eq!(
            (r.code, &r.stdout, &r.stderr),
            (l.code, &l.stdout, &l.stderr),
            "{name}: remote {r:#?} local {l:#?}"
        );
    }
    // The exit status is the return code; the trap's line is the error.
    let r = faasm_run_in(
        &home,
        &[&["invoke"], &remote[..], &["alice/exit3"]].concat(),
        None,
    );
    r.assert_ok(3, "three");
    let r = faasm_run_in(
        &home,
        &[&["invoke"], &remote[..], &["alice/trap"]].concat(),
        None,
    );
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), "partial"));
    assert!(
        r.stderr.starts_with("faasm-run: error: alice/trap: "),
        "{r:#?}"
    );
    // A bad token is the command's error; local-only flags are refused.
    let r = faasm_run_in(
        &home,
        &["invoke", "--remote", &s.url, "--token", "x", "alice/echo"],
        None,
    );
    r.assert_error("malformed Authorization header");
    let r = faasm_run_in(
        &home,
        &[&["invoke"], &remote[..], &["--workers", "2", "alice/echo"]].concat(),
        None,
    );
    assert_eq!(r.code, Some(2), "{r:#?}");
}

#[test]
fn no_auth_only_on_loopback() {
    let home = scratch_dir("serve-noauth");
    let r = faasm_run_in(
        &home,
        &["serve", "--insecure-no-auth", "--listen", "0.0.0.0:0"],
        None,
    );
    r.assert_error("only allowed on a loopback address");
    let s = Server::start(&home, &["--insecure-no-auth"]);
    let r = request(&s, "PUT", "/v1/functions/anyone/echo", None, &guest(ECHO));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(request(&s, "GET", "/metrics", None, b"").status, 200);
    let r = request(
        &s,
        "POST",
        "/v1/functions/anyone/echo/invoke",
        None,
        b"open",
    );
    assert_eq!(r.text(), "open");
}

#[test]
fn profile_perfmap_names_the_served_functions() {
    let home = scratch_dir("serve-profile");
    let s = Server::start(&home, &["--insecure-no-auth", "--profile", "perfmap"]);
    let map = PathBuf::from(format!("/tmp/perf-{}.map", s.child.id()));
    // ECHO, in a named function.
    let body = r#"
      (func $echo_back (local $n i32)
        (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
        (drop (call $read_input (i32.const 1024) (local.get $n)))
        (call $write_output (i32.const 1024) (local.get $n)))
      (func (export "_start") (call $echo_back))"#;
    let r = request(&s, "PUT", "/v1/functions/anyone/prof", None, &guest(body));
    assert_eq!(r.status, 201, "{r:?}");
    let r = request(&s, "POST", "/v1/functions/anyone/prof/invoke", None, b"hi");
    assert_eq!(r.text(), "hi", "{r:?}");
    let text = std::fs::read_to_string(&map);
    let _ = std::fs::remove_file(&map);
    let text = text.unwrap_or_else(|e| panic!("{}: {e}", map.display()));
    // START SIZE NAME, in hex; the upload's compile and the call's load
    // each describe the module.
    let lines: Vec<_> = text
        .lines()
        .filter(|l| l.ends_with(" wasm[anyone/prof]::echo_back"))
        .collect();
    assert!(!lines.is_empty(), "{text}");
    for line in lines {
        let mut fields = line.split(' ');
        for _ in 0..2 {
            let field = fields.next().unwrap();
            assert!(u64::from_str_radix(field, 16).unwrap() > 0, "{line}");
        }
    }
}

#[test]
fn bench_http_runs_short_and_reports_both_targets() {
    let home = scratch_dir("serve-bench");
    let run = faasm_run_in(
        &home,
        &[
            "bench",
            "http",
            "--calls",
            "300",
            "--concurrency",
            "1,8",
            "--json",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let levels = v["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    for l in levels {
        for t in ["floor", "faasm"] {
            assert_eq!(l[t]["calls"], 300, "{l}");
            assert_eq!(l[t]["errors"], 0, "{l}");
            assert!(l[t]["calls_per_s"].as_f64().unwrap() > 0.0, "{l}");
            assert!(l[t]["p99_us"].as_f64().unwrap() >= l[t]["p50_us"].as_f64().unwrap());
        }
    }
}

#[test]
fn ctrl_c_stops_an_idle_server_cleanly() {
    let home = scratch_dir("serve-int");
    let mut s = Server::start(&home, &[]);
    assert_eq!(request(&s, "GET", "/healthz", None, b"").status, 200);
    s.signal("-INT");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0), "{}", s.log());
    assert!(s.log().contains("SIGINT"), "{}", s.log());
}

#[test]
fn the_readme_shows_every_route_with_curl() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Server: `faasm-run serve`")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Server section");
    let curls: Vec<&str> = section.lines().filter(|l| l.starts_with("curl ")).collect();
    for (method, path) in [
        ("PUT", "/v1/functions/alice/echo"),
        ("GET", "/v1/functions"),
        ("DELETE", "/v1/functions/alice/echo"),
        ("POST", "/v1/functions/alice/echo/invoke"),
        ("POST", "/invoke?async=true"),
        ("GET", "/v1/calls/"),
        ("PUT", "/v1/state/alice/"),
        ("GET", "/v1/state/alice/"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
    ] {
        let found = curls.iter().any(|l| {
            let explicit = l.contains(&format!("-X {method}"));
            // curl's own default: GET, or POST with a body.
            let implied = match method {
                "GET" => !l.contains("-X ") && !l.contains("--data"),
                "POST" => !l.contains("-X ") && l.contains("--data"),
                _ => false,
            };
            l.contains(path) && (explicit || implied)
        });
        assert!(found, "no curl example for {method} {path}");
    }
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml")).unwrap();
    for path in [
        "/healthz:",
        "/metrics:",
        "/v1/functions:",
        "/v1/functions/{user}/{func}:",
        "/v1/functions/{user}/{func}/invoke:",
        "/v1/calls/{id}:",
        "/v1/state/{user}/{key}:",
    ] {
        assert!(
            spec.contains(&format!("\n  {path}\n")),
            "{path} not in docs/openapi.yaml"
        );
    }
}

/// State set through one server is read through another that shares its
/// Redis global tier (Faasm's state upload, from outside).
#[test]
fn state_put_on_one_server_is_read_on_another_through_redis() {
    use faasm_hostif::faasm::global::testing::RedisServer;
    let redis = RedisServer::start("state_put_on_one_server_is_read_on_another_through_redis");
    let url = redis.url();
    let (home_a, home_b) = (scratch_dir("serve-redis-a"), scratch_dir("serve-redis-b"));
    let (ta, tb) = (
        token(&home_a, "alice", false),
        token(&home_b, "alice", false),
    );
    let a = Server::start(&home_a, &["--state-store", &url]);
    let b = Server::start(&home_b, &["--state-store", &url]);
    let r = request(
        &a,
        "PUT",
        "/v1/state/alice/weights",
        Some(&ta),
        &[7u8; 100_000],
    );
    assert_eq!(r.status, 204, "{r:?}");
    let r = request(&b, "GET", "/v1/state/alice/weights", Some(&tb), b"");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, vec![7u8; 100_000]);
    // Nothing of it in the embedded stores.
    assert!(!home_a.join("state").join("alice").exists());
}
