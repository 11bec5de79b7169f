//! Webhook subscriptions (`webhookSubscriptions`, `webhookSubscriptionCreate`,
//! `webhookSubscriptionDelete`) and delivery: the REST-shaped resource as the body, signed
//! with `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body with the app's client
//! secret), `X-Shopify-Webhook-Id` the same on every retry, 8 retries over about 4 hours
//! (which tests compress), after which the subscription is removed.

use std::{sync::Arc, time::Duration};

use async_graphql::{
    Context, Enum, ID, InputObject, Object, SimpleObject, Union, connection::Connection,
};
use axum::{Json, extract::State};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{Shop, UserError, now_ms, search::*, shop};

/// Seconds between attempts after a failed delivery (8 retries, about 4 hours).
pub const RETRY_SCHEDULE: [u64; 8] = [10, 30, 60, 300, 900, 1800, 3600, 7200];

/// The topics kcf and ordinary apps subscribe to, with their REST names.
const TOPICS: &[(Topic, &str)] = &[
    (Topic::OrdersCreate, "orders/create"),
    (Topic::OrdersUpdated, "orders/updated"),
    (Topic::OrdersCancelled, "orders/cancelled"),
    (Topic::OrdersFulfilled, "orders/fulfilled"),
    (
        Topic::OrdersPartiallyFulfilled,
        "orders/partially_fulfilled",
    ),
    (Topic::CustomersCreate, "customers/create"),
    (Topic::CustomersUpdate, "customers/update"),
    (Topic::CustomersDelete, "customers/delete"),
    (Topic::ProductsCreate, "products/create"),
    (Topic::ProductsUpdate, "products/update"),
    (Topic::ProductsDelete, "products/delete"),
    (Topic::CollectionsCreate, "collections/create"),
    (Topic::CollectionsUpdate, "collections/update"),
    (Topic::CollectionsDelete, "collections/delete"),
    (Topic::InventoryLevelsUpdate, "inventory_levels/update"),
];

/// `WebhookSubscriptionTopic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[graphql(name = "WebhookSubscriptionTopic")]
pub(crate) enum Topic {
    OrdersCreate,
    OrdersUpdated,
    OrdersCancelled,
    OrdersFulfilled,
    OrdersPartiallyFulfilled,
    CustomersCreate,
    CustomersUpdate,
    CustomersDelete,
    ProductsCreate,
    ProductsUpdate,
    ProductsDelete,
    CollectionsCreate,
    CollectionsUpdate,
    CollectionsDelete,
    InventoryLevelsUpdate,
}

impl Topic {
    fn rest(self) -> &'static str {
        TOPICS
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("", |(_, name)| name)
    }
}

/// A subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Hook {
    pub id: u64,
    pub topic: Topic,
    pub callback_url: String,
    pub created_ms: i64,
}

/// Something that happened in the shop.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// `orders/create`…
    pub topic: String,
    /// The REST-shaped resource.
    pub payload: Value,
}

/// One delivery attempt, for `/_sandbox/webhooks`.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// The subscription.
    pub subscription_id: u64,
    /// Its topic (`orders/create`).
    pub topic: String,
    /// `X-Shopify-Webhook-Id`: the same for every retry and duplicate of one event.
    pub webhook_id: String,
    /// Attempt number (1-based).
    pub attempt: usize,
    /// The receiver's status, or 0 when it could not be reached.
    pub status: u16,
    /// When (Unix ms).
    pub at_ms: i64,
}

/// `WebhookHttpEndpoint`.
#[derive(Debug, Clone, SimpleObject)]
struct WebhookHttpEndpoint {
    callback_url: Url,
}

/// `WebhookSubscriptionEndpoint`.
#[derive(Debug, Clone, Union)]
enum WebhookSubscriptionEndpoint {
    WebhookHttpEndpoint(WebhookHttpEndpoint),
}

/// `WebhookSubscription`.
#[derive(Debug, Clone)]
struct HookNode(Hook);

