//! `faasm-run bench http [--calls N] [--concurrency 1,16,64] [--json]`:
//! invocations of a no-op function through the HTTP API on loopback, and
//! in the same run the same load on a handler that returns a constant on
//! the same HTTP stack (the floor). The difference is what the server
//! adds per call: routing, token check, admission, the hand-off to a
//! worker and back, metrics and the log line (formatted into a sink).
//!
//! Both servers share one tokio runtime; the load generator runs on its
//! own single thread, with one keep-alive connection per concurrent
//! client, each sending its next request when the last one is answered.

use super::api::{ApiConfig, reply};
use super::http::{self, HttpOptions};
use super::{ServeOptions, auth};
use crate::executor::{Executor, ExecutorConfig, FunctionStore};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(name = "faasm-run bench http")]
struct HttpBench {
    /// Calls per concurrency level and target.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
    /// Concurrency levels (clients at once), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 64])]
    concurrency: Vec<usize>,
    /// The executor's workers (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Figures {
    calls: usize,
    errors: usize,
    calls_per_s: f64,
    p50_us: f64,
    p99_us: f64,
}

#[derive(Debug, serde::Serialize)]
struct Level {
    concurrency: usize,
    floor: Figures,
    faasm: Figures,
    overhead_p50_us: f64,
}

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{0}")]
    Setup(String),
}

/// Alternating rounds per level.
const ROUNDS: usize = 10;

const NOOP: &str = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;

fn setup_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(e.to_string())
}

/// Latencies (ns) of the calls that succeeded, failures, and the wall
/// time they took.
#[derive(Default)]
struct Samples {
    lat: Vec<u64>,
    errors: usize,
    secs: f64,
}

impl Samples {
    fn add(&mut self, other: Samples) {
        self.lat.extend(other.lat);
        self.errors += other.errors;
        self.secs += other.secs;
    }

    fn figures(mut self) -> Figures {
        self.lat.sort_unstable();
        let lat = &self.lat;
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                .map_or(f64::NAN, |ns| *ns as f64 / 1000.0)
        };
        Figures {
            calls: lat.len() + self.errors,
            errors: self.errors,
            calls_per_s: lat.len() as f64 / self.secs,
            p50_us: pct(0.5),
            p99_us: pct(0.99),
        }
    }
}

/// One target's load: `calls` POSTs over `conc` connections.
async fn load(addr: SocketAddr, path: &str, token: &str, conc: usize, calls: usize) -> Samples {
    let per = calls / conc;
    let extra = calls % conc;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..conc {
        let n = per + usize::from(i < extra);
        let (path, auth) = (path.to_string(), format!("Bearer {token}"));
        tasks.spawn(async move {
            let mut lat = Vec::with_capacity(n);
            let mut errors = 0;
            let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
                return (lat, n);
            };
            let _ = stream.set_nodelay(true);
            let Ok((mut sender, conn)) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
            else {
                return (lat, n);
            };
            tokio::spawn(conn);
            for _ in 0..n {
                let req = Request::post(path.as_str())
                    .header("host", "bench")
                    .header("authorization", auth.as_str())
                    .body(Full::new(Bytes::new()))
                    .expect("a valid request");
                let t = Instant::now();
                let ok = match sender.send_request(req).await {
                    Ok(r) => {
                        let good = r.status() == StatusCode::OK;
                        good && r.into_body().collect().await.is_ok()
                    }
                    Err(_) => false,
                };
                if ok {
                    lat.push(t.elapsed().as_nanos() as u64);
                } else {
                    errors += 1;
                    if sender.ready().await.is_err() {
                        errors += n - lat.len() - errors;
                        break;
                    }
                }
            }
            (lat, errors)
        });
    }
    let mut all = Vec::with_capacity(calls);
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (lat, e) = r.unwrap_or((Vec::new(), 0));
        all.extend(lat);
        errors += e;
    }
    Samples {
        lat: all,
        errors,
        secs: start.elapsed().as_secs_f64(),
    }
}

/// The executor alone: `invoke` from this thread, one call at a time.
fn direct_p50_us(exec: &Executor, n: usize) -> f64 {
    let mut lat: Vec<u64> = (0..n.max(1))
        .map(|_| {
            let t = Instant::now();
            exec.invoke("bench", "noop", Vec::new());
            t.elapsed().as_nanos() as u64
        })
        .collect();
    lat.sort_unstable();
    lat[lat.len() / 2] as f64 / 1000.0
}

