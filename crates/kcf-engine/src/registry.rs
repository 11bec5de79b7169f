//! The registry: the only file of the engine that names platforms. It holds the connector
//! configuration (today's `[connectors.acumatica]` / `[connectors.bigcommerce]` tables), builds
//! each side's port from it, applies a person's connection change, knows the default
//! order-status mapping between the pair, where each platform's notifications come in, and
//! how the sandbox's emulators are wired to a connector.
//!
//! Adding a store platform: a variant of [`StoreKind`], a field of [`ConnectorSpec`] for its
//! settings, its arm in [`build`], [`ingress_path`] and [`columns`].

use std::sync::Arc;

use kcf_acumatica::{AcumaticaAuth, AcumaticaClient, AcumaticaConfig, AcumaticaErp};
use kcf_bigcommerce::{BigCommerceConfig, BigCommerceStore};
use kcf_domain::{ConnectorId, Direction, Entity, Platform, Secret};
use kcf_platform::{Erp, IngressSecrets, Storefront};
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// The store platforms kcf connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// BigCommerce.
    BigCommerce,
}

/// How a connector is configured (from `kcf serve`'s file, or wired by `kcf up`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSpec {
    /// Its id, used in URLs (`/push/acumatica/{id}`).
    pub id: ConnectorId,
    /// A human name.
    #[serde(default)]
    pub name: String,
    /// The ERP.
    pub acumatica: AcumaticaConfig,
    /// The store.
    pub bigcommerce: BigCommerceConfig,
    /// What the notification receivers check.
    #[serde(default)]
    pub ingress: IngressSecrets,
}

impl ConnectorSpec {
    /// The store platform it connects.
    pub fn store_kind(&self) -> StoreKind {
        StoreKind::BigCommerce
    }

    /// The settings a person may see (no secrets), for the connector's row.
    pub fn public_settings(&self) -> serde_json::Value {
        serde_json::json!({
            "acumatica": { "base_url": self.acumatica.base_url, "endpoint": self.acumatica.endpoint },
            "bigcommerce": { "base_url": self.bigcommerce.base_url, "store_hash": self.bigcommerce.store_hash },
        })
    }

    /// Whether `other` signs in to the same ERP the same way (a kept session stays valid).
    pub fn same_erp(&self, other: &ConnectorSpec) -> bool {
        serde_json::to_value(&self.acumatica).ok() == serde_json::to_value(&other.acumatica).ok()
    }
}

/// A connector's two sides.
pub type Sides = (Arc<dyn Erp>, Arc<dyn Storefront>);

/// The two sides of a connector, built from its spec.
pub fn build(spec: &ConnectorSpec) -> Result<Sides, EngineError> {
    let erp = AcumaticaClient::new(spec.acumatica.clone())
        .map_err(|e| EngineError::Setup(format!("connector {}: Acumatica: {e}", spec.id)))?;
    let store: Arc<dyn Storefront> = match spec.store_kind() {
        StoreKind::BigCommerce => Arc::new(
            BigCommerceStore::new(spec.bigcommerce.clone()).map_err(|e| {
                EngineError::Setup(format!("connector {}: BigCommerce: {e}", spec.id))
            })?,
        ),
    };
    Ok((Arc::new(AcumaticaErp::new(erp)), store))
}

/// The default order-status mapping between the pair: ERP status → store status.
pub fn default_order_statuses(kind: StoreKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        // `reference/domain.md`: Awaiting Fulfillment 11, Awaiting Shipment 9, Completed 2,
        // Cancelled 5.
        StoreKind::BigCommerce => &[
            ("Open", "11"),
            ("Pending Approval", "11"),
            ("On Hold", "11"),
            ("Credit Hold", "11"),
            ("Back Order", "9"),
            ("Shipping", "9"),
            ("Completed", "2"),
            ("Invoiced", "2"),
            ("Cancelled", "5"),
        ],
    }
}

/// Where a platform's notifications come in: `{path}/{connector}`; `None`: it does not
/// notify kcf.
pub fn ingress_path(platform: Platform) -> Option<&'static str> {
    match platform {
        Platform::Acumatica => Some("/push/acumatica"),
        Platform::BigCommerce => Some("/webhooks/bigcommerce"),
        Platform::Shopify | Platform::Magento => None,
    }
}

/// The platforms whose notifications kcf receives, with their ingress paths.
pub fn ingress_routes() -> Vec<(Platform, &'static str)> {
    Platform::all()
        .iter()
        .filter_map(|p| ingress_path(*p).map(|path| (*p, path)))
        .collect()
}

