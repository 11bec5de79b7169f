//! The store contract: every test here runs once on SQLite and once on PostgreSQL, each in a
//! fresh database (`sqlite::NAME` and `postgres::NAME` in the test output).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

use common::{TestDb, cid, connector, msg};
use kcf_domain::{
    BatchMode, BatchStatus, Binding, ConnectorId, ConnectorState, Entity, EntitySettings,
    ManualAction, Mapping, MappingKind, MessageId, MessageStatus, Mode, NewBatchRun, Outcome,
    SentDocument, Timestamp, Transition,
};
use kcf_store::{
    BindingKey, Completion, FailOutcome, MessageFilter, PageRequest, Store, StoreError,
};

macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::common::TestDb::sqlite().await;
                    crate::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::common::TestDb::postgres().await;
                    crate::$name(&db).await;
                }
            )*
        }
    };
}

contract_tests!(
    enqueue_dedups_per_connector_and_source,
    concurrent_duplicates_collapse_to_one,
    enqueue_for_an_unknown_connector_is_refused,
    claim_complete_and_history,
    stale_lease_holder_changes_nothing,
    expired_leases_are_rescued,
    deaths_between_other_outcomes_never_abort,
    one_in_flight_per_record_key_in_order,
    failures_back_off_then_abort,
    retry_after_is_honoured,
    paused_connectors_and_entities_are_not_claimed,
    auto_process_off_waits_for_a_person,
    manual_actions_follow_the_state_machine,
    set_as_processed_records_the_binding,
    release_gives_the_attempt_back,
    list_filter_and_keyset_pages,
    bindings_are_unique_both_ways,
    connectors_settings_and_mappings_survive_reopen,
    batch_runs_keep_checkpoints,
    retention_prunes_finished_messages_in_chunks,
    migrations_are_idempotent_and_concurrent,
    enqueue_wakes_an_idle_worker_elsewhere,
    complete_many_is_fenced_per_item,
    superseded_failures_are_found_per_record,
    drain_with_four_workers,
    users_sessions_and_api_tokens,
    sign_in_failures_are_counted_per_window,
    overview_counts_open_exactly_and_done_since,
    date_windows_page_newest_first,
    sent_documents_are_replaced_and_go_with_their_message,
    postponed_tries_spend_no_attempt,
    outages_hold_the_claim_and_one_prober_wins,
    waiting_batch_messages_hold_nothing_back_and_are_adopted,
    outside_text_with_nul_or_long_keys_is_stored,
    a_user_is_created_once_by_racing_processes,
    concurrent_enqueues_share_commits_and_fail_alone,
    text_search_finds_messages_before_and_after_indexing,
    search_index_follows_changes_and_deletions,
);

fn lease_time() -> Duration {
    Duration::from_secs(30)
}

async fn status_of(store: &dyn Store, id: MessageId) -> MessageStatus {
    store.message(id).await.unwrap().unwrap().status
}

fn person(t: Transition) -> ManualAction {
    ManualAction {
        transition: t,
        actor: "user:ops".into(),
        reason: None,
    }
}

async fn enqueue_dedups_per_connector_and_source(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let first = s
        .enqueue(msg(&c, "A1").with_dedup_key("n-1"))
        .await
        .unwrap();
    assert!(!first.duplicate);
    let again = s
        .enqueue(msg(&c, "A1").with_dedup_key("n-1"))
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert!(
        again.duplicate,
        "the same dedup key must say it is a duplicate"
    );
    let mut other_source = msg(&c, "A1").with_dedup_key("n-1");
    other_source.source = "bigcommerce".into();
    assert!(
        !s.enqueue(other_source).await.unwrap().duplicate,
        "dedup keys are per source"
    );
    let other = connector(s, "second").await;
    assert!(
        !s.enqueue(msg(&other, "A1").with_dedup_key("n-1"))
            .await
            .unwrap()
            .duplicate
    );
    // Without a dedup key nothing is collapsed.
    assert!(!s.enqueue(msg(&c, "A1")).await.unwrap().duplicate);
    assert!(!s.enqueue(msg(&c, "A1")).await.unwrap().duplicate);

    let batch = vec![
        msg(&c, "B1").with_dedup_key("b-1"),
        msg(&c, "B2").with_dedup_key("b-2"),
        msg(&c, "B1").with_dedup_key("b-1"),
        msg(&c, "A1").with_dedup_key("n-1"),
    ];
    let done = s.enqueue_many(batch).await.unwrap();
    assert_eq!(
        done.iter().map(|e| e.duplicate).collect::<Vec<_>>(),
        [false, false, true, true]
    );
    assert_eq!(done[0].id, done[2].id);
    assert_eq!(done[3].id, first.id);
    let all = s
        .list_messages(&MessageFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 7);
}

