//! The connector's ERP session, kept in kcf's database (sealed like its credentials), so every
//! process of the connector shares one licensed API-user slot, and a killed or restarted
//! process resumes the session instead of taking another.

use std::sync::Arc;

use kcf_domain::ConnectorId;
use kcf_store::Store;

use crate::Vault;

/// A [`kcf_platform::SessionKeeper`] over the connector's row.
#[derive(Clone)]
pub struct StoredSession {
    store: Arc<dyn Store>,
    vault: Vault,
    connector: ConnectorId,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

impl StoredSession {
    /// The kept session of `connector`.
    pub fn new(store: Arc<dyn Store>, vault: Vault, connector: ConnectorId) -> Self {
        Self {
            store,
            vault,
            connector,
        }
    }

    fn context(&self) -> String {
        format!("erp-session:{}", self.connector)
    }
}

#[async_trait::async_trait]
impl kcf_platform::SessionKeeper for StoredSession {
    async fn load(&self) -> Option<String> {
        let sealed = match self.store.erp_session(&self.connector).await {
            Ok(s) => s?,
            Err(e) => {
                tracing::warn!(connector = %self.connector, error = %e, "reading the kept ERP session failed");
                return None;
            }
        };
        let plain = self.vault.open(&self.context(), &sealed).ok()?;
        String::from_utf8(plain).ok()
    }

    async fn save(&self, session: Option<String>) {
        let sealed = match session {
            Some(s) => match self.vault.seal(&self.context(), s.as_bytes()) {
                Ok(sealed) => Some(sealed),
                Err(e) => {
                    tracing::warn!(connector = %self.connector, error = %e, "sealing the ERP session failed");
                    return;
                }
            },
            None => None,
        };
        if let Err(e) = self
            .store
            .put_erp_session(&self.connector, sealed.as_deref())
            .await
        {
            tracing::warn!(connector = %self.connector, error = %e, "keeping the ERP session failed");
        }
    }
}
