//! `habeas apply FILE|-`: JSON lines of commands, in batches of one transaction each.

use std::io::{BufRead, BufReader, Read, Write};

use anyhow::Context as _;
use habeas_domain::{Refusal, Submission, Text};
use habeas_store::Store;
use serde_json::json;

use crate::Fail;

/// The longest line accepted: a command is small; a huge line is a mistake, not a command.
const MAX_LINE: usize = 1 << 20;

pub(crate) fn run(
    store: &mut Store,
    file: &str,
    atomic: bool,
    batch_size: usize,
    actor: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, Fail> {
    let input: Box<dyn Read> = if file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("cannot read {file}"))?)
    };
    let default_actor = actor
        .map(|a| Text::parse(&a).map_err(|e| Fail(2, anyhow::anyhow!("--actor: {e}"))))
        .transpose()?;
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut summary = Summary::default();
    let mut line_no = 0usize;
    let mut buf = Vec::new();
    // Parse refusals stay in the batch so refusals are reported in line order.
    let mut batch: Vec<(usize, Result<Submission, Refusal>)> = Vec::with_capacity(batch_size);
    if atomic {
        store.begin()?;
    }
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {file} after line {line_no}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        match parse_line(&buf) {
            None => continue,
            Some(parsed) => batch.push((
                line_no,
                parsed.map(|mut submission| {
                    if submission.actor.is_none() {
                        submission.actor = default_actor.clone();
                    }
                    submission
                }),
            )),
        }
        if batch.len() >= batch_size {
            flush(store, &mut batch, atomic, json, &mut summary, out)?;
        }
    }
    flush(store, &mut batch, atomic, json, &mut summary, out)?;
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
    batch: &mut Vec<(usize, Result<Submission, Refusal>)>,
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
