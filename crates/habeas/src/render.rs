//! Text and JSON output. JSON shapes are the serde forms of the store's types, documented in
//! the README; text is for people.

use std::io::{self, Write};

use habeas_domain::checks::Finding;
use habeas_domain::{EndKind, Whereabouts};
use habeas_store::{PersonFile, Population, VerifyReport};
use serde::Serialize;

/// Text from input made safe for a terminal: control characters (escape sequences, carriage
/// returns, bells) and the bidirectional overrides that reorder what is shown are written as
/// `\u{…}`, so a refusal that quotes a hostile line cannot rewrite the screen.
pub(crate) fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if (c.is_control() && c != '\n') || bidi {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn json(out: &mut impl Write, v: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)
}

fn place(w: &Whereabouts) -> String {
    match (&w.cell, &w.facility) {
        (Some(c), _) => format!("cell {c}"),
        (None, Some(f)) => format!("facility {f} (no cell)"),
        (None, None) => String::new(),
    }
}

pub(crate) fn whereabouts(out: &mut impl Write, w: &Whereabouts) -> io::Result<()> {
    let mut line = format!("{}  {}", w.register_no, w.status);
    let p = place(w);
    if !p.is_empty() {
        line.push_str(&format!("  {p}"));
    }
    line.push_str(&format!("  since {}", w.since));
    if let Some(n) = &w.note {
        line.push_str(&format!("  ({n})"));
    }
    if let Some(a) = &w.custodial_authority {
        line.push_str(&format!("  held for {a}"));
    }
    writeln!(out, "{line}")
}

