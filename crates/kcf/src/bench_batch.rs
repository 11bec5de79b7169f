//! `kcf bench batch`: a full product batch through the sandbox, with kcf running as it runs in
//! production, in processes of its own, so what is measured is kcf alone.
//!
//! The sandbox (`kcf sandbox`, N products, 5 ms added to every answer, no store rate limit)
//! is one process. For each worker count K asked for, on a fresh scratch database: one api
//! process and K worker processes (`kcf serve --role …`), or with K = 0 the single
//! `kcf serve` process a merchant runs. The bench asks the api for a full product batch
//! (the listing), then presses Process All and follows the run until nothing is left to do.
//!
//! Printed per K: the listing's time, the processing rate (whole run, and steady: between a
//! tenth and nine tenths of the records done), failures, and each kcf process's peak resident
//! memory (`VmHWM`). Then the scale-out ratios against the first K. The baseline of each
//! ratio is the same bench's first row, in the same minutes.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::{bench::Scratch, cli::BenchBatchArgs};

const TOKEN: &str = "bench-batch";

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn kcf() -> anyhow::Result<Command> {
    Ok(Command::new(
        std::env::current_exe().context("the kcf executable")?,
    ))
}

/// What one worker count measured.
struct Row {
    workers: usize,
    listed: u64,
    listing: Duration,
    done: u64,
    failed: u64,
    took: Duration,
    steady: Option<f64>,
    api_peak_kib: u64,
    worker_peak_kib: u64,
}

impl Row {
    fn rate(&self) -> f64 {
        self.done as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: &BenchBatchArgs) -> anyhow::Result<()> {
    println!(
        "kcf bench batch: {} products, backend {:?}, worker processes {:?} (concurrency {} each), \
         sandbox latency {} ms, {} CPUs",
        args.products,
        args.backend,
        args.workers,
        args.concurrency,
        args.latency_ms,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    let (acu, bc) = (free_port()?, free_port()?);
    let started = Instant::now();
    let _sandbox = Proc(
        kcf()?
            .args(["sandbox", "--seed", &args.products.to_string()])
            .args(["--faults", &format!("latency={}ms", args.latency_ms)])
            .args(["--bigcommerce-quota", "0", "--acumatica-sessions", "64"])
            .args(["--acumatica-port", &acu.to_string()])
            .args(["--bigcommerce-port", &bc.to_string()])
            .args(["--shopify-port", &free_port()?.to_string()])
            .env("KCF_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting kcf sandbox")?,
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3_600))
        .build()?;
    for port in [acu, bc] {
        wait_for(
            &http,
            &format!("http://127.0.0.1:{port}/_sandbox/faults"),
            "the sandbox",
        )
        .await?;
    }
    println!("sandbox ready in {:.1} s", started.elapsed().as_secs_f64());
    let mut rows = Vec::new();
    for &workers in &args.workers {
        let scratch = Scratch::create(args.backend, &args.postgres_url).await?;
        let result = one(args, &http, &scratch, workers, acu, bc).await;
        scratch.remove().await;
        let row = result?;
        println!(
            "{} : listed {} in {:.1} s; processed {} in {:.1} s = {:.0} msg/s (steady {}), \
             {} failed; peak RSS api {:.1} MB, largest worker {:.1} MB",
            label(row.workers),
            row.listed,
            row.listing.as_secs_f64(),
            row.done,
            row.took.as_secs_f64(),
            row.rate(),
            row.steady
                .map_or("–".to_owned(), |s| format!("{s:.0} msg/s")),
            row.failed,
            row.api_peak_kib as f64 / 1024.0,
            row.worker_peak_kib as f64 / 1024.0,
        );
        rows.push(row);
    }
    if let Some(first) = rows.first() {
        println!();
        println!(
            "| processes | listed | listing s | processed | msg/s | steady msg/s | × first | failed | peak RSS MB (api / worker) |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {} | {:.1} | {} | {:.0} | {} | {:.2} | {} | {:.1} / {:.1} |",
                label(r.workers),
                r.listed,
                r.listing.as_secs_f64(),
                r.done,
                r.rate(),
                r.steady.map_or("–".to_owned(), |s| format!("{s:.0}")),
                r.rate() / first.rate().max(1e-9),
                r.failed,
                r.api_peak_kib as f64 / 1024.0,
                r.worker_peak_kib as f64 / 1024.0,
            );
        }
    }
    Ok(())
}

fn label(workers: usize) -> String {
    match workers {
        0 => "one process (api and worker)".to_owned(),
        1 => "api + 1 worker process".to_owned(),
        n => format!("api + {n} worker processes"),
    }
}

