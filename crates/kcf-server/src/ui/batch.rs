//! Batch Processes: list a window, see its records, process them.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/connectors/{c}/batch/{entity}",
            get(batch).post(batch_list),
        )
        .route(
            "/connectors/{c}/batch/{entity}/process",
            post(batch_process),
        )
}

// ---------------------------------------------------------------- batch processes

#[derive(Debug, Default, Deserialize)]
pub(super) struct BatchQuery {
    from: Option<String>,
    to: Option<String>,
    run: Option<i64>,
    /// Keyset: the page of records listed before this message id.
    before: Option<i64>,
    flash: Option<String>,
    bad: Option<String>,
}

pub(super) const BATCH_ROWS: u32 = 500;

pub(super) async fn batch(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path((c, entity)): Path<(String, String)>,
    Query(q): Query<BatchQuery>,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::Batch)?;
    known_connector(&state, &c).await?;
    let kind = state
        .engine
        .runtime(&c)
        .map_or(kcf_engine::registry::StoreKind::BigCommerce, |r| {
            r.spec.store_kind()
        });
    let store = &state.engine.store;
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let month_ago = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * 30))
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| today.clone());
    let columns: Vec<&str> = kcf_engine::batch::columns(entity.as_str(), kind)
        .iter()
        .map(|(_, h)| *h)
        .collect();
    let mut run_ctx = serde_json::Value::Null;
    let (mut rows, mut next, mut total, mut done, mut pending) =
        (Vec::new(), None, 0u64, 0u64, 0u64);
    let mut from = q.from.clone().unwrap_or(month_ago);
    let mut to = q.to.clone().unwrap_or(today);
    if let Some(run_id) = q.run {
        let run = store
            .batch_run(run_id)
            .await?
            .filter(|r| r.connector == c && r.entity == entity)
            .ok_or_else(|| {
                ApiError::not_found(format!("there is no {entity} batch run {run_id}"))
            })?;
        from = when(run.window_from)[..10].to_owned();
        to = when(Timestamp(run.window_to.0 - 1))[..10].to_owned();
        let filter = MessageFilter {
            batch_run: Some(run.id),
            ..MessageFilter::default()
        };
        for n in store.count_by_status(&filter).await? {
            total += n.count;
            match n.status {
                MessageStatus::Pending | MessageStatus::Processing | MessageStatus::Failed => {
                    pending += n.count
                }
                MessageStatus::Processed
                | MessageStatus::Filtered
                | MessageStatus::Deleted
                | MessageStatus::Skipped => done += n.count,
                _ => {}
            }
        }
        let page = store
            .list_messages(
                &filter,
                PageRequest {
                    before: q.before.map(MessageId),
                    limit: BATCH_ROWS,
                },
            )
            .await?;
        next = page.next;
        let fields = kcf_engine::batch::columns(entity.as_str(), kind);
        let mut items = page.items;
        items.sort_by(|a, b| a.record_key.as_str().cmp(b.record_key.as_str()));
        rows = items
            .into_iter()
            .map(|m| {
                let cells: Vec<String> = fields
                    .iter()
                    .map(|(f, _)| cell(m.payload.get(*f)))
                    .collect();
                json!({ "id": m.id, "key": m.record_key, "cells": cells, "status": m.status.as_str(), "error": m.last_error })
            })
            .collect();
        let busy = run.status == kcf_domain::BatchStatus::Listing;
        run_ctx = json!({ "id": run.id, "status": run.status.as_str(), "listed": run.listed, "window_from": run.window_from, "window_to": run.window_to, "error": run.error, "busy": busy });
    }
    let mut runs = Vec::new();
    for r in store.batch_runs(&c, entity, 10).await? {
        let p = state.engine.run_progress(&r).await?;
        runs.push(json!({ "id": r.id, "window_from": r.window_from, "window_to": r.window_to, "created_at": r.created_at, "listed": p.listed, "processed": p.processed, "pending": p.pending, "failed": p.failed, "state": p.status, "error": r.error }));
    }
    let base = format!("/connectors/{c}/batch/{entity}");
    Ok(render(
        "batch.html",
        json!({ "title": format!("Batch · {}", label(entity, true)), "user": me.name(), "connector": c.as_str(), "section": "batch", "side_title": "Batch Processes", "entities": side(&c, "batch", Screen::Batch, entity), "entity": entity.as_str(), "entity_label": label(entity, true), "columns": columns, "rows": rows, "total": total, "done": done, "pending": pending, "run": run_ctx, "runs": runs, "from": from, "to": to, "next_url": q.run.zip(next).map(|(r, n)| format!("{base}?run={r}&before={}", n.0)), "first_url": q.run.filter(|_| q.before.is_some()).map(|r| format!("{base}?run={r}")), "self_url": q.run.map(|r| match q.before { Some(b) => format!("{base}?run={r}&before={b}"), None => format!("{base}?run={r}") }).unwrap_or(base), "flash": q.flash, "flash_bad": q.bad.is_some() }),
    ))
}

pub(super) fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub(super) async fn batch_list(
    State(state): State<AppState>,
    Path((c, entity)): Path<(String, String)>,
    body: Bytes,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::Batch)?;
    let form = Form::parse(&body);
    let here = format!("/connectors/{c}/batch/{entity}");
    let (from, to) = match (day(form.get("from"), false), day(form.get("to"), true)) {
        (Ok(Some(f)), Ok(Some(t))) => (f, t),
        (Err(e), _) | (_, Err(e)) => return Ok(back(&here, &e.message, true)),
        _ => return Ok(back(&here, "Enter a From Date and a To Date", true)),
    };
    match state
        .engine
        .prepare_batch(BatchRequest {
            connector: c.clone(),
            entity,
            mode: kcf_domain::BatchMode::ByDate,
            from,
            to,
        })
        .await
    {
        Ok(run) => Ok(Redirect::to(&format!("{here}?run={}", run.id)).into_response()),
        Err(e) => Ok(back(&here, &ApiError::from(e).message, true)),
    }
}

pub(super) async fn batch_process(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path((c, entity)): Path<(String, String)>,
    body: Bytes,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::Batch)?;
    let form = Form::parse(&body);
    let run: i64 = form
        .get("run")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| ApiError::bad_request("the form names no batch run"))?;
    let here = format!("/connectors/{c}/batch/{entity}?run={run}");
    let ids = if form.get("op") == Some("all") {
        None
    } else {
        let ids = form.ids()?;
        if ids.is_empty() {
            return Ok(back(&here, "Select one or more records first", true));
        }
        Some(ids)
    };
    let report = state.engine.process_batch(run, ids, &me.actor()).await?;
    let (notice, bad) = report_notice("Processing", &report);
    Ok(back(&here, &notice, bad))
}
