//! One message: its record, what was sent, its history, and the actions on it.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/messages/{id}", get(message).post(message_action))
}

// ---------------------------------------------------------------- record detail

pub(super) async fn message(
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
pub(super) fn edit_link(
    state: &AppState,
    c: &ConnectorId,
    entity: Entity,
    id: &str,
) -> Option<String> {
    state.engine.runtime(c)?.store.admin_link(entity, id)
}

pub(super) async fn message_action(
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
