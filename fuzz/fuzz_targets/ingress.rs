//! Every receiver of outside notifications (Acumatica push, BigCommerce and Shopify webhooks)
//! given any headers and any body: `verify` and `read` answer Ok or a reason, never panic.
#![no_main]

use kcf_platform::{Inbound, IngressSecrets};
use libfuzzer_sys::{arbitrary, arbitrary::Arbitrary, fuzz_target};

#[derive(Arbitrary, Debug)]
struct Delivery {
    receiver: u8,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fuzz_target!(|d: Delivery| {
    let secrets: IngressSecrets = serde_json::from_value(serde_json::json!({
        "push_secret": "push-secret",
        "webhook_secret": "webhook-secret",
        "signing_secret": "signing-secret",
    }))
    .expect("secrets");
    let lookup = |name: &str| {
        d.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let receiver: &dyn Inbound = match d.receiver % 3 {
        0 => &kcf_acumatica::PushReceiver,
        1 => &kcf_bigcommerce::WebhookReceiver,
        _ => &kcf_shopify::WebhookReceiver,
    };
    let _ = receiver.verify("fuzz", &secrets, &lookup, &d.body);
    let _ = receiver.read(&lookup, &d.body);
    let _ = kcf_acumatica::notify::parse(&d.body);
    let _ = kcf_bigcommerce::notify::parse(&d.body);
});
