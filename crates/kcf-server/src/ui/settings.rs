//! Connector Settings: state, real-time start, connection, entities and mappings.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
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

// ---------------------------------------------------------------- connector settings

pub(super) async fn settings(
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
            let removals: Vec<_> = e
                .entity
                .info()
                .removals
                .iter()
                .map(|r| json!({ "value": r.as_str(), "label": r.label() }))
                .collect();
            json!({ "entity": e.entity.as_str(), "label": label(e.entity, false), "active": e.active, "direction": e.direction.as_str(), "realtime": e.realtime, "auto_process": e.auto_process, "schedule": e.schedule, "max_attempts": e.max_attempts, "removals": removals, "on_removal": e.on_removal.map(|r| r.as_str()) })
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

pub(super) async fn set_state(
    State(state): State<AppState>,
    Path(c): Path<String>,
    body: Bytes,
) -> UiResult {
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

pub(super) async fn start_realtime(
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

pub(super) async fn connection(
    State(state): State<AppState>,
    Path(c): Path<String>,
    body: Bytes,
) -> UiResult {
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

pub(super) async fn entity_settings(
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
    if let Some(v) = form.get("on_removal") {
        match v.parse::<kcf_domain::Removal>() {
            Ok(r) if entity.info().removals.contains(&r) => s.on_removal = Some(r),
            _ => {
                return Ok(back(
                    &here,
                    &format!(
                        "{}: choose what a deletion in the ERP does from the list",
                        label(entity, false)
                    ),
                    true,
                ));
            }
        }
    }
    store.put_entity_settings(&s).await?;
    Ok(back(
        &here,
        &format!("Saved the {} settings", label(entity, false)),
        false,
    ))
}

pub(super) async fn mapping(
    State(state): State<AppState>,
    Path(c): Path<String>,
    body: Bytes,
) -> UiResult {
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
