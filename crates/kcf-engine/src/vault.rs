//! Connector credentials at rest: sealed with XChaCha20-Poly1305 under a key that lives outside
//! the database (`KCF_SECRET_KEY`, or a `secret.key` file next to it), so a copy of the
//! database alone reveals no password or token.
//!
//! A sealed value is `nonce (24 bytes) || ciphertext+tag`; the connector id is bound in as
//! associated data, so one connector's blob cannot be swapped into another's row.

use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, Generate, Key, KeyInit, Payload},
};

use crate::EngineError;

/// The environment variable holding the key (base64 of 32 bytes).
pub const KEY_ENV: &str = "KCF_SECRET_KEY";
/// The key file's name in the data directory.
pub const KEY_FILE: &str = "secret.key";

const NONCE: usize = 24;

/// Seals and opens connector credentials.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(***)")
    }
}

impl Vault {
    /// A vault from 32 key bytes.
    pub fn from_key(key: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&Key::<XChaCha20Poly1305>::from(key)),
        }
    }

    /// A vault with a fresh random key (tests, throwaway sandboxes).
    pub fn random() -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&Key::<XChaCha20Poly1305>::generate()),
        }
    }

    /// The key from `KCF_SECRET_KEY` when set, else from `dir/secret.key`, which is created
    /// (mode 0600) with a random key on first use. Back that file up: without it, stored
    /// credentials cannot be read and must be entered again.
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        if let Ok(value) = std::env::var(KEY_ENV) {
            return Self::decode(value.trim())
                .map_err(|e| EngineError::Setup(format!("{KEY_ENV}: {e}")));
        }
        let path = dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::decode(text.trim())
                .map_err(|e| EngineError::Setup(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Key::<XChaCha20Poly1305>::generate();
                let text = base64::engine::general_purpose::STANDARD.encode(key.as_slice());
                write_private(&path, &text).map_err(|e| {
                    EngineError::Setup(format!("cannot create {}: {e}", path.display()))
                })?;
                tracing::info!(path = %path.display(), "created the credentials key");
                Ok(Self {
                    cipher: XChaCha20Poly1305::new(&key),
                })
            }
            Err(e) => Err(EngineError::Setup(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    fn decode(text: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("not base64: {e}"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("the key must be 32 bytes, not {}", b.len()))?;
        Ok(Self::from_key(key))
    }

    /// Seals `plain` for the record `context` (a connector id).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, EngineError> {
        let nonce = XNonce::generate();
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| EngineError::Setup("cannot seal credentials".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Vault::seal`] sealed for the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, EngineError> {
        let wrong = || {
            EngineError::Setup(format!(
                "the stored credentials of {context} cannot be opened with this key \
                 ({KEY_ENV} or {KEY_FILE} changed?): enter them again"
            ))
        };
        if sealed.len() < NONCE {
            return Err(wrong());
        }
        let (nonce, body) = sealed.split_at(NONCE);
        let nonce = XNonce::try_from(nonce).map_err(|_| wrong())?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| wrong())
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let v = Vault::random();
        let sealed = v.seal("main", b"hunter2").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(v.open("main", &sealed).unwrap(), b"hunter2");
        assert!(v.open("other", &sealed).is_err());
        assert!(Vault::random().open("main", &sealed).is_err());
        assert!(v.open("main", &sealed[..10]).is_err());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("kcf-vault-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join(KEY_FILE));
        let a = Vault::load(&dir).unwrap();
        let sealed = a.seal("c", b"x").unwrap();
        let b = Vault::load(&dir).unwrap();
        assert_eq!(b.open("c", &sealed).unwrap(), b"x");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
