//! Bindings a person manages: linking a record to its counterpart by hand (an import), and
//! unlinking a wrong link. An import checks that both records exist before it links them;
//! a row that could not be checked (a system that did not answer) is linked and reported.

use kcf_domain::{Binding, ConnectorId, Entity, Timestamp};

use crate::{ConnectorRuntime, Engine, error::EngineError};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Rows linked.
    pub imported: usize,
    /// Rows refused, each with why (a record missing on one side, a link in use).
    pub refused: Vec<(String, String)>,
    /// Rows linked without a check of both records, each with why it could not be made.
    pub unchecked: Vec<(String, String)>,
}

/// Whether a record exists: `Ok(true/false)`, or why kcf could not tell.
type Exists = Result<bool, String>;

/// Pairs of text: (ERP key, store id) for a row, (`line N`, why) for a refusal.
pub type Pairs = Vec<(String, String)>;

/// Reads `erp_key,external_id` lines (a header row is optional; quotes are stripped): the
/// rows, and the lines that are not one, each as (`line N`, why).
pub fn read_csv(text: &str) -> (Pairs, Pairs) {
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let cells: Vec<String> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_owned())
            .collect();
        if n == 0
            && cells
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case("erp_key"))
        {
            continue;
        }
        match cells.as_slice() {
            [erp, ext] if !erp.is_empty() && !ext.is_empty() => {
                rows.push((erp.clone(), ext.clone()))
            }
            _ => refused.push((
                format!("line {}", n + 1),
                format!(
                    "expected two values, erp_key,external_id, got '{}'",
                    line.chars().take(200).collect::<String>()
                ),
            )),
        }
    }
    (rows, refused)
}

/// Parses `erp_key,external_id` lines, refusing the whole text at its first line that is not
/// a row, or when it holds no row.
pub fn parse_csv(text: &str) -> Result<Vec<(String, String)>, String> {
    let (rows, refused) = read_csv(text);
    if let Some((line, why)) = refused.into_iter().next() {
        return Err(format!("{line}: {why}"));
    }
    if rows.is_empty() {
        return Err("the CSV holds no rows".into());
    }
    Ok(rows)
}

impl Engine {
    /// Links `rows` (ERP key, store id) of `entity`, each after checking that both records
    /// exist.
    pub async fn import_bindings(
        &self,
        id: &ConnectorId,
        entity: Entity,
        rows: Vec<(String, String)>,
    ) -> Result<ImportReport, EngineError> {
        if self.store.connector(id).await?.is_none() {
            return Err(EngineError::UnknownConnector(id.to_string()));
        }
        let conn = self.runtime(id);
        let mut report = ImportReport::default();
        for (erp_key, external_id) in rows {
            let checks = match &conn {
                Some(conn) => (
                    erp_exists(conn, entity, &erp_key).await,
                    store_exists(conn, entity, &external_id).await,
                ),
                None => {
                    let why = format!("connector {id} is not running in this process");
                    (Err(why.clone()), Err(why))
                }
            };
            match checks {
                (Ok(false), _) => {
                    report.refused.push((
                        erp_key.clone(),
                        format!("{} {erp_key} does not exist in the ERP", entity.word()),
                    ));
                    continue;
                }
                (_, Ok(false)) => {
                    report.refused.push((
                        erp_key.clone(),
                        format!("store {} {external_id} does not exist", entity.word()),
                    ));
                    continue;
                }
                (Err(why), _) | (_, Err(why)) => report
                    .unchecked
                    .push((erp_key.clone(), format!("not checked: {why}"))),
                (Ok(true), Ok(true)) => {}
            }
            let b = Binding {
                connector: id.clone(),
                entity,
                erp_key: erp_key.clone(),
                external_id,
                fingerprint: None,
                synced_at: Timestamp::now(),
            };
            match self.store.put_binding(&b).await {
                Ok(()) => report.imported += 1,
                Err(e) => {
                    report.unchecked.retain(|(k, _)| *k != erp_key);
                    report.refused.push((erp_key, e.to_string()));
                }
            }
        }
        Ok(report)
    }

    /// Unlinks the record with ERP key `erp_key`; false when it was not linked. The next
    /// sync of the record looks its counterpart up again (or creates it).
    pub async fn unbind(
        &self,
        id: &ConnectorId,
        entity: Entity,
        erp_key: &str,
    ) -> Result<bool, EngineError> {
        Ok(self.store.delete_binding(id, entity, erp_key).await?)
    }
}

async fn erp_exists(conn: &ConnectorRuntime, entity: Entity, key: &str) -> Exists {
    conn.erp
        .exists(entity, key)
        .await
        .map_err(|e| e.source.to_string())
}

async fn store_exists(conn: &ConnectorRuntime, entity: Entity, id: &str) -> Exists {
    conn.store
        .exists(entity, id)
        .await
        .map_err(|e| e.source.to_string())
}
