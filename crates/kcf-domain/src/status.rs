//! Message statuses and the transitions between them, as a typed state machine.
//!
//! Every status change in the store is one of the [`Transition`]s here; the store asks
//! [`Transition::sources`] which statuses a transition may start from, so the SQL and this
//! table cannot drift apart.

use crate::named_enum;

named_enum! {
    /// Where a message is in its life (Acumatica's sync statuses, plus `processing`).
    pub enum MessageStatus: "status" {
        /// Waiting to be processed (Acumatica's "Prepared").
        Pending = "pending",
        /// Claimed by a worker under a lease.
        Processing = "processing",
        /// Applied to the other system.
        Processed = "processed",
        /// The last attempt failed; it will be retried after a backoff.
        Failed = "failed",
        /// Failed more than the entity's max attempts; waits for a person.
        Aborted = "aborted",
        /// A person chose not to sync it.
        Skipped = "skipped",
        /// Excluded by a rule or filter.
        Filtered = "filtered",
        /// Cannot be synced as it is (for example its order was never synced).
        Invalid = "invalid",
        /// The record is gone on its side.
        Deleted = "deleted",
    }
}

impl MessageStatus {
    /// Ended without anything left to do (processed, skipped, filtered or deleted); the
    /// other statuses are under way or need a person.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            Self::Processed | Self::Skipped | Self::Filtered | Self::Deleted
        )
    }
}

named_enum! {
    /// How processing ended when it did not fail.
    pub enum Outcome: "outcome" {
        /// Applied to the other system (or already up to date).
        Processed = "processed",
        /// Excluded by a rule or filter.
        Filtered = "filtered",
        /// Cannot be synced as it is.
        Invalid = "invalid",
        /// The record is gone on its side.
        Deleted = "deleted",
    }
}

impl From<Outcome> for MessageStatus {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Processed => Self::Processed,
            Outcome::Filtered => Self::Filtered,
            Outcome::Invalid => Self::Invalid,
            Outcome::Deleted => Self::Deleted,
        }
    }
}

/// Something that changes a message's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// A worker takes the message under a lease.
    Claim,
    /// The worker finished without an error.
    Complete(Outcome),
    /// The worker's attempt failed; `exhausted` when it was the last allowed attempt.
    Fail {
        /// No attempts left: the message is aborted.
        exhausted: bool,
    },
    /// The lease ran out without an answer (the worker died or froze).
    Expire {
        /// No attempts left: the message is aborted.
        exhausted: bool,
    },
    /// The worker gives the message back untouched (graceful shutdown).
    Release,
    /// A person asks for it to be processed now, even when auto-process is off.
    ProcessNow,
    /// A person asks for it to be tried again from scratch (attempts reset).
    Retry,
    /// A person chooses not to sync it.
    Skip,
    /// A person declares it done (usually with a binding set by hand).
    SetProcessed,
}

/// A transition that is not allowed from the message's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a message that is {from}{}", transition.verb(), hint(*from, *transition))]
pub struct InvalidTransition {
    /// The status the message was in.
    pub from: MessageStatus,
    /// What was attempted.
    pub transition: Transition,
}

/// What to do instead, when there is something.
fn hint(from: MessageStatus, transition: Transition) -> &'static str {
    match (from, transition) {
        (MessageStatus::Processed, _) => {
            ": it is finished (Resync writes its record to the other system again)"
        }
        (MessageStatus::Processing, _) => ": a worker has it now; wait for its outcome",
        (MessageStatus::Pending, Transition::Retry) => ": it is already waiting to be processed",
        _ => "",
    }
}

