//! State files: an emulator started with one loads its records from it (instead of seeding)
//! and writes them back a moment after every change and when it stops, so the sandbox of
//! `kcf up` keeps its data across restarts. Writes go to a temporary file renamed over the
//! old one, so a crash leaves the previous state, never half a file.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use crate::control::Control;

/// How soon after a change the state is written.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Reads a state file, if there is one. A file that cannot be read is an error (never
/// silently replaced by fresh seed data).
pub(crate) fn load<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            std::io::Error::other(format!(
                "the sandbox state file {} is not readable ({e}); move it away to start fresh",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Keeps `path` up to date with what `snapshot` serialises. The emulator's state then lives as
/// long as the process (its control holds the snapshot closure), which is what a state file
/// is for.
pub(crate) fn persist<F>(control: Arc<Control>, path: PathBuf, snapshot: F)
where
    F: Fn() -> Option<Vec<u8>> + Send + Sync + 'static,
{
    let save = move || {
        if let Some(bytes) = snapshot()
            && let Err(e) = write_atomically(&path, &bytes)
        {
            tracing::error!(error = %e, path = %path.display(), "cannot write the sandbox state");
        }
    };
    control.set_flush(Box::new(save));
    let weak = Arc::downgrade(&control);
    tokio::spawn(async move {
        let mut saved = 0;
        loop {
            tokio::time::sleep(DEBOUNCE).await;
            let Some(control) = weak.upgrade() else {
                return;
            };
            let writes = control.write_total();
            if writes != saved {
                saved = writes;
                let c = control.clone();
                let _ = tokio::task::spawn_blocking(move || c.flush()).await;
            }
        }
    });
}
