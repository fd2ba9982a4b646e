//! `habeas apply FILE|-`: JSON lines of commands, in batches of one transaction each.

use std::io::{BufRead, BufReader, Read, Write};

use anyhow::Context as _;
use habeas_domain::{Refusal, Submission, Text};
use habeas_store::Store;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Fail;
use crate::render::terminal_safe;

/// The longest line accepted: a command is small; a huge line is a mistake, not a command.
const MAX_LINE: usize = 1 << 20;

/// Lines parsed into commands, cut into batches; parse refusals stay in place so refusals are
/// reported in line order.
type Batch = Vec<(usize, Result<Submission, Refusal>)>;

pub(crate) fn run(
    store: &mut Store,
    file: &str,
    atomic: bool,
    batch_size: usize,
    actor: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, Fail> {
    let input: Box<dyn Read + Send> = if file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("cannot read {file}"))?)
    };
    let default_actor = actor
        .map(|a| Text::parse(&a).map_err(|e| Fail(2, anyhow::anyhow!("--actor: {e}"))))
        .transpose()?;
    // Reading and parsing run on a second thread, ahead of the writer by two batches at most:
    // on two cores that takes JSON parsing off the writer's path.
    let (tx, rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Batch>>(2);
    let file_name = file.to_owned();
    let reader_thread = std::thread::spawn(move || {
        read_batches(input, &file_name, batch_size, default_actor, &tx);
    });
    let mut summary = Summary::default();
    if atomic {
        store.begin()?;
    }
    let mut failure = None;
    for batch in rx {
        match batch {
            Ok(mut batch) => {
                if let Err(e) = flush(store, &mut batch, atomic, json, &mut summary, out) {
                    failure = Some(e);
                    break;
                }
            }
            Err(e) => {
                failure = Some(Fail(2, e));
                break;
            }
        }
    }
    // Dropping the receiver (end of the loop) stops the reader at its next send.
    let _ = reader_thread.join();
    if let Some(e) = failure {
        if atomic {
            store.rollback()?;
        }
        return Err(e);
    }
    if atomic {
        if summary.refused > 0 {
            store.rollback()?;
            summary.applied = 0;
            summary.events = 0;
            summary.rolled_back = true;
        } else {
            summary.checkpoint = store.commit()?.map(|c| c.size);
        }
    }
    summary.log_size = store.log_size();
    summary.print(out, json)?;
    Ok(if summary.refused > 0 { 1 } else { 0 })
}

fn read_batches(
    input: Box<dyn Read + Send>,
    file: &str,
    batch_size: usize,
    default_actor: Option<Text>,
    tx: &std::sync::mpsc::SyncSender<anyhow::Result<Batch>>,
) {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut line_no = 0usize;
    let mut buf = Vec::new();
    let mut batch: Batch = Vec::with_capacity(batch_size);
    loop {
        buf.clear();
        let too_long = match read_line_bounded(&mut reader, &mut buf, MAX_LINE) {
            Ok(None) => break,
            Ok(Some(too_long)) => too_long,
            Err(e) => {
                let e = anyhow::Error::new(e)
                    .context(format!("cannot read {file} after line {line_no}"));
                let _ = tx.send(Err(e));
                return;
            }
        };
        line_no += 1;
        let parsed = if too_long {
            Some(Err(Refusal::malformed(
                "",
                format!("the line is longer than {MAX_LINE} bytes"),
            )))
        } else {
            parse_line(&buf)
        };
        if let Some(parsed) = parsed {
            batch.push((
                line_no,
                parsed.map(|mut submission| {
                    if submission.actor.is_none() {
                        submission.actor = default_actor.clone();
                    }
                    submission
                }),
            ));
        }
        if batch.len() >= batch_size {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
            if tx.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
}

/// Reads one line (up to and without caring for its `\n`) into `buf`, keeping at most
/// `max + 1` bytes of it: a longer line is read to its end but not kept, so memory stays
/// bounded whatever the input. `None` at the end of the input; `Some(true)` for a line over
/// `max` bytes.
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    let mut read_any = false;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(read_any.then_some(too_long));
        }
        read_any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let used = chunk.len();
        if !too_long {
            if buf.len() + used > max + 1 {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        if done {
            return Ok(Some(too_long));
        }
    }
}

/// `None` for a blank line.
fn parse_line(raw: &[u8]) -> Option<Result<Submission, Refusal>> {
    if raw.len() > MAX_LINE {
        return Some(Err(Refusal::malformed(
            "",
            format!("the line is longer than {MAX_LINE} bytes"),
        )));
    }
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            return Some(Err(Refusal::malformed(
                "",
                format!("the line is not UTF-8: {e}"),
            )));
        }
    };
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(Submission::from_json(text).map(|mut s| {
        if s.source_id.is_none() {
            s.source_id = Some(line_source_id(text));
        }
        s
    }))
}