/// The batch grid's columns per entity (field in the listed record, heading), from the
/// platform its batch screen lists.
pub fn columns(entity: &str) -> &'static [(&'static str, &'static str)] {
    let Ok(entity) = entity.parse::<Entity>() else {
        return &[];
    };
    match entity.batch_source() {
        Some(Direction::ErpToStore) => kcf_acumatica::erp::columns(entity),
        Some(Direction::StoreToErp) => kcf_bigcommerce::storefront::columns(entity),
        None => &[],
    }
}

/// One field of the connection form: what a person may change, and what it holds now
/// (never a secret: those show as "stored").
#[derive(Debug, Clone, Serialize)]
pub struct FormField {
    /// The field's name (a [`ConnectionChange`] field).
    pub name: &'static str,
    /// What a person reads.
    pub label: &'static str,
    /// Its value now (empty for a secret).
    pub value: String,
    /// A secret: write-only.
    pub secret: bool,
    /// Shown wide (URLs).
    pub wide: bool,
}

/// The connection form of `spec` (a new connector's, with the defaults, when `None`).
pub fn connection_form(spec: Option<&ConnectorSpec>) -> Vec<FormField> {
    let (user, tenant) = match spec.map(|s| &s.acumatica.auth) {
        Some(AcumaticaAuth::Cookie {
            username, tenant, ..
        }) => (username.clone(), tenant.clone()),
        Some(AcumaticaAuth::OAuth { username, .. }) => (username.clone(), String::new()),
        None => (String::new(), String::new()),
    };
    let field = |name, label, value: String, secret, wide| FormField {
        name,
        label,
        value,
        secret,
        wide,
    };
    vec![
        field(
            "acumatica_url",
            "Acumatica URL",
            spec.map(|s| s.acumatica.base_url.clone())
                .unwrap_or_default(),
            false,
            true,
        ),
        field(
            "acumatica_endpoint",
            "Endpoint",
            spec.map_or_else(
                || kcf_acumatica::DEFAULT_ENDPOINT.to_owned(),
                |s| s.acumatica.endpoint.clone(),
            ),
            false,
            false,
        ),
        field("acumatica_username", "User", user, false, false),
        field("acumatica_password", "Password", String::new(), true, false),
        field("acumatica_tenant", "Tenant", tenant, false, false),
        field(
            "bigcommerce_url",
            "BigCommerce API URL",
            spec.map_or_else(
                || "https://api.bigcommerce.com".to_owned(),
                |s| s.bigcommerce.base_url.clone(),
            ),
            false,
            true,
        ),
        field(
            "store_hash",
            "Store hash",
            spec.map(|s| s.bigcommerce.store_hash.clone())
                .unwrap_or_default(),
            false,
            false,
        ),
        field("access_token", "Access token", String::new(), true, false),
    ]
}

/// Connection settings to change; absent or empty fields keep their value (the secrets
/// included, which are never shown back).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionChange {
    /// The ERP's URL.
    pub acumatica_url: Option<String>,
    /// Its endpoint.
    pub acumatica_endpoint: Option<String>,
    /// Its user.
    pub acumatica_username: Option<String>,
    /// Its password.
    pub acumatica_password: Option<String>,
    /// Its tenant.
    pub acumatica_tenant: Option<String>,
    /// The store's API URL.
    pub bigcommerce_url: Option<String>,
    /// Its store hash.
    pub store_hash: Option<String>,
    /// Its access token.
    pub access_token: Option<String>,
}

