//! The Acumatica emulator's OData `$filter` parser: any text is an expression or a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = kcf_sandbox::acumatica::filter::parse(text);
});
