//! Real-Time Processes: the message grid of one entity and its actions.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/connectors/{c}/realtime/{entity}",
        get(realtime).post(realtime_action),
    )
}

// ---------------------------------------------------------------- real-time processes

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
    flash: Option<String>,
    bad: Option<String>,
}

pub(super) fn realtime_filter(
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

pub(super) fn query_string(q: &ListQuery, before: Option<i64>) -> String {
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

pub(super) async fn realtime(
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

pub(super) async fn realtime_action(
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
