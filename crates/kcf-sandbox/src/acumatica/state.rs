//! The tenant's records as a state file: what `kcf up` uses to keep the sandbox's data across
//! restarts.

use super::*;

/// The records as a state file: entity → (row, record), the row counter, autonumbers.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Snapshot {
    records: BTreeMap<String, Vec<(u64, Record)>>,
    next_row: u64,
    counters: BTreeMap<String, u64>,
}

impl Snapshot {
    pub(super) fn of(d: &Data) -> Self {
        Self {
            records: d
                .records
                .iter()
                .map(|(e, m)| {
                    (
                        (*e).to_owned(),
                        m.iter().map(|(r, v)| (*r, v.clone())).collect(),
                    )
                })
                .collect(),
            next_row: d.next_row,
            counters: d
                .counters
                .iter()
                .map(|(e, n)| ((*e).to_owned(), *n))
                .collect(),
        }
    }

    pub(super) fn into_data(self) -> Data {
        let mut d = Data {
            next_row: self.next_row,
            ..Data::default()
        };
        for (entity, rows) in self.records {
            let Some(spec) = schema::spec(&entity) else {
                continue;
            };
            for (row, record) in rows {
                d.store(spec, row, record);
            }
        }
        for (entity, n) in self.counters {
            if let Some(spec) = schema::spec(&entity) {
                d.counters.insert(spec.name, n);
            }
        }
        d
    }
}
