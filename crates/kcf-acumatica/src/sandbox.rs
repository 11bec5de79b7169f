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
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!(
        "{}/_sandbox/push/destinations",
        acumatica_url.trim_end_matches('/')
    );
    // Other connectors' destinations stay: one ERP serves several stores.
    let mut destinations: Vec<serde_json::Value> = match http.get(&url).send().await {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
        _ => Vec::new(),
    };
    destinations.retain(|d| d["name"] != name);
    destinations.push(serde_json::json!({
        "name": name,
        "address": address,
        "header_name": header_name,
        "header_value": header_value,
    }));
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
