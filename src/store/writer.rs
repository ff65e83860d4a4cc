//! The single writer: a dedicated thread that drains every pending job into one durable write
//! transaction, commits once, then answers each job. Durability costs one fsync per batch.
//! Results travel back only after the commit, so nothing is acknowledged that could roll back.

use super::{StoreError, StoreStats};
use redb::{Database, Durability, WriteTransaction};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Upper bound of jobs in one transaction: keeps one batch's latency bounded under load.
const MAX_BATCH: usize = 256;

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&WriteTransaction) -> Finish + Send>;

enum Msg {
    Job(Job),
    /// Runs in order with the jobs around it, after the commit of the batch it lands in; it
    /// writes nothing (so a batch of only these opens no transaction).
    Then(Box<dyn FnOnce() + Send>),
    Close(oneshot::Sender<()>),
}

enum Item {
    Job(Job),
    Then(Box<dyn FnOnce() + Send>),
}

pub(super) struct Handle {
    tx: mpsc::Sender<Msg>,
}

/// The store's first failed write, for good: once a transaction could not begin or commit,
/// memory and disk may disagree, so nothing more is written (later jobs are refused).
#[derive(Default)]
pub struct Failure {
    first: std::sync::OnceLock<StoreError>,
    /// Cancelled at the failure.
    pub token: tokio_util::sync::CancellationToken,
}

impl Failure {
    /// Record `e` as the failure (the first one stays).
    pub fn set(&self, e: StoreError) {
        let _ = self.first.set(e);
        self.token.cancel();
    }

    pub fn get(&self) -> Option<&StoreError> {
        self.first.get()
    }
}

pub(super) fn spawn(db: Arc<Database>, stats: Arc<StoreStats>, failure: Arc<Failure>) -> Handle {
    let (tx, rx) = mpsc::channel::<Msg>();
    std::thread::Builder::new()
        .name("parley-store-writer".into())
        .spawn(move || run(db, &stats, &failure, &rx))
        .expect("spawn the store writer thread");
    Handle { tx }
}

impl Handle {
    pub(super) async fn submit<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<R, StoreError> + Send + 'static,
    {
        self.submit_hooked(f, |_: &R| {}).await
    }

    /// `submit`, and run `after_commit` with the job's result on the writer thread once its
    /// write is committed (not when the job or the commit failed), before its caller hears of it.
    pub(super) async fn submit_hooked<R, F, H>(&self, f: F, after_commit: H) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<R, StoreError> + Send + 'static,
        H: FnOnce(&R) + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |txn| {
            let out = f(txn);
            Box::new(move |committed: Result<(), StoreError>| {
                let result = committed.and(out);
                if let Ok(r) = &result {
                    after_commit(r);
                }
                let _ = tx.send(result);
            })
        });
        self.tx.send(Msg::Job(job)).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Fire and forget: run `f` in the next transaction and `then` with the commit's result,
    /// on the writer thread, in submission order with every other job.
    pub(super) fn submit_then<F, T>(&self, f: F, then: T) -> Result<(), StoreError>
    where
        F: FnOnce(&WriteTransaction) -> Result<(), StoreError> + Send + 'static,
        T: FnOnce(Result<(), StoreError>) + Send + 'static,
    {
        let job: Job = Box::new(move |txn| {
            let out = f(txn);
            Box::new(move |committed: Result<(), StoreError>| then(committed.and(out)))
        });
        self.tx.send(Msg::Job(job)).map_err(|_| StoreError::Closed)
    }

    /// Run `f` after every job submitted before it is committed.
    pub(super) fn then(&self, f: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
        self.tx.send(Msg::Then(Box::new(f))).map_err(|_| StoreError::Closed)
    }

    pub(super) async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn run(db: Arc<Database>, stats: &StoreStats, failure: &Failure, rx: &mpsc::Receiver<Msg>) {
    let mut closing = None;
    while closing.is_none() {
        let Ok(first) = rx.recv() else { return };
        let mut batch = Vec::new();
        match first {
            Msg::Job(j) => batch.push(Item::Job(j)),
            Msg::Then(f) => batch.push(Item::Then(f)),
            Msg::Close(done) => closing = Some(done),
        }
        while closing.is_none() && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(j)) => batch.push(Item::Job(j)),
                Ok(Msg::Then(f)) => batch.push(Item::Then(f)),
                Ok(Msg::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit_batch(&db, stats, failure, batch);
        }
    }
    // Let go of the database before answering, so that once every `Store` handle is dropped
    // the file is closed (and its lock released) by the time `close()` returns.
    drop(db);
    if let Some(done) = closing {
        tracing::debug!("store writer: drained and closed");
        let _ = done.send(());
    }
}

fn commit_batch(db: &Database, stats: &StoreStats, failure: &Failure, batch: Vec<Item>) {
    if failure.get().is_some() {
        // Dropping the jobs unanswered tells each caller the write did not happen.
        let n = batch.iter().filter(|i| matches!(i, Item::Job(_))).count();
        tracing::debug!("store: {n} writes refused after the store's failure");
        return;
    }
    if batch.iter().all(|i| matches!(i, Item::Then(_))) {
        for item in batch {
            if let Item::Then(f) = item {
                f();
            }
        }
        return;
    }
    let n = batch.iter().filter(|i| matches!(i, Item::Job(_))).count() as u64;
    let txn = match begin(db) {
        Ok(t) => t,
        Err(e) => {
            // Dropping the jobs unanswered tells each caller the write did not happen.
            tracing::error!(error = %e, "store: cannot begin a write transaction; {n} writes refused");
            failure.set(e);
            return;
        }
    };
    let finishers: Vec<Result<Finish, Box<dyn FnOnce() + Send>>> = batch
        .into_iter()
        .map(|item| match item {
            Item::Job(job) => Ok(job(&txn)),
            Item::Then(f) => Err(f),
        })
        .collect();
    let result = txn.commit().map_err(StoreError::from);
    if let Err(e) = &result {
        tracing::error!(error = %e, "store: commit failed; {n} writes not applied");
        failure.set(e.clone());
    } else {
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.writes.fetch_add(n, Ordering::Relaxed);
    }
    for finish in finishers {
        match finish {
            Ok(finish) => finish(result.clone()),
            Err(then) => then(),
        }
    }
}

fn begin(db: &Database) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    Ok(txn)
}
