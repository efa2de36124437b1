//! One suite, run against both backends (`both!` makes an `embedded` and
//! a `redis` test of each case), then the Redis faults: down at start,
//! restarted mid-run, a dead lock holder.

// Lists of one byte range are what the range calls take.
#![allow(clippy::single_range_in_vec_init)]

use super::testing::RedisServer;
use super::*;
use crate::faasm::{FaasmError, StateStore};
use std::ops::Range;
use std::sync::Mutex;
use std::time::Duration;

/// A backend under test: `open` makes another handle on the same store,
/// as another process would.
struct Backend {
    open: Box<dyn Fn() -> Arc<dyn GlobalStore>>,
    _server: Option<RedisServer>,
}

fn embedded(test: &str) -> Backend {
    let dir = faasm_testutil::scratch_dir(&format!("global-{test}"));
    Backend {
        open: Box::new(move || Arc::new(EmbeddedStore::new(dir.clone()))),
        _server: None,
    }
}

fn redis_with(test: &str, opts: RedisOptions) -> Backend {
    let server = RedisServer::start(test);
    let url = server.url();
    Backend {
        open: Box::new(move || Arc::new(RedisStore::connect(&url, opts.clone()).unwrap())),
        _server: Some(server),
    }
}

fn redis(test: &str) -> Backend {
    redis_with(test, RedisOptions::default())
}

macro_rules! both {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn embedded() {
                super::$case(&super::embedded(stringify!($case)));
            }
            #[test]
            fn redis() {
                super::$case(&super::redis(stringify!($case)));
            }
        }
    )*};
}

both!(
    values_per_user_and_key,
    ranges_and_writes_past_the_end,
    appended_lists,
    locks_exclude_and_share,
    increments_under_the_global_lock_lose_nothing,
    partial_pushes_send_only_dirty_chunks,
    offset_reads_fetch_only_the_chunks_touched,
    a_value_over_the_state_limit_is_refused,
    concurrent_writers_never_tear_a_value,
);

fn values_per_user_and_key(b: &Backend) {
    let s = (b.open)();
    assert_eq!(s.get("u", "k", None).unwrap(), None);
    s.set("u", "k", b"one", None).unwrap();
    s.set("u", "k", b"two", None).unwrap();
    s.set("u", "empty", b"", None).unwrap();
    // Names that would collide if user and key were only joined by ':'.
    s.set("a", "b:c", b"a's", None).unwrap();
    s.set("a:b", "c", b"a:b's", None).unwrap();
    s.set("u", &"x".repeat(MAX_KEY), b"long key", None).unwrap();
    let again = (b.open)();
    assert_eq!(again.get("u", "k", None).unwrap().unwrap(), b"two");
    assert_eq!(again.get("u", "empty", None).unwrap().unwrap(), b"");
    assert_eq!(again.get("a", "b:c", None).unwrap().unwrap(), b"a's");
    assert_eq!(again.get("a:b", "c", None).unwrap().unwrap(), b"a:b's");
    assert_eq!(again.get("v", "k", None).unwrap(), None);
    let long = again.get("u", &"x".repeat(MAX_KEY), None).unwrap();
    assert_eq!(long.unwrap(), b"long key");
    // A key longer than the limit: refused by every call.
    let too_long = "x".repeat(MAX_KEY + 1);
    let e = GlobalError::KeyTooLong {
        len: MAX_KEY + 1,
        max: MAX_KEY,
    };
    assert_eq!(s.set("u", &too_long, b"v", None), Err(e.clone()));
    assert_eq!(s.get("u", &too_long, None), Err(e.clone()));
    assert_eq!(s.append("u", &too_long, b"v", None), Err(e.clone()));
    assert_eq!(
        s.lock("u", &too_long, LockMode::Write, None).unwrap_err(),
        e
    );
}