async fn concurrent_duplicates_collapse_to_one(db: &TestDb) {
    let c = connector(&*db.store, "main").await;
    let mut tasks = Vec::new();
    for i in 0..5 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            db.open_another().await
        };
        let m = msg(&c, "ORDER-1").with_dedup_key("hash-abc");
        tasks.push(tokio::spawn(async move { store.enqueue(m).await.unwrap() }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let ids: BTreeSet<_> = results.iter().map(|r| r.id).collect();
    assert_eq!(
        ids.len(),
        1,
        "five deliveries of one notification make one message"
    );
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
}

/// Many enqueues at once (they share group commits): each gets its own answer, duplicates
/// across callers collapse, and one naming an unknown connector fails alone.
async fn concurrent_enqueues_share_commits_and_fail_alone(db: &TestDb) {
    let c = connector(&*db.store, "main").await;
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let store = db.store.clone();
        let target = if i == 77 { cid("ghost") } else { c.clone() };
        // Pairs share a dedup key: one of each pair is a duplicate.
        let messages = vec![
            msg(&target, &format!("K-{i}")).with_dedup_key(format!("d-{}", i / 2)),
            msg(&target, &format!("L-{i}")),
        ];
        tasks.push(tokio::spawn(async move {
            (i, store.enqueue_many(messages).await)
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let mut stored = BTreeSet::new();
    let mut duplicates = 0;
    for (i, answer) in &answers {
        match answer {
            Err(e) => {
                assert_eq!(*i, 77, "only the ghost connector's enqueue fails: {e}");
                assert!(matches!(e, StoreError::UnknownConnector(_)), "{e}");
            }
            Ok(done) => {
                assert_ne!(*i, 77, "the ghost connector's enqueue is refused");
                assert_eq!(done.len(), 2, "one answer per message");
                for e in done {
                    if e.duplicate {
                        duplicates += 1;
                    } else {
                        assert!(stored.insert(e.id), "a new message has an id of its own");
                    }
                }
            }
        }
    }
    // 199 callers × 2 messages; the dedup keys d-0..d-99 are shared by pairs, and d-38's
    // other half (caller 77) failed.
    assert_eq!(duplicates, 99);
    assert_eq!(stored.len(), 199 * 2 - 99);
    let total: u64 = db
        .store
        .count_by_status(&MessageFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum();
    assert_eq!(
        total as usize,
        stored.len(),
        "what was answered is what is stored"
    );
}

/// Text search finds a message as soon as its enqueue is answered (the trigram index is
/// written later, off the ingest path, and search scans what it has not reached yet), and
/// keeps finding exactly the same ones.
async fn text_search_finds_messages_before_and_after_indexing(db: &TestDb) {
    let c = connector(&*db.store, "main").await;
    db.store
        .enqueue_many((0..30).map(|i| msg(&c, &format!("SRCH-{i:03}"))).collect())
        .await
        .unwrap();
    let find = |text: &'static str| found(&*db.store, text);
    for _ in 0..20 {
        assert_eq!(find("SRCH-007").await, ["SRCH-007"]);
        assert_eq!(find("srch-01").await.len(), 10, "case-insensitive, 010–019");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // More messages on top of indexed ones: still exact.
    db.store
        .enqueue_many((30..40).map(|i| msg(&c, &format!("SRCH-{i:03}"))).collect())
        .await
        .unwrap();
    assert_eq!(find("SRCH-03").await.len(), 10);
    assert_eq!(find("SRCH-0").await.len(), 40);
}

/// Keys of the messages whose key or description contains `text`, sorted.
async fn found(store: &dyn Store, text: &str) -> Vec<String> {
    let filter = MessageFilter {
        text: Some(text.into()),
        ..Default::default()
    };
    let mut keys: Vec<String> = store
        .list_messages(&filter, PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.record_key.as_str().to_owned())
        .collect();
    keys.sort();
    keys
}

/// Waits (generously) until the search index has caught up with every stored message.
async fn search_index_caught_up(store: &dyn Store) {
    for _ in 0..1_200 {
        if store.search_lag().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the search index is still {} messages behind after a minute",
        store.search_lag().await.unwrap()
    );
}

/// The search index is written after the message: a description changed before or after the
/// message was indexed, and messages deleted after it was, leave search exact and the index
/// consistent with the messages (SQLite's FTS5 integrity check; on PostgreSQL each message's
/// text in exactly one of the two tables).
async fn search_index_follows_changes_and_deletions(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let run = s
        .create_batch_run(&NewBatchRun {
            connector: c.clone(),
            entity: Entity::Product,
            mode: BatchMode::ByDate,
            window_from: Timestamp(0),
            window_to: Timestamp(1),
        })
        .await
        .unwrap();
    let waiting = |key: &str, description: &str| {
        let mut m = msg(&c, key)
            .with_dedup_key(format!("batch:{key}"))
            .with_description(description);
        m.mode = Mode::Batch;
        m.batch_run = Some(run.id);
        m.wait_for_person = true;
        m
    };
    let relist = |key: &'static str, description: &'static str| {
        let c = c.clone();
        async move {
            let next = s
                .create_batch_run(&NewBatchRun {
                    connector: c.clone(),
                    entity: Entity::Product,
                    mode: BatchMode::ByDate,
                    window_from: Timestamp(0),
                    window_to: Timestamp(2),
                })
                .await
                .unwrap();
            let moved = s
                .adopt_batch_messages(
                    next.id,
                    &c,
                    Entity::Product,
                    &[(key.into(), description.into(), serde_json::json!({}))],
                )
                .await
                .unwrap();
            assert_eq!(moved, [key]);
        }
    };
    s.enqueue_many((0..20).map(|i| msg(&c, &format!("IDX-{i:03}"))).collect())
        .await
        .unwrap();
    s.enqueue(waiting("IDX-EARLY", "alpha words"))
        .await
        .unwrap();
    search_index_caught_up(s).await;
    assert_eq!(found(s, "IDX-0").await.len(), 20);
    // Changed after it was indexed.
    relist("IDX-EARLY", "omega words").await;
    assert_eq!(found(s, "omega").await, ["IDX-EARLY"]);
    assert!(found(s, "alpha").await.is_empty());
    // Changed right after it was stored, whether or not it is indexed by then.
    s.enqueue(waiting("IDX-LATE", "first text")).await.unwrap();
    relist("IDX-LATE", "second text").await;
    assert_eq!(found(s, "second tex").await, ["IDX-LATE"]);
    assert!(found(s, "first tex").await.is_empty());
    // Indexed messages deleted.
    let claimed = s.claim("w", 100, lease_time()).await.unwrap();
    assert_eq!(claimed.len(), 20);
    for m in &claimed {
        s.complete(&m.lease, Outcome::Processed, None)
            .await
            .unwrap();
    }
    let pruned = s
        .prune(Timestamp::now().plus(Duration::from_secs(1)), 7)
        .await
        .unwrap();
    assert_eq!(pruned, 20);
    assert!(found(s, "IDX-0").await.is_empty());
    search_index_caught_up(s).await;
    assert_eq!(found(s, "IDX-").await, ["IDX-EARLY", "IDX-LATE"]);
    assert_eq!(found(s, "second tex").await, ["IDX-LATE"]);
    assert!(found(s, "first tex").await.is_empty());
    index_is_consistent(db).await;
}

async fn index_is_consistent(db: &TestDb) {
    use sqlx::{Connection, Executor};
    if db.config.url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(&db.config.url)
            .await
            .unwrap();
        // Rank 1 also compares the index with the messages it was built from.
        c.execute("INSERT INTO messages_text (messages_text, rank) VALUES ('integrity-check', 1)")
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&db.config.url).await.unwrap();
        let (messages, texts, both): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM messages),
                    (SELECT COUNT(*) FROM message_text) + (SELECT COUNT(*) FROM message_text_new),
                    (SELECT COUNT(*) FROM message_text t JOIN message_text_new n USING (id))",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!((texts, both), (messages, 0), "each message's text once");
    }
}

async fn enqueue_for_an_unknown_connector_is_refused(db: &TestDb) {
    let err = db
        .store
        .enqueue(msg(&cid("ghost"), "A1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownConnector(ref id) if id.as_str() == "ghost"),
        "{err}"
    );
    assert!(err.to_string().contains("unknown connector 'ghost'"));
}

async fn claim_complete_and_history(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let id = s.enqueue(msg(&c, "A1")).await.unwrap().id;
    let claimed = s.claim("worker-1", 10, lease_time()).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let (m, lease) = (&claimed[0].message, &claimed[0].lease);
    assert_eq!(
        (m.id, m.status, m.attempts),
        (id, MessageStatus::Processing, 1)
    );
    assert_eq!(m.lease_owner.as_deref(), Some("worker-1"));
    assert_eq!(lease.attempt, 1);
    assert_eq!(lease.token.len(), 32);
    assert_eq!(m.payload["InventoryID"], "A1");
    assert!(
        s.claim("worker-2", 10, lease_time())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.heartbeat(lease, Duration::from_secs(60))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.complete(lease, Outcome::Processed, Some("created product 77"))
            .await
            .unwrap()
    );
    let done = s.message(id).await.unwrap().unwrap();
    assert_eq!(done.status, MessageStatus::Processed);
    assert_eq!(done.lease_owner, None);
    let history = s.history(id).await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|h| (h.from, h.to, h.actor.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (None, MessageStatus::Pending, "acumatica"),
            (
                Some(MessageStatus::Pending),
                MessageStatus::Processing,
                "worker-1"
            ),
            (
                Some(MessageStatus::Processing),
                MessageStatus::Processed,
                "worker-1"
            ),
        ]
    );
    assert_eq!(history[2].reason.as_deref(), Some("created product 77"));
    // Completing twice is fenced: the lease is gone.
    assert!(!s.complete(lease, Outcome::Processed, None).await.unwrap());
}

async fn stale_lease_holder_changes_nothing(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let id = s.enqueue(msg(&c, "A1")).await.unwrap().id;
    let stale = s
        .claim("frozen", 1, Duration::from_millis(50))
        .await
        .unwrap()
        .remove(0)
        .lease;
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(s.reap_expired(100).await.unwrap(), 1);
    // Past the crash backoff's first wait (10 ms in tests).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh = s
        .claim("healthy", 1, lease_time())
        .await
        .unwrap()
        .remove(0)
        .lease;
    assert_eq!(fresh.id, id);
    assert_ne!(fresh.token, stale.token);
    // The frozen worker's expired attempt was given back.
    assert_eq!(fresh.attempt, 1);
    // The frozen worker wakes up: every write it tries is fenced off.
    assert!(!s.complete(&stale, Outcome::Processed, None).await.unwrap());
    assert_eq!(
        s.fail(&stale, "boom", None).await.unwrap(),
        FailOutcome::Fenced
    );
    assert_eq!(s.heartbeat(&stale, lease_time()).await.unwrap(), None);
    assert!(!s.release(&stale).await.unwrap());
    let m = s.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Processing);
    assert_eq!(m.lease_owner.as_deref(), Some("healthy"));
    assert!(s.complete(&fresh, Outcome::Processed, None).await.unwrap());
    assert_eq!(status_of(s, id).await, MessageStatus::Processed);
}

async fn expired_leases_are_rescued(db: &TestDb) {
    let s = &*db.store;
    // Long enough that a loaded machine reaps within it, short enough to wait out.
    const LEASE: Duration = Duration::from_millis(700);
    let c = connector(s, "main").await;
    let mut settings = EntitySettings::default_for(c.clone(), Entity::Product);
    settings.max_attempts = 2;
    s.put_entity_settings(&settings).await.unwrap();
    let id = s.enqueue(msg(&c, "A1")).await.unwrap().id;
    s.claim("w1", 1, LEASE).await.unwrap();
    assert_eq!(
        s.reap_expired(100).await.unwrap(),
        0,
        "a live lease is not reaped"
    );
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    assert_eq!(s.reap_expired(100).await.unwrap(), 1);
    let m = s.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Failed);
    assert!(
        m.last_error
            .as_deref()
            .unwrap()
            .contains("lease expired: worker w1"),
        "{m:?}"
    );
    // A dead worker is seldom the message's fault: the death spends no attempt.
    assert_eq!((m.attempts, m.crashes), (0, 1), "{m:?}");
    // Rescued work waits a moment, longer with each death in a row (the test store's crash
    // backoff: 10 ms doubling to 40 ms), so a dying fleet is waited out.
    let mut waits = vec![m.next_attempt_at.0 - m.updated_at.0];
    // A message whose workers die twice its max attempts in a row (here 4) is stopped as
    // one that kills every worker that takes it.
    for (n, worker) in ["w2", "w3", "w4"].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.claim(worker, 1, LEASE).await.unwrap().remove(0);
        tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
        assert_eq!(s.reap_expired(100).await.unwrap(), 1);
        let expected = if n < 2 {
            MessageStatus::Failed
        } else {
            MessageStatus::Aborted
        };
        assert_eq!(status_of(s, id).await, expected, "after expiry {}", n + 2);
        let m = s.message(id).await.unwrap().unwrap();
        waits.push(m.next_attempt_at.0 - m.updated_at.0);
    }
    assert_eq!(waits, [10, 20, 40, 40], "ms waited after each death");
    let m = s.message(id).await.unwrap().unwrap();
    assert!(
        m.last_error.as_deref().unwrap().contains("(4 in a row"),
        "{m:?}"
    );
    let history = s.history(id).await.unwrap();
    assert_eq!(history.last().unwrap().actor, "reaper");
}

