//! The home page: every connector's state, counts and recent failures.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

// ---------------------------------------------------------------- home

#[derive(Debug, Serialize)]
pub(super) struct CountCell {
    status: &'static str,
    count: u64,
}

#[derive(Debug, Serialize)]
pub(super) struct CountRow {
    entity: &'static str,
    label: &'static str,
    cells: Vec<CountCell>,
}

pub(super) const SHOWN: &[MessageStatus] = &[
    MessageStatus::Pending,
    MessageStatus::Processing,
    MessageStatus::Processed,
    MessageStatus::Failed,
    MessageStatus::Aborted,
    MessageStatus::Invalid,
    MessageStatus::Skipped,
    MessageStatus::Filtered,
];

pub(super) async fn home(
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
    let ids: Vec<_> = failures.iter().map(|m| m.id).collect();
    let fixed = store.superseded(&ids).await?;
    let still: Vec<_> = failures
        .into_iter()
        .filter(|m| !fixed.contains(&m.id))
        .take(10)
        .collect();
    let failures = still;
    let (flash, flash_bad) = flash_ctx(&f);
    Ok(render(
        "home.html",
        json!({ "title": "Workspace", "user": me.name(), "connector": first_connector(&state).await, "section": "home", "connectors": connectors, "failures": failures, "statuses": SHOWN.iter().map(|s| if s.is_done() { format!("{s} (24 h)") } else { s.as_str().to_owned() }).collect::<Vec<_>>(), "flash": flash, "flash_bad": flash_bad }),
    ))
}
