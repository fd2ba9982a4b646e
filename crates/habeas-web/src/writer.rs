//! The one writer: a thread that owns the writing Store and applies commands in groups.
//!
//! Every `POST /api/v1/commands` request becomes a job on a channel. The thread takes every
//! job queued at that moment (up to [`MAX_GROUP_COMMANDS`] commands) and applies them in ONE
//! transaction with ONE signed checkpoint and one fsync (group commit), then answers each.
//! Each request stays all or nothing and independent of its neighbours: it runs inside its
//! own savepoint, and a refusal rolls back to it, so only that request is undone. A request
//! is answered only after the transaction that holds it committed; a crash before that loses
//! only requests that were never answered, and the log stays verifiable (one transaction).
//!
//! The access log is written by the same thread: each read's record is queued as a job and
//! goes into the next group's transaction. One writer means reads never make a command wait
//! for SQLite's write lock (a second writing connection did, in the busy handler's sleeps of
//! up to tens of milliseconds), and a recorded read is as durable as a command.
//!
//! Other writes (sign-in, sign-out) run on the same thread between groups.

use std::panic::AssertUnwindSafe;

use habeas_domain::RegisterNo;
use habeas_domain::{FacilityCode, Submission};
use habeas_store::{AccessRecord, Outcome, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::ApiError;

/// A group holds at most this many commands (a single larger request still runs alone):
/// enough to absorb any burst a handful of connections can send during one fsync, small
/// enough that the first request of a group does not wait long for the last.
pub const MAX_GROUP_COMMANDS: usize = 256;
/// Jobs waiting for the writer, at most; more wait in their handlers.
const QUEUE: usize = 4096;

/// What a request's commands came to: one outcome per command (all `Ok`, or the refusals
/// with nothing applied) and the checkpoint that covers them, if the log grew.
pub(crate) struct Submitted {
    pub outcomes: Vec<Outcome>,
    pub checkpoint_size: Option<u64>,
}

type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

struct Commands {
    submissions: Vec<Submission>,
    /// The user's facilities; empty for a user not limited to any.
    scope: Vec<FacilityCode>,
    reply: Reply<Submitted>,
}

enum Job {
    Commands(Commands),
    /// A read to write to the access log.
    Access(AccessRecord),
    Run(Task),
}

/// A write other than commands, run on the writer thread between groups.
type Task = Box<dyn FnOnce(&mut Store) + Send>;

/// The handle handlers use to reach the writer thread.
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// The handle reads use to be written to the access log (by the writer, in its next group).
#[derive(Clone)]
pub struct AccessLog {
    jobs: mpsc::Sender<Job>,
}

impl AccessLog {
    /// Queues a read for the access log: who, whose file (if a person's), what. Called from
    /// blocking code (a read's closure); waits only while the writer's queue is full.
    pub fn record(&self, user: &str, register_no: Option<&RegisterNo>, what: &str) {
        let job = Job::Access(AccessRecord::now(user, register_no, what));
        if self.jobs.blocking_send(job).is_err() {
            eprintln!(
                "habeas serve: a read could not be written to the access log: the writer stopped"
            );
        }
    }
}

impl Writer {
    /// Starts the writer thread; it stops when the last handle is dropped.
    pub fn start(store: Store, max_group: usize) -> std::io::Result<Writer> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("habeas-writer".into())
            .spawn(move || run(store, rx, max_group.max(1)))?;
        Ok(Writer { jobs })
    }

    /// The handle for the access log.
    pub fn access_log(&self) -> AccessLog {
        AccessLog {
            jobs: self.jobs.clone(),
        }
    }

    /// Applies one request's commands, all or nothing, in the next group.
    pub async fn submit(
        &self,
        submissions: Vec<Submission>,
        scope: Vec<FacilityCode>,
    ) -> Result<Submitted, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Commands(Commands {
            submissions,
            scope,
            reply,
        }))
        .await?;
        answer.await.map_err(|_| gone())?
    }

    /// Runs `f` on the writer thread, between groups (never inside a group's transaction).
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Run(Box::new(move |store| {
            let _ = reply.send(f(store));
        })))
        .await?;
        answer.await.map_err(|_| gone())?
    }

    async fn send(&self, job: Job) -> Result<(), ApiError> {
        self.jobs.send(job).await.map_err(|_| gone())
    }
}

fn gone() -> ApiError {
    ApiError::internal("the writer thread stopped")
}

/// What one transaction holds: requests' commands and reads for the access log.
#[derive(Default)]
struct Group {
    requests: Vec<Commands>,
    commands: usize,
    access: Vec<AccessRecord>,
}

impl Group {
    fn add(&mut self, job: Job) -> Option<Task> {
        match job {
            Job::Commands(c) => {
                self.commands += c.submissions.len();
                self.requests.push(c);
            }
            Job::Access(a) => self.access.push(a),
            Job::Run(f) => return Some(f),
        }
        None
    }
}

