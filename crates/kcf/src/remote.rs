//! `kcf batch …` and `kcf messages …`: commands that talk to a running server's REST API, like
//! `kubectl` or `gh`.

use std::{process::ExitCode, time::Duration};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::cli::{
    ActArgs, BatchArgs, BatchCommand, BindingsArgs, BindingsCommand, MessagesArgs, MessagesCommand,
    Remote, Window,
};

/// A REST API client for one server.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(remote: &Remote) -> anyhow::Result<Self> {
        let Some(token) = remote.token.clone().filter(|t| !t.is_empty()) else {
            bail!("an API token is needed: pass --token or set KCF_TOKEN (kcf up prints one)");
        };
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(600))
                .build()?,
            base: format!("{}/api/v1", remote.url.trim_end_matches('/')),
            token,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the kcf server at {}", self.base))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
        if !status.is_success() {
            let message = value["error"]["message"]
                .as_str()
                .map_or_else(|| text.clone(), str::to_owned);
            bail!("the server answered {status}: {message}");
        }
        Ok(value)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_table(headings: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headings.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count().min(40));
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c: String = c.chars().take(40).collect();
                format!("{c:<w$}", w = widths[i])
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!(
        "{}",
        line(headings.iter().map(|h| (*h).to_owned()).collect())
    );
    for row in rows {
        println!("{}", line(row.clone()));
    }
}

async fn list_all(api: &Api, run: i64) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let mut path = format!("/messages?batch_run={run}&limit=500");
        if let Some(b) = before {
            path.push_str(&format!("&before={b}"));
        }
        let page = api.get(&path).await?;
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next"].as_i64() {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    out.reverse();
    Ok(out)
}

async fn prepare(api: &Api, remote: &Remote, w: &Window) -> anyhow::Result<Value> {
    api.post(
        "/batches",
        json!({ "connector": remote.connector, "entity": w.entity, "from": w.from, "to": w.to, "mode": "by-date" }),
    )
    .await
}

/// `kcf batch …`.
pub async fn batch(args: BatchArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.remote)?;
    match args.command {
        BatchCommand::List(w) => {
            let view = prepare(&api, &args.remote, &w).await?;
            let run = view["run"]["id"].as_i64().unwrap_or_default();
            let messages = list_all(&api, run).await?;
            let connectors = api.get("/connectors").await?;
            let connector = connectors
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["id"] == args.remote.connector.as_str())
                .cloned()
                .unwrap_or_default();
            let kind = connector["settings"]["store"]
                .as_str()
                .and_then(|k| kcf_engine::registry::StoreKind::parse(k).ok())
                .unwrap_or(kcf_engine::registry::StoreKind::BigCommerce);
            let cols = kcf_engine::batch::columns(&w.entity, kind);
            let mut headings: Vec<&str> = vec!["Message", "Status"];
            headings.extend(cols.iter().map(|(_, h)| *h));
            let rows: Vec<Vec<String>> = messages
                .iter()
                .map(|m| {
                    let mut row = vec![text(&m["id"]), text(&m["status"])];
                    row.extend(cols.iter().map(|(f, _)| text(&m["payload"][*f])));
                    row
                })
                .collect();
            if rows.is_empty() {
                println!("No records found. Try to modify parameters above to see records here.");
            } else {
                print_table(&headings, &rows);
            }
            // The hint lists exactly this window again: the To given, or the instant "now"
            // was when this listing ran.
            let to = match &w.to {
                Some(t) => t.clone(),
                None => view["run"]["window_to"]
                    .as_i64()
                    .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "now".into()),
            };
            println!(
                "\nbatch run {run}: {} listed from {} to {to}; process with: kcf batch process {} --from {} --to {to} --all",
                rows.len(),
                w.from,
                w.entity,
                w.from,
            );
            Ok(ExitCode::SUCCESS)
        }
        BatchCommand::Process { window, all, ids } => {
            if !all && ids.is_empty() {
                bail!("say what to process: --all, or --ids KEY,KEY");
            }
            let view = prepare(&api, &args.remote, &window).await?;
            let run = view["run"]["id"].as_i64().unwrap_or_default();
            let body = if all {
                json!({ "all": true })
            } else {
                let messages = list_all(&api, run).await?;
                let wanted: Vec<i64> = messages
                    .iter()
                    .filter(|m| {
                        ids.iter()
                            .any(|k| Some(k.as_str()) == m["record_key"].as_str())
                    })
                    .filter_map(|m| m["id"].as_i64())
                    .collect();
                if wanted.is_empty() {
                    bail!("none of {} was changed in that range", ids.join(", "));
                }
                json!({ "ids": wanted })
            };
            let report = api.post(&format!("/batches/{run}/process"), body).await?;
            let asked = report["changed"].as_array().map_or(0, Vec::len)
                + report["refused"].as_array().map_or(0, Vec::len);
            let total = if all {
                view["run"]["listed"].as_u64().unwrap_or(0)
            } else {
                asked as u64
            };
            let counts = follow(&api, run, total).await?;
            summary(&counts);
            let bad = counts
                .iter()
                .filter(|(s, _)| matches!(s.as_str(), "failed" | "aborted" | "invalid"))
                .map(|(_, n)| n)
                .sum::<u64>();
            Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
    }
}

