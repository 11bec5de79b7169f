//! The registry: the only file of the engine that names platforms. It holds the connector
//! configuration (the `[connectors.acumatica]` table and one store's:
//! `[connectors.bigcommerce]` or `[connectors.shopify]`), builds
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
use kcf_shopify::{ShopifyConfig, ShopifyStore};
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// The store platforms kcf connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// BigCommerce.
    BigCommerce,
    /// Shopify.
    Shopify,
}

impl StoreKind {
    /// Every kind, in the order `kcf up` wires them.
    pub const ALL: [StoreKind; 2] = [StoreKind::BigCommerce, StoreKind::Shopify];

    /// Its platform.
    pub fn platform(self) -> Platform {
        match self {
            Self::BigCommerce => Platform::BigCommerce,
            Self::Shopify => Platform::Shopify,
        }
    }

    /// Its name in configuration and on the command line (`bigcommerce`, `shopify`).
    pub fn name(self) -> &'static str {
        match self {
            Self::BigCommerce => "bigcommerce",
            Self::Shopify => "shopify",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!("'{name}' is not a store kcf connects; use bigcommerce or shopify")
            })
    }

    /// The prefix its orders' ExternalRef carries in the ERP by default, so that orders of
    /// two stores never share one (BigCommerce's stay bare, as they always were).
    pub fn default_order_prefix(self) -> &'static str {
        match self {
            Self::BigCommerce => "",
            Self::Shopify => "SHOP-",
        }
    }
}

/// One connector's store and its settings.
#[derive(Debug, Clone)]
pub enum StoreSpec {
    /// A BigCommerce store.
    BigCommerce(BigCommerceConfig),
    /// A Shopify shop.
    Shopify(ShopifyConfig),
}

/// How a connector is configured (from `kcf serve`'s file, or wired by `kcf up`): the ERP
/// and exactly one store.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "SpecFile", into = "SpecFile")]
pub struct ConnectorSpec {
    /// Its id, used in URLs (`/push/acumatica/{id}`).
    pub id: ConnectorId,
    /// A human name.
    pub name: String,
    /// The ERP.
    pub acumatica: AcumaticaConfig,
    /// The store.
    pub store: StoreSpec,
    /// What the notification receivers check.
    pub ingress: IngressSecrets,
    /// What the ERP order's ExternalRef holds before the store's order id (see
    /// [`StoreKind::default_order_prefix`]).
    pub order_prefix: String,
}

/// The connector table as written in a file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    id: ConnectorId,
    #[serde(default)]
    name: String,
    acumatica: AcumaticaConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bigcommerce: Option<BigCommerceConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shopify: Option<ShopifyConfig>,
    #[serde(default)]
    ingress: IngressSecrets,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order_prefix: Option<String>,
}

impl TryFrom<SpecFile> for ConnectorSpec {
    type Error = String;

    fn try_from(f: SpecFile) -> Result<Self, String> {
        let store = match (f.bigcommerce, f.shopify) {
            (Some(b), None) => StoreSpec::BigCommerce(b),
            (None, Some(s)) => StoreSpec::Shopify(s),
            (None, None) => {
                return Err(format!(
                    "connector {} has no store: add a [connectors.bigcommerce] or \
                     [connectors.shopify] table",
                    f.id
                ));
            }
            (Some(_), Some(_)) => {
                return Err(format!(
                    "connector {} has two stores; a connector joins the ERP to one store, so \
                     give each store a connector of its own",
                    f.id
                ));
            }
        };
        let kind = store.kind();
        let order_prefix = f
            .order_prefix
            .unwrap_or_else(|| kind.default_order_prefix().to_owned());
        if order_prefix.len() > 10
            || order_prefix
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "connector {}: order_prefix '{order_prefix}' must be at most 10 characters \
                 without spaces (the ERP's ExternalRef is short)",
                f.id
            ));
        }
        Ok(Self {
            id: f.id,
            name: f.name,
            acumatica: f.acumatica,
            store,
            ingress: f.ingress,
            order_prefix,
        })
    }
}

impl From<ConnectorSpec> for SpecFile {
    fn from(s: ConnectorSpec) -> Self {
        let (bigcommerce, shopify) = match s.store {
            StoreSpec::BigCommerce(b) => (Some(b), None),
            StoreSpec::Shopify(c) => (None, Some(c)),
        };
        Self {
            id: s.id,
            name: s.name,
            acumatica: s.acumatica,
            bigcommerce,
            shopify,
            ingress: s.ingress,
            order_prefix: Some(s.order_prefix),
        }
    }
}

impl StoreSpec {
    /// Which platform.
    pub fn kind(&self) -> StoreKind {
        match self {
            Self::BigCommerce(_) => StoreKind::BigCommerce,
            Self::Shopify(_) => StoreKind::Shopify,
        }
    }

    /// Where the store's API is.
    pub fn base_url(&self) -> &str {
        match self {
            Self::BigCommerce(b) => &b.base_url,
            Self::Shopify(s) => &s.shop_url,
        }
    }

    /// Checks the settings, saying what to fix.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::BigCommerce(b) => b.validate(),
            Self::Shopify(s) => s.validate(),
        }
    }
}

