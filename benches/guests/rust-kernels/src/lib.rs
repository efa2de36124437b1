//! The Rust workload of the compute-kernel benchmark
//! (`benches/examples/kernels-vs-wasmtime.rs`): two kernels with the C
//! kernels' interface, `extern "C" fn run_NAME(n: i32) -> i64`.
//!
//! The C kernels are loops over arrays, written for the benchmark. These are
//! what a serverless function written in Rust spends its time on instead:
//! real crates (serde, serde_json, regex) doing allocation-heavy,
//! branchy, string-processing work, compiled by rustc rather than clang.
//!
//! - [`run_json`]: `n` orders (customer, line items, tags, optional note
//!   with quotes, escapes and non-ASCII text) serialised with
//!   `serde_json::to_string`, deserialised back into the `#[derive]`d structs
//!   with `serde_json::from_str` (and compared with the originals), parsed a
//!   second time into a `serde_json::Value` that is walked (every node
//!   counted and hashed) and queried by key (totals per order status), and
//!   that summary serialised again.
//! - [`run_regex`]: a log of `n` lines (timestamps, levels, services, IPv4
//!   addresses, some with out-of-range octets, error codes, `key=value`
//!   pairs, quoted values) scanned by five patterns: line headers with nine
//!   capture groups, IPv4 addresses (octets validated), error codes
//!   (counted per code), `key=value` pairs and a case-insensitive keyword
//!   alternation; then an anonymisation pass (`replace_all` of the IPs). The
//!   regexes are compiled inside every call, as part of the workload (a
//!   function instance that starts, compiles its patterns and handles one
//!   request); compiling them is a small part of the time.
//!
//! Inputs come from the C kernels' LCG seeded with a constant: no clock,
//! no randomness, no I/O. Each kernel returns a checksum over everything it
//! computed, so no work can be optimised away and every build (wasm scalar
//! and simd128, native vectorised and scalar) must return the same value.
//!
//! One call into the standard library does reach the host in the wasm
//! build: `regex` keeps capture-group names in a `std::collections::HashMap`,
//! whose `RandomState` asks WASI `random_get` for its keys, once per
//! thread (so once per instance, in its first call). The keys only seed
//! that map's hashing; nothing here depends on them.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The C kernels' LCG (Numerical Recipes, `kernels/kernels.h`).
struct Lcg(u32);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.0
    }

    /// A number in `0..n` from the high bits (the low ones are weak).
    fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next()) * u64::from(n)) >> 32) as u32
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u32) as usize]
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
}

/// The checksum every kernel folds its results into: FNV-1a 64 over
/// little-endian 8-byte words (a word at a time, so hashing whole texts
/// stays a small part of the work).
struct Checksum(u64);

impl Checksum {
    fn new() -> Checksum {
        Checksum(0xcbf2_9ce4_8422_2325)
    }

    fn u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.u64(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        self.u64(u64::from_le_bytes(tail) ^ (bytes.len() as u64) << 56);
    }

