//! Group commit for enqueues, on both backends.
//!
//! Every enqueue waiting when a committer is free goes into one multi-row `INSERT` in one
//! transaction, and each caller hears its own answer only after that commit. Under load a
//! few hundred notifications share one statement, one round trip and one fsync instead of a
//! transaction each (on SQLite: instead of a savepoint and an insert each inside the
//! writer's group). A group that fails is retried one enqueue at a time, so a bad message
//! fails alone and the others still commit.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use kcf_domain::{Enqueued, NewMessage};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::{Result, StoreError};

/// The most messages one group takes.
const MAX_MESSAGES: usize = 2_000;
/// The most enqueues one group takes.
const MAX_CALLERS: usize = 512;

/// Inserts messages in one transaction and commits; one answer per message, in order.
pub(crate) type Insert =
    Arc<dyn Fn(Arc<Vec<NewMessage>>) -> BoxFuture<'static, Result<Vec<Enqueued>>> + Send + Sync>;

struct Request {
    messages: Vec<NewMessage>,
    reply: oneshot::Sender<Result<Vec<Enqueued>>>,
}

/// A handle to the committers; they stop when every handle is gone.
#[derive(Clone)]
pub(crate) struct Batcher {
    requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl Batcher {
    /// Starts `committers` tasks that run groups through `insert`.
    pub(crate) fn start(insert: Insert, committers: usize) -> Self {
        let (requests, queue) = mpsc::channel(4 * MAX_CALLERS);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..committers.max(1) {
            tokio::spawn(commit_loop(insert.clone(), queue.clone()));
        }
        Self { requests }
    }

    /// Enqueues `messages` in the next group; answers after its commit.
    pub(crate) async fn enqueue(&self, messages: Vec<NewMessage>) -> Result<Vec<Enqueued>> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { messages, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn commit_loop(insert: Insert, queue: Arc<Mutex<mpsc::Receiver<Request>>>) {
    let mut group: Vec<Request> = Vec::with_capacity(MAX_CALLERS);
    loop {
        {
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut group, MAX_CALLERS).await == 0 {
                return;
            }
            let mut size: usize = group.iter().map(|r| r.messages.len()).sum();
            while size < MAX_MESSAGES && group.len() < MAX_CALLERS {
                match queue.try_recv() {
                    Ok(r) => {
                        size += r.messages.len();
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
        }
        commit(&insert, std::mem::take(&mut group)).await;
    }
}

async fn commit(insert: &Insert, group: Vec<Request>) {
    if group.len() == 1 {
        for r in group {
            let _ = r.reply.send(insert(Arc::new(r.messages)).await);
        }
        return;
    }
    let mut parts = Vec::with_capacity(group.len());
    let mut all = Vec::new();
    for r in group {
        parts.push((r.messages.len(), r.reply));
        all.extend(r.messages);
    }
    let all = Arc::new(all);
    let count = all.len();
    match insert(all.clone()).await {
        Ok(done) if done.len() == count => {
            let mut done = done.into_iter();
            for (n, reply) in parts {
                let _ = reply.send(Ok(done.by_ref().take(n).collect()));
            }
        }
        // The database cannot be reached: every caller gets that answer now. Trying them
        // one by one would make each wait for the connection timeout in turn (ten callers,
        // ten times that), so a sender would see a hang instead of a prompt 503.
        Err(e) if e.is_unreachable() => {
            let why = e.to_string();
            for (_, reply) in parts {
                let _ = reply.send(Err(StoreError::Commit(why.clone())));
            }
        }
        // One of them is bad: each on its own, so only it fails.
        _ => {
            let all = Arc::try_unwrap(all).unwrap_or_else(|shared| (*shared).clone());
            let mut all = all.into_iter();
            for (n, reply) in parts {
                let mine: Vec<NewMessage> = all.by_ref().take(n).collect();
                let _ = reply.send(insert(Arc::new(mine)).await);
            }
        }
    }
}