/// The long kill -9 soak's finding: a message put off every few seconds (the overselling
/// guard holding stock back) is claimed hundreds of times under a kill storm, and deaths
/// counted in all aborted it. Only deaths in a row count: any outcome between them resets.
async fn deaths_between_other_outcomes_never_abort(db: &TestDb) {
    let s = &*db.store;
    const LEASE: Duration = Duration::from_millis(700);
    let c = connector(s, "main").await;
    let mut settings = EntitySettings::default_for(c.clone(), Entity::Product);
    settings.max_attempts = 1;
    s.put_entity_settings(&settings).await.unwrap();
    let id = s.enqueue(msg(&c, "W1")).await.unwrap().id;
    // Six deaths (three times the two in a row that would stop it), each after a try put off.
    for death in 1..=6 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let claimed = s.claim("w", 1, lease_time()).await.unwrap().remove(0);
        assert!(
            s.postpone(&claimed.lease, "waits", Timestamp::now())
                .await
                .unwrap()
        );
        s.claim(&format!("dies-{death}"), 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
        assert_eq!(s.reap_expired(100).await.unwrap(), 1, "death {death}");
        let m = s.message(id).await.unwrap().unwrap();
        assert_eq!(
            (m.status, m.attempts, m.crashes),
            (MessageStatus::Failed, 0, 1),
            "death {death}"
        );
    }
    // It still gets its one real attempt, and a failure then ends it as usual.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let claimed = s.claim("w", 1, lease_time()).await.unwrap().remove(0);
    assert_eq!(claimed.lease.attempt, 1);
    assert_eq!(
        s.fail(&claimed.lease, "400 Bad Request", None)
            .await
            .unwrap(),
        FailOutcome::Aborted
    );
    let m = s.message(id).await.unwrap().unwrap();
    assert_eq!((m.attempts, m.crashes), (1, 0));
}

async fn one_in_flight_per_record_key_in_order(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let k1: Vec<_> = [
        s.enqueue(msg(&c, "SAME")).await.unwrap().id,
        s.enqueue(msg(&c, "SAME")).await.unwrap().id,
        s.enqueue(msg(&c, "SAME")).await.unwrap().id,
    ]
    .to_vec();
    let other = s.enqueue(msg(&c, "OTHER")).await.unwrap().id;
    let first = s.claim("w1", 10, lease_time()).await.unwrap();
    let ids: BTreeSet<_> = first.iter().map(|c| c.message.id).collect();
    assert_eq!(
        ids,
        BTreeSet::from([k1[0], other]),
        "one per key, the oldest first"
    );
    assert!(s.claim("w2", 10, lease_time()).await.unwrap().is_empty());
    // Even a manual request for a later message does not jump the queue of its key.
    s.act(&[k1[2]], &person(Transition::ProcessNow))
        .await
        .unwrap();
    assert!(s.claim("w2", 10, lease_time()).await.unwrap().is_empty());
    for claimed in &first {
        // The first of the key ends invalid, so a person can retry it below (a processed
        // message is not retried: Resync writes its record again).
        let outcome = if claimed.message.id == k1[0] {
            Outcome::Invalid
        } else {
            Outcome::Processed
        };
        s.complete(&claimed.lease, outcome, None).await.unwrap();
    }
    let second = s.claim("w2", 10, lease_time()).await.unwrap();
    assert_eq!(
        second.iter().map(|c| c.message.id).collect::<Vec<_>>(),
        [k1[1]]
    );
    // A message of the key retried by hand while a newer one runs still waits its turn.
    s.complete(&second[0].lease, Outcome::Processed, None)
        .await
        .unwrap();
    let third = s.claim("w3", 10, lease_time()).await.unwrap();
    assert_eq!(third[0].message.id, k1[2]);
    s.act(&[k1[0]], &person(Transition::Retry)).await.unwrap();
    assert!(s.claim("w4", 10, lease_time()).await.unwrap().is_empty());
    s.complete(&third[0].lease, Outcome::Processed, None)
        .await
        .unwrap();
    assert_eq!(
        s.claim("w4", 10, lease_time()).await.unwrap()[0].message.id,
        k1[0]
    );
}

async fn failures_back_off_then_abort(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let mut settings = EntitySettings::default_for(c.clone(), Entity::Product);
    settings.max_attempts = 3;
    s.put_entity_settings(&settings).await.unwrap();
    let id = s.enqueue(msg(&c, "A1")).await.unwrap().id;
    let policy = db.config.retry;
    for attempt in 1..=3u32 {
        let claimed = loop {
            if let Some(c) = s.claim("w", 1, lease_time()).await.unwrap().pop() {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert_eq!(claimed.lease.attempt, attempt);
        let before = Timestamp::now();
        let outcome = s
            .fail(
                &claimed.lease,
                &format!("store said 500 (try {attempt})"),
                None,
            )
            .await
            .unwrap();
        let m = s.message(id).await.unwrap().unwrap();
        assert_eq!(
            m.last_error.as_deref(),
            Some(format!("store said 500 (try {attempt})").as_str())
        );
        if attempt < 3 {
            let FailOutcome::Retry(at) = outcome else {
                panic!("attempt {attempt}: {outcome:?}")
            };
            assert_eq!(m.status, MessageStatus::Failed);
            assert_eq!(m.next_attempt_at, at);
            let ceiling = policy.ceiling(attempt).as_millis() as i64;
            assert!(
                at.0 >= before.0 && at.0 <= before.0 + ceiling + 50,
                "attempt {attempt}: {at:?}"
            );
        } else {
            assert_eq!(outcome, FailOutcome::Aborted);
            assert_eq!(m.status, MessageStatus::Aborted);
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        s.claim("w", 1, lease_time()).await.unwrap().is_empty(),
        "aborted waits for a person"
    );
    let statuses: Vec<_> = s.history(id).await.unwrap().iter().map(|h| h.to).collect();
    use MessageStatus::*;
    assert_eq!(
        statuses,
        [
            Pending, Processing, Failed, Processing, Failed, Processing, Aborted
        ]
    );
}

async fn retry_after_is_honoured(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    s.enqueue(msg(&c, "A1")).await.unwrap();
    let lease = s.claim("w", 1, lease_time()).await.unwrap().remove(0).lease;
    let before = Timestamp::now();
    let FailOutcome::Retry(at) = s
        .fail(
            &lease,
            "429 Too Many Requests",
            Some(Duration::from_secs(10)),
        )
        .await
        .unwrap()
    else {
        panic!("expected a retry")
    };
    assert!(
        at.0 >= before.0 + 10_000,
        "the other side's Retry-After is a floor"
    );
    assert!(s.claim("w", 1, lease_time()).await.unwrap().is_empty());
}

async fn paused_connectors_and_entities_are_not_claimed(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    s.enqueue(msg(&c, "A1")).await.unwrap();
    s.set_connector_state(&c, ConnectorState::Paused)
        .await
        .unwrap();
    assert!(
        s.claim("w", 10, lease_time()).await.unwrap().is_empty(),
        "paused connector"
    );
    s.set_connector_state(&c, ConnectorState::Stopped)
        .await
        .unwrap();
    assert!(
        s.claim("w", 10, lease_time()).await.unwrap().is_empty(),
        "stopped connector"
    );
    s.set_connector_state(&c, ConnectorState::Running)
        .await
        .unwrap();
    let until = Timestamp::now().plus(Duration::from_secs(60));
    s.hold_connector(&c, Some(until), Some("429 from BigCommerce"))
        .await
        .unwrap();
    assert!(
        s.claim("w", 10, lease_time()).await.unwrap().is_empty(),
        "held connector"
    );
    let held = s.connector(&c).await.unwrap().unwrap();
    assert_eq!(held.paused_until, Some(until));
    assert_eq!(held.pause_reason.as_deref(), Some("429 from BigCommerce"));
    s.hold_connector(&c, None, None).await.unwrap();
    let mut settings = EntitySettings::default_for(c.clone(), Entity::Product);
    settings.paused = true;
    s.put_entity_settings(&settings).await.unwrap();
    assert!(
        s.claim("w", 10, lease_time()).await.unwrap().is_empty(),
        "paused entity"
    );
    settings.paused = false;
    s.put_entity_settings(&settings).await.unwrap();
    assert_eq!(s.claim("w", 10, lease_time()).await.unwrap().len(), 1);
    let err = s
        .set_connector_state(&cid("ghost"), ConnectorState::Paused)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownConnector(_)));
}

async fn auto_process_off_waits_for_a_person(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let mut settings = EntitySettings::default_for(c.clone(), Entity::Product);
    settings.auto_process = false;
    s.put_entity_settings(&settings).await.unwrap();
    let a = s.enqueue(msg(&c, "A1")).await.unwrap().id;
    let b = s.enqueue(msg(&c, "B1")).await.unwrap().id;
    assert!(s.claim("w", 10, lease_time()).await.unwrap().is_empty());
    let report = s.act(&[a], &person(Transition::ProcessNow)).await.unwrap();
    assert_eq!(report.changed, [a]);
    let claimed = s.claim("w", 10, lease_time()).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.message.id).collect::<Vec<_>>(),
        [a]
    );
    assert_eq!(status_of(s, b).await, MessageStatus::Pending);
    // Asking for a newer message of a record carries the older waiting ones along, in order,
    // rather than leaving it stuck behind them.
    let b2 = s.enqueue(msg(&c, "B1")).await.unwrap().id;
    s.act(&[b2], &person(Transition::ProcessNow)).await.unwrap();
    let first = s.claim("w", 10, lease_time()).await.unwrap();
    assert_eq!(first.iter().map(|c| c.message.id).collect::<Vec<_>>(), [b]);
    s.complete(&first[0].lease, Outcome::Processed, None)
        .await
        .unwrap();
    let second = s.claim("w", 10, lease_time()).await.unwrap();
    assert_eq!(
        second.iter().map(|c| c.message.id).collect::<Vec<_>>(),
        [b2]
    );
}

