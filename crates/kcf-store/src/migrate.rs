//! Schema migrations, embedded in the binary, one list per backend.
//!
//! Each backend applies the pending ones in a single transaction that first takes a lock
//! (SQLite `BEGIN IMMEDIATE`, PostgreSQL `pg_advisory_xact_lock`), so running migrations twice
//! or from several processes at once is safe. (sqlx's migrator takes no lock on SQLite.)

use crate::{Result, StoreError};

/// One schema change.
#[derive(Debug)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "auth",
        sql: include_str!("../migrations/sqlite/0002_auth.sql"),
    },
    Migration {
        version: 3,
        name: "overview",
        sql: include_str!("../migrations/sqlite/0003_overview.sql"),
    },
    Migration {
        version: 4,
        name: "search",
        sql: include_str!("../migrations/sqlite/0004_search.sql"),
    },
    Migration {
        version: 5,
        name: "sent",
        sql: include_str!("../migrations/sqlite/0005_sent.sql"),
    },
    Migration {
        version: 6,
        name: "outage",
        sql: include_str!("../migrations/sqlite/0006_outage.sql"),
    },
    Migration {
        version: 7,
        name: "removal",
        sql: include_str!("../migrations/sqlite/0007_removal.sql"),
    },
    Migration {
        version: 8,
        name: "sign_in",
        sql: include_str!("../migrations/sqlite/0008_sign_in.sql"),
    },
    Migration {
        version: 9,
        name: "crashes",
        sql: include_str!("../migrations/sqlite/0009_crashes.sql"),
    },
    Migration {
        version: 10,
        name: "text",
        sql: include_str!("../migrations/sqlite/0010_text.sql"),
    },
    Migration {
        version: 11,
        name: "text_later",
        sql: include_str!("../migrations/sqlite/0011_text_later.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "auth",
        sql: include_str!("../migrations/postgres/0002_auth.sql"),
    },
    Migration {
        version: 3,
        name: "overview",
        sql: include_str!("../migrations/postgres/0003_overview.sql"),
    },
    Migration {
        version: 4,
        name: "search",
        sql: include_str!("../migrations/postgres/0004_search.sql"),
    },
    Migration {
        version: 5,
        name: "sent",
        sql: include_str!("../migrations/postgres/0005_sent.sql"),
    },
    Migration {
        version: 6,
        name: "outage",
        sql: include_str!("../migrations/postgres/0006_outage.sql"),
    },
    Migration {
        version: 7,
        name: "removal",
        sql: include_str!("../migrations/postgres/0007_removal.sql"),
    },
    Migration {
        version: 8,
        name: "sign_in",
        sql: include_str!("../migrations/postgres/0008_sign_in.sql"),
    },
    Migration {
        version: 9,
        name: "crashes",
        sql: include_str!("../migrations/postgres/0009_crashes.sql"),
    },
    Migration {
        version: 10,
        name: "text",
        sql: include_str!("../migrations/postgres/0010_text.sql"),
    },
    Migration {
        version: 11,
        name: "text_later",
        sql: include_str!("../migrations/postgres/0011_text_later.sql"),
    },
];

pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS kcf_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The migrations still to apply, after checking that what was applied is what we know.
pub(crate) fn pending<'a>(
    known: &'a [Migration],
    applied: &[(i64, String)],
) -> Result<Vec<&'a Migration>> {
    for (version, name) in applied {
        match known.iter().find(|m| m.version == *version) {
            Some(m) if m.name == name => {}
            Some(m) => {
                return Err(StoreError::Migration(format!(
                    "migration {version} is '{name}' in the database but '{}' in this build",
                    m.name
                )));
            }
            None => {
                return Err(StoreError::Migration(format!(
                    "the database has migration {version} ('{name}') that this kcf does not \
                     know: it was migrated by a newer kcf; upgrade kcf"
                )));
            }
        }
    }
    Ok(known
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        .collect())
}