impl ConnectorSpec {
    /// The store platform it connects.
    pub fn store_kind(&self) -> StoreKind {
        self.store.kind()
    }

    /// Its BigCommerce settings, when it connects BigCommerce.
    pub fn bigcommerce_mut(&mut self) -> Option<&mut BigCommerceConfig> {
        match &mut self.store {
            StoreSpec::BigCommerce(b) => Some(b),
            StoreSpec::Shopify(_) => None,
        }
    }

    /// Its Shopify settings, when it connects Shopify.
    pub fn shopify_mut(&mut self) -> Option<&mut ShopifyConfig> {
        match &mut self.store {
            StoreSpec::Shopify(s) => Some(s),
            StoreSpec::BigCommerce(_) => None,
        }
    }

    /// The settings a person may see (no secrets), for the connector's row.
    pub fn public_settings(&self) -> serde_json::Value {
        let store = match &self.store {
            StoreSpec::BigCommerce(b) => serde_json::json!({
                "bigcommerce": { "base_url": b.base_url, "store_hash": b.store_hash },
            }),
            StoreSpec::Shopify(s) => serde_json::json!({
                "shopify": { "shop_url": s.shop_url, "api_version": s.api_version },
            }),
        };
        let mut settings = serde_json::json!({
            "acumatica": { "base_url": self.acumatica.base_url, "endpoint": self.acumatica.endpoint },
            "store": self.store_kind().name(),
            "order_prefix": self.order_prefix,
        });
        if let (Some(all), Some(store)) = (settings.as_object_mut(), store.as_object()) {
            all.extend(store.clone());
        }
        settings
    }

    /// Whether `other` signs in to the same ERP the same way (a kept session stays valid).
    pub fn same_erp(&self, other: &ConnectorSpec) -> bool {
        serde_json::to_value(&self.acumatica).ok() == serde_json::to_value(&other.acumatica).ok()
    }

    /// The ERP order's ExternalRef of store order `id`.
    pub fn external_ref(&self, id: &str) -> String {
        format!("{}{id}", self.order_prefix)
    }

    /// The store order id an ERP order's ExternalRef names, when it is this connector's.
    pub fn store_order_id<'a>(&self, external_ref: &'a str) -> Option<&'a str> {
        external_ref
            .trim()
            .strip_prefix(self.order_prefix.as_str())
            .filter(|id| !id.is_empty())
    }
}

/// A connector's two sides.
pub type Sides = (Arc<dyn Erp>, Arc<dyn Storefront>);

/// The two sides of a connector, built from its spec.
pub fn build(spec: &ConnectorSpec) -> Result<Sides, EngineError> {
    let erp = AcumaticaClient::new(spec.acumatica.clone())
        .map_err(|e| EngineError::Setup(format!("connector {}: Acumatica: {e}", spec.id)))?;
    let setup = |platform: &str, e: String| {
        EngineError::Setup(format!("connector {}: {platform}: {e}", spec.id))
    };
    let store: Arc<dyn Storefront> = match &spec.store {
        StoreSpec::BigCommerce(c) => Arc::new(
            BigCommerceStore::new(c.clone()).map_err(|e| setup("BigCommerce", e.to_string()))?,
        ),
        StoreSpec::Shopify(c) => {
            Arc::new(ShopifyStore::new(c.clone()).map_err(|e| setup("Shopify", e.to_string()))?)
        }
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
        // Shopify's own lifecycle: open until completed (closed, that is archived), or
        // cancelled. Partial shipping shows in its fulfillments, not in a status.
        StoreKind::Shopify => &[
            ("Open", "OPEN"),
            ("Pending Approval", "OPEN"),
            ("On Hold", "OPEN"),
            ("Credit Hold", "OPEN"),
            ("Back Order", "OPEN"),
            ("Shipping", "OPEN"),
            ("Completed", "CLOSED"),
            ("Invoiced", "CLOSED"),
            ("Cancelled", "CANCELLED"),
        ],
    }
}

/// Where a platform's notifications come in: `{path}/{connector}`; `None`: it does not
/// notify kcf.
pub fn ingress_path(platform: Platform) -> Option<&'static str> {
    match platform {
        Platform::Acumatica => Some("/push/acumatica"),
        Platform::BigCommerce => Some("/webhooks/bigcommerce"),
        Platform::Shopify => Some("/webhooks/shopify"),
        Platform::Magento => None,
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
/// platform its batch screen lists (the store's, for a connector to `store`).
pub fn columns(entity: &str, store: StoreKind) -> &'static [(&'static str, &'static str)] {
    let Ok(entity) = entity.parse::<Entity>() else {
        return &[];
    };
    match (entity.batch_source(), store) {
        (Some(Direction::ErpToStore), _) => kcf_acumatica::erp::columns(entity),
        (Some(Direction::StoreToErp), StoreKind::BigCommerce) => {
            kcf_bigcommerce::storefront::columns(entity)
        }
        (Some(Direction::StoreToErp), StoreKind::Shopify) => {
            kcf_shopify::storefront::columns(entity)
        }
        (None, _) => &[],
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
    ]
    .into_iter()
    .chain(store_form(spec))
    .collect()
}