fn ranges_and_writes_past_the_end(b: &Backend) {
    let s = (b.open)();
    let value: Vec<u8> = (0..3 * CHUNK + 10).map(|i| (i % 251) as u8).collect();
    s.set("u", "k", &value, None).unwrap();
    let ranges = [
        0..5,
        CHUNK - 2..CHUNK + 2,
        3 * CHUNK..4 * CHUNK,
        7..7,
        9 * CHUNK..10 * CHUNK,
    ];
    let (len, parts) = s.get_ranges("u", "k", &ranges, None).unwrap().unwrap();
    assert_eq!(len, value.len());
    assert_eq!(parts[0], &value[0..5]);
    assert_eq!(parts[1], &value[CHUNK - 2..CHUNK + 2]);
    assert_eq!(parts[2], &value[3 * CHUNK..], "cut at the value's end");
    assert_eq!(parts[3], b"");
    assert_eq!(parts[4], b"", "past the end");
    assert_eq!(s.get_ranges("u", "absent", &[0..1], None).unwrap(), None);

    // Writes inside, and past the end (zero-filled up to them).
    s.set("u", "short", b"abc", None).unwrap();
    s.set_ranges("u", "short", &[(1, b"B"), (10, b"xy")], None)
        .unwrap();
    assert_eq!(
        s.get("u", "short", None).unwrap().unwrap(),
        b"aBc\0\0\0\0\0\0\0xy"
    );
    s.set_ranges("u", "new", &[(2, b"z")], None).unwrap();
    assert_eq!(s.get("u", "new", None).unwrap().unwrap(), b"\0\0z");
}

fn appended_lists(b: &Backend) {
    let s = (b.open)();
    assert!(s.appended("u", "log", 10, None).unwrap().is_empty());
    for e in [&b"ab"[..], b"", b"cde"] {
        s.append("u", "log", e, None).unwrap();
    }
    let again = (b.open)();
    assert_eq!(
        again.appended("u", "log", 2, None).unwrap(),
        [&b"ab"[..], b""]
    );
    assert_eq!(
        again.appended("u", "log", 10, None).unwrap(),
        [&b"ab"[..], b"", b"cde"]
    );
    assert!(again.appended("u", "log", 0, None).unwrap().is_empty());
    assert!(again.appended("v", "log", 10, None).unwrap().is_empty());
    // Lists and values of one key are apart.
    assert_eq!(again.get("u", "log", None).unwrap(), None);
    again.clear_appended("u", "log", None).unwrap();
    assert!(s.appended("u", "log", 10, None).unwrap().is_empty());
    s.append("u", "log", b"again", None).unwrap();
    assert_eq!(s.appended("u", "log", 10, None).unwrap(), [b"again"]);
}

fn soon() -> Option<Instant> {
    Some(Instant::now() + Duration::from_millis(50))
}

fn locks_exclude_and_share(b: &Backend) {
    let (s, t) = ((b.open)(), (b.open)());
    let w = s.lock("u", "k", LockMode::Write, None).unwrap();
    for mode in [LockMode::Read, LockMode::Write] {
        assert_eq!(
            t.lock("u", "k", mode, soon()).unwrap_err(),
            GlobalError::DeadlinePassed
        );
    }
    // Another key, another user's key: independent.
    let _k2 = t.lock("u", "k2", LockMode::Write, soon()).unwrap();
    let _v = t.lock("v", "k", LockMode::Write, soon()).unwrap();
    drop(w);
    let r1 = s.lock("u", "k", LockMode::Read, soon()).unwrap();
    let r2 = t.lock("u", "k", LockMode::Read, soon()).unwrap();
    assert!(t.lock("u", "k", LockMode::Write, soon()).is_err());
    drop(r1);
    assert!(t.lock("u", "k", LockMode::Write, soon()).is_err());
    drop(r2);
    let _w = t.lock("u", "k", LockMode::Write, soon()).unwrap();
}