/// The source key of a line that names none: `line:` and the SHA-256 of its text. The same
/// line applied again (the file re-run after a crash, or applied twice) is the same fact, so
/// the register answers "already recorded" instead of recording it twice.
pub(crate) fn line_source_id(text: &str) -> Text {
    let digest = Sha256::digest(text.as_bytes());
    let mut id = String::with_capacity(5 + 64);
    id.push_str("line:");
    for b in digest.iter() {
        id.push_str(&format!("{b:02x}"));
    }
    // 69 ASCII characters without control characters: always a valid Text.
    Text::parse(&id).unwrap_or_else(|_| unreachable!("a hex digest is valid text"))
}

/// Runs the pending lines. Outside `--atomic`, each batch is its own transaction, committed
/// and reported before the next is read: a crash loses only the batch in flight.
fn flush(
    store: &mut Store,
    batch: &mut Batch,
    atomic: bool,
    json: bool,
    summary: &mut Summary,
    out: &mut impl Write,
) -> Result<(), Fail> {
    if batch.is_empty() {
        return Ok(());
    }
    if !atomic {
        store.begin()?;
    }
    let mut applied = 0;
    let mut events = 0;
    let mut already = 0;
    for (line, parsed) in batch.iter() {
        let submission = match parsed {
            Ok(s) => s,
            Err(refusal) => {
                summary.refuse(*line, refusal);
                continue;
            }
        };
        // A line the register already holds (this file applied before, up to a crash) is
        // skipped, not recorded twice.
        if let Some(source) = &submission.source_id
            && store.already_recorded(source)?.is_some()
        {
            already += 1;
            continue;
        }
        let outcome = match store.submit(submission) {
            Ok(o) => o,
            Err(e) => {
                store.rollback()?;
                return Err(Fail(
                    2,
                    anyhow::Error::new(e).context(format!("line {line}")),
                ));
            }
        };
        match outcome {
            Ok(seqs) => {
                applied += 1;
                events += seqs.len();
            }
            Err(refusal) => summary.refuse(*line, &refusal),
        }
    }
    summary.applied += applied;
    summary.events += events;
    summary.already_recorded += already;
    let first = batch.first().map_or(0, |b| b.0);
    let last = batch.last().map_or(0, |b| b.0);
    batch.clear();
    if !atomic {
        let checkpoint = store.commit()?;
        summary.checkpoint = checkpoint.as_ref().map(|c| c.size).or(summary.checkpoint);
        // Said as soon as it is on disk, so that whoever watches a long import knows how far
        // it got; after a crash, running the same command again skips what was recorded.
        eprintln!(
            "committed lines {first}-{last}: {applied} applied ({events} events), {already} already recorded; the log holds {} events",
            store.log_size()
        );
        if json {
            let line = json!({"committed": {
                "first_line": first, "last_line": last, "applied": applied, "events": events,
                "already_recorded": already, "log_size": store.log_size(),
            }});
            writeln!(out, "{line}")?;
            out.flush()?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct Summary {
    applied: usize,
    events: usize,
    already_recorded: usize,
    refused: usize,
    refusals: Vec<serde_json::Value>,
    rolled_back: bool,
    checkpoint: Option<u64>,
    log_size: u64,
}

impl Summary {
    fn refuse(&mut self, line: usize, refusal: &Refusal) {
        self.refused += 1;
        eprintln!(
            "line {line}: refused: {}",
            terminal_safe(&refusal.to_string())
        );
        if self.refusals.len() < 1000 {
            self.refusals
                .push(json!({"line": line, "refusal": refusal}));
        }
    }

    fn print(&self, out: &mut impl Write, json: bool) -> std::io::Result<()> {
        if json {
            let v = json!({"summary": {
                "applied": self.applied, "events": self.events,
                "already_recorded": self.already_recorded, "refused": self.refused,
                "rolled_back": self.rolled_back, "log_size": self.log_size,
                "checkpoint_size": self.checkpoint, "refusals": self.refusals,
            }});
            writeln!(out, "{v}")
        } else if self.rolled_back {
            writeln!(
                out,
                "{} refused: nothing applied (--atomic); the log still holds {} events",
                self.refused, self.log_size
            )
        } else {
            writeln!(
                out,
                "applied {} commands ({} events), {} already recorded, refused {}; the log holds {} events{}",
                self.applied,
                self.events,
                self.already_recorded,
                self.refused,
                self.log_size,
                self.checkpoint
                    .map(|c| format!(", latest checkpoint at size {c}"))
                    .unwrap_or_default()
            )
        }
    }
}
