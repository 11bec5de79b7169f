//! Who may use the workspace and the API: users, sessions and API tokens as the store keeps
//! them. Secrets never appear here in the clear: only their hashes.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A workspace session, looked up by the hash of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Who signed in.
    pub username: String,
    /// When.
    pub created_at: Timestamp,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// An API token as listed (its value is shown once, when it is created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    /// Its id (used to revoke it).
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub hint: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When it was last presented.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked; a revoked token is refused.
    pub revoked_at: Option<Timestamp>,
}