/// The writer thread: one group (at most `max_group` commands, or one larger request, and
/// the reads queued meanwhile) after another until every handle is dropped.
fn run(mut store: Store, mut rx: mpsc::Receiver<Job>, max_group: usize) {
    while let Some(job) = rx.blocking_recv() {
        let mut group = Group::default();
        if let Some(f) = group.add(job) {
            guarded(&mut store, f);
            continue;
        }
        let mut after = None;
        while group.commands < max_group {
            let Ok(job) = rx.try_recv() else { break };
            // Keeps the order: a job to run comes right after this group.
            if let Some(f) = group.add(job) {
                after = Some(f);
                break;
            }
        }
        guarded(&mut store, |store| apply_group(store, group));
        if let Some(f) = after {
            guarded(&mut store, f);
        }
    }
}

/// A panic in a job must not take the writer down with it: the open transaction, if any, is
/// rolled back and the jobs it held are answered with an internal error (their reply
/// channels close).
fn guarded(store: &mut Store, f: impl FnOnce(&mut Store)) {
    if std::panic::catch_unwind(AssertUnwindSafe(|| f(store))).is_err() {
        eprintln!("habeas serve: a write job panicked; its transaction was rolled back");
        let _ = store.rollback();
    }
}

/// Applies a group in one transaction and answers every request in it. If the transaction
/// fails as a whole (storage error, a commit that does not go through), nothing of it was
/// applied, and each part is retried in a transaction of its own (the reads, then each
/// request), so that one request that breaks something cannot fail its neighbours.
fn apply_group(store: &mut Store, group: Group) {
    let (replies, jobs): (Vec<_>, Vec<_>) = group
        .requests
        .into_iter()
        // A request whose client is gone (time limit, disconnect) is not applied.
        .filter(|c| !c.reply.is_closed())
        .map(|c| (c.reply, (c.submissions, c.scope)))
        .unzip();
    if jobs.is_empty() && group.access.is_empty() {
        return;
    }
    match transaction(store, &group.access, &jobs, &replies) {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(e) if jobs.len() == 1 && group.access.is_empty() => {
            let _ = store.rollback();
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(e.into()));
            }
        }
        Err(e) => {
            eprintln!(
                "habeas serve: a group of {} requests and {} reads failed ({e}); retrying each alone",
                jobs.len(),
                group.access.len()
            );
            let _ = store.rollback();
            if !group.access.is_empty()
                && let Err(e) = transaction(store, &group.access, &[], &[])
            {
                let _ = store.rollback();
                eprintln!(
                    "habeas serve: {} reads could not be written to the access log: {e}",
                    group.access.len()
                );
            }
            for (reply, job) in replies.into_iter().zip(jobs) {
                let answer = match transaction(store, &[], std::slice::from_ref(&job), &[]) {
                    Ok(mut answers) => answers.pop().unwrap_or_else(|| Err(gone())),
                    Err(e) => {
                        let _ = store.rollback();
                        Err(e.into())
                    }
                };
                let _ = reply.send(answer);
            }
        }
    }
}

/// A request's commands and the user's facility scope.
type Request = (Vec<Submission>, Vec<FacilityCode>);

/// One transaction over the reads and the jobs, a savepoint each job; commits, then returns
/// each job's answer.
fn transaction(
    store: &mut Store,
    access: &[AccessRecord],
    jobs: &[Request],
    replies: &[Reply<Submitted>],
) -> Result<Vec<Result<Submitted, ApiError>>, StoreError> {
    store.begin()?;
    store.record_access(access)?;
    let mut answers: Vec<Result<Vec<Outcome>, ApiError>> = Vec::with_capacity(jobs.len());
    for (i, (submissions, scope)) in jobs.iter().enumerate() {
        // Gone while the transaction waited for the database lock: not applied.
        if replies.get(i).is_some_and(oneshot::Sender::is_closed) {
            answers.push(Err(gone()));
            continue;
        }
        store.savepoint()?;
        if let Err(forbidden) = check_scope(store, submissions, scope) {
            store.rollback_to_savepoint()?;
            answers.push(Err(forbidden));
            continue;
        }
        // Every command is decided, as in an atomic batch, so a refusal reports all of them.
        let mut outcomes = Vec::with_capacity(submissions.len());
        for s in submissions {
            outcomes.push(store.submit(s)?);
        }
        if outcomes.iter().any(Result::is_err) {
            store.rollback_to_savepoint()?;
        } else {
            store.release_savepoint()?;
        }
        answers.push(Ok(outcomes));
    }
    let checkpoint_size = store.commit()?.map(|c| c.size);
    Ok(answers
        .into_iter()
        .map(|a| {
            a.map(|outcomes| Submitted {
                outcomes,
                checkpoint_size,
            })
        })
        .collect())
}

/// A user limited to facilities acts only there: every facility a command touches must be
/// theirs (as the register stands inside this group, after the requests before it).
fn check_scope(
    store: &Store,
    submissions: &[Submission],
    scope: &[FacilityCode],
) -> Result<(), ApiError> {
    if scope.is_empty() {
        return Ok(());
    }
    for (index, s) in submissions.iter().enumerate() {
        if !crate::scope::command_in_scope(store, scope, &s.command) {
            return Err(ApiError::forbidden(format!(
                "command {index} acts outside the facilities this user is limited to"
            )));
        }
    }
    Ok(())
}