#[Object(name = "WebhookSubscription")]
impl HookNode {
    async fn id(&self) -> ID {
        gid("WebhookSubscription", self.0.id)
    }
    async fn topic(&self) -> Topic {
        self.0.topic
    }
    async fn format(&self) -> &str {
        "JSON"
    }
    async fn callback_url(&self) -> Url {
        Url(self.0.callback_url.clone())
    }
    async fn endpoint(&self) -> WebhookSubscriptionEndpoint {
        WebhookSubscriptionEndpoint::WebhookHttpEndpoint(WebhookHttpEndpoint {
            callback_url: Url(self.0.callback_url.clone()),
        })
    }
    async fn created_at(&self) -> DateTime {
        DateTime::of(self.0.created_ms)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime::of(self.0.created_ms)
    }
}

#[derive(Default)]
pub(crate) struct HookQuery;

#[Object]
impl HookQuery {
    async fn webhook_subscriptions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        topics: Option<Vec<Topic>>,
        callback_url: Option<String>,
    ) -> async_graphql::Result<Connection<String, HookNode>> {
        let data = shop(ctx).read();
        let items = data
            .hooks
            .values()
            .filter(|h| topics.as_ref().is_none_or(|t| t.contains(&h.topic)))
            .filter(|h| callback_url.as_ref().is_none_or(|u| *u == h.callback_url))
            .map(|h| ((h.id as i64, h.id), HookNode(h.clone())))
            .collect();
        page(
            items,
            &Paging {
                first,
                after,
                ..Paging::default()
            },
        )
    }
}

/// `WebhookSubscriptionFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(name = "WebhookSubscriptionFormat", rename_items = "UPPERCASE")]
enum Format {
    Json,
    Xml,
}

/// `WebhookSubscriptionInput`.
#[derive(Debug, Clone, InputObject)]
struct WebhookSubscriptionInput {
    callback_url: Option<Url>,
    uri: Option<String>,
    format: Option<Format>,
}

/// `WebhookSubscriptionCreatePayload`.
#[derive(SimpleObject)]
struct CreatePayload {
    webhook_subscription: Option<HookNode>,
    user_errors: Vec<UserError>,
}

/// `WebhookSubscriptionDeletePayload`.
#[derive(SimpleObject)]
struct DeletePayload {
    deleted_webhook_subscription_id: Option<ID>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub(crate) struct HookMutation;

#[Object]
impl HookMutation {
    async fn webhook_subscription_create(
        &self,
        ctx: &Context<'_>,
        topic: Topic,
        webhook_subscription: WebhookSubscriptionInput,
    ) -> CreatePayload {
        let refuse = |e: UserError| CreatePayload {
            webhook_subscription: None,
            user_errors: vec![e],
        };
        let url = webhook_subscription
            .callback_url
            .map(|u| u.0)
            .or(webhook_subscription.uri)
            .unwrap_or_default();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return refuse(UserError::new(
                &["webhookSubscription", "callbackUrl"],
                "Address is invalid",
                "INVALID",
            ));
        }
        if webhook_subscription
            .format
            .is_some_and(|f| f != Format::Json)
        {
            return refuse(UserError::new(
                &["webhookSubscription", "format"],
                "The emulator delivers JSON only",
                "INVALID",
            ));
        }
        let mut data = shop(ctx).write();
        if data
            .hooks
            .values()
            .any(|h| h.topic == topic && h.callback_url == url)
        {
            return refuse(UserError::new(
                &["webhookSubscription", "callbackUrl"],
                "Address for this topic has already been taken",
                "TAKEN",
            ));
        }
        let hook = Hook {
            id: data.id(),
            topic,
            callback_url: url,
            created_ms: now_ms(),
        };
        data.hooks.insert(hook.id, hook.clone());
        CreatePayload {
            webhook_subscription: Some(HookNode(hook)),
            user_errors: Vec::new(),
        }
    }

