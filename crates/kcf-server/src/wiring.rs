//! Wiring a connector to running systems: the Acumatica push destination and the BigCommerce
//! webhooks that point at this server, and the first sync. `kcf up` does this between its two
//! emulators; the integration tests do the same.

use std::time::Duration;

use kcf_acumatica::AcumaticaConfig;
use kcf_bigcommerce::BigCommerceConfig;
use kcf_domain::{BatchMode, ConnectorId, Entity, Secret, Timestamp};
use kcf_engine::{BatchRequest, ConnectorSpec, Engine, EngineError, IngressSecrets};

/// The emulators' fixed credentials (see `kcf sandbox`).
pub const SANDBOX_SIGNING_SECRET: &str = "sandbox-client-secret";

/// A connector between the two emulators, with fresh random ingress secrets.
pub fn sandbox_connector(
    id: ConnectorId,
    acumatica_url: &str,
    bigcommerce_url: &str,
) -> ConnectorSpec {
    ConnectorSpec {
        name: "Sandbox: Acumatica ↔ BigCommerce".into(),
        acumatica: AcumaticaConfig::sandbox(acumatica_url),
        bigcommerce: BigCommerceConfig::sandbox(bigcommerce_url),
        ingress: IngressSecrets {
            push_secret: Secret::new(random_secret()),
            webhook_secret: Secret::new(random_secret()),
            signing_secret: Secret::new(SANDBOX_SIGNING_SECRET),
            ..IngressSecrets::default()
        },
        id,
    }
}

fn random_secret() -> String {
    use rand::RngExt;
    format!("{:032x}", rand::rng().random::<u128>())
}

/// Points the Acumatica emulator's push notifications at `server_url` (the emulator's
/// stand-in for SM302000, which has no REST API) and registers the store's webhooks.
pub async fn wire_sandbox(
    engine: &Engine,
    id: &ConnectorId,
    server_url: &str,
    acumatica_url: &str,
) -> Result<(), EngineError> {
    let conn = engine
        .runtime(id)
        .ok_or_else(|| EngineError::UnknownConnector(id.to_string()))?;
    let ingress = &conn.spec.ingress;
    let destinations = serde_json::json!([{
        "name": format!("kcf-{id}"),
        "address": format!("{server_url}/push/acumatica/{id}"),
        "header_name": ingress.push_header,
        "header_value": ingress.push_secret.expose(),
    }]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| EngineError::Setup(e.to_string()))?;
    let answer = http
        .put(format!("{acumatica_url}/_sandbox/push/destinations"))
        .json(&destinations)
        .send()
        .await
        .map_err(|e| EngineError::External(format!("setting the push destination: {e}")))?;
    if !answer.status().is_success() {
        return Err(EngineError::External(format!(
            "setting the push destination: HTTP {}",
            answer.status()
        )));
    }
    engine
        .start_realtime(id, &format!("{server_url}/webhooks/bigcommerce/{id}"))
        .await?;
    Ok(())
}

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
