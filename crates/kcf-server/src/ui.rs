//! The Commerce Connector Workspace: server-rendered pages (minijinja templates and htmx, both
//! compiled into the binary) over the same engine and store the REST API uses. Forms post and
//! redirect back with a one-line notice; grids refresh themselves with htmx while nobody has
//! a row selected.

use std::{sync::OnceLock, time::Duration};

use axum::{
    Extension, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use kcf_domain::{
    Binding, ConnectorId, ConnectorState, Entity, ManualAction, Mapping, MappingKind, MessageId,
    MessageStatus, Named, Screen, SyncDirection, Timestamp, Transition,
};
use kcf_engine::BatchRequest;
use kcf_store::{MessageFilter, PageRequest};
use minijinja::{Environment, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    AppState, api,
    auth::{self, Principal},
    error::ApiError,
};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("realtime.html", include_str!("../templates/realtime.html")),
    ("batch.html", include_str!("../templates/batch.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("history.html", include_str!("../templates/history.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("tokens.html", include_str!("../templates/tokens.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a workspace template does not parse");
            }
        }
        env.add_filter("when", |v: Value| -> String {
            v.as_i64().map(|ms| when(Timestamp(ms))).unwrap_or_default()
        });
        env
    })
}

/// A UTC time as the workspace shows it.
fn when(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.0)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A page or an error page; a template error is logged and answered with a 500.
fn render(name: &str, ctx: serde_json::Value) -> Response {
    match env()
        .get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
    {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "cannot render a workspace page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "this page could not be drawn; see the server log",
            )
                .into_response()
        }
    }
}

/// A workspace error: what went wrong, on the page the person came from when known.
#[derive(Debug)]
struct UiError(ApiError);

impl<E: Into<ApiError>> From<E> for UiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let body = format!(
            "<!doctype html><html><head><title>Error · kcf</title><link rel=\"stylesheet\" \
             href=\"/assets/app.css\"></head><body><main><div class=\"flash bad\" role=\"alert\">{}\
             </div><p><a href=\"/\">Back to the workspace</a></p></main></body></html>",
            escape(&self.0.message)
        );
        (self.0.status, Html(body)).into_response()
    }
}

type UiResult = Result<Response, UiError>;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A posted form, repeated names kept (`ids=1&ids=2`).
#[derive(Debug, Default)]
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }
    fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn ids(&self) -> Result<Vec<MessageId>, ApiError> {
        self.all("ids")
            .into_iter()
            .map(|v| {
                v.parse::<i64>()
                    .map(MessageId)
                    .map_err(|_| ApiError::bad_request(format!("'{v}' is not a message id")))
            })
            .collect()
    }
}

/// Back to `to`, with a notice.
fn back(to: &str, notice: &str, bad: bool) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    let url = format!(
        "{to}{sep}flash={}{}",
        auth::urlencode(notice),
        if bad { "&bad=1" } else { "" }
    );
    Redirect::to(&url).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct Flash {
    flash: Option<String>,
    bad: Option<String>,
}

/// Every protected page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/logout", post(logout))
        .route("/tokens", get(tokens).post(create_token))
        .route("/tokens/{id}/revoke", post(revoke_token))
        .route("/messages/{id}", get(message).post(message_action))
        .route(
            "/connectors/{c}/realtime/{entity}",
            get(realtime).post(realtime_action),
        )
        .route(
            "/connectors/{c}/batch/{entity}",
            get(batch).post(batch_list),
        )
        .route(
            "/connectors/{c}/batch/{entity}/process",
            post(batch_process),
        )
        .route("/connectors/{c}/history/{entity}", get(history))
        .route("/connectors/{c}/history/{entity}/import", post(import))
        .route("/connectors/{c}/history/{entity}/unbind", post(unbind))
        .route("/connectors/{c}/settings", get(settings))
        .route("/connectors/{c}/settings/state", post(set_state))
        .route("/connectors/{c}/settings/realtime", post(start_realtime))
        .route("/connectors/{c}/settings/connection", post(connection))
        .route(
            "/connectors/{c}/settings/entity/{entity}",
            post(entity_settings),
        )
        .route("/connectors/{c}/settings/mapping", post(mapping))
}

/// The sign-in page and the assets it needs.
pub fn public() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/assets/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static str, &str) = match name.as_str() {
        "htmx.min.js" => (include_str!("../assets/htmx.min.js"), "text/javascript"),
        "app.css" => (include_str!("../assets/app.css"), "text/css"),
        "app.js" => (include_str!("../assets/app.js"), "text/javascript"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------- sign in / out

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(Query(q): Query<LoginQuery>) -> Response {
    render(
        "login.html",
        json!({ "next": safe_next(q.next.as_deref()) }),
    )
}

/// Only local paths, so the sign-in page cannot bounce anyone to another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".into(),
    }
}

