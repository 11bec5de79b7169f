//! Keeping the signed-in session outside the process: a licensed Acumatica counts API users by
//! session, and a process that is killed never signs out, so each crash or deploy would hold
//! another slot until the session times out. With a [`SessionKeeper`], a client resumes the
//! kept session instead of signing in, and every process of a connector shares one.

use std::sync::Arc;

use reqwest::cookie::CookieStore;

use super::AcumaticaClient;

pub use kcf_platform::SessionKeeper;

impl AcumaticaClient {
    /// Keeps this client's cookie session in `keeper` from now on, and resumes the one kept
    /// there before signing in. Set it once, before the first call.
    pub fn keep_session_in(&self, keeper: Arc<dyn SessionKeeper>) {
        let _ = self.inner.keeper.set(keeper);
    }

    /// The cookies of the current session, as a `Cookie` header in one order (a jar lists
    /// them in no particular order, and sessions are compared by this text).
    pub(super) fn session_cookies(&self) -> Option<String> {
        self.inner
            .jar
            .cookies(&self.inner.root)
            .and_then(|v| v.to_str().ok().map(normalized))
            .filter(|s| !s.is_empty())
    }

    /// Uses the kept session, unless there is none or it is the one that just failed
    /// (`failed`); true when it did. The caller holds the session lock.
    pub(super) async fn resume_kept(&self, failed: Option<&str>) -> bool {
        if !self.inner.config.auth.is_cookie() {
            return false;
        }
        let Some(keeper) = self.inner.keeper.get() else {
            return false;
        };
        let Some(kept) = keeper.load().await.map(|k| normalized(&k)) else {
            return false;
        };
        if failed == Some(kept.as_str()) {
            return false;
        }
        for pair in kept.split(';').map(str::trim).filter(|p| p.contains('=')) {
            self.inner.jar.add_cookie_str(pair, &self.inner.root);
        }
        self.mark_signed_in();
        tracing::info!(base_url = %self.inner.config.base_url, "resumed the kept Acumatica session");
        true
    }

    /// Keeps the session just opened (or forgets it), when a keeper is set.
    pub(super) async fn keep(&self, signed_in: bool) {
        let Some(keeper) = self.inner.keeper.get() else {
            return;
        };
        if !self.inner.config.auth.is_cookie() {
            return;
        }
        keeper
            .save(if signed_in {
                self.session_cookies()
            } else {
                None
            })
            .await;
    }
}

/// `a=1; b=2` with its pairs sorted.
fn normalized(cookies: &str) -> String {
    let mut pairs: Vec<&str> = cookies
        .split(';')
        .map(str::trim)
        .filter(|p| p.contains('='))
        .collect();
    pairs.sort_unstable();
    pairs.join("; ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cookie_headers_compare_in_one_order() {
        assert_eq!(
            super::normalized("b=2; a=1;c=3"),
            super::normalized("c=3; a=1; b=2")
        );
    }
}