impl ConnectionChange {
    /// From a JSON body; an empty body changes nothing.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        serde_json::from_slice(body).map_err(|e| format!("invalid connection change: {e}"))
    }

    /// From a form's fields (unknown ones ignored).
    pub fn from_fields(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            acumatica_url: get("acumatica_url"),
            acumatica_endpoint: get("acumatica_endpoint"),
            acumatica_username: get("acumatica_username"),
            acumatica_password: get("acumatica_password"),
            acumatica_tenant: get("acumatica_tenant"),
            bigcommerce_url: get("bigcommerce_url"),
            store_hash: get("store_hash"),
            access_token: get("access_token"),
        }
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        [
            &self.acumatica_url,
            &self.acumatica_endpoint,
            &self.acumatica_username,
            &self.acumatica_password,
            &self.acumatica_tenant,
            &self.bigcommerce_url,
            &self.store_hash,
            &self.access_token,
        ]
        .iter()
        .all(|v| v.as_deref().is_none_or(|v| v.trim().is_empty()))
    }

    /// The spec with these changes, checked.
    pub fn apply(&self, mut spec: ConnectorSpec) -> Result<ConnectorSpec, String> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let set = |target: &mut String, v: &Option<String>| {
            if let Some(v) = given(v) {
                *target = v.to_owned();
            }
        };
        // Stored secrets never follow a new address: whoever may change the URL (any API
        // token holder) could otherwise have them sent to a host of their choosing. A new
        // address needs its secrets entered again.
        let moved = |now: &str, to: &Option<String>| {
            given(to).is_some_and(|to| to.trim_end_matches('/') != now.trim_end_matches('/'))
        };
        if moved(&spec.acumatica.base_url, &self.acumatica_url) {
            if matches!(spec.acumatica.auth, AcumaticaAuth::OAuth { .. }) {
                return Err(
                    "the Acumatica URL of a connector that signs in with OAuth is changed \
                     in the configuration file, with its client secret"
                        .into(),
                );
            }
            if given(&self.acumatica_password).is_none() {
                return Err(
                    "a new Acumatica URL needs the password entered again: kcf does not \
                     send stored credentials to a new address"
                        .into(),
                );
            }
        }
        if moved(&spec.bigcommerce.base_url, &self.bigcommerce_url)
            && given(&self.access_token).is_none()
        {
            return Err(
                "a new BigCommerce API URL needs the access token entered again: kcf \
                 does not send stored credentials to a new address"
                    .into(),
            );
        }
        set(&mut spec.acumatica.base_url, &self.acumatica_url);
        set(&mut spec.acumatica.endpoint, &self.acumatica_endpoint);
        set(&mut spec.bigcommerce.base_url, &self.bigcommerce_url);
        set(&mut spec.bigcommerce.store_hash, &self.store_hash);
        if let Some(t) = given(&self.access_token) {
            spec.bigcommerce.access_token = t.into();
        }
        match &mut spec.acumatica.auth {
            AcumaticaAuth::Cookie {
                username,
                password,
                tenant,
                ..
            } => {
                set(username, &self.acumatica_username);
                set(tenant, &self.acumatica_tenant);
                if let Some(p) = given(&self.acumatica_password) {
                    *password = p.into();
                }
            }
            AcumaticaAuth::OAuth {
                username, password, ..
            } => {
                set(username, &self.acumatica_username);
                if let Some(p) = given(&self.acumatica_password) {
                    *password = p.into();
                }
            }
        }
        spec.acumatica.validate().map_err(|e| e.to_string())?;
        spec.bigcommerce.validate().map_err(|e| e.to_string())?;
        Ok(spec)
    }
}

/// The emulators' fixed credentials (see `kcf sandbox`).
pub const SANDBOX_SIGNING_SECRET: &str = "sandbox-client-secret";

/// A connector between the two emulators, with fresh random ingress secrets.
pub fn sandbox_connector(id: ConnectorId, erp_url: &str, store_url: &str) -> ConnectorSpec {
    ConnectorSpec {
        name: "Sandbox: Acumatica ↔ BigCommerce".into(),
        acumatica: AcumaticaConfig::sandbox(erp_url),
        bigcommerce: BigCommerceConfig::sandbox(store_url),
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

/// Points the ERP emulator's push notifications at `server_url` (the emulator's stand-in for
/// SM302000, which has no REST API) and subscribes the store's webhooks.
pub async fn wire_sandbox(
    engine: &Engine,
    id: &ConnectorId,
    server_url: &str,
    erp_url: &str,
) -> Result<(), EngineError> {
    let conn = engine
        .runtime(id)
        .ok_or_else(|| EngineError::UnknownConnector(id.to_string()))?;
    let ingress = &conn.spec.ingress;
    let at = |platform| {
        format!(
            "{server_url}{}/{id}",
            ingress_path(platform).unwrap_or_default()
        )
    };
    kcf_acumatica::sandbox::point_push_at(
        erp_url,
        &format!("kcf-{id}"),
        &at(conn.erp.platform()),
        &ingress.push_header,
        ingress.push_secret.expose(),
    )
    .await
    .map_err(EngineError::External)?;
    engine
        .start_realtime(id, &at(conn.store.platform()))
        .await?;
    Ok(())
}