async fn login(State(state): State<AppState>, body: Bytes) -> UiResult {
    let form = Form::parse(&body);
    let username = form.text("username");
    let password = form.get("password").unwrap_or_default().to_owned();
    let next = safe_next(form.get("next"));
    let again = |error: String, status: StatusCode| {
        let mut r = render(
            "login.html",
            json!({ "next": next.clone(), "username": username.clone(), "error": error }),
        );
        *r.status_mut() = status;
        r
    };
    if let Err(wait) = state.login_throttle.check(&username) {
        return Ok(again(
            format!("Too many failed sign-ins for this user: try again in {wait} s."),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let hash = state.engine.store.password_hash(&username).await?;
    let ok = match &hash {
        Some(h) => auth::verify_password(&password, h).await,
        None => false,
    };
    if !ok {
        state.login_throttle.failed(&username);
        tracing::warn!(user = %username, "a sign-in failed");
        return Ok(again(
            "The user name or password is not right.".into(),
            StatusCode::UNAUTHORIZED,
        ));
    }
    state.login_throttle.succeeded(&username);
    let cookie = auth::start_session(&state, &username).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

async fn logout(State(state): State<AppState>, headers: axum::http::HeaderMap) -> UiResult {
    if let Some(id) = auth::session_cookie(&headers) {
        state
            .engine
            .store
            .delete_session(&auth::hash_secret(id))
            .await?;
    }
    Ok((
        [(header::SET_COOKIE, auth::clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response())
}

// ---------------------------------------------------------------- shared page parts

/// An entity's heading on a screen (the entity table's).
fn label(entity: Entity, batch: bool) -> &'static str {
    entity.heading(if batch {
        Screen::Batch
    } else {
        Screen::RealTime
    })
}

#[derive(Debug, Serialize)]
struct SideLink {
    href: String,
    label: &'static str,
    on: bool,
}

fn side(c: &ConnectorId, section: &str, screen: Screen, current: Entity) -> Vec<SideLink> {
    Entity::on(screen)
        .into_iter()
        .map(|e| SideLink {
            href: format!("/connectors/{c}/{section}/{e}"),
            label: e.heading(screen),
            on: e == current,
        })
        .collect()
}

fn parse_connector(s: &str) -> Result<ConnectorId, ApiError> {
    ConnectorId::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))
}

fn parse_entity(s: &str, screen: Screen) -> Result<Entity, ApiError> {
    let e: Entity = s
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::not_found(e.to_string()))?;
    if Entity::on(screen).contains(&e) {
        Ok(e)
    } else {
        Err(ApiError::not_found(format!("{e} has no such screen")))
    }
}

async fn known_connector(
    state: &AppState,
    id: &ConnectorId,
) -> Result<kcf_domain::Connector, ApiError> {
    state
        .engine
        .store
        .connector(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no connector '{id}'")))
}

/// The connector the navigation points at: the one in the path, else the first.
async fn first_connector(state: &AppState) -> Option<ConnectorId> {
    state
        .engine
        .store
        .connectors()
        .await
        .ok()?
        .into_iter()
        .next()
        .map(|c| c.id)
}

fn flash_ctx(f: &Flash) -> (Option<String>, bool) {
    (f.flash.clone(), f.bad.is_some())
}

// ---------------------------------------------------------------- home

#[derive(Debug, Serialize)]
struct CountCell {
    status: &'static str,
    count: u64,
}

#[derive(Debug, Serialize)]
struct CountRow {
    entity: &'static str,
    label: &'static str,
    cells: Vec<CountCell>,
}

const SHOWN: &[MessageStatus] = &[
    MessageStatus::Pending,
    MessageStatus::Processing,
    MessageStatus::Processed,
    MessageStatus::Failed,
    MessageStatus::Aborted,
    MessageStatus::Invalid,
    MessageStatus::Skipped,
    MessageStatus::Filtered,
];

async fn home(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Query(f): Query<Flash>,
) -> UiResult {
    let store = &state.engine.store;
    let counts = store
        .overview_counts(Timestamp::now().minus(Duration::from_secs(86_400)))
        .await?;
    let mut connectors = Vec::new();
    for c in store.connectors().await? {
        let runtime = state.engine.runtime(&c.id);
        let rows: Vec<CountRow> = Entity::on(Screen::RealTime)
            .iter()
            .map(|e| CountRow {
                entity: e.as_str(),
                label: label(*e, false),
                cells: SHOWN
                    .iter()
                    .map(|s| CountCell {
                        status: s.as_str(),
                        count: counts
                            .iter()
                            .filter(|n| n.connector == c.id && n.entity == *e && n.status == *s)
                            .map(|n| n.count)
                            .sum(),
                    })
                    .collect(),
            })
            .collect();
        connectors.push(json!({ "id": c.id.as_str(), "name": c.name, "state": c.state.as_str(), "held": c.paused_until.is_some_and(|t| t > Timestamp::now()), "paused_until": c.paused_until, "pause_reason": c.pause_reason, "outage": c.outage, "configured": runtime.is_some(), "rate_limit": runtime.map(|r| {
                json!(r.store.budget())
            }), "counts": rows }));
    }
    let failures = store
        .list_messages(
            &MessageFilter {
                statuses: vec![
                    MessageStatus::Failed,
                    MessageStatus::Aborted,
                    MessageStatus::Invalid,
                ],
                ..MessageFilter::default()
            },
            PageRequest {
                before: None,
                limit: 40,
            },
        )
        .await?
        .items;
    // A failure that a later message of the same record fixed is history, not a failure.
    let mut still = Vec::new();
    for m in failures {
        if still.len() == 10 {
            break;
        }
        let later = store
            .list_messages(
                &MessageFilter {
                    connector: Some(m.connector.clone()),
                    entity: Some(m.entity),
                    record_key: Some(m.record_key.as_str().to_owned()),
                    statuses: vec![MessageStatus::Processed],
                    ..MessageFilter::default()
                },
                PageRequest {
                    before: None,
                    limit: 1,
                },
            )
            .await?
            .items;
        if !later.iter().any(|l| l.id > m.id) {
            still.push(m);
        }
    }
    let failures = still;
    let (flash, flash_bad) = flash_ctx(&f);
    Ok(render(
        "home.html",
        json!({ "title": "Workspace", "user": me.name(), "connector": first_connector(&state).await, "section": "home", "connectors": connectors, "failures": failures, "statuses": SHOWN.iter().map(|s| if s.is_done() { format!("{s} (24 h)") } else { s.as_str().to_owned() }).collect::<Vec<_>>(), "flash": flash, "flash_bad": flash_bad }),
    ))
}

// ---------------------------------------------------------------- real-time processes

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
    flash: Option<String>,
    bad: Option<String>,
}

fn day(s: Option<&str>, end: bool) -> Result<Option<Timestamp>, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        // A To date covers its whole day, as everywhere (`api::parse_window_end`).
        Some(s) if end => crate::api::parse_window_end(s)
            .map(Some)
            .map_err(ApiError::bad_request),
        Some(s) => crate::parse_when(s)
            .map(Some)
            .map_err(ApiError::bad_request),
    }
}

fn realtime_filter(
    c: &ConnectorId,
    entity: Entity,
    q: &ListQuery,
) -> Result<MessageFilter, ApiError> {
    let statuses = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => vec![
            s.parse::<MessageStatus>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ],
        None => Vec::new(),
    };
    Ok(MessageFilter {
        connector: Some(c.clone()),
        entity: Some(entity),
        statuses,
        created_from: day(q.from.as_deref(), false)?,
        created_to: day(q.to.as_deref(), true)?,
        text: q.q.clone().filter(|t| !t.trim().is_empty()),
        ..MessageFilter::default()
    })
}

