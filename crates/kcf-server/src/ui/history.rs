//! Sync History: the bindings of one entity, their import and unbinding.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/connectors/{c}/history/{entity}", get(history))
        .route("/connectors/{c}/history/{entity}/import", post(import))
        .route("/connectors/{c}/history/{entity}/unbind", post(unbind))
}

// ---------------------------------------------------------------- sync history

#[derive(Debug, Default, Deserialize)]
pub(super) struct HistoryQuery {
    q: Option<String>,
    after: Option<String>,
    flash: Option<String>,
    bad: Option<String>,
}

pub(super) async fn history(
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

pub(super) async fn import(
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

pub(super) async fn unbind(
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
