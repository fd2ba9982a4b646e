//! Record checks: late records and the log's own integrity.

use super::*;

pub(super) fn record_checks(s: &Snapshot, out: &mut Vec<Finding>) {
    // A late record about someone held is the responsibility of the facility holding them.
    let held_facility: HashMap<&RegisterNo, &FacilityCode> = s
        .persons
        .iter()
        .filter_map(|pf| {
            let (e, stay) = current(pf)?;
            Some((
                &pf.person.register_no,
                stay.facility.as_ref().unwrap_or(&e.facility),
            ))
        })
        .collect();
    let late = s.limits.hours("late-record.hours");
    for r in &s.late_records {
        let delay = r.recorded_at.duration_since(r.at);
        // The record became late when the limit ran out after the event, not when it was
        // finally entered: a finding never starts after the time it is evaluated at, and at
        // T a record still missing past its limit is already late (CED 17(3), 22(b)).
        let late_since = add(r.at, late);
        if delay > late && late_since <= s.at {
            out.push(Finding {
                check: "late-record",
                severity: info("late-record"),
                subject_kind: if r.subject.is_some() {
                    SubjectKind::Person
                } else {
                    SubjectKind::Event
                },
                subject: r
                    .subject
                    .as_ref()
                    .map_or_else(|| r.seq.to_string(), ToString::to_string),
                facility: r
                    .subject
                    .as_ref()
                    .and_then(|subject| held_facility.get(subject))
                    .map(|f| f.to_string()),
                since: late_since,
                detail: format!(
                    "{} (event {}) happened at {} and was recorded at {}, {} hours later",
                    r.kind,
                    r.seq,
                    r.at,
                    r.recorded_at,
                    delay.as_secs() / 3600
                ),
                evidence: vec![r.seq],
            });
        }
    }
    if let Some((seq, what)) = &s.log_problem {
        out.push(Finding {
            check: "log-integrity",
            severity: info("log-integrity"),
            subject_kind: SubjectKind::Register,
            subject: "log".into(),
            facility: None,
            since: s.at,
            detail: format!("the log does not verify: {what}"),
            evidence: seq.iter().copied().collect(),
        });
    }
}
