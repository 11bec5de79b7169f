//! SQLite's single writer with group commit.
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` every commit is an fsync.
//! So all writes of a store go through one task that owns the write connection: it takes
//! every job waiting in its queue, runs them in one `BEGIN IMMEDIATE` transaction (each multi-statement job inside
//! a savepoint, so one job's error does not undo the others), commits once, and only then
//! answers each caller. Many concurrent callers share one fsync; nobody hears "ok" before the
//! commit is durable.
//!
//! The writer also keeps the text index ([`super::text`]): when no write has come for a
//! moment, and inside a group while the unindexed tail is too long.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::text;
use crate::{Result, StoreError};

/// The most jobs one transaction takes.
const MAX_GROUP: usize = 1024;

type Finish = Box<dyn FnOnce(Option<&str>) + Send>;

trait Job: Send {
    fn atomic(&self) -> bool;
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, (bool, Finish)>;
    fn abort(self: Box<Self>, why: String);
}

struct Typed<F, T> {
    work: F,
    atomic: bool,
    reply: oneshot::Sender<Result<T>>,
}

impl<F, T> Job for Typed<F, T>
where
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    T: Send + 'static,
{
    fn atomic(&self) -> bool {
        self.atomic
    }

    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, (bool, Finish)> {
        let Typed { work, reply, .. } = *self;
        Box::pin(async move {
            let result = work(conn).await;
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit_error: Option<&str>| {
                let answer = match (result, commit_error) {
                    (Ok(_), Some(why)) => Err(StoreError::Commit(why.to_owned())),
                    (result, _) => result,
                };
                let _ = reply.send(answer);
            });
            (ok, finish)
        })
    }

    fn abort(self: Box<Self>, why: String) {
        let _ = self.reply.send(Err(StoreError::Commit(why)));
    }
}

/// A handle to the writer task. Cloning shares the task; it stops when every handle is gone.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer task on `conn`.
    pub(crate) fn start(conn: SqliteConnection) -> Self {
        let (jobs, queue) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(run(conn, queue));
        Self { jobs }
    }

    /// Runs `work`, a single statement (SQLite undoes a failed statement by itself), in the
    /// next group transaction, and answers after its commit.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(work, false).await
    }

    /// As [`Writer::write`], for work of several statements: inside a savepoint, so that an
    /// error undoes all of it and nothing of the other jobs.
    pub(crate) async fn atomic<T, F>(&self, work: F) -> Result<T>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(work, true).await
    }

    async fn submit<T, F>(&self, work: F, atomic: bool) -> Result<T>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Typed {
            work,
            atomic,
            reply,
        });
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run(mut conn: SqliteConnection, mut queue: mpsc::Receiver<Box<dyn Job>>) {
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_GROUP);
    // Messages not yet in the text index, as of the last commit.
    let mut lag = 0;
    // No job since the last chunk indexed: the next one need not wait.
    let mut idle = false;
    // After a failed attempt (another process holding the lock past busy_timeout, a full
    // disk) the next waits a second, so that a lasting fault is not retried in a loop.
    let mut not_before = Instant::now();
    loop {
        let received = if lag > 0 && queue.is_empty() {
            let wait = if idle {
                Duration::ZERO
            } else {
                text::IDLE.max(not_before.saturating_duration_since(Instant::now()))
            };
            // `recv_many` is cancel safe: a timeout loses no job.
            match tokio::time::timeout(wait, queue.recv_many(&mut group, MAX_GROUP)).await {
                Ok(n) => {
                    idle = false;
                    n
                }
                Err(_) => {
                    match text::catch_up(&mut conn).await {
                        Ok(behind) => {
                            lag = behind;
                            idle = true;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "text index: catching up failed; trying again");
                            idle = false;
                            not_before = Instant::now() + Duration::from_secs(1);
                        }
                    }
                    continue;
                }
            }
        } else {
            queue.recv_many(&mut group, MAX_GROUP).await
        };
        if received == 0 {
            break;
        }
        if let Some(behind) = commit_group(&mut conn, group.drain(..)).await {
            lag = behind;
        }
    }
    let _ = conn.close().await;
}

/// Runs and commits one group; the text index's lag afterwards, when known.
async fn commit_group(
    conn: &mut SqliteConnection,
    jobs: impl Iterator<Item = Box<dyn Job>>,
) -> Option<i64> {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE").await {
        let why = format!("could not start a write transaction: {e}");
        jobs.for_each(|job| job.abort(why.clone()));
        return None;
    }
    let mut finishes = Vec::new();
    let mut broken = None;
    for job in jobs {
        if broken.is_some() {
            job.abort("an earlier write in the same transaction broke it".into());
            continue;
        }
        let atomic = job.atomic();
        if atomic && let Err(e) = exec(conn, "SAVEPOINT job").await {
            broken = Some(e.to_string());
            job.abort(e.to_string());
            continue;
        }
        let (ok, finish) = job.run(conn).await;
        finishes.push(finish);
        if atomic {
            let end = if ok {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            if let Err(e) = exec(conn, end).await {
                broken = Some(e.to_string());
            }
        }
    }
    // Before the migrations have made the text index's mark there is nothing to keep up.
    let mut lag = None;
    if broken.is_none() {
        lag = match text::keep_up(conn).await {
            Ok(behind) => Some(behind),
            Err(e) if e.to_string().contains("no such table") => Some(0),
            Err(e) => {
                tracing::warn!(error = %e, "text index: keeping up failed");
                None
            }
        };
    }
    let outcome = match broken {
        Some(why) => Err(why),
        None => exec(conn, "COMMIT").await.map_err(|e| e.to_string()),
    };
    if outcome.is_err() {
        let _ = exec(conn, "ROLLBACK").await;
    }
    let commit_error = outcome.err();
    for finish in finishes {
        finish(commit_error.as_deref());
    }
    if commit_error.is_some() { None } else { lag }
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sql).execute(conn).await.map(|_| ())
}