fn query_string(q: &ListQuery, before: Option<i64>) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("status", &q.status),
        ("q", &q.q),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", auth::urlencode(v)));
        }
    }
    if let Some(b) = before {
        parts.push(format!("before={b}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

async fn realtime(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path((c, entity)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::RealTime)?;
    known_connector(&state, &c).await?;
    let filter = realtime_filter(&c, entity, &q)?;
    let page = state
        .engine
        .store
        .list_messages(
            &filter,
            PageRequest {
                before: q.before.map(MessageId),
                limit: 50,
            },
        )
        .await?;
    let auto_process = state
        .engine
        .store
        .entity_settings(&c)
        .await?
        .into_iter()
        .find(|s| s.entity == entity)
        .is_none_or(|s| s.auto_process);
    let base = format!("/connectors/{c}/realtime/{entity}");
    Ok(render(
        "realtime.html",
        json!({ "title": format!("Real-Time · {}", label(entity, false)), "user": me.name(), "connector": c.as_str(), "section": "realtime", "side_title": "Real-Time Processes", "entities": side(&c, "realtime", Screen::RealTime, entity), "entity_label": label(entity, false), "messages": page.items, "auto_process": auto_process, "all_statuses": MessageStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(), "f": json!({ "status": q.status, "q": q.q, "from": q.from, "to": q.to }), "self_url": format!("{base}{}", query_string(&q, q.before)), "next": page.next.map(|n| format!("{base}{}", query_string(&q, Some(n.0)))), "first": format!("{base}{}", query_string(&q, None)), "flash": q.flash, "flash_bad": q.bad.is_some() }),
    ))
}

/// Says what a manual action did.
fn report_notice(verb: &str, report: &kcf_store::ActionReport) -> (String, bool) {
    let mut notice = format!(
        "{verb}: {} message{}",
        report.changed.len(),
        if report.changed.len() == 1 { "" } else { "s" }
    );
    if !report.refused.is_empty() {
        let why: Vec<String> = report
            .refused
            .iter()
            .take(3)
            .map(|(id, why)| format!("#{} {why}", id.0))
            .collect();
        notice.push_str(&format!(
            "; {} left alone ({})",
            report.refused.len(),
            why.join("; ")
        ));
    }
    (
        notice,
        report.changed.is_empty() && !report.refused.is_empty(),
    )
}

fn transition_of(action: &str) -> Option<(Transition, &'static str)> {
    match action {
        "process" => Some((Transition::ProcessNow, "Queued to process now")),
        "retry" => Some((Transition::Retry, "Retrying")),
        "skip" => Some((Transition::Skip, "Skipped")),
        _ => None,
    }
}

async fn realtime_action(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path((c, entity)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    body: Bytes,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::RealTime)?;
    known_connector(&state, &c).await?;
    let here = format!(
        "/connectors/{c}/realtime/{entity}{}",
        query_string(&q, None)
    );
    let form = Form::parse(&body);
    let action = form.text("action");
    let store = &state.engine.store;
    match action.as_str() {
        "auto-on" | "auto-off" => {
            let mut settings = store
                .entity_settings(&c)
                .await?
                .into_iter()
                .find(|s| s.entity == entity)
                .unwrap_or_else(|| kcf_domain::EntitySettings::default_for(c.clone(), entity));
            settings.auto_process = action == "auto-on";
            store.put_entity_settings(&settings).await?;
            Ok(back(
                &here,
                &format!(
                    "Auto-process is now {}",
                    if settings.auto_process { "on" } else { "off" }
                ),
                false,
            ))
        }
        "process-all" => {
            let mut filter = realtime_filter(&c, entity, &q)?;
            filter.statuses = vec![
                MessageStatus::Pending,
                MessageStatus::Failed,
                MessageStatus::Aborted,
            ];
            let ids = kcf_engine::batch::message_ids(&**store, &filter, 100_000).await?;
            if ids.is_empty() {
                return Ok(back(&here, "Nothing is waiting to be processed", false));
            }
            let mut report = kcf_store::ActionReport::default();
            for chunk in ids.chunks(500) {
                let r = store
                    .act(chunk, &manual(Transition::ProcessNow, &me))
                    .await?;
                report.changed.extend(r.changed);
                report.refused.extend(r.refused);
            }
            let (notice, bad) = report_notice("Processing all", &report);
            Ok(back(&here, &notice, bad))
        }
        other => {
            let Some((transition, verb)) = transition_of(other) else {
                return Ok(back(&here, &format!("Unknown action '{other}'"), true));
            };
            let ids = form.ids()?;
            if ids.is_empty() {
                return Ok(back(&here, "Select one or more rows first", true));
            }
            let report = store.act(&ids, &manual(transition, &me)).await?;
            let (notice, bad) = report_notice(verb, &report);
            Ok(back(&here, &notice, bad))
        }
    }
}

fn manual(transition: Transition, me: &Principal) -> ManualAction {
    ManualAction {
        transition,
        actor: me.actor(),
        reason: Some("from the workspace".into()),
    }
}

// ---------------------------------------------------------------- batch processes

#[derive(Debug, Default, Deserialize)]
struct BatchQuery {
    from: Option<String>,
    to: Option<String>,
    run: Option<i64>,
    /// Keyset: the page of records listed before this message id.
    before: Option<i64>,
    flash: Option<String>,
    bad: Option<String>,
}

const BATCH_ROWS: u32 = 500;

async fn batch(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path((c, entity)): Path<(String, String)>,
    Query(q): Query<BatchQuery>,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::Batch)?;
    known_connector(&state, &c).await?;
    let store = &state.engine.store;
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let month_ago = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * 30))
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| today.clone());
    let columns: Vec<&str> = kcf_engine::batch::columns(entity.as_str())
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
        let fields = kcf_engine::batch::columns(entity.as_str());
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

fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

async fn batch_list(
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

async fn batch_process(
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

// ---------------------------------------------------------------- record detail

async fn message(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> UiResult {
    let store = &state.engine.store;
    let m = api::message_or_404(&state, id).await?;
    let history = store.history(m.id).await?;
    let binding = state.engine.binding_of(&m).await?;
    let edit_link = binding
        .as_ref()
        .and_then(|b| edit_link(&state, &m.connector, m.entity, &b.external_id));
    let payload = serde_json::to_string_pretty(&m.payload).unwrap_or_default();
    let waiting = state.engine.why_waiting(&m).await?;
    let sent = store.sent(m.id).await?.map(|s| {
        json!({ "target": s.target, "at": s.at, "body": serde_json::to_string_pretty(&s.body).unwrap_or_default() })
    });
    // What the record became on the other side, in the worker's words ("created ERP
    // sales order SO000123 for customer …"): the latest outcome's note.
    let result = history
        .iter()
        .rev()
        .find(|h| h.to.is_done() || h.to == MessageStatus::Invalid)
        .and_then(|h| h.reason.clone());
    let history: Vec<serde_json::Value> = history
        .into_iter()
        .map(|h| {
            json!({ "at": h.at, "from_status": h.from.map(|s| s.as_str()), "to_status": h.to.as_str(), "actor": h.actor, "reason": h.reason })
        })
        .collect();
    let (flash, flash_bad) = flash_ctx(&f);
    Ok(render(
        "message.html",
        json!({ "title": format!("{} {}", label(m.entity, false), m.record_key), "user": me.name(), "connector": m.connector.as_str(), "section": "realtime", "side_title": "Real-Time Processes", "entities": side(&m.connector, "realtime", Screen::RealTime, m.entity), "entity_label": label(m.entity, false), "binding": binding, "edit_link": edit_link, "result": result, "history": history, "payload": payload, "sent": sent, "waiting": waiting, "m": m, "flash": flash, "flash_bad": flash_bad }),
    ))
}

/// The binding a message's record has, looked up by the key on its source side.
/// Where a person edits the record in the store: the control panel for a real store, the
/// API resource for the sandbox.
fn edit_link(state: &AppState, c: &ConnectorId, entity: Entity, id: &str) -> Option<String> {
    state.engine.runtime(c)?.store.admin_link(entity, id)
}

async fn message_action(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(id): Path<i64>,
    body: Bytes,
) -> UiResult {
    let store = &state.engine.store;
    let here = format!("/messages/{id}");
    let m = api::message_or_404(&state, id).await?;
    let form = Form::parse(&body);
    let action = form.text("action");
    match action.as_str() {
        "set-processed" => {
            match state
                .engine
                .set_processed(&m, &form.text("external_id"), &me.actor())
                .await
            {
                Ok(_) => Ok(back(
                    &here,
                    "Set as processed; the binding is recorded",
                    false,
                )),
                Err(e) => Ok(back(&here, &ApiError::from(e).message, true)),
            }
        }
        "resync" => {
            let queued = state.engine.resync(&m, &me.actor()).await?;
            Ok(back(
                &format!("/messages/{}", queued.0),
                "Queued a resync of this record",
                false,
            ))
        }
        other => {
            let Some((transition, verb)) = transition_of(other) else {
                return Ok(back(&here, &format!("Unknown action '{other}'"), true));
            };
            let report = store.act(&[m.id], &manual(transition, &me)).await?;
            let (notice, bad) = report_notice(verb, &report);
            Ok(back(&here, &notice, bad))
        }
    }
}

// ---------------------------------------------------------------- sync history

#[derive(Debug, Default, Deserialize)]
struct HistoryQuery {
    q: Option<String>,
    after: Option<String>,
    flash: Option<String>,
    bad: Option<String>,
}

async fn history(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path((c, entity)): Path<(String, String)>,
    Query(q): Query<HistoryQuery>,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::History)?;
    known_connector(&state, &c).await?;
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let bindings = state
        .engine
        .store
        .bindings(&c, entity, text, q.after.as_deref(), 51)
        .await?;
    let next = (bindings.len() > 50).then(|| {
        format!(
            "/connectors/{c}/history/{entity}?q={}&after={}",
            auth::urlencode(text.unwrap_or_default()),
            auth::urlencode(&bindings[49].erp_key)
        )
    });
    let bindings: Vec<Binding> = bindings.into_iter().take(50).collect();
    Ok(render(
        "history.html",
        json!({ "title": format!("Sync History · {}", label(entity, false)), "user": me.name(), "connector": c.as_str(), "section": "history", "side_title": "Sync History", "entities": side(&c, "history", Screen::History, entity), "entity": entity.as_str(), "entity_label": label(entity, false), "bindings": bindings, "next": next, "q": q.q, "flash": q.flash, "flash_bad": q.bad.is_some() }),
    ))
}

/// Parses `erp_key,external_id` lines (a header row is optional; quotes are stripped).
pub fn parse_bindings_csv(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let cells: Vec<String> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_owned())
            .collect();
        if n == 0
            && cells
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case("erp_key"))
        {
            continue;
        }
        match cells.as_slice() {
            [erp, ext] if !erp.is_empty() && !ext.is_empty() => {
                out.push((erp.clone(), ext.clone()))
            }
            _ => {
                return Err(format!(
                    "line {}: expected two values, erp_key,external_id, got '{line}'",
                    n + 1
                ));
            }
        }
    }
    if out.is_empty() {
        return Err("the CSV holds no rows".into());
    }
    Ok(out)
}