async fn manual_actions_follow_the_state_machine(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let a = s.enqueue(msg(&c, "A1")).await.unwrap().id;
    let b = s.enqueue(msg(&c, "B1")).await.unwrap().id;
    let skip = ManualAction {
        transition: Transition::Skip,
        actor: "user:ops".into(),
        reason: Some("discontinued item".into()),
    };
    let report = s.act(&[a, MessageId(999_999)], &skip).await.unwrap();
    assert_eq!(report.changed, [a]);
    assert_eq!(report.refused.len(), 1);
    assert!(report.refused[0].1.contains("not found"));
    assert_eq!(status_of(s, a).await, MessageStatus::Skipped);
    let last = s.history(a).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.reason.as_deref()),
        ("user:ops", Some("discontinued item"))
    );
    // Skipping a skipped message is refused with the reason; retry brings it back.
    let again = s.act(&[a], &skip).await.unwrap();
    assert!(again.changed.is_empty());
    assert!(
        again.refused[0].1.contains("skipped"),
        "{:?}",
        again.refused
    );
    s.act(&[a], &person(Transition::Retry)).await.unwrap();
    assert_eq!(status_of(s, a).await, MessageStatus::Pending);
    // A leased message cannot be touched by hand.
    let leased = s.claim("w", 10, lease_time()).await.unwrap();
    assert_eq!(leased.len(), 2);
    for t in Transition::MANUAL {
        let r = s.act(&[b], &person(t)).await.unwrap();
        assert!(r.changed.is_empty(), "{t:?} changed a processing message");
    }
    // Retry after abort resets the attempts.
    let lease_b = leased
        .iter()
        .find(|c| c.message.id == b)
        .unwrap()
        .lease
        .clone();
    let mut settings = EntitySettings::default_for(c.clone(), Entity::Product);
    settings.max_attempts = 1;
    s.put_entity_settings(&settings).await.unwrap();
    assert_eq!(
        s.fail(&lease_b, "fatal", None).await.unwrap(),
        FailOutcome::Aborted
    );
    s.act(&[b], &person(Transition::Retry)).await.unwrap();
    let m = s.message(b).await.unwrap().unwrap();
    assert_eq!((m.status, m.attempts), (MessageStatus::Pending, 0));
    // Worker transitions are not for people.
    let err = s.act(&[b], &person(Transition::Claim)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    // A processed message is finished: process, retry and skip are each refused, per id,
    // with the reason, and it stays processed.
    let done = s.enqueue(msg(&c, "DONE")).await.unwrap().id;
    let leased = s.claim("w", 10, lease_time()).await.unwrap();
    let lease = &leased.iter().find(|l| l.message.id == done).unwrap().lease;
    s.complete(lease, Outcome::Processed, None).await.unwrap();
    for t in [Transition::ProcessNow, Transition::Retry, Transition::Skip] {
        let r = s.act(&[done], &person(t)).await.unwrap();
        assert!(r.changed.is_empty(), "{t:?} changed a processed message");
        assert!(
            r.refused[0].1.contains("processed") && r.refused[0].1.contains("Resync"),
            "{t:?}: {:?}",
            r.refused
        );
    }
    assert_eq!(status_of(s, done).await, MessageStatus::Processed);
}

async fn set_as_processed_records_the_binding(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let id = s.enqueue(msg(&c, "A1")).await.unwrap().id;
    let binding = Binding {
        connector: c.clone(),
        entity: Entity::Product,
        erp_key: "A1".into(),
        external_id: "77".into(),
        fingerprint: None,
        synced_at: Timestamp::now(),
    };
    s.set_processed(id, Some(&binding), "user:ops")
        .await
        .unwrap();
    assert_eq!(status_of(s, id).await, MessageStatus::Processed);
    let found = s
        .binding(&c, Entity::Product, BindingKey::External("77"))
        .await
        .unwrap();
    assert_eq!(found.unwrap().erp_key, "A1");
    // Not allowed twice; and a conflicting binding rolls the status change back too.
    assert!(s.set_processed(id, None, "user:ops").await.is_err());
    let other = s.enqueue(msg(&c, "B1")).await.unwrap().id;
    let clash = Binding {
        erp_key: "B1".into(),
        ..binding
    };
    let err = s
        .set_processed(other, Some(&clash), "user:ops")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BindingConflict(_)), "{err}");
    assert_eq!(status_of(s, other).await, MessageStatus::Pending);
}

async fn release_gives_the_attempt_back(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let id = s.enqueue(msg(&c, "A1")).await.unwrap().id;
    let lease = s.claim("w", 1, lease_time()).await.unwrap().remove(0).lease;
    assert!(s.release(&lease).await.unwrap());
    let m = s.message(id).await.unwrap().unwrap();
    assert_eq!((m.status, m.attempts), (MessageStatus::Pending, 0));
    assert_eq!(
        s.claim("w", 1, lease_time()).await.unwrap()[0]
            .lease
            .attempt,
        1
    );
}

