//! Keeping a signed-in session outside the process.

/// Where a client keeps its signed-in session between processes (kcf: sealed in the
/// connector's row), so every process of a connector shares one licensed session and a
/// restarted process resumes it. Implementations must not fail loudly: losing the kept
/// session only costs a sign-in.
#[async_trait::async_trait]
pub trait SessionKeeper: Send + Sync + std::fmt::Debug {
    /// The session last kept (its cookies, as a `Cookie` header), if any.
    async fn load(&self) -> Option<String>;
    /// Keeps the session just opened, or forgets it (`None`) once it is signed out.
    async fn save(&self, session: Option<String>);
}
