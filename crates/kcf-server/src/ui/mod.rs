//! The Commerce Connector Workspace: server-rendered pages (minijinja templates and htmx, both
//! compiled into the binary) over the same engine and store the REST API uses. Forms post and
//! redirect back with a one-line notice; grids refresh themselves with htmx while nobody has
//! a row selected.

mod batch;
mod history;
mod home;
mod login;
mod message;
mod realtime;
mod settings;
mod tokens;

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

use kcf_engine::bindings::parse_csv as parse_bindings_csv;

use crate::{
    AppState, api,
    auth::{self, Principal},
    error::ApiError,
};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("home.html", include_str!("../../templates/home.html")),
    (
        "realtime.html",
        include_str!("../../templates/realtime.html"),
    ),
    ("batch.html", include_str!("../../templates/batch.html")),
    ("message.html", include_str!("../../templates/message.html")),
    ("history.html", include_str!("../../templates/history.html")),
    (
        "settings.html",
        include_str!("../../templates/settings.html"),
    ),
    ("tokens.html", include_str!("../../templates/tokens.html")),
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
    /// A field as sent, not trimmed (a password may begin or end with a space).
    fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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
        .merge(login::router())
        .merge(home::router())
        .merge(realtime::router())
        .merge(batch::router())
        .merge(message::router())
        .merge(history::router())
        .merge(settings::router())
        .merge(tokens::router())
}

/// The sign-in page and the assets it needs.
pub fn public() -> Router<AppState> {
    login::public()
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static str, &str) = match name.as_str() {
        "htmx.min.js" => (include_str!("../../assets/htmx.min.js"), "text/javascript"),
        "app.css" => (include_str!("../../assets/app.css"), "text/css"),
        "app.js" => (include_str!("../../assets/app.js"), "text/javascript"),
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

/// Only local paths, so the sign-in page cannot bounce anyone to another site.
fn safe_next(next: Option<&str>) -> String {
    // A path on this site only: one leading slash, then visible ASCII without a backslash.
    // Browsers drop tabs and newlines from a Location, so `/\t/evil.example` would leave the
    // site; and a newline is no header value at all.
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_owned()
        }
        _ => "/".into(),
    }
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

fn manual(transition: Transition, me: &Principal) -> ManualAction {
    ManualAction {
        transition,
        actor: me.actor(),
        reason: Some("from the workspace".into()),
    }
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
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(
            safe_next(Some("/connectors/x?y=1&z=2")),
            "/connectors/x?y=1&z=2"
        );
    }
}