fn run(cli: &HttpBench) -> Result<Vec<Level>, BenchError> {
    let home = std::env::temp_dir().join(format!("faasm-bench-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let r = run_in(cli, &home);
    let _ = std::fs::remove_dir_all(&home);
    r
}

fn run_in(cli: &HttpBench, home: &std::path::Path) -> Result<Vec<Level>, BenchError> {
    // The per-call log line is formatted as in `serve`, into a sink: its
    // cost counts, the terminal's does not.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_ansi(false)
        .try_init();
    let mut config = ExecutorConfig::default();
    if let Some(w) = cli.workers {
        config.workers = w.max(1);
    }
    let exec = Arc::new(Executor::new(FunctionStore::new(home), config));
    let wasm = crate::run::wat_to_wasm(NOOP, "noop.wat").map_err(setup_err)?;
    exec.upload("bench", "noop", &wasm).map_err(setup_err)?;
    let (_, token) = auth::create(home, "bench", false).map_err(setup_err)?;
    let opts = ServeOptions {
        http: HttpOptions {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
            grace: Duration::from_secs(1),
        },
        api: ApiConfig {
            max_body: 1 << 20,
            no_auth: false,
        },
        max_calls_per_user: 1024,
        max_calls: 1024,
        keep_async: 16,
    };
    let direct = direct_p50_us(&exec, cli.calls.min(5000));
    eprintln!("direct exec.invoke (no HTTP, from one thread): p50 {direct:.1} us");
    let app = super::app(exec, &opts).map_err(setup_err)?;
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("FAASM_BENCH_TOKIO")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        b.worker_threads(n);
    }
    let server_rt = b.enable_all().build().map_err(setup_err)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let bind = |rt: &tokio::runtime::Runtime| {
        rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(setup_err)
    };
    let (faasm_l, floor_l) = (bind(&server_rt)?, bind(&server_rt)?);
    let faasm_addr = faasm_l.local_addr().map_err(setup_err)?;
    let floor_addr = floor_l.local_addr().map_err(setup_err)?;
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let h = app.clone();
    server_rt.spawn(http::serve(
        faasm_l,
        opts.http.clone(),
        move |req| h.clone().handle(req),
        stopped(stop_rx.clone()),
    ));
    server_rt.spawn(http::serve(
        floor_l,
        opts.http.clone(),
        |_req: Request<hyper::body::Incoming>| async {
            reply(StatusCode::OK, "application/octet-stream", "")
        },
        stopped(stop_rx),
    ));
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(setup_err)?;
    let path = "/v1/functions/bench/noop/invoke";
    let warmup = (cli.calls / 10).clamp(1, 2000);
    let mut levels = Vec::new();
    for &c in &cli.concurrency {
        let c = c.max(1);
        // Rounds alternate between the two, so that a noisy neighbour
        // slows both alike rather than whichever ran at the time.
        let (mut floor, mut faasm) = (Samples::default(), Samples::default());
        client_rt.block_on(async {
            load(floor_addr, path, &token, c, warmup).await;
            load(faasm_addr, path, &token, c, warmup).await;
            for r in 0..ROUNDS {
                let n = cli.calls / ROUNDS + usize::from(r < cli.calls % ROUNDS);
                floor.add(load(floor_addr, path, &token, c, n).await);
                faasm.add(load(faasm_addr, path, &token, c, n).await);
            }
        });
        let (floor, faasm) = (floor.figures(), faasm.figures());
        levels.push(Level {
            concurrency: c,
            overhead_p50_us: faasm.p50_us - floor.p50_us,
            floor,
            faasm,
        });
    }
    eprintln!(
        "server side, admission to result (hand-off to a worker, the call, the callback): mean {:.1} us",
        app.metrics.mean_call_us()
    );
    let _ = stop_tx.send(true);
    server_rt.shutdown_timeout(Duration::from_secs(1));
    Ok(levels)
}

/// Runs `faasm-run bench http ...` (`args[1..3]` are "bench http").
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = HttpBench::parse_from(
        std::iter::once("faasm-run bench http".into()).chain(args.into_iter().skip(3)),
    );
    let levels = match run(&cli) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("faasm-run: error: {e}");
            return ExitCode::from(crate::exit::EXIT_ERROR);
        }
    };
    if cli.json {
        println!(
            "{}",
            serde_json::json!({ "calls": cli.calls, "levels": levels })
        );
    } else {
        println!(
            "bench http: {} calls per level on loopback; floor = constant handler, same HTTP stack",
            cli.calls
        );
        println!(
            "{:>5}  {:<6} {:>10} {:>9} {:>9} {:>7}",
            "conc", "target", "calls/s", "p50_us", "p99_us", "errors"
        );
        for l in &levels {
            for (name, f) in [("floor", &l.floor), ("faasm", &l.faasm)] {
                println!(
                    "{:>5}  {:<6} {:>10.0} {:>9.1} {:>9.1} {:>7}",
                    l.concurrency, name, f.calls_per_s, f.p50_us, f.p99_us, f.errors
                );
            }
            println!(
                "{:>5}  overhead p50 {:+.1} us, faasm/floor calls/s {:.2}",
                "",
                l.overhead_p50_us,
                l.faasm.calls_per_s / l.floor.calls_per_s
            );
        }
    }
    let errors: usize = levels.iter().map(|l| l.faasm.errors + l.floor.errors).sum();
    if errors > 0 {
        eprintln!("faasm-run: error: {errors} requests failed");
        return ExitCode::from(crate::exit::EXIT_ERROR);
    }
    ExitCode::SUCCESS
}