impl MessageStatus {
    /// The status after `transition`, or why it is not allowed.
    pub fn apply(self, transition: Transition) -> Result<MessageStatus, InvalidTransition> {
        use MessageStatus::*;
        use Transition as T;
        let next = match (self, transition) {
            (Pending | Failed, T::Claim) => Some(Processing),
            (Processing, T::Complete(outcome)) => Some(outcome.into()),
            (Processing, T::Fail { exhausted } | T::Expire { exhausted }) => {
                Some(if exhausted { Aborted } else { Failed })
            }
            (Processing, T::Release) => Some(Pending),
            (Pending | Failed | Aborted | Skipped, T::ProcessNow) => Some(Pending),
            (Failed | Aborted | Skipped | Filtered | Invalid | Deleted, T::Retry) => Some(Pending),
            (Pending | Failed | Aborted, T::Skip) => Some(Skipped),
            (Pending | Failed | Aborted | Skipped | Filtered | Invalid, T::SetProcessed) => {
                Some(Processed)
            }
            _ => None,
        };
        next.ok_or(InvalidTransition {
            from: self,
            transition,
        })
    }

    /// Waiting for or under processing: a worker may still act on it without a person.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Failed | Self::Processing)
    }

    /// Nothing more will happen to it unless a person acts.
    pub fn is_final(self) -> bool {
        !self.is_active()
    }
}

impl Transition {
    /// Every status this transition may start from.
    pub fn sources(self) -> Vec<MessageStatus> {
        MessageStatus::all()
            .iter()
            .copied()
            .filter(|s| s.apply(self).is_ok())
            .collect()
    }

    /// The manual transitions a person can take from the workspace, API or CLI.
    pub const MANUAL: [Transition; 4] = [
        Transition::ProcessNow,
        Transition::Retry,
        Transition::Skip,
        Transition::SetProcessed,
    ];

    /// A short verb for history records and errors.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Claim => "claim",
            Self::Complete(_) => "complete",
            Self::Fail { .. } => "fail",
            Self::Expire { .. } => "expire",
            Self::Release => "release",
            Self::ProcessNow => "process",
            Self::Retry => "retry",
            Self::Skip => "skip",
            Self::SetProcessed => "set as processed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;
    use proptest::prelude::*;

    fn any_transition() -> impl Strategy<Value = Transition> {
        prop_oneof![
            Just(Transition::Claim),
            prop::sample::select(Outcome::all().to_vec()).prop_map(Transition::Complete),
            any::<bool>().prop_map(|exhausted| Transition::Fail { exhausted }),
            any::<bool>().prop_map(|exhausted| Transition::Expire { exhausted }),
            Just(Transition::Release),
            Just(Transition::ProcessNow),
            Just(Transition::Retry),
            Just(Transition::Skip),
            Just(Transition::SetProcessed),
        ]
    }

    #[test]
    fn sources_match_the_table() {
        assert_eq!(Transition::Claim.sources(), vec![Pending, Failed]);
        assert_eq!(Transition::Release.sources(), vec![Processing]);
        assert_eq!(Transition::Skip.sources(), vec![Pending, Failed, Aborted]);
        for t in Transition::MANUAL {
            assert!(
                !t.sources().contains(&Processing),
                "{t:?} must not touch a leased message"
            );
        }
    }

    proptest! {
        /// Walk random transitions from Pending; every step obeys the machine's rules.
        #[test]
        fn random_walks_obey_the_rules(steps in prop::collection::vec(any_transition(), 1..64)) {
            let mut status = Pending;
            for t in steps {
                match status.apply(t) {
                    Ok(next) => {
                        // Only a claim enters Processing; only the lease holder leaves it.
                        prop_assert_eq!(next == Processing, t == Transition::Claim);
                        if status == Processing {
                            let leaves = matches!(t, Transition::Complete(_) | Transition::Fail { .. }
                                | Transition::Expire { .. } | Transition::Release);
                            prop_assert!(leaves, "{:?} left processing", t);
                        }
                        if let Transition::Fail { exhausted: true } | Transition::Expire { exhausted: true } = t {
                            prop_assert_eq!(next, Aborted);
                        }
                        status = next;
                    }
                    Err(e) => {
                        prop_assert_eq!(e.from, status);
                        prop_assert!(!t.sources().contains(&status));
                    }
                }
            }
            // Whatever happened, a person can always get the message processed.
            let rescued = [Transition::Release, Transition::Retry, Transition::Claim,
                           Transition::Complete(Outcome::Processed)]
                .into_iter()
                .fold(status, |s, t| s.apply(t).unwrap_or(s));
            prop_assert_eq!(rescued, Processed);
        }
    }
}
