//! The Sync History's CSV import of bindings (`erp_key,external_id` lines).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = kcf_engine::bindings::parse_csv(text);
});