async fn list_filter_and_keyset_pages(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let mut batch = Vec::new();
    for i in 0..120 {
        let mut m = msg(&c, &format!("ITEM-{i:03}"));
        if i % 3 == 0 {
            m.entity = Entity::Customer;
            m.mode = Mode::Batch;
            m.description = format!("Customer 100% happy {i}");
        }
        batch.push(m);
    }
    s.enqueue_many(batch).await.unwrap();
    let claimed = s.claim("w", 10, lease_time()).await.unwrap();
    for c in &claimed {
        s.complete(&c.lease, Outcome::Processed, None)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest {
        before: None,
        limit: 50,
    };
    loop {
        let p = s
            .list_messages(&MessageFilter::default(), page)
            .await
            .unwrap();
        seen.extend(p.items.iter().map(|m| m.id));
        match p.next {
            Some(next) => page.before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 120);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    let customers = MessageFilter {
        entity: Some(Entity::Customer),
        ..Default::default()
    };
    let p = s
        .list_messages(
            &customers,
            PageRequest {
                before: None,
                limit: 500,
            },
        )
        .await
        .unwrap();
    assert_eq!(p.items.len(), 40);
    assert!(
        p.items
            .iter()
            .all(|m| m.entity == Entity::Customer && m.mode == Mode::Batch)
    );
    let text = MessageFilter {
        text: Some("item-11".into()),
        ..Default::default()
    };
    let p = s
        .list_messages(&text, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        p.items.len(),
        10,
        "case-insensitive contains on the record key"
    );
    let percent = MessageFilter {
        text: Some("100%".into()),
        ..Default::default()
    };
    assert_eq!(
        s.list_messages(&percent, PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        40
    );
    // Description text, any case, in a page with other filters; short and quoted queries.
    let search = |text: &str, entity: Option<Entity>| MessageFilter {
        text: Some(text.into()),
        entity,
        ..Default::default()
    };
    let found = |f: MessageFilter| async move {
        s.list_messages(
            &f,
            PageRequest {
                before: None,
                limit: 500,
            },
        )
        .await
        .unwrap()
        .items
    };
    let happy = found(search("HAPPY 11", Some(Entity::Customer))).await;
    assert_eq!(
        happy
            .iter()
            .map(|m| m.record_key.as_str())
            .collect::<Vec<_>>(),
        ["ITEM-117", "ITEM-114", "ITEM-111"],
        "newest first"
    );
    assert!(
        found(search("HAPPY 11", Some(Entity::Product)))
            .await
            .is_empty()
    );
    assert_eq!(
        found(search("7", None)).await.len(),
        21,
        "one character still matches"
    );
    assert!(found(search("\"ITEM", None)).await.is_empty());
    assert!(found(search("NOT-THERE", None)).await.is_empty());
    let underscore = MessageFilter {
        text: Some("M_0".into()),
        ..Default::default()
    };
    assert!(
        s.list_messages(&underscore, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let processed = MessageFilter {
        statuses: vec![MessageStatus::Processed],
        connector: Some(c.clone()),
        ..Default::default()
    };
    assert_eq!(
        s.list_messages(&processed, PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        10
    );
    let future = MessageFilter {
        created_from: Some(Timestamp::now().plus(Duration::from_secs(60))),
        ..Default::default()
    };
    assert!(
        s.list_messages(&future, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let counts = s.count_by_status(&MessageFilter::default()).await.unwrap();
    let total: u64 = counts.iter().map(|c| c.count).sum();
    assert_eq!(total, 120);
    let processed_count: u64 = counts
        .iter()
        .filter(|c| c.status == MessageStatus::Processed)
        .map(|c| c.count)
        .sum();
    assert_eq!(processed_count, 10);
    let err = s
        .list_messages(
            &MessageFilter::default(),
            PageRequest {
                before: None,
                limit: 0,
            },
        )
        .await;
    assert!(matches!(err, Err(StoreError::Invalid(_))));
}

async fn overview_counts_open_exactly_and_done_since(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    for key in ["A1", "A2", "A3", "A4", "A5"] {
        s.enqueue(msg(&c, key)).await.unwrap();
    }
    let claimed = s.claim("w", 3, lease_time()).await.unwrap();
    assert_eq!(claimed.len(), 3);
    s.complete(&claimed[0].lease, Outcome::Processed, None)
        .await
        .unwrap();
    s.fail(&claimed[1].lease, "store said 500", None)
        .await
        .unwrap();
    let count = |counts: &[kcf_store::StatusCount], status: MessageStatus| -> u64 {
        counts
            .iter()
            .filter(|n| n.connector == c && n.entity == Entity::Product && n.status == status)
            .map(|n| n.count)
            .sum()
    };
    let hour_ago = Timestamp::now().minus(Duration::from_secs(3_600));
    let recent = s.overview_counts(hour_ago).await.unwrap();
    assert_eq!(count(&recent, MessageStatus::Pending), 2, "{recent:?}");
    assert_eq!(count(&recent, MessageStatus::Processing), 1, "{recent:?}");
    assert_eq!(count(&recent, MessageStatus::Failed), 1, "{recent:?}");
    assert_eq!(count(&recent, MessageStatus::Processed), 1, "{recent:?}");
    // The finished ones count only when they changed at or after the given time; the open
    // ones always.
    let later = s
        .overview_counts(Timestamp::now().plus(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(count(&later, MessageStatus::Processed), 0, "{later:?}");
    assert_eq!(count(&later, MessageStatus::Pending), 2, "{later:?}");
    assert_eq!(count(&later, MessageStatus::Failed), 1, "{later:?}");
    // The same figures as the general count.
    let all = s.count_by_status(&MessageFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|n| n.count).sum::<u64>(), 5);
    for status in [
        MessageStatus::Pending,
        MessageStatus::Processing,
        MessageStatus::Failed,
        MessageStatus::Processed,
    ] {
        assert_eq!(count(&all, status), count(&recent, status), "{status}");
    }
}

/// A window in the past is read through the date index and sorted; one reaching now is read
/// down the ids. Both give the same rows, newest first, paged by keyset.
async fn date_windows_page_newest_first(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    s.enqueue(msg(&c, "BEFORE")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let from = Timestamp::now();
    let mut inside = Vec::new();
    for i in 0..5 {
        inside.push(s.enqueue(msg(&c, &format!("IN-{i}"))).await.unwrap().id);
    }
    let to = Timestamp(Timestamp::now().0 + 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    s.enqueue(msg(&c, "AFTER")).await.unwrap();
    inside.reverse();
    let page = |from: Timestamp, to: Option<Timestamp>, before: Option<MessageId>| {
        let filter = MessageFilter {
            connector: Some(c.clone()),
            created_from: Some(from),
            created_to: to,
            ..Default::default()
        };
        async move {
            s.list_messages(&filter, PageRequest { before, limit: 2 })
                .await
                .unwrap()
        }
    };
    // Wait until the window is further in the past than it is wide (the date-first plan).
    let width = (to.0 - from.0) as u64;
    tokio::time::sleep(Duration::from_millis(width + 5)).await;
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let p = page(from, Some(to), before).await;
        seen.extend(p.items.iter().map(|m| m.id));
        match p.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, inside, "the window in the past, newest first");
    // From the same start up to now: the later message too, read down the ids.
    let p = page(from, None, None).await;
    assert_eq!(p.items[0].record_key.as_str(), "AFTER");
    assert_eq!(p.items[1].id, inside[0]);
}

async fn bindings_are_unique_both_ways(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let b = Binding {
        connector: c.clone(),
        entity: Entity::Product,
        erp_key: "A1".into(),
        external_id: "101".into(),
        fingerprint: Some("f1".into()),
        synced_at: Timestamp(1_000),
    };
    s.put_binding(&b).await.unwrap();
    let by_erp = s
        .binding(&c, Entity::Product, BindingKey::Erp("A1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_erp, b);
    let by_ext = s
        .binding(&c, Entity::Product, BindingKey::External("101"))
        .await
        .unwrap();
    assert_eq!(by_ext.as_ref(), Some(&b));
    assert!(
        s.binding(&c, Entity::Customer, BindingKey::Erp("A1"))
            .await
            .unwrap()
            .is_none()
    );
    // Updating the same ERP key moves its fingerprint and may move its external id.
    let updated = Binding {
        fingerprint: Some("f2".into()),
        synced_at: Timestamp(2_000),
        ..b.clone()
    };
    s.put_binding(&updated).await.unwrap();
    assert_eq!(
        s.binding(&c, Entity::Product, BindingKey::Erp("A1"))
            .await
            .unwrap(),
        Some(updated)
    );
    // Another ERP key may not take the same external id.
    let clash = Binding {
        erp_key: "B2".into(),
        ..b.clone()
    };
    let err = s.put_binding(&clash).await.unwrap_err();
    assert!(matches!(err, StoreError::BindingConflict(_)), "{err}");
    assert!(err.to_string().contains("'A1'"), "{err}");
    for i in 0..5 {
        let more = Binding {
            erp_key: format!("K{i}"),
            external_id: format!("E{i}"),
            ..b.clone()
        };
        s.put_binding(&more).await.unwrap();
    }
    let page = s
        .bindings(&c, Entity::Product, None, Some("K1"), 2)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|b| b.erp_key.as_str()).collect::<Vec<_>>(),
        ["K2", "K3"]
    );
    let found = s
        .bindings(&c, Entity::Product, Some("e4"), None, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(s.delete_binding(&c, Entity::Product, "A1").await.unwrap());
    assert!(!s.delete_binding(&c, Entity::Product, "A1").await.unwrap());
    s.put_binding(&clash).await.unwrap();
}

async fn connectors_settings_and_mappings_survive_reopen(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let settings = s.entity_settings(&c).await.unwrap();
    assert_eq!(
        settings.len(),
        Entity::all().len(),
        "defaults for every entity"
    );
    let order = settings.iter().find(|s| s.entity == Entity::Order).unwrap();
    assert_eq!(order.direction, kcf_domain::SyncDirection::StoreToErp);
    let mut product = EntitySettings::default_for(c.clone(), Entity::Product);
    product.schedule = Some("0 */15 * * * *".into());
    product.fields.insert("weight".into(), false);
    product.max_attempts = 9;
    s.put_entity_settings(&product).await.unwrap();
    for (erp, store) in [("Open", "11"), ("Back Order", "9"), ("Completed", "2")] {
        let m = Mapping {
            connector: c.clone(),
            kind: MappingKind::OrderStatus,
            erp_value: erp.into(),
            store_value: store.into(),
        };
        s.put_mapping(&m).await.unwrap();
    }
    let fix = Mapping {
        connector: c.clone(),
        kind: MappingKind::OrderStatus,
        erp_value: "Completed".into(),
        store_value: "10".into(),
    };
    s.put_mapping(&fix).await.unwrap();
    assert!(
        s.delete_mapping(&c, MappingKind::OrderStatus, "Back Order")
            .await
            .unwrap()
    );
    let mut k = s.connector(&c).await.unwrap().unwrap();
    k.sealed_credentials = Some(vec![1, 2, 3]);
    k.settings = serde_json::json!({ "acumatica_url": "http://127.0.0.1:8081" });
    s.put_connector(&k).await.unwrap();

    let reopened = db.open_another().await;
    let again = reopened.entity_settings(&c).await.unwrap();
    assert_eq!(
        again.iter().find(|s| s.entity == Entity::Product),
        Some(&product)
    );
    let maps = reopened
        .mappings(&c, Some(MappingKind::OrderStatus))
        .await
        .unwrap();
    let pairs: Vec<_> = maps
        .iter()
        .map(|m| (m.erp_value.as_str(), m.store_value.as_str()))
        .collect();
    assert_eq!(pairs, [("Completed", "10"), ("Open", "11")]);
    let k2 = reopened.connector(&c).await.unwrap().unwrap();
    assert_eq!(k2.sealed_credentials, Some(vec![1, 2, 3]));
    assert_eq!(k2.settings["acumatica_url"], "http://127.0.0.1:8081");
    assert_eq!(reopened.connectors().await.unwrap().len(), 1);
    let bad = EntitySettings::default_for(cid("ghost"), Entity::Product);
    assert!(matches!(
        reopened.put_entity_settings(&bad).await.unwrap_err(),
        StoreError::UnknownConnector(_)
    ));
}

async fn batch_runs_keep_checkpoints(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let run = s
        .create_batch_run(&NewBatchRun {
            connector: c.clone(),
            entity: Entity::Product,
            mode: BatchMode::ByDate,
            window_from: Timestamp(1_000),
            window_to: Timestamp(2_000),
        })
        .await
        .unwrap();
    assert_eq!((run.status, run.listed), (BatchStatus::Listing, 0));
    s.update_batch_run(run.id, Some("page=2"), 250, 240, BatchStatus::Listing, None)
        .await
        .unwrap();
    let r = s
        .update_batch_run(run.id, None, 10, 10, BatchStatus::Failed, Some("timeout"))
        .await
        .unwrap();
    assert_eq!(
        r.checkpoint.as_deref(),
        Some("page=2"),
        "no checkpoint keeps the last one"
    );
    assert_eq!(
        (r.listed, r.enqueued, r.status),
        (260, 250, BatchStatus::Failed)
    );
    let reopened = db.open_another().await;
    let back = reopened.batch_run(run.id).await.unwrap().unwrap();
    assert_eq!(back, r);
    let runs = reopened.batch_runs(&c, Entity::Product, 10).await.unwrap();
    assert_eq!(runs, [r]);
    let missing = reopened
        .update_batch_run(9_999, None, 0, 0, BatchStatus::Completed, None)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
}

async fn retention_prunes_finished_messages_in_chunks(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let mut batch = Vec::new();
    for i in 0..25 {
        batch.push(msg(&c, &format!("K{i}")));
    }
    s.enqueue_many(batch).await.unwrap();
    let claimed = s.claim("w", 20, lease_time()).await.unwrap();
    let items: Vec<_> = claimed
        .iter()
        .map(|c| Completion::new(c.lease.clone(), Outcome::Processed))
        .collect();
    s.complete_many(&items).await.unwrap();
    let kept = claimed[0].message.id;
    let pruned = s
        .prune(Timestamp::now().plus(Duration::from_secs(1)), 7)
        .await
        .unwrap();
    assert_eq!(pruned, 20);
    let left = s
        .list_messages(&MessageFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(left.items.len(), 5);
    assert!(
        left.items
            .iter()
            .all(|m| m.status == MessageStatus::Pending)
    );
    assert!(
        s.history(kept).await.unwrap().is_empty(),
        "history goes with its message"
    );
    assert_eq!(s.prune(Timestamp(0), 7).await.unwrap(), 0);
}

async fn migrations_are_idempotent_and_concurrent(db: &TestDb) {
    db.store.migrate().await.unwrap();
    db.store.migrate().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let config = db.config.clone();
        tasks.push(tokio::spawn(async move {
            let store = kcf_store::open(&config).await?;
            store.migrate().await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    connector(&*db.store, "still-works").await;
}

async fn enqueue_wakes_an_idle_worker_elsewhere(db: &TestDb) {
    let c = connector(&*db.store, "main").await;
    let worker = db.open_another().await;
    let waiter = tokio::spawn(async move {
        let started = std::time::Instant::now();
        worker.wait_for_work(Duration::from_secs(10)).await;
        started.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let same_process = db.store.backend() == kcf_store::Backend::Sqlite;
    // SQLite wakes workers of the same store; PostgreSQL wakes every listener via NOTIFY.
    let enqueuer = if same_process {
        db.store.clone()
    } else {
        db.open_another().await
    };
    enqueuer.enqueue(msg(&c, "A1")).await.unwrap();
    if same_process {
        // The other SQLite store polls: it only has to return by its timeout.
        waiter.abort();
        let started = std::time::Instant::now();
        db.store.wait_for_work(Duration::from_secs(10)).await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a permit is kept for the next waiter"
        );
    } else {
        let waited = waiter.await.unwrap();
        assert!(
            waited < Duration::from_secs(5),
            "woken by NOTIFY after {waited:?}"
        );
    }
}

async fn complete_many_is_fenced_per_item(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    s.enqueue_many((0..3).map(|i| msg(&c, &format!("K{i}"))).collect())
        .await
        .unwrap();
    let claimed = s.claim("w", 3, lease_time()).await.unwrap();
    let mut items: Vec<_> = claimed
        .iter()
        .map(|c| Completion::new(c.lease.clone(), Outcome::Processed))
        .collect();
    items[0] = items[0].clone().with_note("updated product 77");
    items[1].lease.token = "not-the-token".into();
    items[2].outcome = Outcome::Invalid;
    items[2].note = Some("no SKU".into());
    assert_eq!(s.complete_many(&items).await.unwrap(), [true, false, true]);
    assert_eq!(
        status_of(s, claimed[1].message.id).await,
        MessageStatus::Processing
    );
    // Each item's note is kept as `complete` keeps it: the reason in the history, and the
    // error of an Invalid message.
    let first = s.message(claimed[0].message.id).await.unwrap().unwrap();
    assert_eq!(first.status, MessageStatus::Processed);
    assert_eq!(first.last_error, None);
    let history = s.history(first.id).await.unwrap();
    assert_eq!(
        history.last().and_then(|h| h.reason.as_deref()),
        Some("updated product 77")
    );
    let third = s.message(claimed[2].message.id).await.unwrap().unwrap();
    assert_eq!(third.status, MessageStatus::Invalid);
    assert_eq!(third.last_error.as_deref(), Some("no SKU"));
    let history = s.history(third.id).await.unwrap();
    assert_eq!(
        history.last().and_then(|h| h.reason.as_deref()),
        Some("no SKU")
    );
}

/// A failure is superseded only by a later processed message of the same record on the same
/// connector: not by an older one, a pending one, or one on another connector.
async fn superseded_failures_are_found_per_record(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let other = connector(s, "other").await;
    async fn run(s: &dyn Store, c: &ConnectorId, key: &str, outcome: Outcome) -> MessageId {
        s.enqueue(msg(c, key)).await.unwrap();
        let claimed = s.claim("w", 1, lease_time()).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let item = Completion::new(claimed[0].lease.clone(), outcome).with_note("done");
        assert_eq!(s.complete_many(&[item]).await.unwrap(), [true]);
        claimed[0].message.id
    }
    run(s, &c, "K2", Outcome::Processed).await;
    let f1 = run(s, &c, "K1", Outcome::Invalid).await;
    let f2 = run(s, &c, "K2", Outcome::Invalid).await;
    let f3 = run(s, &c, "K3", Outcome::Invalid).await;
    run(s, &c, "K1", Outcome::Processed).await;
    run(s, &other, "K2", Outcome::Processed).await;
    s.enqueue(msg(&c, "K3")).await.unwrap();
    assert_eq!(s.superseded(&[f1, f2, f3]).await.unwrap(), [f1]);
    assert_eq!(s.superseded(&[f3, f2]).await.unwrap(), []);
    assert_eq!(s.superseded(&[]).await.unwrap(), []);
}

/// 4 workers, each with its own store (its own connections), drain 10,000 messages over
/// 2,000 record keys. The ledger must show every message processed exactly once, never two
/// in flight for one key, per-key order kept, and nothing left processing.
async fn drain_with_four_workers(db: &TestDb) {
    use std::sync::{Arc, Mutex};
    const MESSAGES: usize = 10_000;
    const KEYS: usize = 2_000;
    let c = connector(&*db.store, "main").await;
    for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(500) {
        let batch = chunk
            .iter()
            .map(|i| msg(&c, &format!("KEY-{}", i % KEYS)))
            .collect();
        db.store.enqueue_many(batch).await.unwrap();
    }
    #[derive(Default)]
    struct Ledger {
        processed: HashMap<MessageId, u32>,
        in_flight: BTreeSet<String>,
        order: HashMap<String, Vec<MessageId>>,
        violations: Vec<String>,
    }
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = db.open_another().await;
        let ledger = ledger.clone();
        workers.push(tokio::spawn(async move {
            let owner = format!("worker-{w}");
            let mut idle = 0;
            while idle < 3 {
                let claimed = store
                    .claim(&owner, 64, Duration::from_secs(60))
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    idle += 1;
                    store.wait_for_work(Duration::from_millis(50)).await;
                    continue;
                }
                idle = 0;
                {
                    let mut l = ledger.lock().unwrap();
                    for c in &claimed {
                        let key = c.message.record_key.to_string();
                        if !l.in_flight.insert(key.clone()) {
                            l.violations.push(format!("{key} claimed twice at once"));
                        }
                        *l.processed.entry(c.message.id).or_default() += 1;
                        l.order.entry(key).or_default().push(c.message.id);
                    }
                }
                let items: Vec<_> = claimed
                    .iter()
                    .map(|c| Completion::new(c.lease.clone(), Outcome::Processed))
                    .collect();
                {
                    let mut l = ledger.lock().unwrap();
                    for c in &claimed {
                        l.in_flight.remove(c.message.record_key.as_str());
                    }
                }
                let done = store.complete_many(&items).await.unwrap();
                assert!(done.iter().all(|d| *d), "{owner}: a completion was fenced");
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    {
        let l = ledger.lock().unwrap();
        assert!(
            l.violations.is_empty(),
            "{:?}",
            &l.violations[..l.violations.len().min(5)]
        );
        assert_eq!(l.processed.len(), MESSAGES, "every message processed");
        assert!(l.processed.values().all(|n| *n == 1), "each exactly once");
        for (key, ids) in &l.order {
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "{key} out of order: {ids:?}"
            );
        }
    }
    let counts = db
        .store
        .count_by_status(&MessageFilter::default())
        .await
        .unwrap();
    let by_status: HashMap<_, _> = counts.iter().map(|c| (c.status, c.count)).collect();
    assert_eq!(
        by_status.get(&MessageStatus::Processed),
        Some(&(MESSAGES as u64))
    );
    assert_eq!(
        by_status.get(&MessageStatus::Processing),
        None,
        "none left processing"
    );
}

/// Failed sign-ins are counted per user and client within a window; a count whose window
/// has passed starts again; a success forgets the client's count (and every stale one).
async fn sign_in_failures_are_counted_per_window(db: &TestDb) {
    let s = &*db.store;
    let t0 = Timestamp(1_000_000);
    let window = |now: Timestamp| Timestamp(now.0 - 300_000);
    assert_eq!(
        s.sign_in_failures("admin", "10.0.0.1", window(t0))
            .await
            .unwrap()
            .0,
        0
    );
    for n in 0..3 {
        let now = Timestamp(t0.0 + n * 1_000);
        s.count_sign_in_failure("admin", "10.0.0.1", now, window(now))
            .await
            .unwrap();
    }
    let now = Timestamp(t0.0 + 5_000);
    assert_eq!(
        s.sign_in_failures("admin", "10.0.0.1", window(now))
            .await
            .unwrap(),
        (3, t0),
        "counted since the first"
    );
    assert_eq!(
        s.sign_in_failures("admin", "10.0.0.2", window(now))
            .await
            .unwrap()
            .0,
        0,
        "per client"
    );
    // After the window, the count is gone, and the next failure starts it again.
    let later = Timestamp(t0.0 + 400_000);
    assert_eq!(
        s.sign_in_failures("admin", "10.0.0.1", window(later))
            .await
            .unwrap()
            .0,
        0
    );
    s.count_sign_in_failure("admin", "10.0.0.1", later, window(later))
        .await
        .unwrap();
    assert_eq!(
        s.sign_in_failures("admin", "10.0.0.1", window(later))
            .await
            .unwrap(),
        (1, later)
    );
    s.count_sign_in_failure("admin", "10.0.0.2", later, window(later))
        .await
        .unwrap();
    s.clear_sign_in_failures("admin", "10.0.0.1", window(later))
        .await
        .unwrap();
    assert_eq!(
        s.sign_in_failures("admin", "10.0.0.1", window(later))
            .await
            .unwrap()
            .0,
        0
    );
    assert_eq!(
        s.sign_in_failures("admin", "10.0.0.2", window(later))
            .await
            .unwrap()
            .0,
        1,
        "another client's count stays"
    );
}

async fn users_sessions_and_api_tokens(db: &TestDb) {
    let s = &*db.store;
    assert_eq!(s.user_count().await.unwrap(), 0);
    s.put_user("admin", "$argon2id$first").await.unwrap();
    s.put_user("admin", "$argon2id$second").await.unwrap();
    assert_eq!(s.user_count().await.unwrap(), 1);
    assert_eq!(
        s.password_hash("admin").await.unwrap().as_deref(),
        Some("$argon2id$second")
    );
    assert_eq!(s.password_hash("nobody").await.unwrap(), None);

    // Sessions: live ones are found, expired and deleted ones are not.
    let later = Timestamp(Timestamp::now().0 + 60_000);
    s.create_session("live", "admin", later).await.unwrap();
    s.create_session("old", "admin", Timestamp(Timestamp::now().0 - 1))
        .await
        .unwrap();
    assert_eq!(s.session("live").await.unwrap().unwrap().username, "admin");
    assert!(s.session("old").await.unwrap().is_none());
    s.delete_session("live").await.unwrap();
    assert!(s.session("live").await.unwrap().is_none());
    // A session of an unknown user is refused by the schema.
    assert!(s.create_session("ghost", "nobody", later).await.is_err());

    // API tokens: created, used (last use recorded), revoked once.
    let t = s
        .create_api_token("ci", "hash-1", "kcf_ab", "admin")
        .await
        .unwrap();
    assert_eq!(
        (t.name.as_str(), t.hint.as_str(), t.revoked_at),
        ("ci", "kcf_ab", None)
    );
    assert!(
        s.create_api_token("dup", "hash-1", "kcf_ab", "admin")
            .await
            .is_err()
    );
    let used = s.use_api_token("hash-1").await.unwrap().unwrap();
    assert_eq!(used.id, t.id);
    assert!(s.api_tokens().await.unwrap()[0].last_used_at.is_some());
    assert!(s.use_api_token("hash-2").await.unwrap().is_none());
    assert!(s.revoke_api_token(t.id).await.unwrap());
    assert!(!s.revoke_api_token(t.id).await.unwrap());
    assert!(s.use_api_token("hash-1").await.unwrap().is_none());
    assert!(s.api_tokens().await.unwrap()[0].revoked_at.is_some());
}

async fn sent_documents_are_replaced_and_go_with_their_message(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let a = s.enqueue(msg(&c, "S1")).await.unwrap().id;
    let b = s.enqueue(msg(&c, "S2")).await.unwrap().id;
    assert_eq!(s.sent(a).await.unwrap(), None, "nothing sent yet");
    let doc = |id: MessageId, target: &str, price: f64| SentDocument {
        message_id: id,
        at: Timestamp(1_700_000_000_000),
        target: target.into(),
        body: serde_json::json!({ "sku": "S1", "price": price, "name": "Ünïcode 'quoted'" }),
    };
    s.record_sent(&[
        doc(a, "BigCommerce product (create)", 1.5),
        doc(b, "x", 2.0),
    ])
    .await
    .unwrap();
    assert_eq!(
        s.sent(a).await.unwrap(),
        Some(doc(a, "BigCommerce product (create)", 1.5))
    );
    // A later attempt replaces what the earlier one sent.
    s.record_sent(&[doc(a, "BigCommerce product 7 (update)", 2.5)])
        .await
        .unwrap();
    assert_eq!(
        s.sent(a).await.unwrap(),
        Some(doc(a, "BigCommerce product 7 (update)", 2.5))
    );
    assert_eq!(s.sent(b).await.unwrap().unwrap().target, "x");
    s.record_sent(&[]).await.unwrap();
    // A message deleted meanwhile: nothing to keep, and no error.
    s.record_sent(&[doc(MessageId(a.0 + 1_000_000), "gone", 0.0)])
        .await
        .unwrap();
    // Retention takes it away with its message.
    let claimed = s.claim("w", 10, lease_time()).await.unwrap();
    for m in &claimed {
        s.complete(&m.lease, Outcome::Processed, None)
            .await
            .unwrap();
    }
    let pruned = s
        .prune(Timestamp::now().plus(Duration::from_secs(1)), 10)
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(s.sent(a).await.unwrap(), None);
}

async fn postponed_tries_spend_no_attempt(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let id = s.enqueue(msg(&c, "P1")).await.unwrap().id;
    let mut settings = EntitySettings::default_for(c.clone(), Entity::Product);
    settings.max_attempts = 1;
    s.put_entity_settings(&settings).await.unwrap();
    // Ten tries put off (the store was out) leave the one allowed attempt unspent.
    for n in 1..=10 {
        let claimed = s.claim("w", 10, lease_time()).await.unwrap();
        assert_eq!(claimed.len(), 1, "try {n}");
        assert!(
            s.postpone(&claimed[0].lease, "BigCommerce: 503", Timestamp::now())
                .await
                .unwrap()
        );
        let m = s.message(id).await.unwrap().unwrap();
        assert_eq!(
            (m.status, m.attempts, m.postponed),
            (MessageStatus::Failed, 0, n)
        );
        assert_eq!(m.last_error.as_deref(), Some("BigCommerce: 503"));
    }
    // Fenced like every lease-holder call.
    let claimed = s.claim("w", 10, lease_time()).await.unwrap();
    let mut stale = claimed[0].lease.clone();
    stale.token = "not-ours".into();
    assert!(!s.postpone(&stale, "x", Timestamp::now()).await.unwrap());
    // Postponed to a time: not claimable before it.
    let later = Timestamp::now().plus(Duration::from_secs(60));
    assert!(s.postpone(&claimed[0].lease, "busy", later).await.unwrap());
    assert!(s.claim("w", 10, lease_time()).await.unwrap().is_empty());
    // A person's Retry starts it afresh.
    s.act(&[id], &person(Transition::Retry)).await.unwrap();
    let m = s.message(id).await.unwrap().unwrap();
    assert_eq!((m.attempts, m.postponed), (0, 0));
}

async fn outages_hold_the_claim_and_one_prober_wins(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    s.enqueue(msg(&c, "O1")).await.unwrap();
    let now = Timestamp::now();
    let outage = kcf_domain::Outage {
        system: kcf_domain::Platform::BigCommerce,
        since: now,
        reason: "BigCommerce: 503".into(),
        probes: 0,
        next_probe_at: now,
        needs_person: false,
    };
    s.set_outage(&c, Some(&outage)).await.unwrap();
    assert_eq!(
        s.connector(&c).await.unwrap().unwrap().outage,
        Some(outage.clone())
    );
    assert!(
        s.claim("w", 10, lease_time()).await.unwrap().is_empty(),
        "out: nothing claimed"
    );
    // Two probers see the same due probe: one wins.
    let next = now.plus(Duration::from_secs(4));
    let (a, b) = tokio::join!(s.take_probe(&c, now, next), s.take_probe(&c, now, next));
    assert!(a.unwrap() ^ b.unwrap(), "exactly one prober");
    assert!(
        !s.take_probe(&c, now, next).await.unwrap(),
        "the probe moved on"
    );
    // One that waits for a person is never probed.
    let person_needed = kcf_domain::Outage {
        needs_person: true,
        next_probe_at: now,
        ..outage
    };
    s.set_outage(&c, Some(&person_needed)).await.unwrap();
    assert!(!s.take_probe(&c, now, next).await.unwrap());
    // Over: claimed again; the kept ERP session is kept apart from it.
    s.put_erp_session(&c, Some(b"sealed")).await.unwrap();
    s.set_outage(&c, None).await.unwrap();
    assert_eq!(s.claim("w", 10, lease_time()).await.unwrap().len(), 1);
    assert_eq!(
        s.erp_session(&c).await.unwrap().as_deref(),
        Some(&b"sealed"[..])
    );
    s.put_erp_session(&c, None).await.unwrap();
    assert_eq!(s.erp_session(&c).await.unwrap(), None);
}

async fn waiting_batch_messages_hold_nothing_back_and_are_adopted(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let run = |n: i64| NewBatchRun {
        connector: c.clone(),
        entity: Entity::Product,
        mode: BatchMode::ByDate,
        window_from: Timestamp(0),
        window_to: Timestamp(n),
    };
    let first = s.create_batch_run(&run(1)).await.unwrap();
    let mut listed = msg(&c, "B1").with_dedup_key("batch:1:B1");
    listed.mode = Mode::Batch;
    listed.batch_run = Some(first.id);
    listed.wait_for_person = true;
    let waiting = s.enqueue(listed).await.unwrap().id;
    let realtime = s.enqueue(msg(&c, "B1")).await.unwrap().id;
    // The real-time change of the same record is not held behind a listing nobody processed.
    let claimed = s.claim("w", 10, lease_time()).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.message.id).collect::<Vec<_>>(),
        [realtime]
    );
    s.complete(&claimed[0].lease, Outcome::Processed, None)
        .await
        .unwrap();
    assert_eq!(status_of(s, waiting).await, MessageStatus::Pending);
    // Listed again by a person: the waiting message moves into the new run, refreshed.
    let second = s.create_batch_run(&run(2)).await.unwrap();
    let moved = s
        .adopt_batch_messages(
            second.id,
            &c,
            Entity::Product,
            &[
                (
                    "B1".into(),
                    "B1 again".into(),
                    serde_json::json!({ "v": 2 }),
                ),
                ("B2".into(), "new".into(), serde_json::json!({})),
            ],
        )
        .await
        .unwrap();
    assert_eq!(moved, ["B1"], "only records with a waiting message");
    let m = s.message(waiting).await.unwrap().unwrap();
    assert_eq!(
        (m.batch_run, m.description.as_str(), &m.payload),
        (Some(second.id), "B1 again", &serde_json::json!({ "v": 2 }))
    );
    // Processing it is a person's choice, and then it runs.
    s.act(&[waiting], &person(Transition::ProcessNow))
        .await
        .unwrap();
    assert_eq!(
        s.claim("w", 10, lease_time()).await.unwrap()[0].message.id,
        waiting
    );
}

/// PostgreSQL refuses NUL in text and index rows over about 2.7 KB: outside text holding either
/// must still commit (a notification refused for it would be retried, then lost), and a resend
/// must still collapse onto the first.
async fn outside_text_with_nul_or_long_keys_is_stored(db: &TestDb) {
    let s = &*db.store;
    let c = connector(s, "main").await;
    let long = format!("{}:Query:A1", "x".repeat(3000));
    let m = || {
        msg(&c, "A1")
            .with_dedup_key(long.clone())
            .with_description("Product: A1 bad\u{0}name")
            .with_payload(serde_json::json!({ "Description": "a\u{0}b", "k\u{0}": [1, "\u{0}"] }))
    };
    let first = s.enqueue(m()).await.unwrap();
    let again = s.enqueue(m()).await.unwrap();
    assert!(
        !first.duplicate && again.duplicate && again.id == first.id,
        "{first:?} {again:?}"
    );
    let many = s.enqueue_many(vec![m(), m()]).await.unwrap();
    assert!(
        many.iter().all(|e| e.duplicate && e.id == first.id),
        "{many:?}"
    );
    let stored = s.message(first.id).await.unwrap().unwrap();
    assert!(!stored.description.contains('\0'));
    assert_eq!(stored.payload["Description"], "a\u{FFFD}b");
    // Errors and notes from the other systems may hold a NUL too.
    let claimed = s.claim("w", 10, lease_time()).await.unwrap();
    s.fail(&claimed[0].lease, "refused: \u{0}", None)
        .await
        .unwrap();
    let failed = s.message(first.id).await.unwrap().unwrap();
    assert_eq!(failed.last_error.as_deref(), Some("refused: \u{FFFD}"));
}

/// Two processes starting at once on an empty database both try to create the admin user:
/// exactly one does, so exactly one generated password is real.
async fn a_user_is_created_once_by_racing_processes(db: &TestDb) {
    let s = db.store.clone();
    let racers = (0..4).map(|n| {
        let s = s.clone();
        tokio::spawn(async move { s.add_user("admin", &format!("hash-{n}")).await.unwrap() })
    });
    let created: Vec<bool> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(created.iter().filter(|c| **c).count(), 1, "{created:?}");
    let winner = created.iter().position(|c| *c).unwrap();
    assert_eq!(
        s.password_hash("admin").await.unwrap().as_deref(),
        Some(format!("hash-{winner}").as_str()),
        "the losers changed nothing"
    );
    assert!(!s.add_user("admin", "again").await.unwrap());
}

/// kcf's SQLite file holds sealed credentials and payloads: it is created readable by its own
/// user only, and so are its WAL and shared-memory files.
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("kcf-private-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("kcf.db");
    let _ = std::fs::remove_file(&db);
    let store = kcf_store::open(&kcf_store::StoreConfig::new(format!(
        "sqlite://{}",
        db.display()
    )))
    .await
    .unwrap();
    connector(&*store, "main").await;
    for file in ["kcf.db", "kcf.db-wal"] {
        let mode = std::fs::metadata(dir.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}: {mode:o}");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SQLite: the writer indexes for search when it has nothing else to do. If another
/// connection holds the file's write lock past `busy_timeout` meanwhile, the writer tries
/// again later on its own: the index catches up once the lock is released, with no write
/// coming to wake it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_search_index_catches_up_after_the_lock_was_held() {
    use sqlx::{Connection, Executor};
    let db = TestDb::sqlite().await;
    let mut config = db.config.clone();
    config.busy_timeout = Duration::from_millis(200);
    let store = kcf_store::open(&config).await.unwrap();
    let c = connector(&*store, "main").await;
    let mut other = sqlx::SqliteConnection::connect(&db.config.url)
        .await
        .unwrap();
    // On a machine so busy that the writer indexed everything before the lock was taken,
    // another round of messages (the lock is released first, so they can be stored).
    let mut round = 0;
    loop {
        for chunk in 0..40 {
            store
                .enqueue_many(
                    (0..500)
                        .map(|i| msg(&c, &format!("LOCK-{round}-{chunk:02}-{i:03}")))
                        .collect(),
                )
                .await
                .unwrap();
        }
        other.execute("BEGIN IMMEDIATE").await.unwrap();
        round += 1;
        if store.search_lag().await.unwrap() > 0 || round == 5 {
            break;
        }
        other.execute("COMMIT").await.unwrap();
    }
    let behind = store.search_lag().await.unwrap();
    assert!(behind > 0, "20,000 messages cannot all be indexed already");
    // Long enough for the writer's attempts to fail on the lock.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(store.search_lag().await.unwrap() > 0);
    other.execute("COMMIT").await.unwrap();
    search_index_caught_up(&*store).await;
    assert_eq!(found(&*store, "LOCK-0-17-04").await.len(), 10);
    index_is_consistent(&db).await;
}
