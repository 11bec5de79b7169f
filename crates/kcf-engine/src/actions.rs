//! What a person does by hand, as the engine's operations (the REST API, the workspace and the
//! CLI all call these): pause, resume or stop a connector; Set as Processed; Resync; a test of
//! the connection, saved or not.

use kcf_domain::{
    Binding, ConnectorId, ConnectorState, ManualAction, Message, MessageId, Mode, NewMessage,
    Platform, Timestamp, Transition,
};
use kcf_store::BindingKey;

use crate::{ConnectorRuntime, ConnectorSpec, Engine, EngineError};

/// What each side said to a connection test: `None` when it answered, else why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionTest {
    /// The ERP's platform and its answer.
    pub erp: (Platform, Option<String>),
    /// The store's platform and its answer.
    pub store: (Platform, Option<String>),
}

impl ConnectionTest {
    /// Both answered.
    pub fn ok(&self) -> bool {
        self.erp.1.is_none() && self.store.1.is_none()
    }
}

impl Engine {
    /// Pauses, resumes or stops a connector; resuming also lifts a hold (a 429's pause) and
    /// ends an outage (the queue runs and finds out).
    pub async fn change_state(
        &self,
        id: &ConnectorId,
        new: ConnectorState,
    ) -> Result<(), EngineError> {
        self.store.set_connector_state(id, new).await?;
        if new == ConnectorState::Running {
            self.store.hold_connector(id, None, None).await?;
            self.end_outage(id).await?;
        }
        Ok(())
    }

    /// The binding (ERP key ↔ store id) of the record a message is about, looked up by
    /// either key; entities bound with another (an order's status) share its binding.
    pub async fn binding_of(&self, m: &Message) -> Result<Option<Binding>, EngineError> {
        let entity = m.entity.binding_entity();
        let key = m.record_key.as_str();
        let by_erp = self
            .store
            .binding(&m.connector, entity, BindingKey::Erp(key))
            .await?;
        if by_erp.is_some() {
            return Ok(by_erp);
        }
        Ok(self
            .store
            .binding(&m.connector, entity, BindingKey::External(key))
            .await?)
    }

    /// KCF's Set as Processed: the record is already in the other system as `external_id`;
    /// the message becomes Processed and the binding is recorded (the record's existing ERP
    /// key kept).
    pub async fn set_processed(
        &self,
        m: &Message,
        external_id: &str,
        actor: &str,
    ) -> Result<Binding, EngineError> {
        let external_id = external_id.trim();
        if external_id.is_empty() {
            return Err(EngineError::Invalid(
                "external_id must name the store record this one is linked to".into(),
            ));
        }
        let erp_key = match self.binding_of(m).await? {
            Some(b) => b.erp_key,
            None => m.record_key.as_str().to_owned(),
        };
        let binding = Binding {
            connector: m.connector.clone(),
            entity: m.entity.binding_entity(),
            erp_key,
            external_id: external_id.to_owned(),
            fingerprint: None,
            synced_at: Timestamp::now(),
        };
        self.store
            .set_processed(m.id, Some(&binding), actor)
            .await?;
        Ok(binding)
    }

    /// Resync: a new manual message for the same record with the same payload, queued to be
    /// processed now. The binding forgets what was last written, so the record is written
    /// again even when kcf believes the other side already has it (someone may have edited
    /// it there). Returns the new message's id.
    pub async fn resync(&self, m: &Message, actor: &str) -> Result<MessageId, EngineError> {
        if let Some(b) = self.binding_of(m).await?
            && b.fingerprint.is_some()
        {
            self.store
                .put_binding(&Binding {
                    fingerprint: None,
                    ..b
                })
                .await?;
        }
        let mut again = NewMessage::new(
            m.connector.clone(),
            m.entity,
            m.direction,
            Mode::Manual,
            m.record_key.clone(),
            "workspace",
        )
        .with_description(m.description.clone())
        .with_payload(m.payload.clone());
        again.source_modified_at = m.source_modified_at;
        let queued = self.store.enqueue(again).await?;
        self.store
            .act(
                &[queued.id],
                &ManualAction {
                    transition: Transition::ProcessNow,
                    actor: actor.to_owned(),
                    reason: Some("resync".into()),
                },
            )
            .await?;
        Ok(queued.id)
    }

    /// Asks both sides of a running connector whether they answer.
    pub async fn test_connection(conn: &ConnectorRuntime) -> ConnectionTest {
        let erp = conn.erp.test_connection().await.err();
        let store = conn.store.test_connection().await.err();
        ConnectionTest {
            erp: (conn.erp.platform(), erp.map(|e| e.source.to_string())),
            store: (conn.store.platform(), store.map(|e| e.source.to_string())),
        }
    }

    /// Tests settings that are not saved: a connector of their own, signed out after.
    pub async fn test_unsaved(spec: ConnectorSpec) -> Result<ConnectionTest, EngineError> {
        let trial = ConnectorRuntime::new(spec).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let answers = Self::test_connection(&trial).await;
        trial.erp.sign_out().await;
        Ok(answers)
    }
}