/// Four handles (as four processes) each add 1 fifty times under the
/// global write lock: nothing is lost.
fn increments_under_the_global_lock_lose_nothing(b: &Backend) {
    let handles: Vec<_> = (0..4).map(|_| (b.open)()).collect();
    std::thread::scope(|scope| {
        for s in &handles {
            scope.spawn(move || {
                for _ in 0..50 {
                    let _guard = s.lock("u", "count", LockMode::Write, None).unwrap();
                    let n = s
                        .get("u", "count", None)
                        .unwrap()
                        .map_or(0, |v| u32::from_le_bytes(v.try_into().unwrap()));
                    s.set("u", "count", &(n + 1).to_le_bytes(), None).unwrap();
                }
            });
        }
    });
    let v = (b.open)().get("u", "count", None).unwrap().unwrap();
    assert_eq!(u32::from_le_bytes(v.try_into().unwrap()), 200);
}

/// What reached the global tier, call by call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Get,
    Set(usize),
    GetRanges(Vec<Range<usize>>),
    /// `(offset, bytes)` of each write.
    SetRanges(Vec<(usize, usize)>),
}

/// A store that records the calls it passes on.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn GlobalStore>,
    log: Mutex<Vec<Sent>>,
}

impl Recording {
    fn new(inner: Arc<dyn GlobalStore>) -> Arc<Recording> {
        Arc::new(Recording {
            inner,
            log: Mutex::default(),
        })
    }