pub(crate) fn person_file(out: &mut impl Write, f: &PersonFile) -> io::Result<()> {
    writeln!(out, "Register number  {}", f.register_no)?;
    match &f.identity {
        Some(id) => {
            writeln!(
                out,
                "Name             {} {}",
                id.given_names, id.family_names
            )?;
            let sex = serde_json::to_value(id.sex).ok();
            writeln!(
                out,
                "Sex              {}",
                sex.as_ref().and_then(|s| s.as_str()).unwrap_or("?")
            )?;
            if let Some(d) = id.date_of_birth {
                writeln!(out, "Date of birth    {d}")?;
            }
            if !id.nationalities.is_empty() {
                let n: Vec<&str> = id.nationalities.iter().map(|c| c.as_str()).collect();
                writeln!(out, "Nationalities    {}", n.join(", "))?;
            }
        }
        None => writeln!(out, "Name             (identity not recorded)")?,
    }
    if let Some(w) = &f.whereabouts {
        write!(out, "Now              ")?;
        whereabouts(out, w)?;
    }
    for e in &f.episodes {
        writeln!(out)?;
        writeln!(
            out,
            "Episode {}: admitted to {} at {} (event {}), {}",
            e.number,
            e.facility,
            e.admitted_at,
            e.admission_seq,
            word(&e.legal_status)
        )?;
        if let Some(d) = &e.deprived {
            writeln!(
                out,
                "  deprived of liberty {} at {} by {}",
                d.at, d.place, d.by
            )?;
        }
        if e.legal_bases.is_empty() {
            writeln!(out, "  legal basis: NONE RECORDED")?;
        }
        for b in &e.legal_bases {
            let lb = &b.legal_basis;
            writeln!(
                out,
                "  legal basis: {} {} of {}, issued {}{} (event {})",
                word(&lb.kind),
                lb.reference,
                lb.authority,
                lb.issued_on,
                lb.expires_on
                    .map(|d| format!(", expires {d}"))
                    .unwrap_or_default(),
                b.seq
            )?;
        }
        if let Some(a) = &e.custodial_authority {
            writeln!(out, "  held for: {a}")?;
        }
        if let Some(a) = &e.agreement {
            writeln!(out, "  agreement: {a}")?;
        }
        for s in &e.stays {
            let place = match (&s.cell, &s.facility) {
                (Some(c), _) => c.to_string(),
                (None, Some(f)) => f.to_string(),
                _ => String::new(),
            };
            writeln!(
                out,
                "  {} .. {}  {:<10} {}{} (event {})",
                s.from,
                s.until
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "now".into()),
                s.status.as_str(),
                place,
                s.note
                    .as_ref()
                    .map(|n| format!(" [{n}]"))
                    .unwrap_or_default(),
                s.seq
            )?;
        }
        if let Some(end) = &e.end {
            let how = match &end.kind {
                EndKind::Released {
                    reason,
                    authority,
                    reference,
                } => {
                    format!("released ({}) by {authority}, {reference}", word(reason))
                }
                EndKind::TransferredOut { to, .. } => format!("transferred out to {to}"),
                EndKind::Died {
                    place,
                    circumstances,
                    cause,
                } => format!(
                    "died at {place}: {circumstances}{}",
                    cause
                        .as_ref()
                        .map(|c| format!("; cause: {c}"))
                        .unwrap_or_default()
                ),
                EndKind::Escaped => "escaped".into(),
            };
            writeln!(out, "  ended {}: {how} (event {})", end.at, end.seq)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "Events ({}):", f.events.len())?;
    for e in &f.events {
        writeln!(
            out,
            "  {:>8}  {}  {:<22} recorded {}{}",
            e.seq,
            e.event.at().map(|t| t.to_string()).unwrap_or_default(),
            e.event.type_name(),
            e.recorded_at,
            e.actor
                .as_ref()
                .map(|a| format!(" by {a}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

fn pct(p: Option<f64>) -> String {
    p.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "-".into())
}

pub(crate) fn population(out: &mut impl Write, p: &Population) -> io::Result<()> {
    match p.at {
        Some(t) => writeln!(
            out,
            "Population at {t}: {} held, {} in transit",
            p.total, p.in_transit
        )?,
        None => writeln!(
            out,
            "Population now: {} held, {} in transit",
            p.total, p.in_transit
        )?,
    }
    for f in &p.facilities {
        writeln!(out)?;
        writeln!(
            out,
            "{} {}: {} held / {} official capacity = {} ({} absent, {} not placed in a cell)",
            f.facility,
            f.name,
            f.held,
            f.official_capacity,
            pct(f.occupancy_pct),
            f.absent,
            f.unplaced
        )?;
        writeln!(
            out,
            "  {:<24} {:>6} {:>8} {:>8} {:>8} {:>9}",
            "unit", "cells", "places", "beds", "held", "occupancy"
        )?;
        for u in &f.units {
            writeln!(
                out,
                "  {:<24} {:>6} {:>8} {:>8} {:>8} {:>9}",
                u.unit,
                u.cells,
                u.places,
                u.beds,
                u.held,
                pct(u.occupancy_pct)
            )?;
        }
    }
    Ok(())
}

pub(crate) fn verify(out: &mut impl Write, r: &VerifyReport) -> io::Result<()> {
    let external = r
        .external_checkpoint_size
        .map(|s| format!(", consistent with the given checkpoint at size {s}"))
        .unwrap_or_default();
    if r.ok() {
        writeln!(
            out,
            "OK: {} events, {} tree hashes and {} signed checkpoints verify{external}",
            r.events, r.tree_hashes, r.checkpoints
        )
    } else {
        match r.first_bad_seq() {
            Some(seq) => writeln!(out, "FAILED: the first bad sequence number is {seq}")?,
            None => writeln!(out, "FAILED")?,
        }
        for p in &r.problems {
            writeln!(out, "  {}", p.what)?;
        }
        Ok(())
    }
}

/// `show --json`: the person file with its open findings.
#[derive(Serialize)]
pub(crate) struct FileWithFindings<'a> {
    #[serde(flatten)]
    pub file: &'a PersonFile,
    pub findings: &'a [Finding],
}

pub(crate) fn findings(out: &mut impl Write, findings: &[Finding]) -> io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "No open findings.");
    }
    writeln!(out, "Findings ({}):", findings.len())?;
    for f in findings {
        let severity = habeas_domain::model::variant_name(&f.severity);
        writeln!(
            out,
            "  {:<8} {:<26} {:<22} since {}  {} [events {}]",
            severity,
            f.check,
            f.subject,
            f.since,
            f.detail,
            f.evidence
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    Ok(())
}

/// `habeas stats`: text for people, one JSON document, or CSV tables.
pub(crate) fn stats(
    out: &mut impl Write,
    s: &habeas_stats::Statistics,
    json_out: bool,
    csv: bool,
    table: Option<&str>,
) -> Result<(), crate::Fail> {
    if json_out {
        return Ok(json(out, s)?);
    }
    if csv {
        let tables = habeas_stats::tables(s);
        if let Some(id) = table {
            let Some(t) = tables.iter().find(|t| t.id == id) else {
                let known: Vec<&str> = tables.iter().map(|t| t.id).collect();
                return Err(crate::Fail(
                    2,
                    anyhow::anyhow!("--table `{id}`: unknown table; known: {}", known.join(", ")),
                ));
            };
            out.write_all(t.to_csv().as_bytes())?;
            return Ok(());
        }
        for (i, t) in tables.iter().enumerate() {
            if i > 0 {
                out.write_all(b"\r\n")?;
            }
            write!(out, "# {}\r\n{}", t.id, t.to_csv())?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "Statistics at {} (months {} to {})\n",
        s.at, s.series.from, s.series.to
    )?;
    out.write_all(habeas_stats::text(s).as_bytes())?;
    Ok(())
}

/// A value of the vocabulary as the JSON spells it (`remand`, `court_order`), never a Rust
/// enum name.
fn word(v: &impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