async fn import(
    State(state): State<AppState>,
    Path((c, entity)): Path<(String, String)>,
    body: Bytes,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::History)?;
    known_connector(&state, &c).await?;
    let here = format!("/connectors/{c}/history/{entity}");
    let form = Form::parse(&body);
    let rows = match parse_bindings_csv(&form.text("csv")) {
        Ok(rows) => rows,
        Err(e) => return Ok(back(&here, &e, true)),
    };
    let report = match state.engine.import_bindings(&c, entity, rows).await {
        Ok(r) => r,
        Err(e) => return Ok(back(&here, &ApiError::from(e).message, true)),
    };
    let words = |list: &[(String, String)]| -> String {
        list.iter()
            .take(3)
            .map(|(erp_key, why)| format!("{erp_key}: {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut notice = format!("Imported {} binding(s)", report.imported);
    if !report.refused.is_empty() {
        notice.push_str(&format!(
            "; {} refused: {}",
            report.refused.len(),
            words(&report.refused)
        ));
    }
    if !report.unchecked.is_empty() {
        notice.push_str(&format!(
            "; {} linked without a check: {}",
            report.unchecked.len(),
            words(&report.unchecked)
        ));
    }
    Ok(back(&here, &notice, !report.refused.is_empty()))
}

async fn unbind(
    State(state): State<AppState>,
    Path((c, entity)): Path<(String, String)>,
    body: Bytes,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity = parse_entity(&entity, Screen::History)?;
    let here = format!("/connectors/{c}/history/{entity}");
    let form = Form::parse(&body);
    let erp_key = form.text("erp_key");
    match state.engine.unbind(&c, entity, erp_key.trim()).await {
        Ok(true) => Ok(back(
            &here,
            &format!(
                "Unbound {}: its next sync looks its counterpart up again",
                erp_key.trim()
            ),
            false,
        )),
        Ok(false) => Ok(back(
            &here,
            &format!("{} was not linked", erp_key.trim()),
            true,
        )),
        Err(e) => Ok(back(&here, &ApiError::from(e).message, true)),
    }
}

// ---------------------------------------------------------------- connector settings

async fn settings(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(c): Path<String>,
    Query(f): Query<Flash>,
    headers: axum::http::HeaderMap,
) -> UiResult {
    let c = parse_connector(&c)?;
    let connector = known_connector(&state, &c).await?;
    let spec = state.engine.runtime(&c).map(|r| r.spec.clone());
    let connection = kcf_engine::registry::connection_form(spec.as_ref());
    let entity_settings: Vec<serde_json::Value> = state
        .engine
        .store
        .entity_settings(&c)
        .await?
        .into_iter()
        .map(|e| {
            json!({ "entity": e.entity.as_str(), "label": label(e.entity, false), "active": e.active, "direction": e.direction.as_str(), "realtime": e.realtime, "auto_process": e.auto_process, "schedule": e.schedule, "max_attempts": e.max_attempts })
        })
        .collect();
    // Every kind's values are chosen from the systems' own lists; a list that cannot be read
    // (its system is out) is left out, and the free-text row still works.
    let mut choosers = Vec::new();
    let mut names: std::collections::HashMap<(MappingKind, String), String> = Default::default();
    for kind in MappingKind::ALL {
        let Ok(choices) = state.engine.mapping_choices(&c, *kind).await else {
            continue;
        };
        for (v, n) in &choices.store {
            names.insert((*kind, v.clone()), n.clone());
        }
        let words = kind.as_str().replace('-', " ");
        choosers.push(json!({ "kind": kind.as_str(), "words": words, "erp": choices.erp, "store": choices.store }));
    }
    let mappings: Vec<serde_json::Value> = state
        .engine
        .store
        .mappings(&c, None)
        .await?
        .into_iter()
        .map(|m| {
            let shown = match names.get(&(m.kind, m.store_value.clone())) {
                Some(name) if *name != m.store_value => format!("{name} ({})", m.store_value),
                _ => m.store_value.clone(),
            };
            json!({ "kind": m.kind.as_str(), "erp_value": m.erp_value, "store_value": shown })
        })
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    // What the form shows: no secret ever goes back to the browser.
    let spec_view = spec.as_ref().map(|s| s.public_settings());
    let (flash, flash_bad) = flash_ctx(&f);
    Ok(render(
        "settings.html",
        json!({ "title": "Connector Settings", "user": me.name(), "connector": c.as_str(), "section": "settings", "c": json!({ "name": connector.name, "state": connector.state.as_str() }), "spec": spec_view, "connection": connection, "entity_settings": entity_settings, "mappings": mappings, "choosers": choosers, "directions": SyncDirection::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>(), "mapping_kinds": MappingKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(), "base_url": format!("http://{host}"), "flash": flash, "flash_bad": flash_bad }),
    ))
}

async fn set_state(State(state): State<AppState>, Path(c): Path<String>, body: Bytes) -> UiResult {
    let c = parse_connector(&c)?;
    let here = format!("/connectors/{c}/settings");
    let form = Form::parse(&body);
    let new: ConnectorState = match form.text("state").parse() {
        Ok(s) => s,
        Err(e) => return Ok(back(&here, &format!("{e}"), true)),
    };
    state.engine.change_state(&c, new).await?;
    Ok(back(&here, &format!("The connector is now {new}"), false))
}

async fn start_realtime(
    State(state): State<AppState>,
    Path(c): Path<String>,
    body: Bytes,
) -> UiResult {
    let c = parse_connector(&c)?;
    let here = format!("/connectors/{c}/settings");
    let form = Form::parse(&body);
    let base = form.text("base_url");
    let Some(path) = state
        .engine
        .runtime(&c)
        .and_then(|r| kcf_engine::registry::ingress_path(r.store.platform()))
    else {
        return Ok(back(
            &here,
            "This connector's store sends no webhooks",
            true,
        ));
    };
    let url = format!("{}{path}/{c}", base.trim_end_matches('/'));
    match state.engine.start_realtime(&c, &url).await {
        Ok(n) => Ok(back(
            &here,
            &format!("Real-time started: {n} webhook(s) registered for {url}"),
            false,
        )),
        Err(e) => Ok(back(&here, &ApiError::from(e).message, true)),
    }
}

async fn connection(State(state): State<AppState>, Path(c): Path<String>, body: Bytes) -> UiResult {
    let c = parse_connector(&c)?;
    let here = format!("/connectors/{c}/settings");
    let form = Form::parse(&body);
    let Some(runtime) = state.engine.runtime(&c) else {
        return Ok(back(
            &here,
            "This connector is not running in this process",
            true,
        ));
    };
    let current = runtime.spec.clone();
    let names = (
        runtime.erp.platform().label(),
        runtime.store.platform().label(),
    );
    let change = api::ConnectionChange::from_fields(|k| form.get(k).map(str::to_owned));
    let spec = match change.apply(current) {
        Ok(s) => s,
        Err(e) => return Ok(back(&here, &e, true)),
    };
    if form.get("op") == Some("test") {
        let answers = match kcf_engine::Engine::test_unsaved(spec).await {
            Ok(a) => a,
            Err(e) => return Ok(back(&here, &ApiError::from(e).message, true)),
        };
        let (erp_name, store_name) = names;
        return Ok(match (answers.erp.1, answers.store.1) {
            (None, None) => back(
                &here,
                &format!("Test Connection: {erp_name} and {store_name} both answered"),
                false,
            ),
            (erp, store) => {
                let mut parts = Vec::new();
                if let Some(e) = erp {
                    parts.push(format!("{erp_name}: {e}"));
                }
                if let Some(e) = store {
                    parts.push(format!("{store_name}: {e}"));
                }
                back(
                    &here,
                    &format!("Test Connection failed. {}", parts.join(" · ")),
                    true,
                )
            }
        });
    }
    match state.engine.add_connector(spec).await {
        Ok(_) => Ok(back(
            &here,
            "Saved; credentials are stored encrypted",
            false,
        )),
        Err(e) => Ok(back(&here, &ApiError::from(e).message, true)),
    }
}

async fn entity_settings(
    State(state): State<AppState>,
    Path((c, entity)): Path<(String, String)>,
    body: Bytes,
) -> UiResult {
    let c = parse_connector(&c)?;
    let entity: Entity = entity
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::not_found(e.to_string()))?;
    let here = format!("/connectors/{c}/settings");
    let form = Form::parse(&body);
    let store = &state.engine.store;
    let mut s = store
        .entity_settings(&c)
        .await?
        .into_iter()
        .find(|s| s.entity == entity)
        .unwrap_or_else(|| kcf_domain::EntitySettings::default_for(c.clone(), entity));
    s.active = form.get("active").is_some();
    s.realtime = form.get("realtime").is_some();
    s.auto_process = form.get("auto_process").is_some();
    if let Some(d) = form.get("direction") {
        match d.parse() {
            Ok(d) => s.direction = d,
            Err(e) => return Ok(back(&here, &format!("{e}"), true)),
        }
    }
    let schedule = form.text("schedule");
    if !schedule.is_empty()
        && let Err(e) = kcf_engine::schedule::check_schedule(&schedule)
    {
        return Ok(back(&here, &format!("{}: {e}", label(entity, false)), true));
    }
    s.schedule = (!schedule.is_empty()).then_some(schedule);
    match form.text("max_attempts").parse::<u32>() {
        Ok(n) if (1..=100).contains(&n) => s.max_attempts = n,
        _ => {
            return Ok(back(
                &here,
                "Max attempts must be a number from 1 to 100",
                true,
            ));
        }
    }
    store.put_entity_settings(&s).await?;
    Ok(back(
        &here,
        &format!("Saved the {} settings", label(entity, false)),
        false,
    ))
}

async fn mapping(State(state): State<AppState>, Path(c): Path<String>, body: Bytes) -> UiResult {
    let c = parse_connector(&c)?;
    let here = format!("/connectors/{c}/settings");
    let form = Form::parse(&body);
    let kind: MappingKind = match form.text("kind").parse() {
        Ok(k) => k,
        Err(e) => return Ok(back(&here, &format!("{e}"), true)),
    };
    let erp_value = form.text("erp_value");
    if erp_value.is_empty() {
        return Ok(back(&here, "Enter the ERP value", true));
    }
    if form.get("op") == Some("delete") {
        state
            .engine
            .store
            .delete_mapping(&c, kind, &erp_value)
            .await?;
        return Ok(back(
            &here,
            &format!("Removed the {kind} mapping of {erp_value}"),
            false,
        ));
    }
    let store_value = form.text("store_value");
    if store_value.is_empty() {
        return Ok(back(&here, "Enter the store value", true));
    }
    let saved = match state
        .engine
        .set_mapping(Mapping {
            connector: c.clone(),
            kind,
            erp_value: erp_value.clone(),
            store_value: store_value.clone(),
        })
        .await
    {
        Ok(m) => m,
        Err(e) => return Ok(back(&here, &ApiError::from(e).message, true)),
    };
    Ok(back(
        &here,
        &format!("{kind}: {} ↔ {}", saved.erp_value, saved.store_value),
        false,
    ))
}

// ---------------------------------------------------------------- API tokens

async fn tokens(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Query(f): Query<Flash>,
) -> UiResult {
    tokens_page(&state, &me, None, None, f).await
}

async fn tokens_page(
    state: &AppState,
    me: &Principal,
    created: Option<String>,
    created_name: Option<String>,
    f: Flash,
) -> UiResult {
    let tokens = state.engine.store.api_tokens().await?;
    let (flash, flash_bad) = flash_ctx(&f);
    Ok(render(
        "tokens.html",
        json!({ "title": "API Tokens", "user": me.name(), "connector": first_connector(state).await, "section": "tokens", "tokens": tokens, "created": created, "created_name": created_name, "flash": flash, "flash_bad": flash_bad }),
    ))
}

async fn create_token(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    body: Bytes,
) -> UiResult {
    let form = Form::parse(&body);
    let name = form.text("name");
    if name.is_empty() || name.len() > 100 {
        return Ok(back(
            "/tokens",
            "Name the token (1 to 100 characters)",
            true,
        ));
    }
    let token = crate::api::create_token(&state, &name, &me).await?;
    tokens_page(&state, &me, Some(token.token), Some(name), Flash::default()).await
}

async fn revoke_token(State(state): State<AppState>, Path(id): Path<i64>) -> UiResult {
    let revoked = state.engine.store.revoke_api_token(id).await?;
    Ok(if revoked {
        back(
            "/tokens",
            "Revoked; the token is refused from now on",
            false,
        )
    } else {
        back("/tokens", "No such active token", true)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            env().get_template(name).unwrap();
        }
    }

    #[test]
    fn csv_import_reads_rows_and_names_bad_lines() {
        let rows = parse_bindings_csv("erp_key,external_id\nA1,112\n\"B2\", 113\n").unwrap();
        assert_eq!(
            rows,
            vec![("A1".into(), "112".into()), ("B2".into(), "113".into())]
        );
        let e = parse_bindings_csv("erp_key,external_id\nA1\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(parse_bindings_csv("").is_err());
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/connectors/x")), "/connectors/x");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
    }
}
