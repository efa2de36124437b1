//! Log analysis guest: reads JSON log records (stdin, or a built-in sample),
//! classifies messages with regexes and prints a JSON summary. Exists to give
//! the compile benchmark a module built from real crates.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

#[derive(Debug, Deserialize)]
struct Record {
    level: String,
    service: String,
    message: String,
    #[serde(default)]
    latency_ms: Option<f64>,
}

/// Classification rules, from a TOML document (built-in default below).
#[derive(Debug, Deserialize)]
struct Rules {
    ip_pattern: String,
    code_pattern: String,
}

const DEFAULT_RULES: &str = r#"
ip_pattern = '\b(?:\d{1,3}\.){3}\d{1,3}\b'
code_pattern = 'code=(E\d{4})'
"#;

#[derive(Debug, Default, Serialize)]
struct Summary {
    records: usize,
    by_level: BTreeMap<String, usize>,
    by_service: BTreeMap<String, usize>,
    ips: Vec<String>,
    error_codes: BTreeMap<String, usize>,
    mean_latency_ms: Option<f64>,
}

const SAMPLE: &str = r#"[
  {"level": "info", "service": "gateway", "message": "GET /api/v1/users from 10.0.0.12 took 12ms", "latency_ms": 12.0},
  {"level": "error", "service": "billing", "message": "charge failed: code=E1042 client 192.168.1.7"},
  {"level": "warn", "service": "gateway", "message": "slow upstream 10.0.0.99", "latency_ms": 830.5},
  {"level": "error", "service": "auth", "message": "token rejected code=E0401 from 172.16.4.2"}
]"#;

fn analyse(rules: &Rules, records: &[Record]) -> Summary {
    let ip = Regex::new(&rules.ip_pattern).expect("ip regex");
    let code = Regex::new(&rules.code_pattern).expect("code regex");
    let mut summary = Summary {
        records: records.len(),
        ..Summary::default()
    };
    let mut latencies = Vec::new();
    for r in records {
        *summary.by_level.entry(r.level.to_lowercase()).or_default() += 1;
        *summary.by_service.entry(r.service.clone()).or_default() += 1;
        summary
            .ips
            .extend(ip.find_iter(&r.message).map(|m| m.as_str().to_string()));
        for c in code.captures_iter(&r.message) {
            *summary.error_codes.entry(c[1].to_string()).or_default() += 1;
        }
        latencies.extend(r.latency_ms);
    }
    if !latencies.is_empty() {
        summary.mean_latency_ms = Some(latencies.iter().sum::<f64>() / latencies.len() as f64);
    }
    summary
}

fn main() {
    let mut input = String::new();
    if std::env::args().any(|a| a == "--stdin") {
        std::io::stdin()
            .read_to_string(&mut input)
            .expect("read stdin");
    } else {
        input.push_str(SAMPLE);
    }
    let records: Vec<Record> = match serde_json::from_str(&input) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("invalid input: {e}");
            std::process::exit(2);
        }
    };
    let rules: Rules = toml::from_str(DEFAULT_RULES).expect("default rules");
    let summary = analyse(&rules, &records);
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).expect("serialize")
    );
}