async fn one(
    args: &BenchBatchArgs,
    http: &reqwest::Client,
    scratch: &Scratch,
    workers: usize,
    acu: u16,
    bc: u16,
) -> anyhow::Result<Row> {
    let dir =
        std::env::temp_dir().join(format!("kcf-bench-batch-{}-{workers}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(args, http, scratch, workers, acu, bc, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &BenchBatchArgs,
    http: &reqwest::Client,
    scratch: &Scratch,
    workers: usize,
    acu: u16,
    bc: u16,
    dir: &Path,
) -> anyhow::Result<Row> {
    let db = scratch.config.url.clone();
    let api_port = free_port()?;
    let config = write_config(dir, api_port, acu, bc, args.concurrency)?;
    let out = kcf()?
        .args(["migrate", "--database-url", &db])
        .output()
        .context("kcf migrate")?;
    if !out.status.success() {
        bail!("kcf migrate: {}", String::from_utf8_lossy(&out.stderr));
    }
    // `--log-dir`: each kcf process's warnings and errors go to a file there.
    let log_dir = &args.log_dir;
    let serve = |role: &str| -> anyhow::Result<Proc> {
        let mut command = kcf()?;
        command
            .arg("--config")
            .arg(&config)
            .args(["serve", "--role", role, "--database-url", &db])
            .stdout(Stdio::null());
        match log_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let n = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let file = std::fs::File::create(dir.join(format!("{role}-{n}.log")))?;
                command.env("KCF_LOG", "warn").stderr(file)
            }
            None => command.env("KCF_LOG", "error").stderr(Stdio::null()),
        };
        Ok(Proc(command.spawn().context("starting kcf serve")?))
    };
    let api = serve(if workers == 0 { "all" } else { "api" })?;
    let fleet = (0..workers)
        .map(|_| serve("worker"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let url = format!("http://127.0.0.1:{api_port}");
    wait_for(http, &format!("{url}/readyz"), "kcf").await?;
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut r = http
            .request(method, format!("{url}/api/v1{path}"))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let r = r.send().await?;
            let status = r.status();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!("{status}: {v}");
            }
            anyhow::Ok(v)
        }
    };

    let t = Instant::now();
    let view = call(
        reqwest::Method::POST,
        "/batches",
        Some(json!({ "connector": "bench", "entity": "product", "mode": "full" })),
    )
    .await
    .context("listing the products")?;
    let listing = t.elapsed();
    let run = view["run"]["id"].as_i64().context("the run's id")?;
    let listed = view["progress"]["listed"].as_u64().unwrap_or(0);
    if listed == 0 {
        bail!("the listing found nothing: {view}");
    }

    let pids: Vec<u32> = std::iter::once(api.0.id())
        .chain(fleet.iter().map(|p| p.0.id()))
        .collect();
    let t = Instant::now();
    call(
        reqwest::Method::POST,
        &format!("/batches/{run}/process"),
        Some(json!({ "all": true })),
    )
    .await
    .context("Process All")?;
    // (seconds since Process All, records finished), to find the steady part.
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let deadline = Duration::from_secs(args.max_minutes * 60);
    let (done, failed) = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let v = call(reqwest::Method::GET, &format!("/batches/{run}"), None).await?;
        let p = &v["progress"];
        let done = p["processed"].as_u64().unwrap_or(0);
        let failed = p["failed"].as_u64().unwrap_or(0);
        let pending = p["pending"].as_u64().unwrap_or(u64::MAX);
        samples.push((t.elapsed().as_secs_f64(), done));
        if pending == 0 {
            break (done, failed);
        }
        if t.elapsed() > deadline {
            bail!(
                "not done after {} min: {done} processed, {failed} failed, {pending} pending",
                args.max_minutes
            );
        }
    };
    let took = t.elapsed();
    let peaks: Vec<u64> = pids.iter().map(|pid| peak_kib(*pid)).collect();
    Ok(Row {
        workers,
        listed,
        listing,
        done,
        failed,
        took,
        steady: steady(&samples, done),
        api_peak_kib: peaks[0],
        worker_peak_kib: peaks[1..].iter().copied().max().unwrap_or(0),
    })
}

/// The rate between a tenth and nine tenths of the records done.
fn steady(samples: &[(f64, u64)], total: u64) -> Option<f64> {
    let at = |share: f64| {
        samples
            .iter()
            .find(|(_, done)| *done as f64 >= total as f64 * share)
            .copied()
    };
    let ((t1, d1), (t2, d2)) = (at(0.1)?, at(0.9)?);
    (t2 > t1).then(|| (d2 - d1) as f64 / (t2 - t1))
}

/// A process's peak resident set (`VmHWM`), in KiB; 0 where /proc does not say.
fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn wait_for(http: &reqwest::Client, url: &str, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{what} did not answer {url} within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn write_config(
    dir: &Path,
    api: u16,
    acu: u16,
    bc: u16,
    concurrency: usize,
) -> anyhow::Result<PathBuf> {
    let config = dir.join("kcf.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:{api}"
api_tokens = ["{TOKEN}"]
[worker]
concurrency = {concurrency}
loops = 1
[[connectors]]
id = "bench"
[connectors.acumatica]
base_url = "http://127.0.0.1:{acu}"
[connectors.acumatica.auth]
kind = "cookie"
username = "admin"
password = "sandbox"
tenant = "Company"
[connectors.bigcommerce]
base_url = "http://127.0.0.1:{bc}"
store_hash = "sandbox"
access_token = "sandbox"
quota = 1000000
"#
        ),
    )?;
    Ok(config)
}