    async fn webhook_subscription_delete(&self, ctx: &Context<'_>, id: ID) -> DeletePayload {
        let removed =
            id_of("WebhookSubscription", &id).and_then(|n| shop(ctx).write().hooks.remove(&n));
        match removed {
            Some(h) => DeletePayload {
                deleted_webhook_subscription_id: Some(gid("WebhookSubscription", h.id)),
                user_errors: Vec::new(),
            },
            None => DeletePayload {
                deleted_webhook_subscription_id: None,
                user_errors: vec![UserError::new(
                    &["id"],
                    "Webhook subscription does not exist",
                    "NOT_FOUND",
                )],
            },
        }
    }
}

/// `GET /_sandbox/webhooks`: every delivery attempt so far.
pub(super) async fn deliveries(State(shop): State<Arc<Shop>>) -> Json<Vec<Delivery>> {
    Json(
        shop.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    )
}

/// `X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256(secret, body).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[derive(Debug, Clone)]
struct Message {
    webhook_id: String,
    event_id: String,
    topic: String,
    body: String,
    triggered_at: String,
}

/// Turns events into deliveries to every subscription of their topic.
pub(super) async fn dispatch(shop: Arc<Shop>, mut events: mpsc::UnboundedReceiver<Event>) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not start");
            return;
        }
    };
    let mut seq: u64 = 0;
    while let Some(event) = events.recv().await {
        seq += 1;
        let hooks: Vec<Hook> = shop
            .read()
            .hooks
            .values()
            .filter(|h| h.topic.rest() == event.topic)
            .cloned()
            .collect();
        for hook in hooks {
            let control = &shop.control;
            if control.drop_notification() {
                control.notification("dropped");
                continue;
            }
            let copies = if control.duplicate_notification() {
                control.notification("duplicated");
                2
            } else {
                1
            };
            let message = Message {
                webhook_id: format!(
                    "{:08x}-{:04x}-4000-8000-{:012x}",
                    seq,
                    hook.id % 0xffff,
                    hook.id
                ),
                event_id: seq.to_string(),
                topic: event.topic.clone(),
                body: event.payload.to_string(),
                triggered_at: DateTime::of(now_ms()).0,
            };
            for _ in 0..copies {
                tokio::spawn(deliver(
                    shop.clone(),
                    http.clone(),
                    hook.clone(),
                    message.clone(),
                ));
            }
        }
    }
}

async fn deliver(shop: Arc<Shop>, http: reqwest::Client, hook: Hook, message: Message) {
    let signature = sign(
        shop.config.client_secret.as_bytes(),
        message.body.as_bytes(),
    );
    for attempt in 1..=RETRY_SCHEDULE.len() + 1 {
        let request = http
            .post(&hook.callback_url)
            .header("content-type", "application/json")
            .header("x-shopify-topic", &message.topic)
            .header("x-shopify-hmac-sha256", &signature)
            .header("x-shopify-shop-domain", &shop.config.shop_domain)
            .header("x-shopify-api-version", super::VERSIONS[2])
            .header("x-shopify-webhook-id", &message.webhook_id)
            .header("x-shopify-event-id", &message.event_id)
            .header("x-shopify-triggered-at", &message.triggered_at)
            .body(message.body.clone());
        let status = match request.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        shop.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Delivery {
                subscription_id: hook.id,
                topic: message.topic.clone(),
                webhook_id: message.webhook_id.clone(),
                attempt,
                status,
                at_ms: jiff::Timestamp::now().as_millisecond(),
            });
        if (200..300).contains(&status) {
            shop.control.notification("delivered");
            return;
        }
        shop.control.notification("failed");
        let Some(wait) = RETRY_SCHEDULE.get(attempt - 1) else {
            break;
        };
        let scaled = Duration::from_secs_f64(*wait as f64 * shop.config.webhook_time_scale);
        tokio::time::sleep(scaled).await;
        if !shop.read().hooks.contains_key(&hook.id) {
            return;
        }
        shop.control.notification("retried");
    }
    // Every retry failed: Shopify removes the subscription.
    shop.write().hooks.remove(&hook.id);
    shop.control.notification("removed");
}