    fn take(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn note(&self, s: Sent) {
        self.log.lock().unwrap().push(s);
    }
}

impl GlobalStore for Recording {
    fn get(&self, u: &str, k: &str, d: Option<Instant>) -> Result<Option<Vec<u8>>, GlobalError> {
        self.note(Sent::Get);
        self.inner.get(u, k, d)
    }
    fn set(&self, u: &str, k: &str, v: &[u8], d: Option<Instant>) -> Result<(), GlobalError> {
        self.note(Sent::Set(v.len()));
        self.inner.set(u, k, v, d)
    }
    fn get_ranges(
        &self,
        u: &str,
        k: &str,
        r: &[Range<usize>],
        d: Option<Instant>,
    ) -> Result<Option<Ranges>, GlobalError> {
        self.note(Sent::GetRanges(r.to_vec()));
        self.inner.get_ranges(u, k, r, d)
    }
    fn set_ranges(
        &self,
        u: &str,
        k: &str,
        w: &[(usize, &[u8])],
        d: Option<Instant>,
    ) -> Result<(), GlobalError> {
        self.note(Sent::SetRanges(
            w.iter().map(|(o, b)| (*o, b.len())).collect(),
        ));
        self.inner.set_ranges(u, k, w, d)
    }
    fn append(&self, u: &str, k: &str, e: &[u8], d: Option<Instant>) -> Result<(), GlobalError> {
        self.inner.append(u, k, e, d)
    }
    fn appended(
        &self,
        u: &str,
        k: &str,
        n: usize,
        d: Option<Instant>,
    ) -> Result<Vec<Vec<u8>>, GlobalError> {
        self.inner.appended(u, k, n, d)
    }
    fn clear_appended(&self, u: &str, k: &str, d: Option<Instant>) -> Result<(), GlobalError> {
        self.inner.clear_appended(u, k, d)
    }
    fn lock(
        &self,
        u: &str,
        k: &str,
        m: LockMode,
        d: Option<Instant>,
    ) -> Result<Box<dyn GlobalLock>, GlobalError> {
        self.inner.lock(u, k, m, d)
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
}

/// Host writes and guest writes through a mapping: a partial push sends
/// exactly the chunks written, flagged or changed, each whole, and nothing
/// when nothing changed; the chunks it does not send keep the global
/// tier's bytes.
fn partial_pushes_send_only_dirty_chunks(b: &Backend) {
    const C: &str = "test";
    let rec = Recording::new((b.open)());
    let local = StateStore::default().backed_by(rec.clone());
    let value = pattern(5 * CHUNK, 1);
    local.set(C, "u", "k", &value).unwrap();
    local.push(C, "u", "k", None).unwrap();
    assert_eq!(rec.take(), [Sent::Set(5 * CHUNK)]);

    // A host write inside chunk 2: that chunk alone goes.
    local
        .write_at(C, "u", "k", 0, 2 * CHUNK + 5, b"hello")
        .unwrap();
    local.push_partial(C, "u", "k", None).unwrap();
    assert_eq!(rec.take(), [Sent::SetRanges(vec![(2 * CHUNK, CHUNK)])]);
    local.push_partial(C, "u", "k", None).unwrap();
    assert_eq!(rec.take(), [], "nothing changed, nothing sent");

    // Mapped: a guest writes chunk 4 through the memfd (no host call);
    // chunk 0 is flagged though unchanged.
    let fd = local.share(C, "u", "k", 5 * CHUNK).unwrap();
    rustix::io::pwrite(&*fd, b"guest", (4 * CHUNK + 1) as u64).unwrap();
    local.mark_dirty("u", "k", 10..20);
    local.push_partial(C, "u", "k", None).unwrap();
    assert_eq!(
        rec.take(),
        [Sent::SetRanges(vec![(0, CHUNK), (4 * CHUNK, CHUNK)])]
    );
    let mut want = value.clone();
    want[2 * CHUNK + 5..2 * CHUNK + 10].copy_from_slice(b"hello");
    want[4 * CHUNK + 1..4 * CHUNK + 6].copy_from_slice(b"guest");
    assert_eq!((b.open)().get("u", "k", None).unwrap().unwrap(), want);

    // Another process changed chunk 1 meanwhile; our partial push of
    // chunk 3 leaves it be.
    (b.open)()
        .set_ranges("u", "k", &[(CHUNK, b"other")], None)
        .unwrap();
    rustix::io::pwrite(&*fd, b"mine", (3 * CHUNK) as u64).unwrap();
    local.push_partial(C, "u", "k", None).unwrap();
    assert_eq!(rec.take(), [Sent::SetRanges(vec![(3 * CHUNK, CHUNK)])]);
    want[CHUNK..CHUNK + 5].copy_from_slice(b"other");
    want[3 * CHUNK..3 * CHUNK + 4].copy_from_slice(b"mine");
    assert_eq!((b.open)().get("u", "k", None).unwrap().unwrap(), want);

    // A pull brings it here; nothing is dirty after it.
    local.pull(C, "u", "k", None).unwrap();
    assert_eq!(local.get("u", "k").unwrap(), want);
    rec.take();
    local.push_partial(C, "u", "k", None).unwrap();
    assert_eq!(rec.take(), []);
}

/// A second executor (another process) reads and writes at offsets of a
/// large value: it fetches only the chunks it touches, and its partial
/// push does not overwrite the chunks it never fetched.
fn offset_reads_fetch_only_the_chunks_touched(b: &Backend) {
    const C: &str = "test";
    let value = pattern(8 * CHUNK + 100, 3);
    (b.open)().set("u", "big", &value, None).unwrap();
    let rec = Recording::new((b.open)());
    let other = StateStore::default().backed_by(rec.clone());
    let range = 3 * CHUNK + 10..3 * CHUNK + 20;
    other
        .fetch_range(C, "u", "big", range.clone(), None)
        .unwrap();
    assert_eq!(
        rec.take(),
        [Sent::GetRanges(vec![3 * CHUNK..4 * CHUNK])],
        "one chunk fetched"
    );
    let mut got = [0u8; 10];
    other.read_at("u", "big", range.start, &mut got);
    assert_eq!(got, value[range]);
    assert_eq!(other.size("u", "big"), value.len());
    // Again: already here, nothing fetched.
    other
        .fetch_range(C, "u", "big", 3 * CHUNK..3 * CHUNK + 1, None)
        .unwrap();
    assert_eq!(rec.take(), []);
    // Across a boundary: two chunks, the last one short.
    other
        .fetch_range(C, "u", "big", 7 * CHUNK + 5..8 * CHUNK + 50, None)
        .unwrap();
    assert_eq!(
        rec.take(),
        [Sent::GetRanges(vec![
            7 * CHUNK..8 * CHUNK,
            8 * CHUNK..9 * CHUNK
        ])]
    );
    // Write in a fetched chunk, push partially: one chunk goes, and the
    // chunks never fetched (zeros here) are not sent.
    other.write_at(C, "u", "big", 0, 3 * CHUNK, b"W").unwrap();
    other.push_partial(C, "u", "big", None).unwrap();
    assert_eq!(rec.take(), [Sent::SetRanges(vec![(3 * CHUNK, CHUNK)])]);
    let mut want = value.clone();
    want[3 * CHUNK] = b'W';
    assert_eq!((b.open)().get("u", "big", None).unwrap().unwrap(), want);
    // A full push first fetches what is missing (else zeros would go).
    other.push(C, "u", "big", None).unwrap();
    let sent = rec.take();
    assert!(
        matches!(sent[0], Sent::GetRanges(ref r) if r.len() == 6),
        "{sent:?}"
    );
    assert_eq!(sent[1], Sent::Set(value.len()));
    assert_eq!((b.open)().get("u", "big", None).unwrap().unwrap(), want);
    assert_eq!(other.get("u", "big").unwrap(), want);
}

/// A global value larger than the executor may hold for the user: the
/// fetch fails with the state limit, and nothing is held.
fn a_value_over_the_state_limit_is_refused(b: &Backend) {
    (b.open)()
        .set("u", "huge", &vec![1; 4 * CHUNK], None)
        .unwrap();
    let local = StateStore::with_user_limit(1 << 30, 2 * CHUNK).backed_by((b.open)());
    for e in [
        local.fetch("c", "u", "huge", None).unwrap_err(),
        local.fetch_range("c", "u", "huge", 0..1, None).unwrap_err(),
    ] {
        assert!(matches!(e, FaasmError::StateLimit { .. }), "{e}");
    }
    assert_eq!(local.user_bytes("u"), 0);
    assert_eq!(local.size("u", "huge"), 0);
}

/// Writers replacing a two-chunk value whole and by ranges, readers
/// reading it, each on its own handle: every value read is one writer's
/// whole (all bytes equal).
fn concurrent_writers_never_tear_a_value(b: &Backend) {
    let len = 2 * CHUNK;
    (b.open)().set("u", "v", &vec![0; len], None).unwrap();
    std::thread::scope(|scope| {
        for w in 1..=2u8 {
            let s = (b.open)();
            scope.spawn(move || {
                for i in 0..40u8 {
                    let byte = w * 100 + i % 50;
                    let bytes = vec![byte; len];
                    if i % 2 == 0 {
                        s.set("u", "v", &bytes, None).unwrap();
                    } else {
                        let (a, b) = bytes.split_at(CHUNK);
                        s.set_ranges("u", "v", &[(0, a), (CHUNK, b)], None).unwrap();
                    }
                }
            });
        }
        let s = (b.open)();
        scope.spawn(move || {
            for _ in 0..80 {
                let v = s.get("u", "v", None).unwrap().unwrap();
                assert_eq!(v.len(), len);
                assert!(v.iter().all(|x| *x == v[0]), "torn value read");
            }
        });
    });
}

// Redis faults.

fn fault_test_dir(name: &str) -> std::path::PathBuf {
    faasm_testutil::scratch_dir(&format!("redis-{name}"))
}

/// Nothing listens: a clear error naming the URL, at open, and the
/// embedded store is not used instead.
#[test]
fn redis_down_at_start_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let home = fault_test_dir("down");
    let e = open(Some(&url), &home, RedisOptions::default()).unwrap_err();
    assert!(
        matches!(&e, GlobalError::Unavailable { url: u, .. } if *u == url),
        "{e}"
    );
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert!(
        !home.join("state").exists(),
        "fell back to the embedded store"
    );
    let e = open(Some("http://localhost"), &home, RedisOptions::default()).unwrap_err();
    assert!(matches!(e, GlobalError::BadUrl { .. }), "{e}");
    // No URL: the embedded store.
    let s = open(None, &home, RedisOptions::default()).unwrap();
    s.set("u", "k", b"v", None).unwrap();
    assert!(home.join("state").join("u").is_dir());
}

/// A holder that dies without releasing (its guard leaked, as a killed
/// process leaves it): the lock expires after its TTL, not before.
#[test]
fn redis_lock_of_a_dead_holder_expires() {
    let ttl = Duration::from_millis(400);
    let opts = RedisOptions {
        lock_ttl: ttl,
        ..RedisOptions::default()
    };
    let b = redis_with("redis_lock_of_a_dead_holder_expires", opts);
    let (dead, live) = ((b.open)(), (b.open)());
    for (held, wanted) in [
        (LockMode::Write, LockMode::Write),
        (LockMode::Read, LockMode::Write),
        (LockMode::Write, LockMode::Read),
    ] {
        let start = Instant::now();
        std::mem::forget(dead.lock("u", "k", held, None).unwrap());
        let got = live
            .lock("u", "k", wanted, Some(start + Duration::from_secs(10)))
            .unwrap();
        let waited = start.elapsed();
        assert!(
            waited >= ttl - Duration::from_millis(50) && waited < ttl * 5,
            "{held:?} then {wanted:?}: waited {waited:?} for a {ttl:?} lock"
        );
        drop(got);
    }
    // A released lock is free at once.
    drop(dead.lock("u", "k", LockMode::Write, None).unwrap());
    let start = Instant::now();
    let _w = live.lock("u", "k", LockMode::Write, None).unwrap();
    assert!(start.elapsed() < ttl / 2);
}

/// The server is killed (SIGKILL) and restarted while a writer pushes:
/// pushes fail over to retries, and every push that returned Ok is on the
/// server afterwards (the server persists with `appendfsync always`).
#[test]
fn redis_restarted_mid_run_loses_no_acknowledged_write() {
    let dir = fault_test_dir("restart");
    let mut server =
        RedisServer::start_persistent("redis_restarted_mid_run_loses_no_acknowledged_write", &dir);
    let store = RedisStore::connect(&server.url(), RedisOptions::default()).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (acked, slowest) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut acked = Vec::new();
            let mut slowest = Duration::ZERO;
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || i < 50 {
                let start = Instant::now();
                let value = pattern(3000, i as u8);
                if store
                    .set_ranges("u", &format!("k{i}"), &[(0, &value)], None)
                    .is_ok()
                {
                    acked.push(i);
                }
                slowest = slowest.max(start.elapsed());
                i += 1;
            }
            (acked, slowest)
        });
        std::thread::sleep(Duration::from_millis(100));
        server.kill();
        std::thread::sleep(Duration::from_millis(300));
        server.restart();
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap()
    });
    // The writer was caught by the restart (a push waited it out) and no
    // push failed: the retry window is 10 s.
    assert!(
        slowest >= Duration::from_millis(200),
        "slowest push {slowest:?}"
    );
    let last = *acked.last().unwrap();
    assert_eq!(acked.len() as u32, last + 1, "a push failed");
    let check = RedisStore::connect(&server.url(), RedisOptions::default()).unwrap();
    for i in acked {
        let v = check.get("u", &format!("k{i}"), None).unwrap();
        assert_eq!(
            v,
            Some(pattern(3000, i as u8)),
            "acknowledged push {i} lost"
        );
    }
}

/// A server that stays down past the retry window: the push fails (it is
/// not acknowledged), with the number of attempts made.
#[test]
fn redis_gone_for_good_fails_the_push_within_the_window() {
    let mut server = RedisServer::start("redis_gone_for_good");
    let opts = RedisOptions {
        retry_window: Duration::from_millis(300),
        ..RedisOptions::default()
    };
    let store = RedisStore::connect(&server.url(), opts).unwrap();
    store.set("u", "k", b"v", None).unwrap();
    server.kill();
    let start = Instant::now();
    let e = store.set("u", "k", b"w", None).unwrap_err();
    assert!(
        matches!(e, GlobalError::Redis { attempts, .. } if attempts > 1),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    // The call's deadline cuts the window shorter.
    let start = Instant::now();
    let deadline = Some(start + Duration::from_millis(50));
    assert!(store.get("u", "k", deadline).is_err());
    assert!(start.elapsed() < Duration::from_millis(250));
}
