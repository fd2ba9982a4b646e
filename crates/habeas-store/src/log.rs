//! The log seen from outside: leaves, signed checkpoints, proofs in C2SP formats, and the
//! verification of everything the register stores against everything it signed.

use crate::db::{OptionalExtension, params};
use habeas_domain::Recorded;
use habeas_ledger::{
    Checkpoint, Frontier, Hash, InclusionReceipt, WitnessRequest, consistency_proof,
    inclusion_proof, leaf_hash,
};
use serde::Serialize;

use crate::error::StoreError;
use crate::store::{
    STORED_MIN_LEVEL, SignedCheckpoint, SqlTree, Store, leaf_bytes, stored_log_size, to_i64,
};

/// One thing that does not verify, at the first sequence number it concerns.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The first sequence number concerned (`None` for the register as a whole).
    pub seq: Option<u64>,
    pub what: String,
    /// Where the stored data cannot pinpoint one event: the last sequence number of the range
    /// that holds it (`seq` is the first). Not in the JSON report, which names it in `what`.
    #[serde(skip)]
    pub last: Option<u64>,
}

/// The result of `verify`: what was checked and every problem found (at most `MAX_PROBLEMS`).
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub events: u64,
    pub tree_hashes: u64,
    pub checkpoints: u64,
    /// The outside checkpoint, if one was given and it verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_checkpoint_size: Option<u64>,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
    /// The first bad sequence number, if any.
    pub fn first_bad_seq(&self) -> Option<u64> {
        self.problems.iter().filter_map(|p| p.seq).min()
    }
    /// The range of the first problem: `(seq, seq)` where it names one event.
    pub fn first_bad_range(&self) -> Option<(u64, u64)> {
        let p = self
            .problems
            .iter()
            .filter(|p| p.seq.is_some())
            .min_by_key(|p| p.seq)?;
        let seq = p.seq?;
        Some((seq, p.last.unwrap_or(seq).max(seq)))
    }
}

const MAX_PROBLEMS: usize = 100;

fn push_range(problems: &mut Vec<Problem>, first: u64, last: u64, what: String) {
    if problems.len() < MAX_PROBLEMS {
        problems.push(Problem {
            seq: Some(first),
            what,
            last: (last > first).then_some(last),
        });
    }
}

/// The events a stored tree hash covers.
fn span(level: u8, idx: u64) -> (u64, u64) {
    (idx << level, ((idx + 1) << level) - 1)
}

