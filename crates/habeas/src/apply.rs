//! `habeas apply FILE|-`: JSON lines of commands, in batches of one transaction each.

use std::io::{BufRead, BufReader, Read, Write};

use anyhow::Context as _;
use habeas_domain::{Refusal, Submission, Text};
use habeas_store::Store;
use serde_json::json;

use crate::Fail;

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
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let e = anyhow::Error::new(e)
                    .context(format!("cannot read {file} after line {line_no}"));
                let _ = tx.send(Err(e));
                return;
            }
        }
        line_no += 1;
        if let Some(parsed) = parse_line(&buf) {
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
    Some(Submission::from_json(text))
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
    for (line, parsed) in batch.iter() {
        let submission = match parsed {
            Ok(s) => s,
            Err(refusal) => {
                summary.refuse(*line, refusal);
                continue;
            }
        };
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
    let first = batch.first().map_or(0, |b| b.0);
    let last = batch.last().map_or(0, |b| b.0);
    batch.clear();
    if !atomic {
        let checkpoint = store.commit()?;
        summary.checkpoint = checkpoint.as_ref().map(|c| c.size).or(summary.checkpoint);
        if json {
            let line = json!({"committed": {
                "first_line": first, "last_line": last, "applied": applied, "events": events,
                "log_size": store.log_size(),
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
    refused: usize,
    refusals: Vec<serde_json::Value>,
    rolled_back: bool,
    checkpoint: Option<u64>,
    log_size: u64,
}

impl Summary {
    fn refuse(&mut self, line: usize, refusal: &Refusal) {
        self.refused += 1;
        eprintln!("line {line}: refused: {refusal}");
        if self.refusals.len() < 1000 {
            self.refusals
                .push(json!({"line": line, "refusal": refusal}));
        }
    }

    fn print(&self, out: &mut impl Write, json: bool) -> std::io::Result<()> {
        if json {
            let v = json!({"summary": {
                "applied": self.applied, "events": self.events, "refused": self.refused,
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
                "applied {} commands ({} events), refused {}; the log holds {} events{}",
                self.applied,
                self.events,
                self.refused,
                self.log_size,
                self.checkpoint
                    .map(|c| format!(", latest checkpoint at size {c}"))
                    .unwrap_or_default()
            )
        }
    }
}
