//! Signature headers as senders (or attackers) write them: the Standard Webhooks
//! `webhook-signature` list with its id and timestamp, and Shopify's base64 HMAC. Never a
//! panic, and never a match for a signature made with another key.
#![no_main]

use libfuzzer_sys::{arbitrary, arbitrary::Arbitrary, fuzz_target};

#[derive(Arbitrary, Debug)]
struct Signed {
    secret: Vec<u8>,
    id: String,
    timestamp: String,
    body: Vec<u8>,
    header: String,
    now: i64,
    tolerance: i64,
}

fuzz_target!(|s: Signed| {
    let _ = kcf_bigcommerce::notify::verify_signature(
        &s.secret,
        &s.id,
        &s.timestamp,
        &s.body,
        &s.header,
        s.now,
        s.tolerance,
    );
    let _ = kcf_shopify::inbound::signature_matches(&s.secret, &s.body, &s.header);
});
