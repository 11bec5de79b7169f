//! Actions (`POST /{Entity}/{Action}`): Acumatica answers 202 with a `Location` to poll,
//! which answers 202 while the action runs and 204 once it is done.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url, header};
use serde_json::{Value, json};

use super::{AcumaticaClient, Call};
use crate::{ErpEntity, Error, wire};

/// The longest kcf waits for one action to finish.
pub const ACTION_WAIT: Duration = Duration::from_secs(300);

/// The first pause between polls; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(2);

impl AcumaticaClient {
    /// Creates a shipment of the order's open lines (`SalesOrderCreateShipment`) and waits for
    /// it; the shipment then appears among the order's `Shipments`.
    #[tracing::instrument(skip_all, fields(entity = "SalesOrder", key = %format!("{order_type}/{order_nbr}")), err)]
    pub async fn create_shipment_for_order(
        &self,
        order_type: &str,
        order_nbr: &str,
    ) -> Result<(), Error> {
        let keys = json!({ "OrderType": order_type, "OrderNbr": order_nbr });
        self.invoke(ErpEntity::SalesOrder, "SalesOrderCreateShipment", &keys)
            .await
    }

    /// Confirms a shipment (`ConfirmShipment`) and waits for it.
    #[tracing::instrument(skip_all, fields(entity = "Shipment", key = shipment_nbr), err)]
    pub async fn confirm_shipment(&self, shipment_nbr: &str) -> Result<(), Error> {
        let keys = json!({ "ShipmentNbr": shipment_nbr });
        self.invoke(ErpEntity::Shipment, "ConfirmShipment", &keys)
            .await
    }

    /// Cancels a sales order (`CancelSalesOrder`) and waits for it.
    #[tracing::instrument(skip_all, fields(entity = "SalesOrder", key = %format!("{order_type}/{order_nbr}")), err)]
    pub async fn cancel_sales_order(&self, order_type: &str, order_nbr: &str) -> Result<(), Error> {
        let keys = json!({ "OrderType": order_type, "OrderNbr": order_nbr });
        self.invoke(ErpEntity::SalesOrder, "CancelSalesOrder", &keys)
            .await
    }

    /// Runs `action` on the record `keys` (plain) names, and waits until it is done.
    async fn invoke(&self, entity: ErpEntity, action: &str, keys: &Value) -> Result<(), Error> {
        let body = json!({ "entity": wire::wrap(keys), "parameters": {} });
        let url = self.entity_url(&[entity.name(), action])?;
        let answer = self
            .execute(&Call::with_body(Method::POST, url, &body))
            .await?
            .check(entity.name())?;
        if answer.status != StatusCode::ACCEPTED {
            return Ok(());
        }
        let location = answer
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::Decode(format!(
                    "{action} was accepted without a Location to follow"
                ))
            })?;
        let status_url = self.resolve(location)?;
        self.wait_for(entity, action, status_url).await
    }

    /// Polls an action's status until it is done, failed, or [`ACTION_WAIT`] has passed.
    async fn wait_for(&self, entity: ErpEntity, action: &str, url: Url) -> Result<(), Error> {
        let started = Instant::now();
        let mut pause = FIRST_POLL;
        loop {
            let answer = self
                .execute(&Call::get(url.clone()))
                .await?
                .check(entity.name())?;
            if answer.status != StatusCode::ACCEPTED {
                return Ok(());
            }
            if started.elapsed() >= ACTION_WAIT {
                return Err(Error::Timeout(format!(
                    "{action} was still running after {} s",
                    ACTION_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// The URL a `Location` header points at. Acumatica sends a path from the site root,
    /// which includes the instance's virtual directory; if it does not, the path is taken
    /// as relative to the instance root.
    fn resolve(&self, location: &str) -> Result<Url, Error> {
        if let Ok(absolute) = Url::parse(location) {
            return Ok(absolute);
        }
        let root = &self.inner.root;
        let path = if location.starts_with(root.path()) || !location.starts_with('/') {
            location.to_owned()
        } else {
            format!(
                "{}/{}",
                root.path().trim_end_matches('/'),
                location.trim_start_matches('/')
            )
        };
        root.join(&path)
            .map_err(|e| Error::Decode(format!("the action's Location '{location}': {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::AcumaticaConfig;

    #[test]
    fn locations_resolve_against_the_instance() {
        let local =
            AcumaticaClient::new(AcumaticaConfig::sandbox("http://127.0.0.1:8081")).unwrap();
        assert_eq!(
            local
                .resolve("/entity/Default/24.200.001/SalesOrder/X/status/1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8081/entity/Default/24.200.001/SalesOrder/X/status/1"
        );
        let hosted = AcumaticaClient::new(AcumaticaConfig::sandbox(
            "https://erp.example.com/AcumaticaERP/",
        ))
        .unwrap();
        for location in [
            "/AcumaticaERP/entity/Default/24.200.001/Shipment/ConfirmShipment/status/2",
            "/entity/Default/24.200.001/Shipment/ConfirmShipment/status/2",
        ] {
            assert_eq!(
                hosted.resolve(location).unwrap().as_str(),
                "https://erp.example.com/AcumaticaERP/entity/Default/24.200.001/Shipment/ConfirmShipment/status/2"
            );
        }
        assert_eq!(
            hosted
                .resolve("https://other.example.com/x")
                .unwrap()
                .as_str(),
            "https://other.example.com/x"
        );
    }
}