impl Store {
    /// The exact bytes of leaf `seq`, as hashed into the tree.
    pub fn leaf(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        self.conn
            .query_row(
                "SELECT leaf FROM events WHERE seq = ?1",
                [to_i64(seq)],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(StoreError::NoSuchEvent {
                seq,
                size: self.log_size(),
            })
    }

    /// The stored record and salt of event `seq`: what the leaf commits to.
    pub fn record(&self, seq: u64) -> Result<(String, Vec<u8>), StoreError> {
        self.conn
            .query_row(
                "SELECT record, salt FROM events WHERE seq = ?1",
                [to_i64(seq)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::NoSuchEvent {
                seq,
                size: self.log_size(),
            })
    }

    /// The latest signed checkpoint.
    pub fn latest_checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        self.conn
            .query_row(
                "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?
            .ok_or(StoreError::NoCheckpoint)
            .and_then(|(size, root, note)| {
                let size = u64::try_from(size).unwrap_or(0);
                Ok(SignedCheckpoint {
                    size,
                    root: Hash::try_from(root.as_slice()).map_err(|_| StoreError::Corrupt {
                        seq: size.saturating_sub(1),
                        detail: "checkpoint root is not 32 bytes".into(),
                    })?,
                    note,
                })
            })
    }

    /// A `c2sp.org/tlog-proof@v1` that event `seq` is in the tree of the latest checkpoint.
    pub fn inclusion_receipt(&self, seq: u64) -> Result<InclusionReceipt, StoreError> {
        let checkpoint = self.latest_checkpoint()?;
        if seq >= checkpoint.size {
            return Err(StoreError::NoSuchEvent {
                seq,
                size: checkpoint.size,
            });
        }
        let hashes = inclusion_proof(&SqlTree(&self.conn), seq, checkpoint.size)?;
        Ok(InclusionReceipt {
            extra: None,
            index: seq,
            hashes,
            checkpoint: checkpoint.note,
        })
    }

    /// A tlog-witness body: the consistency proof from `old_size` to the latest checkpoint.
    pub fn consistency(&self, old_size: u64) -> Result<WitnessRequest, StoreError> {
        let checkpoint = self.latest_checkpoint()?;
        if old_size > checkpoint.size {
            return Err(StoreError::BadOldSize {
                old: old_size,
                size: checkpoint.size,
            });
        }
        let proof = if old_size == 0 || old_size == checkpoint.size {
            Vec::new()
        } else {
            consistency_proof(&SqlTree(&self.conn), old_size, checkpoint.size)?
        };
        Ok(WitnessRequest {
            old_size,
            proof,
            checkpoint: checkpoint.note,
        })
    }

    /// Recomputes every commitment, leaf and tree hash from the stored records, checks every
    /// stored checkpoint (root and signature), and, if given, a checkpoint kept outside.
    ///
    /// Everything is read in one read transaction: a writer committing meanwhile cannot make
    /// a healthy register look broken.
    pub fn verify(&self, external: Option<&str>) -> Result<VerifyReport, StoreError> {
        self.conn.begin_read()?;
        let result = self.verify_snapshot(external).and_then(|mut report| {
            // The state is compared only with a log that verifies: replaying a changed log
            // would list every row it touched, and the log's problems say it all.
            if report.ok() {
                report.problems = self.check_state(MAX_PROBLEMS)?;
                report.problems.sort_by_key(|p| p.seq.unwrap_or(u64::MAX));
            }
            report.problems.extend(self.check_access_log()?);
            Ok(report)
        });
        // The verification's error first: it is the cause of a failed COMMIT.
        let end = self.conn.execute_batch("COMMIT");
        let report = result?;
        end?;
        Ok(report)
    }

    fn verify_snapshot(&self, external: Option<&str>) -> Result<VerifyReport, StoreError> {
        let mut problems = Vec::new();
        let push = |problems: &mut Vec<Problem>, seq: Option<u64>, what: String| {
            if problems.len() < MAX_PROBLEMS {
                problems.push(Problem {
                    seq,
                    what,
                    last: None,
                });
            }
        };
        let verifier = self.verifier();
        let size = stored_log_size(&self.conn)?;
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        if to_i64(size) != count {
            push(
                &mut problems,
                None,
                format!(
                    "the events table holds {count} rows but its sequence numbers reach {size}: events are missing"
                ),
            );
        }

        // Stored checkpoints, in size order.
        let mut checkpoints: Vec<(u64, Vec<u8>, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT size, root, note FROM checkpoints ORDER BY size")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let checkpoint_count = checkpoints.len() as u64;
        for (cp_size, _, note) in &checkpoints {
            match Checkpoint::open(note, std::slice::from_ref(&verifier)) {
                Err(e) => push(
                    &mut problems,
                    Some(cp_size.saturating_sub(1)),
                    format!(
                        "checkpoint at size {cp_size}: signature or format does not verify: {e}"
                    ),
                ),
                Ok((cp, _)) => {
                    if cp.size != *cp_size || cp.origin != self.origin {
                        push(
                            &mut problems,
                            Some(cp_size.saturating_sub(1)),
                            format!(
                                "checkpoint at size {cp_size}: the signed note says origin `{}` size {}",
                                cp.origin, cp.size
                            ),
                        );
                    }
                }
            }
            if *cp_size > size {
                push(
                    &mut problems,
                    Some(size),
                    format!(
                        "a checkpoint was signed at size {cp_size} but the log holds {size} events: events were removed"
                    ),
                );
            }
        }
        let external = match external {
            None => None,
            Some(text) => match Checkpoint::open(text, std::slice::from_ref(&verifier)) {
                Ok((cp, _)) if cp.origin == self.origin => Some(cp),
                Ok((cp, _)) => {
                    push(
                        &mut problems,
                        None,
                        format!(
                            "the given checkpoint is for origin `{}`, not `{}`",
                            cp.origin, self.origin
                        ),
                    );
                    None
                }
                Err(e) => {
                    push(
                        &mut problems,
                        None,
                        format!(
                            "the given checkpoint does not verify with this register's key: {e}"
                        ),
                    );
                    None
                }
            },
        };
        if let Some(cp) = &external
            && cp.size > size
        {
            push(
                &mut problems,
                Some(size),
                format!(
                    "the given checkpoint has size {} but the log holds {size} events: events were removed",
                    cp.size
                ),
            );
        }

        // One pass over the log: commitments, leaves, tree hashes, roots at checkpoints.
        let mut frontier = Frontier::empty();
        let mut tree_hashes = 0u64;
        let mut next_checkpoint = 0usize;
        let largest_checkpoint = checkpoints.last().map(|(s, _, _)| *s);
        checkpoints.retain(|(s, _, _)| *s <= size);
        let mut tree_stmt = self
            .conn
            .prepare("SELECT hash FROM tree WHERE level = ?1 AND idx = ?2")?;
        let mut stmt = self
            .conn
            .prepare("SELECT seq, record, salt, leaf, type, subject, at_us, recorded_at_us FROM events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut expected = 0u64;
        let mut tainted = std::collections::HashSet::new();
        // The size of the last checkpoint whose root matched before the first that does not:
        // the first change lies at or after it.
        let mut last_good_checkpoint = 0u64;
        // The sizes of the signed checkpoints whose root is no longer the log's, in order.
        let mut checkpoints_bad: Vec<u64> = Vec::new();
        // Stored tree hashes (level, index, missing) that do not match the leaves below.
        let mut tree_bad: Vec<(u8, u64, bool)> = Vec::new();
        // The first leaf known to differ from what was committed: it explains every later
        // checkpoint that no longer matches.
        let mut first_bad_leaf: Option<u64> = None;
        while let Some(row) = rows.next()? {
            let seq = u64::try_from(row.get::<_, i64>(0)?).unwrap_or(u64::MAX);
            // Read as bytes: a record changed into a blob or invalid UTF-8 is a finding of
            // this event, not an error of the whole verification.
            let record_bytes: Vec<u8> = row.get_bytes(1)?;
            let salt: Vec<u8> = row.get(2)?;
            let leaf: Vec<u8> = row.get(3)?;
            if seq != expected {
                push(
                    &mut problems,
                    Some(expected),
                    format!("event {expected} is missing (next stored is {seq})"),
                );
                break;
            }
            if salt.len() != 32 {
                push(
                    &mut problems,
                    Some(seq),
                    format!("event {seq}: salt is {} bytes, not 32", salt.len()),
                );
            }
            let record = String::from_utf8_lossy(&record_bytes);
            let columns: (Option<String>, Option<String>, Option<i64>, Option<i64>) = (
                row.get(4).ok(),
                row.get(5).ok(),
                row.get(6).ok(),
                row.get(7).ok(),
            );
            match Recorded::from_json(&record) {
                Ok(r) if r.seq == seq => {
                    // The columns copied out of the record for queries must say the same.
                    let expected_columns = (
                        Some(r.event.type_name().to_owned()),
                        r.event.register_no().map(|n| n.to_string()),
                        r.event.at().map(|t| t.as_microsecond()),
                        Some(r.recorded_at.as_microsecond()),
                    );
                    if columns != expected_columns {
                        push(
                            &mut problems,
                            Some(seq),
                            format!(
                                "event {seq}: its type, subject or time columns do not match its record"
                            ),
                        );
                    }
                }
                Ok(r) => push(
                    &mut problems,
                    Some(seq),
                    format!("event {seq}: the record says it is event {}", r.seq),
                ),
                Err(e) => push(
                    &mut problems,
                    Some(seq),
                    format!("event {seq}: the record is not a valid event: {e}"),
                ),
            }
            let computed = leaf_bytes(seq, &salt, &record_bytes);
            if computed != leaf {
                push(
                    &mut problems,
                    Some(seq),
                    format!(
                        "event {seq}: the stored leaf does not commit to the stored record and salt"
                    ),
                );
            }
            // The tree is recomputed from the stored leaves: a changed record shows as a bad
            // commitment above; a changed stored tree hash shows here, at the lowest node that
            // differs. Nodes above a changed leaf or node differ because of it and are not
            // reported again (taint).
            if computed != leaf {
                tainted.insert((0, seq));
                first_bad_leaf.get_or_insert(seq);
            }
            for (level, idx, hash) in frontier.append(leaf_hash(&leaf)) {
                let child_tainted = level > 0
                    && (tainted.contains(&(level - 1, idx * 2))
                        || tainted.contains(&(level - 1, idx * 2 + 1)));
                if child_tainted {
                    tainted.insert((level, idx));
                }
                if level < STORED_MIN_LEVEL {
                    continue;
                }
                tree_hashes += 1;
                let stored: Option<Vec<u8>> = tree_stmt
                    .query_row(params![level, to_i64(idx)], |r| r.get(0))
                    .optional()?;
                if !child_tainted && stored.as_deref() != Some(&hash[..]) {
                    tainted.insert((level, idx));
                    // Reported after the pass: a changed leaf below it, which only the signed
                    // checkpoints can reveal once its record and leaf were rewritten to agree,
                    // explains it.
                    tree_bad.push((level, idx, stored.is_none()));
                }
            }
            let n = frontier.size();
            while next_checkpoint < checkpoints.len() && checkpoints[next_checkpoint].0 == n {
                let (_, root, note) = &checkpoints[next_checkpoint];
                let computed_root = frontier.root();
                // The signed note is the authority; the root column is a copy for queries.
                // (A note that does not verify was reported above.)
                let note_root = Checkpoint::open(note, std::slice::from_ref(&verifier))
                    .map(|(c, _)| c.root)
                    .ok();
                let signed_root = note_root.unwrap_or(computed_root);
                if signed_root != computed_root {
                    checkpoints_bad.push(n);
                } else {
                    if note_root.is_some() && checkpoints_bad.is_empty() {
                        last_good_checkpoint = n;
                    }
                    if root.as_slice() != computed_root {
                        push(
                            &mut problems,
                            Some(n - 1),
                            format!(
                                "checkpoint at size {n}: its stored root column was changed (the signed note is intact)"
                            ),
                        );
                    }
                }
                next_checkpoint += 1;
            }
            if let Some(cp) = &external
                && cp.size == n
                && cp.root != frontier.root()
            {
                push(
                    &mut problems,
                    Some(n - 1),
                    format!(
                        "the given checkpoint at size {n} is not consistent with this log: the first {n} events were changed"
                    ),
                );
            }
            expected += 1;
        }
        self.explain_changed_leaves(
            &mut problems,
            &checkpoints_bad,
            last_good_checkpoint,
            first_bad_leaf,
            &tree_bad,
        );
        // (A checkpoint larger than the log was reported above as removed events.)
        if let Some(latest) = largest_checkpoint
            && latest < expected
        {
            push(
                &mut problems,
                Some(latest),
                format!(
                    "events {latest}..{} are covered by no signed checkpoint: they were added behind the register's back",
                    expected - 1
                ),
            );
        } else if largest_checkpoint.is_none() && expected > 0 {
            push(
                &mut problems,
                Some(0),
                format!(
                    "events 0..{} are covered by no signed checkpoint",
                    expected - 1
                ),
            );
        }
        let stored_tree: i64 = self
            .conn
            .query_row("SELECT count(*) FROM tree", [], |r| r.get(0))?;
        if to_i64(tree_hashes) != stored_tree {
            push(
                &mut problems,
                None,
                format!("the tree table holds {stored_tree} hashes; the log needs {tree_hashes}"),
            );
        }
        problems.sort_by_key(|p| p.seq.unwrap_or(u64::MAX));
        Ok(VerifyReport {
            events: expected,
            tree_hashes,
            checkpoints: checkpoint_count,
            external_checkpoint_size: external.filter(|c| c.size <= size).map(|c| c.size),
            problems,
        })
    }
}

impl Store {
    /// Names the first changed event from what the pass found. A leaf that does not commit to
    /// its record was reported already. A record rewritten together with its leaf (by someone
    /// with the database but not the key) leaves the leaves consistent; then the signed
    /// checkpoints bound it (the smallest whose root no longer matches from above, the largest
    /// that still matches from below) and a stored subtree hash left as it was narrows it to
    /// its 16-leaf tile. Where that leaves more than one event, the range is named.
    fn explain_changed_leaves(
        &self,
        problems: &mut Vec<Problem>,
        checkpoints_bad: &[u64],
        good: u64,
        first_bad_leaf: Option<u64>,
        tree_bad: &[(u8, u64, bool)],
    ) {
        let mut explained = vec![false; tree_bad.len()];
        if let Some(&bad) = checkpoints_bad.first() {
            let (mut lo, mut hi) = (good, bad - 1);
            if let Some(p) = first_bad_leaf.filter(|p| (good..bad).contains(p)) {
                lo = p;
                hi = p;
                push_range(
                    problems,
                    p,
                    p,
                    format!(
                        "checkpoint at size {bad}: its signed root is not the root of the first {bad} events: because leaf {p} was changed"
                    ),
                );
            } else {
                // The smallest stored subtree that no longer matches and overlaps the bounds.
                let tile = tree_bad
                    .iter()
                    .enumerate()
                    .filter(|(_, (level, idx, missing))| {
                        let (a, b) = span(*level, *idx);
                        !missing && a <= hi && b >= lo
                    })
                    .min_by_key(|(_, (level, idx, _))| (*level, *idx));
                let mut because = String::new();
                if let Some((i, &(level, idx, _))) = tile {
                    let (a, b) = span(level, idx);
                    lo = lo.max(a);
                    hi = hi.min(b);
                    explained[i] = true;
                    because = format!(
                        ", and the stored tree hash over events {a}–{b} no longer matches its leaves"
                    );
                }
                let below = if good == 0 {
                    "no earlier signed checkpoint".to_owned()
                } else {
                    format!("the signed checkpoint at size {good} still matches")
                };
                let what = if lo == hi {
                    format!(
                        "event {lo} was altered: its record and leaf were rewritten to agree, but the signed checkpoint at size {bad} no longer matches the log ({below}{because})"
                    )
                } else {
                    format!(
                        "one of events {lo}–{hi} was altered (records and leaves rewritten to agree; the stored data cannot tell which): the signed checkpoint at size {bad} no longer matches the log ({below}{because})"
                    )
                };
                push_range(problems, lo, hi, what);
            }
            // Every stored hash above the changed range differs because of it.
            for (i, &(level, idx, missing)) in tree_bad.iter().enumerate() {
                let (a, b) = span(level, idx);
                if !missing && a <= lo && b >= hi {
                    explained[i] = true;
                }
            }
            if let [_, rest @ ..] = checkpoints_bad
                && let (Some(first), Some(last)) = (rest.first(), rest.last())
            {
                push_range(
                    problems,
                    lo,
                    hi,
                    format!(
                        "{} later signed checkpoints (sizes {first}..{last}) no longer match the log, because of the change above",
                        rest.len()
                    ),
                );
            }
        }
        for (&(level, idx, missing), done) in tree_bad.iter().zip(explained) {
            if done {
                continue;
            }
            let (a, b) = span(level, idx);
            let what = if missing {
                "is missing"
            } else {
                "does not match the leaves below it"
            };
            push_range(
                problems,
                a,
                a,
                format!("tree hash at level {level} index {idx} (events {a}..{b}) {what}"),
            );
        }
    }
}