const FINAL: &[&str] = &[
    "processed",
    "aborted",
    "skipped",
    "filtered",
    "invalid",
    "deleted",
];

/// Shows a progress bar until every message of the run is in a final status (or stalls).
async fn follow(api: &Api, run: i64, total: u64) -> anyhow::Result<Vec<(String, u64)>> {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut last_done = 0;
    let mut idle = 0;
    loop {
        let view = api.get(&format!("/batches/{run}")).await?;
        let counts: Vec<(String, u64)> = view["counts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (text(&c["status"]), c["count"].as_u64().unwrap_or(0)))
            .collect();
        let done: u64 = counts
            .iter()
            .filter(|(s, _)| FINAL.contains(&s.as_str()))
            .map(|(_, n)| n)
            .sum();
        let failed: u64 = counts
            .iter()
            .filter(|(s, _)| s == "failed")
            .map(|(_, n)| n)
            .sum();
        bar.set_position(done.min(total));
        bar.set_message(if failed > 0 {
            format!("{failed} retrying")
        } else {
            String::new()
        });
        if done >= total {
            bar.finish();
            return Ok(counts);
        }
        idle = if done == last_done { idle + 1 } else { 0 };
        last_done = done;
        // Two minutes without progress: report what is there instead of waiting forever.
        if idle > 240 {
            bar.abandon_with_message("no progress for 2 minutes; see kcf messages list");
            return Ok(counts);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn summary(counts: &[(String, u64)]) {
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!(
        "{}",
        if parts.is_empty() {
            "nothing listed".into()
        } else {
            parts.join(", ")
        }
    );
}

/// `kcf messages …`.
pub async fn messages(args: MessagesArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.remote)?;
    let (action, ids) = match args.command {
        MessagesCommand::List(f) => {
            let mut path = format!(
                "/messages?connector={}&limit={}",
                args.remote.connector, f.limit
            );
            for (k, v) in [
                ("entity", &f.entity),
                ("status", &f.status),
                ("text", &f.text),
            ] {
                if let Some(v) = v {
                    path.push_str(&format!("&{k}={}", urlencode(v)));
                }
            }
            if let Some(before) = f.before {
                path.push_str(&format!("&before={before}"));
            }
            let page = api.get(&path).await?;
            let rows: Vec<Vec<String>> = page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    vec![
                        text(&m["id"]),
                        text(&m["entity"]),
                        text(&m["record_key"]),
                        text(&m["status"]),
                        text(&m["attempts"]),
                        text(&m["description"]),
                        text(&m["last_error"]),
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!("No messages match.");
            } else {
                print_table(
                    &[
                        "ID",
                        "Entity",
                        "Key",
                        "Status",
                        "Attempts",
                        "Description",
                        "Last error",
                    ],
                    &rows,
                );
            }
            if let Some(next) = page["next"].as_i64() {
                println!(
                    "\nmore: add --before {next} for the next {} (older)",
                    f.limit
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        MessagesCommand::Process(a) => ("process", a),
        MessagesCommand::Retry(a) => ("retry", a),
        MessagesCommand::Skip(a) => ("skip", a),
        MessagesCommand::Show { id } => {
            show(&api.get(&format!("/messages/{id}")).await?);
            return Ok(ExitCode::SUCCESS);
        }
        MessagesCommand::Resync { id } => {
            let queued = api
                .post(&format!("/messages/{id}/resync"), json!({}))
                .await?;
            println!(
                "resync of message {id} queued as message {}",
                text(&queued["id"])
            );
            return Ok(ExitCode::SUCCESS);
        }
        MessagesCommand::SetProcessed { id, external_id } => {
            let b = api
                .post(
                    &format!("/messages/{id}/set-processed"),
                    json!({ "external_id": external_id }),
                )
                .await?;
            println!(
                "message {id} processed; {} {} is bound to {}",
                text(&b["entity"]),
                text(&b["erp_key"]),
                text(&b["external_id"])
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let filtered = ids.entity.is_some() || ids.status.is_some() || ids.text.is_some();
    let ids = match (ids.ids.is_empty(), filtered) {
        (false, false) => ids.ids,
        (true, true) => matching(&api, &args.remote, &ids).await?,
        (false, true) => {
            bail!("give message ids or a filter (--status, --entity, --text), not both")
        }
        (true, false) => bail!(
            "say which messages to {action}: their ids, or a filter such as --status aborted --entity order"
        ),
    };
    if ids.is_empty() {
        println!("{action}: no messages match");
        return Ok(ExitCode::SUCCESS);
    }
    let (mut changed, mut refused) = (0, 0);
    for chunk in ids.chunks(10_000) {
        let report = api
            .post(
                "/messages/actions",
                json!({ "action": action, "ids": chunk }),
            )
            .await?;
        changed += report["changed"].as_array().map_or(0, Vec::len);
        for r in report["refused"].as_array().into_iter().flatten() {
            refused += 1;
            println!("  {} refused: {}", text(&r[0]), text(&r[1]));
        }
    }
    println!("{action}: {changed} changed, {refused} refused");
    Ok(ExitCode::from(if refused > 0 { 3 } else { 0 }))
}

/// The ids of every message (up to 10,000) matching an action's filter.
async fn matching(api: &Api, remote: &Remote, f: &ActArgs) -> anyhow::Result<Vec<i64>> {
    let mut base = format!("/messages?connector={}&limit=500", remote.connector);
    for (k, v) in [
        ("entity", &f.entity),
        ("status", &f.status),
        ("text", &f.text),
    ] {
        if let Some(v) = v {
            base.push_str(&format!("&{k}={}", urlencode(v)));
        }
    }
    let mut ids = Vec::new();
    let mut before: Option<i64> = None;
    while ids.len() < 10_000 {
        let path = match before {
            Some(b) => format!("{base}&before={b}"),
            None => base.clone(),
        };
        let page = api.get(&path).await?;
        ids.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["id"].as_i64()),
        );
        match page["next"].as_i64() {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    Ok(ids)
}

/// `kcf bindings …`.
pub async fn bindings(args: BindingsArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.remote)?;
    let c = &args.remote.connector;
    match args.command {
        BindingsCommand::Unbind { entity, erp_key } => {
            api.delete(&format!(
                "/connectors/{c}/bindings/{}/{}",
                urlencode(&entity),
                urlencode(&erp_key)
            ))
            .await?;
            println!("{entity} {erp_key} unbound: its next sync looks its counterpart up again");
        }
        BindingsCommand::Link {
            entity,
            erp_key,
            external_id,
        } => {
            let csv = format!("{erp_key},{external_id}\n");
            let report = api
                .post(
                    &format!("/connectors/{c}/bindings/{}", urlencode(&entity)),
                    json!({ "csv": csv }),
                )
                .await?;
            if let Some(r) = report["refused"].as_array().and_then(|r| r.first()) {
                bail!("{erp_key} not linked: {}", text(&r["error"]));
            }
            println!("{entity} {erp_key} linked to {external_id}");
            if let Some(r) = report["unchecked"].as_array().and_then(|r| r.first()) {
                println!("  {}", text(&r["error"]));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a message's detail as `kcf messages show` does.
fn show(detail: &Value) {
    let m = &detail["message"];
    println!(
        "message {}: {} {} ({}, {})",
        text(&m["id"]),
        text(&m["entity"]),
        text(&m["record_key"]),
        text(&m["direction"]),
        text(&m["mode"])
    );
    println!("  description  {}", text(&m["description"]));
    println!(
        "  status       {} after {} attempt(s)",
        text(&m["status"]),
        text(&m["attempts"])
    );
    if !m["last_error"].is_null() {
        println!("  last error   {}", text(&m["last_error"]));
    }
    match &detail["binding"] {
        Value::Null => println!("  binding      none yet"),
        b => println!(
            "  binding      ERP {} ↔ {}",
            text(&b["erp_key"]),
            text(&b["external_id"])
        ),
    }
    println!("  history");
    for h in detail["history"].as_array().into_iter().flatten() {
        println!(
            "    {}  {} → {}  by {}{}",
            clock(&h["at"]),
            text(&h["from"]),
            text(&h["to"]),
            text(&h["actor"]),
            h["reason"]
                .as_str()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    println!(
        "  payload\n{}",
        serde_json::to_string_pretty(&m["payload"]).unwrap_or_default()
    );
    match &detail["sent"] {
        Value::Null => println!("  mapped to    nothing sent"),
        s => println!(
            "  mapped to    {}\n{}",
            text(&s["target"]),
            serde_json::to_string_pretty(&s["body"]).unwrap_or_default()
        ),
    }
}

/// Epoch milliseconds as a UTC time a person reads.
fn clock(v: &Value) -> String {
    v.as_i64()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| text(v))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b',' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
