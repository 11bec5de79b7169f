//! Configuration as it reaches kcf from outside: a `[[connectors]]` table of the config file
//! (TOML), and a connection change from the settings screen or the API (JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kcf_engine::registry::ConnectionChange::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(value) = toml::from_str::<toml::Value>(text) {
            let _: Result<kcf_engine::ConnectorSpec, _> = value.try_into();
        }
    }
});
