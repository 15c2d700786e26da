//! The one writer to the store of each Fanout process.
//!
//! A SQLite connection is `Send` but not `Sync`, and every write is a
//! transaction: one thread owns a [`Store`] and takes work from a bounded
//! channel, in order. The run dispatcher, the engine's operations and the
//! experiment leases all write through it; async code awaits
//! [`StoreWriter::call`], blocking code [`StoreWriter::call_blocking`]. Events that arrive together are written together, one
//! transaction per batch; any other store work ([`StoreWriter::call`]) runs
//! between batches, after every event sent before it. A full channel makes
//! sessions wait (their agents' pipes fill and the agents slow down) rather
//! than letting memory grow.
//!
//! The writer's connection checkpoints (copies the WAL into the database file,
//! with a disk sync of each) every 10,000 pages instead of SQLite's 1,000:
//! measured, those syncs took about half the writer's time. In WAL mode with
//! `synchronous=NORMAL` a commit survives an application crash as soon as it is
//! in the WAL, so no event is at risk from that; only on power loss may the
//! commits since the last checkpoint (now up to ~40 MB of WAL instead of ~4 MB)
//! be rolled back, as NORMAL already allows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{SerializedEvent, Store, StoreError};
use crate::events::SessionEvent;
use crate::experiment::now_rfc3339;

/// Most events written in one transaction.
const MAX_BATCH: usize = 4096;
/// Operations waiting for the writer before senders wait.
const QUEUE: usize = 16 * 1024;
/// WAL pages (4 KiB each) after which a commit of the writer checkpoints.
const CHECKPOINT_PAGES: u32 = 10_000;

type Call = Box<dyn FnOnce(&mut Store) + Send>;

enum Op {
    Event(SerializedEvent),
    Call(Call),
}

/// A handle on the writer thread; cheap to clone. The thread ends when the
/// last handle is dropped, after writing everything sent.
#[derive(Clone)]
pub struct StoreWriter {
    tx: mpsc::Sender<Op>,
    lost: Arc<AtomicU64>,
}

impl StoreWriter {
    /// Starts the writer thread over `store`.
    pub fn spawn(store: Store) -> Result<StoreWriter, StoreError> {
        if let Err(error) = store.set_auto_checkpoint(CHECKPOINT_PAGES) {
            // Slower, not wrong: SQLite's default interval stays.
            tracing::warn!(%error, "the store writer keeps SQLite's checkpoint interval");
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let lost = Arc::new(AtomicU64::new(0));
        let counter = lost.clone();
        std::thread::Builder::new()
            .name("fanout-store-writer".into())
            .spawn(move || write_loop(store, rx, &counter))
            .map_err(|source| StoreError::WriterThread { source })?;
        Ok(StoreWriter { tx, lost })
    }

    /// Queues one session event of a variant for the store.
    pub async fn event(&self, experiment_id: &str, variant: u32, event: &SessionEvent) {
        let payload = serde_json::to_string(event).unwrap_or_else(|e| {
            serde_json::json!({ "type": "raw", "line": format!("unserializable event: {e}") })
                .to_string()
        });
        self.send(experiment_id, variant, event.kind(), payload)
            .await;
    }

    /// Queues an event of Fanout's own (a launch record, a check result).
    pub async fn record(
        &self,
        experiment_id: &str,
        variant: u32,
        kind: &str,
        payload: serde_json::Value,
    ) {
        self.send(experiment_id, variant, kind, payload.to_string())
            .await;
    }

    /// Every stored payload passes here: the one place secrets are scrubbed
    /// before they could reach the database (a serialized key reads the same
    /// as the key, JSON escapes no character a key uses).
    async fn send(&self, experiment_id: &str, variant: u32, kind: &str, mut payload: String) {
        crate::secrets::scrub(&mut payload);
        let event = SerializedEvent {
            experiment_id: experiment_id.to_owned(),
            variant,
            time: now_rfc3339(),
            kind: kind.to_owned(),
            payload,
        };
        if self.tx.send(Op::Event(event)).await.is_err() {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs `f` on the writer's store after everything queued before it.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let op = Op::Call(Box::new(move |store| {
            let _ = reply.send(f(store));
        }));
        self.tx.send(op).await.map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)
    }

    /// [`StoreWriter::call`] for blocking code (a command, a blocking-pool
    /// thread). It waits on std primitives, so it also works (by blocking
    /// the thread) where an async runtime runs, as in tests; async code
    /// awaits [`StoreWriter::call`] instead.
    pub fn call_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> T + Send + 'static,
    {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let mut op = Op::Call(Box::new(move |store| {
            let _ = reply.send(f(store));
        }));
        loop {
            match self.tx.try_send(op) {
                Ok(()) => break,
                Err(mpsc::error::TrySendError::Full(back)) => {
                    // Sixteen thousand operations ahead: the writer drains them.
                    op = back;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(StoreError::WriterGone),
            }
        }
        answer.recv().map_err(|_| StoreError::WriterGone)
    }

    /// Queues `f` without waiting for it (giving a lease back from `drop`,
    /// where nothing can wait). Returns false when the queue is full or the
    /// writer gone; the caller decides what that costs.
    pub fn call_later(&self, f: impl FnOnce(&mut Store) + Send + 'static) -> bool {
        self.tx.try_send(Op::Call(Box::new(f))).is_ok()
    }

    /// Waits until every event queued so far is in the store.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.call(|_| ()).await
    }

    /// Events that could not be stored (the database refused them); logged
    /// one by one, counted here so a caller can tell the user.
    pub fn lost_events(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

fn write_loop(mut store: Store, mut rx: mpsc::Receiver<Op>, lost: &AtomicU64) {
    let mut batch: Vec<SerializedEvent> = Vec::with_capacity(MAX_BATCH);
    while let Some(op) = rx.blocking_recv() {
        let mut next = Some(op);
        while let Some(op) = next.take() {
            match op {
                Op::Event(event) => {
                    batch.push(event);
                    if batch.len() >= MAX_BATCH {
                        write_batch(&mut store, &mut batch, lost);
                    }
                    next = rx.try_recv().ok();
                }
                Op::Call(call) => {
                    write_batch(&mut store, &mut batch, lost);
                    call(&mut store);
                    next = rx.try_recv().ok();
                }
            }
        }
        write_batch(&mut store, &mut batch, lost);
    }
}

fn write_batch(store: &mut Store, batch: &mut Vec<SerializedEvent>, lost: &AtomicU64) {
    if batch.is_empty() {
        return;
    }
    if let Err(error) = store.append_events(batch) {
        // A whole batch fails together; one event of a deleted variant must not
        // take its neighbours down with it, so retry them one by one.
        tracing::warn!(%error, events = batch.len(), "storing a batch of events failed; storing them one by one");
        for event in batch.iter() {
            if let Err(error) = store.append_events(std::slice::from_ref(event)) {
                tracing::error!(%error, experiment = %event.experiment_id, variant = event.variant, "an event could not be stored");
                lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    batch.clear();
}
