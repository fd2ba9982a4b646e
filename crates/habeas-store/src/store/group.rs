//! What a server needs beyond one command per transaction:
//!
//! - **Savepoints**, so a writer can put many independent requests in one transaction (one
//!   checkpoint, one fsync: group commit) and still undo one of them alone.
//! - **Read-only handles** on the same register, so reads run beside the writer (WAL) and see
//!   committed data only.

use super::{Store, stored_log_size};
use crate::error::StoreError;

impl Store {
    /// Marks a point inside the open transaction that [`Store::rollback_to_savepoint`] can go
    /// back to, in the database and in memory. One savepoint at a time; release it or roll
    /// back to it before taking the next.
    ///
    /// The entities changed so far are written to their tables first, so that going back
    /// can reload them from there.
    pub fn savepoint(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            return Err(StoreError::NoTransaction);
        }
        if self.bulk_load {
            return Err(StoreError::BulkLoadOpen);
        }
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        if self.savepoint.is_some() {
            return Err(StoreError::SavepointOpen);
        }
        if let Err(e) = self.write_back() {
            self.poisoned = true;
            return Err(e);
        }
        self.conn.execute_batch("SAVEPOINT habeas_request")?;
        self.savepoint = Some(self.frontier.clone());
        Ok(())
    }

    /// Keeps what was done since the savepoint (it commits, or not, with the transaction).
    pub fn release_savepoint(&mut self) -> Result<(), StoreError> {
        if self.savepoint.is_none() {
            return Err(StoreError::NoSavepoint);
        }
        self.conn.execute_batch("RELEASE habeas_request")?;
        self.savepoint = None;
        Ok(())
    }

    /// Undoes everything since the savepoint — events, leaves, tree hashes, fact rows, and the
    /// in-memory state and tree head — and keeps the transaction open. After a failed write
    /// (a poisoned transaction) only [`Store::rollback`] of the whole transaction is allowed.
    pub fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        let Some(frontier) = self.savepoint.take() else {
            return Err(StoreError::NoSavepoint);
        };
        self.conn
            .execute_batch("ROLLBACK TO habeas_request; RELEASE habeas_request")?;
        if frontier.size() == self.frontier.size() {
            // Nothing was appended: `decide` only reads, so the state is as it was.
            return Ok(());
        }
        self.frontier = frontier;
        // The tables hold the state as of the savepoint (written back when it was taken).
        if let Err(e) = self.load_state() {
            self.poisoned = true;
            return Err(e);
        }
        Ok(())
    }

    /// A read-only handle on the same register, with the same clock: for a server's reads,
    /// which then never wait for the writer. It cannot write (the connection is read-only).
    pub fn open_reader(&self) -> Result<Store, StoreError> {
        let mut reader = Store::open_with(&self.location, &self.key_file, true)?;
        reader.clock = self.clock.clone();
        Ok(reader)
    }

    /// Runs `f` in one read transaction: every query it makes sees the same committed
    /// snapshot. For queries of the tables only (whereabouts, files, search, the log); the
    /// in-memory state is left as it is — see [`Store::read_current`].
    pub fn read_snapshot<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        self.in_read(false, f)
    }

    /// [`Store::read_snapshot`] for queries that also use the in-memory state (places,
    /// orders, settings: population, findings): if the log moved since this handle last
    /// looked, the state is reloaded first, inside the same snapshot, so it matches the
    /// tables `f` reads. Not for calls that open their own transaction (`findings`,
    /// `verify`): call [`Store::refresh`] before those.
    pub fn read_current<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        self.in_read(true, f)
    }

    /// Brings the in-memory state up to the committed log (one read snapshot).
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        self.read_current(|_| Ok::<(), StoreError>(()))
    }

    fn in_read<T, E: From<StoreError>>(
        &mut self,
        catch_up: bool,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.in_tx {
            return Err(StoreError::TransactionOpen.into());
        }
        if !self.conn.is_autocommit() {
            // A read that panicked left its snapshot open.
            self.conn.execute_batch("ROLLBACK")?;
        }
        self.conn.begin_read()?;
        let result = if catch_up {
            self.catch_up().map_err(E::from)
        } else {
            Ok(())
        }
        .and_then(|()| f(self));
        // A read transaction: ending it cannot lose anything.
        let end = self.conn.execute_batch("COMMIT");
        let value = result?;
        end?;
        Ok(value)
    }

    /// Inside a read transaction: reloads head and state if the log moved.
    fn catch_up(&mut self) -> Result<(), StoreError> {
        let size = stored_log_size(&self.conn)?;
        if size != self.frontier.size() || self.damaged.is_some() {
            let followed = self.damaged.is_none() && self.follow_appends(size).unwrap_or(false);
            if !followed {
                self.reload()?;
            }
        }
        Ok(())
    }
}