/// The store's part of the connection form.
fn store_form(spec: Option<&ConnectorSpec>) -> Vec<FormField> {
    let field = |name, label, value: String, secret, wide| FormField {
        name,
        label,
        value,
        secret,
        wide,
    };
    match spec.map(|s| &s.store) {
        Some(StoreSpec::Shopify(c)) => vec![
            field("shopify_url", "Shop URL", c.shop_url.clone(), false, true),
            field(
                "api_version",
                "API version",
                c.api_version.clone(),
                false,
                false,
            ),
            field("access_token", "Access token", String::new(), true, false),
        ],
        Some(StoreSpec::BigCommerce(c)) => vec![
            field(
                "bigcommerce_url",
                "BigCommerce API URL",
                c.base_url.clone(),
                false,
                true,
            ),
            field(
                "store_hash",
                "Store hash",
                c.store_hash.clone(),
                false,
                false,
            ),
            field("access_token", "Access token", String::new(), true, false),
        ],
        None => vec![
            field(
                "bigcommerce_url",
                "BigCommerce API URL",
                "https://api.bigcommerce.com".to_owned(),
                false,
                true,
            ),
            field("store_hash", "Store hash", String::new(), false, false),
            field("access_token", "Access token", String::new(), true, false),
        ],
    }
}

/// Connection settings to change; absent or empty fields keep their value (the secrets
/// included, which are never shown back).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionChange {
    /// The ERP's URL.
    pub acumatica_url: Option<String>,
    /// Its endpoint.
    pub acumatica_endpoint: Option<String>,
    /// Its user.
    pub acumatica_username: Option<String>,
    /// Its password.
    #[schema(write_only)]
    pub acumatica_password: Option<String>,
    /// Its tenant.
    pub acumatica_tenant: Option<String>,
    /// The store's API URL.
    pub bigcommerce_url: Option<String>,
    /// Its store hash.
    pub store_hash: Option<String>,
    /// The Shopify shop's URL.
    pub shopify_url: Option<String>,
    /// The Shopify Admin API version.
    #[schema(pattern = "^$|^[0-9]{4}-[0-9]{2}$")]
    pub api_version: Option<String>,
    /// The store's access token (BigCommerce or Shopify).
    #[schema(write_only)]
    pub access_token: Option<String>,
}

impl ConnectionChange {
    /// From a JSON body; an empty body changes nothing.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
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
            shopify_url: get("shopify_url"),
            api_version: get("api_version"),
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
            &self.shopify_url,
            &self.api_version,
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
        let token = given(&self.access_token);
        match &mut spec.store {
            StoreSpec::BigCommerce(c) => {
                if given(&self.shopify_url).is_some() || given(&self.api_version).is_some() {
                    return Err("this connector's store is BigCommerce, not Shopify".into());
                }
                if moved(&c.base_url, &self.bigcommerce_url) && token.is_none() {
                    return Err(
                        "a new BigCommerce API URL needs the access token entered again: kcf \
                         does not send stored credentials to a new address"
                            .into(),
                    );
                }
                set(&mut c.base_url, &self.bigcommerce_url);
                set(&mut c.store_hash, &self.store_hash);
                if let Some(t) = token {
                    c.access_token = t.into();
                }
            }
            StoreSpec::Shopify(c) => {
                if given(&self.bigcommerce_url).is_some() || given(&self.store_hash).is_some() {
                    return Err("this connector's store is Shopify, not BigCommerce".into());
                }
                if moved(&c.shop_url, &self.shopify_url) && token.is_none() {
                    return Err(
                        "a new Shopify shop URL needs the access token entered again: kcf does \
                         not send stored credentials to a new address"
                            .into(),
                    );
                }
                set(&mut c.shop_url, &self.shopify_url);
                set(&mut c.api_version, &self.api_version);
                if let Some(t) = token {
                    c.access_token = t.into();
                }
            }
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
        spec.store.validate()?;
        Ok(spec)
    }
}

/// The emulators' fixed credentials (see `kcf sandbox`).
pub const SANDBOX_SIGNING_SECRET: &str = "sandbox-client-secret";

/// A connector between the ERP emulator and a store emulator of `kind`, with fresh random
/// ingress secrets.
pub fn sandbox_connector(
    id: ConnectorId,
    erp_url: &str,
    kind: StoreKind,
    store_url: &str,
) -> ConnectorSpec {
    let (name, store) = match kind {
        StoreKind::BigCommerce => (
            "Sandbox: Acumatica ↔ BigCommerce",
            StoreSpec::BigCommerce(BigCommerceConfig::sandbox(store_url)),
        ),
        StoreKind::Shopify => (
            "Sandbox: Acumatica ↔ Shopify",
            StoreSpec::Shopify(ShopifyConfig::sandbox(store_url)),
        ),
    };
    ConnectorSpec {
        name: name.into(),
        acumatica: AcumaticaConfig::sandbox(erp_url),
        store,
        order_prefix: kind.default_order_prefix().to_owned(),
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
