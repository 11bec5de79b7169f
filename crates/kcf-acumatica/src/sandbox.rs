//! The sandbox emulator's stand-in for screen SM302000 (push notification destinations),
//! which has no REST API in Acumatica: `kcf up` and the tests point it at a kcf server.

use std::time::Duration;

/// Makes the emulator at `acumatica_url` push its notifications to `address`, with the
/// destination's custom header `header_name: header_value`.
pub async fn point_push_at(
    acumatica_url: &str,
    name: &str,
    address: &str,
    header_name: &str,
    header_value: &str,
) -> Result<(), String> {
    let destinations = serde_json::json!([{
        "name": name,
        "address": address,
        "header_name": header_name,
        "header_value": header_value,
    }]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let answer = http
        .put(format!(
            "{}/_sandbox/push/destinations",
            acumatica_url.trim_end_matches('/')
        ))
        .json(&destinations)
        .send()
        .await
        .map_err(|e| format!("setting the push destination: {e}"))?;
    if !answer.status().is_success() {
        return Err(format!(
            "setting the push destination: HTTP {}",
            answer.status()
        ));
    }
    Ok(())
}
