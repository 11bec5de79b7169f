//! Wiring a connector to running systems (the sandbox's emulators, for `kcf up` and the
//! integration tests): the registry knows each platform's part; the first sync is the engine's.

pub use kcf_engine::registry::{SANDBOX_SIGNING_SECRET, sandbox_connector, wire_sandbox};

use kcf_domain::{BatchMode, ConnectorId, Entity, Timestamp};
use kcf_engine::{BatchRequest, Engine, EngineError};

/// The first sync: a full batch of each entity, parents first (categories, then products,
/// customers; orders from the store). Returns the run ids.
pub async fn initial_sync(engine: &Engine, id: &ConnectorId) -> Result<Vec<i64>, EngineError> {
    let mut runs = Vec::new();
    for entity in [
        Entity::Category,
        Entity::Product,
        Entity::Customer,
        Entity::Order,
    ] {
        let run = engine
            .prepare_batch(BatchRequest {
                connector: id.clone(),
                entity,
                mode: BatchMode::Full,
                from: Timestamp(0),
                to: Timestamp::now(),
            })
            .await?;
        runs.push(run.id);
    }
    Ok(runs)
}
