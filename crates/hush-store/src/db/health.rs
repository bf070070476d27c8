//! Whether the writer's transactions commit, for `/ready` and the logs.
//!
//! The state changes only when a batch commits or fails, and each change
//! is logged once: an outage or a full disk is one error line when it
//! starts and one line when it ends, not one per request.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{StoreError, Unavailable};

/// What the writer last experienced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterStatus {
    /// The last batch committed.
    Healthy,
    /// Batches have been failing since `for_` ago.
    Failing {
        /// Why.
        kind: Unavailable,
        /// For how long.
        for_: Duration,
    },
}

struct Failure {
    kind: Unavailable,
    since: Instant,
}

#[derive(Default)]
pub(crate) struct Health {
    state: Mutex<State>,
    /// Batches run and the writes they held (for monitoring: the ratio is
    /// the group commit's batch size).
    pub(crate) batches: std::sync::atomic::AtomicU64,
    pub(crate) writes: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct State {
    failing: Option<Failure>,
    /// When the last batch committed or failed.
    last_outcome: Option<Instant>,
}

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn committed(&self) {
        let mut state = self.lock();
        state.last_outcome = Some(Instant::now());
        if let Some(failure) = state.failing.take() {
            tracing::warn!(
                after_secs = failure.since.elapsed().as_secs(),
                "database writes commit again"
            );
        }
    }

    pub(crate) fn failed(&self, err: &StoreError) {
        let kind = match err {
            StoreError::Unavailable { kind, .. } => *kind,
            _ => Unavailable::Outage,
        };
        let mut state = self.lock();
        state.last_outcome = Some(Instant::now());
        match &mut state.failing {
            Some(failure) => failure.kind = kind,
            None => {
                tracing::error!(
                    %kind,
                    cause = %crate::error::error_chain(err),
                    "database writes fail; nothing is acknowledged until they commit again"
                );
                state.failing = Some(Failure {
                    kind,
                    since: Instant::now(),
                });
            }
        }
    }

    pub(crate) fn status(&self) -> WriterStatus {
        match &self.lock().failing {
            None => WriterStatus::Healthy,
            Some(failure) => WriterStatus::Failing {
                kind: failure.kind,
                for_: failure.since.elapsed(),
            },
        }
    }

    /// Whether the last batch is too long ago to tell how writes fare now.
    pub(crate) fn stale(&self, after: Duration) -> bool {
        self.lock()
            .last_outcome
            .is_none_or(|at| at.elapsed() > after)
    }
}
