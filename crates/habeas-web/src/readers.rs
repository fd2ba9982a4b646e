//! Read-only Store handles for the GET endpoints, so that reads never wait behind a write:
//! SQLite in WAL mode lets readers run beside the one writer, each in its own snapshot of
//! what is committed.

use std::sync::{Arc, Mutex};

use habeas_store::Store;
use tokio::sync::Semaphore;

use crate::ApiError;

/// A fixed set of read-only handles; a read borrows one for the time of its query.
pub(crate) struct Readers {
    idle: Mutex<Vec<Store>>,
    /// One permit per handle: a read waits here (asynchronously) when all are busy.
    permits: Arc<Semaphore>,
}

impl Readers {
    /// `n` read-only handles on the writer's register (with its clock).
    pub fn open(writer: &Store, n: usize) -> Result<Readers, habeas_store::StoreError> {
        let idle = (0..n.max(1))
            .map(|_| writer.open_reader())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Readers {
            permits: Arc::new(Semaphore::new(idle.len())),
            idle: Mutex::new(idle),
        })
    }

    /// Runs `f` with a read-only handle on the blocking pool.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the read pool is closed"))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut lease = Lease {
                store: pool.take()?,
                pool: &pool,
            };
            f(lease
                .store
                .as_mut()
                .ok_or_else(|| ApiError::internal("no read handle"))?)
        })
        .await
        .map_err(|e| ApiError::internal(format!("a read task failed: {e}")))?
    }

    fn take(&self) -> Result<Option<Store>, ApiError> {
        let mut idle = self
            .idle
            .lock()
            .map_err(|_| ApiError::internal("the read pool lock is poisoned"))?;
        Ok(idle.pop())
    }
}

/// Gives the handle back to the pool even if the read panics.
struct Lease<'p> {
    store: Option<Store>,
    pool: &'p Readers,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let (Some(store), Ok(mut idle)) = (self.store.take(), self.pool.idle.lock()) {
            idle.push(store);
        }
    }
}