    fn finish(&self) -> i64 {
        self.0 as i64
    }
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Ken", "Margaret", "Niklaus", "Radia",
    "José", "Zoë",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Thompson", "Hamilton", "Wirth",
    "Perlman", "Müller", "O'Brien",
];
const WORDS: &[&str] = &[
    "alpha", "bravo", "cache", "delta", "edge", "fiber", "gamma", "hotel", "index", "joule",
    "kappa", "lambda", "metric", "node", "omega", "proxy",
];
const SERVICES: &[&str] = &[
    "gateway",
    "billing",
    "auth",
    "search",
    "inventory",
    "mailer",
    "ledger",
    "scheduler",
];

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Pending,
    Paid,
    Shipped,
    Refunded,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Customer {
    id: u32,
    name: String,
    email: String,
    vip: bool,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
    /// Whole cents divided by 100, so its shortest decimal form parses
    /// back to the same double.
    unit_price: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    discount_percent: Option<u8>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u64,
    status: Status,
    created: String,
    customer: Customer,
    items: Vec<Item>,
    tags: Vec<String>,
    note: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Batch {
    source: String,
    version: u32,
    orders: Vec<Order>,
}

fn make_order(rng: &mut Lcg, id: u64) -> Order {
    let first = rng.pick(FIRST_NAMES);
    let last = rng.pick(LAST_NAMES);
    let customer = Customer {
        id: rng.below(100_000),
        name: format!("{first} {last}"),
        email: format!("{}.{}@example.com", first.to_lowercase(), rng.below(1000)),
        vip: rng.chance(10),
    };
    let items = (0..1 + rng.below(6))
        .map(|_| Item {
            sku: format!(
                "{}-{:05}",
                rng.pick(WORDS).to_uppercase(),
                rng.below(100_000)
            ),
            quantity: 1 + rng.below(20),
            unit_price: f64::from(rng.below(100_000)) / 100.0,
            discount_percent: rng.chance(25).then(|| 5 * (1 + rng.below(6)) as u8),
        })
        .collect();
    let tags = (0..rng.below(4))
        .map(|_| rng.pick(WORDS).to_string())
        .collect();
    let note = rng.chance(30).then(|| {
        format!(
            "Leave at the \"{}\" door\\back;\tcall {first} — ☎ {}\n",
            rng.pick(WORDS),
            rng.below(1_000_000)
        )
    });
    Order {
        id,
        status: [
            Status::Pending,
            Status::Paid,
            Status::Shipped,
            Status::Refunded,
        ][rng.below(4) as usize],
        created: format!(
            "2025-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60)
        ),
        customer,
        items,
        tags,
        note,
    }
}

/// Counts and hashes every node of a JSON tree (object keys in order).
fn walk(v: &Value, sum: &mut Checksum, nodes: &mut u64) {
    *nodes += 1;
    match v {
        Value::Null => sum.u64(1),
        Value::Bool(b) => sum.u64(2 + u64::from(*b)),
        Value::Number(n) => match n.as_u64() {
            Some(u) => sum.u64(u),
            None => sum.u64(n.as_f64().unwrap_or(0.0).to_bits()),
        },
        Value::String(s) => sum.bytes(s.as_bytes()),
        Value::Array(items) => {
            sum.u64(items.len() as u64);
            for item in items {
                walk(item, sum, nodes);
            }
        }
        Value::Object(map) => {
            sum.u64(map.len() as u64);
            for (key, item) in map {
                sum.bytes(key.as_bytes());
                walk(item, sum, nodes);
            }
        }
    }
}

/// The JSON workload over `n` orders (about 430 bytes of JSON each); -1 if
/// an order does not survive the round trip.
#[no_mangle]
pub extern "C" fn run_json(n: i32) -> i64 {
    let n = n.clamp(1, 1 << 20) as u64;
    let mut rng = Lcg(20_250_101);
    let batch = Batch {
        source: "orders-eu-west".to_string(),
        version: 3,
        orders: (0..n)
            .map(|id| make_order(&mut rng, 1_000_000 + id))
            .collect(),
    };
    let mut sum = Checksum::new();

    // Typed round trip.
    let text = serde_json::to_string(&batch).expect("serialise");
    sum.u64(text.len() as u64);
    sum.bytes(text.as_bytes());
    let back: Batch = serde_json::from_str(&text).expect("deserialise");
    if back != batch {
        return -1;
    }
    for order in &back.orders {
        let cents: f64 = order
            .items
            .iter()
            .map(|i| {
                let d = f64::from(100 - i.discount_percent.unwrap_or(0)) / 100.0;
                (i.unit_price * 100.0).round() * f64::from(i.quantity) * d
            })
            .sum();
        sum.u64(cents.round() as u64);
    }

    // Untyped: the same text into a Value, walked, then queried by key.
    let value: Value = serde_json::from_str(&text).expect("parse");
    let mut nodes = 0;
    walk(&value, &mut sum, &mut nodes);
    sum.u64(nodes);
    let mut by_status: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for order in value["orders"].as_array().into_iter().flatten() {
        let status = order["status"].as_str().unwrap_or("?").to_string();
        let items = order["items"].as_array().map_or(&[][..], Vec::as_slice);
        let total: f64 = items
            .iter()
            .map(|i| {
                i["unit_price"].as_f64().unwrap_or(0.0) * i["quantity"].as_f64().unwrap_or(0.0)
            })
            .sum();
        let entry = by_status.entry(status).or_default();
        entry.0 += 1;
        entry.1 += total;
    }
    let summary = serde_json::to_string(&serde_json::json!({
        "orders": n,
        "nodes": nodes,
        "by_status": by_status,
    }))
    .expect("serialise summary");
    sum.bytes(summary.as_bytes());
    sum.finish()
}

/// An IPv4 address, sometimes with an octet out of range (so the regex
/// matches and the validation rejects it).
fn push_ip(rng: &mut Lcg, out: &mut String) {
    let octet = |rng: &mut Lcg| {
        if rng.chance(3) {
            256 + rng.below(700)
        } else {
            rng.below(256)
        }
    };
    let [a, b, c, d] = [octet(rng), octet(rng), octet(rng), octet(rng)];
    let _ = write!(out, "{a}.{b}.{c}.{d}");
}

/// `n` log lines, about 100 bytes each.
fn make_log(n: u32) -> String {
    let mut rng = Lcg(1_234_567);
    let mut log = String::with_capacity(n as usize * 128);
    for i in 0..n {
        let level = ["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"][rng.below(6) as usize];
        let _ = write!(
            log,
            "2025-03-{:02}T{:02}:{:02}:{:02}.{:03}Z {level} [{}] ",
            1 + i / 40_000 % 28,
            i / 2_000 % 24,
            i / 40 % 60,
            rng.below(60),
            rng.below(1000),
            rng.pick(SERVICES)
        );
        match rng.below(6) {
            0 => {
                let _ = write!(
                    log,
                    "GET /api/v1/{}/{} from ",
                    rng.pick(WORDS),
                    rng.below(100_000)
                );
                push_ip(&mut rng, &mut log);
                let _ = write!(
                    log,
                    " status={} latency_ms={}",
                    [200, 200, 201, 304, 404, 500][rng.below(6) as usize],
                    rng.below(2_000)
                );
            }
            1 => {
                let _ = write!(log, "charge failed: code=E{:04} client=", rng.below(10_000));
                push_ip(&mut rng, &mut log);
                let _ = write!(
                    log,
                    " amount={}.{:02} currency=EUR",
                    rng.below(5_000),
                    rng.below(100)
                );
            }
            2 => {
                log.push_str("Connection Refused by ");
                push_ip(&mut rng, &mut log);
                let _ = write!(log, ":{} retry={}", 1024 + rng.below(60_000), rng.below(5));
            }
            3 => {
                let _ = write!(
                    log,
                    "user={} action={} ok={} session={:08x}{:08x}",
                    rng.pick(WORDS),
                    ["login", "logout", "refresh"][rng.below(3) as usize],
                    rng.chance(90),
                    rng.next(),
                    rng.next()
                );
            }
            4 => {
                let _ = write!(
                    log,
                    "cache miss key=\"{}:{}\" ttl={} note=\"{} {}\"",
                    rng.pick(WORDS),
                    rng.below(10_000),
                    rng.below(3_600),
                    rng.pick(WORDS),
                    rng.pick(WORDS)
                );
            }
            _ => {
                let _ = write!(
                    log,
                    "upstream {} TIMEOUT after {}ms code=E{:04} peer=",
                    rng.pick(SERVICES),
                    rng.below(30_000),
                    rng.below(50)
                );
                push_ip(&mut rng, &mut log);
            }
        }
        log.push('\n');
    }
    log
}

fn field(caps: &regex::Captures<'_>, i: usize) -> u64 {
    caps.get(i)
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(0)
}

/// The regex workload over a log of `n` lines.
#[no_mangle]
pub extern "C" fn run_regex(n: i32) -> i64 {
    let log = make_log(n.clamp(1, 1 << 20) as u32);
    let header = Regex::new(
        r"(?m)^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z (DEBUG|INFO|WARN|ERROR) \[([a-z-]+)\] ",
    )
    .expect("header regex");
    let ip = Regex::new(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b").expect("ip regex");
    let code = Regex::new(r"\bcode=(E\d{4})\b").expect("code regex");
    let kv = Regex::new(r#"\b([a-z_]+)=("[^"\n]*"|[^\s"]+)"#).expect("kv regex");
    let alarm = Regex::new(r"(?i)\b(?:timeout|refused|denied|failed)\b").expect("alarm regex");
    let mut sum = Checksum::new();

    let mut levels: BTreeMap<&str, u64> = BTreeMap::new();
    let mut seconds = 0u64;
    for caps in header.captures_iter(&log) {
        seconds += ((field(&caps, 3) * 24 + field(&caps, 4)) * 60 + field(&caps, 5)) * 60
            + field(&caps, 6);
        sum.u64(field(&caps, 7));
        *levels
            .entry(caps.get(8).map_or("", |m| m.as_str()))
            .or_default() += 1;
        sum.bytes(caps.get(9).map_or(b"", |m| m.as_str().as_bytes()));
    }
    sum.u64(seconds);
    for (level, count) in &levels {
        sum.bytes(level.as_bytes());
        sum.u64(*count);
    }

    let (mut valid, mut invalid) = (0u64, 0u64);
    for caps in ip.captures_iter(&log) {
        let octets = [1, 2, 3, 4].map(|i| field(&caps, i));
        if octets.iter().all(|&o| o <= 255) {
            valid += 1;
            sum.u64(octets.iter().fold(0, |a, &o| a << 8 | o));
        } else {
            invalid += 1;
        }
    }
    sum.u64(valid);
    sum.u64(invalid);

    let mut codes: BTreeMap<&str, u64> = BTreeMap::new();
    for caps in code.captures_iter(&log) {
        *codes
            .entry(caps.get(1).map_or("", |m| m.as_str()))
            .or_default() += 1;
    }
    sum.u64(codes.len() as u64);
    for (c, count) in codes.iter().filter(|(_, &count)| count > 1) {
        sum.bytes(c.as_bytes());
        sum.u64(*count);
    }

    let mut pairs = 0u64;
    for caps in kv.captures_iter(&log) {
        pairs += 1;
        let (k, v) = (&caps[1], &caps[2]);
        sum.u64((k.len() as u64) << 32 | v.len() as u64);
        sum.bytes(&k.as_bytes()[..1]);
    }
    sum.u64(pairs);
    sum.u64(alarm.find_iter(&log).count() as u64);

    let redacted = ip.replace_all(&log, "x.x.x.x");
    sum.u64(redacted.len() as u64);
    sum.bytes(redacted.as_bytes());
    sum.finish()
}
