//! Custody checks: legal basis, detention past its expiry or a release order, transfers against
//! a court order, whereabouts unknown in transit, roll counts, category mixing, solitary.

use super::*;

pub(super) fn custody_checks(s: &Snapshot, out: &mut Vec<Finding>) {
    let t = s.at;
    let zones = Zones::of_snapshot(s);
    for pf in &s.persons {
        let Some((e, stay)) = current(pf) else {
            continue;
        };
        let p = &pf.person;
        let fac = stay.facility.as_ref().or(Some(&e.facility));
        // no-legal-basis
        if e.legal_bases.is_empty() {
            out.push(person_finding(
                "no-legal-basis",
                p,
                fac,
                e.admitted_at,
                format!(
                    "{} has been held since {} (admitted to {}) with no recorded legal basis",
                    p.register_no, e.admitted_at, e.facility
                ),
                vec![e.admission_seq],
            ));
        } else if e
            .legal_bases
            .iter()
            .all(|b| b.legal_basis.expires_on.is_some())
        {
            // over-detention: every basis has expired (valid through its expiry date).
            let last = e
                .legal_bases
                .iter()
                .filter_map(|b| b.legal_basis.expires_on.map(|d| (d, b)))
                .max_by_key(|(d, _)| *d);
            if let Some((expiry, basis)) = last {
                // The expiry date is a day of the facility that holds the person.
                let tz = zones.of(fac);
                let end = crate::zones::day_start(expiry.tomorrow().unwrap_or(expiry), tz);
                let since = add(end, s.limits.hours("over-detention.grace_hours"));
                if since <= t {
                    out.push(person_finding(
                        "over-detention",
                        p,
                        fac,
                        since,
                        format!(
                            "{} is still held after every legal basis expired; the last, {} of {}, expired on {}",
                            p.register_no, basis.legal_basis.reference, basis.legal_basis.authority, expiry
                        ),
                        e.legal_bases.iter().map(|b| b.seq).collect(),
                    ));
                }
            }
        }
        // release-order-ignored
        for o in &s.court_orders {
            // An order obeyed by an earlier release does not follow the person into a later
            // custody on other grounds.
            let obeyed_before = p.episodes.iter().any(|ep| {
                ep.end
                    .as_ref()
                    .is_some_and(|end| end.at >= o.issued_at && end.at <= e.admitted_at)
            });
            if o.kind == CourtOrderKind::Release
                && o.in_force_at(t)
                && !obeyed_before
                && o.applies_to(&p.register_no, Some(e))
            {
                let since = add(
                    o.issued_at.max(e.admitted_at),
                    s.limits.hours("release-order-ignored.grace_hours"),
                );
                if since <= t {
                    out.push(person_finding(
                        "release-order-ignored",
                        p,
                        fac,
                        since,
                        format!(
                            "{} is still held although court order {} ({}, case {}) ordered release on {}",
                            p.register_no, o.order, o.court, o.case, o.issued_at
                        ),
                        vec![o.seq, e.admission_seq],
                    ));
                }
            }
        }
        // whereabouts-unknown
        if stay.status == Status::InTransit {
            let since = add(
                stay.from,
                s.limits.hours("whereabouts-unknown.transit_hours"),
            );
            if since <= t {
                out.push(person_finding(
                    "whereabouts-unknown",
                    p,
                    // The facility they left: it answers for them until they arrive.
                    e.stays
                        .iter()
                        .rev()
                        .find_map(|st| st.facility.as_ref())
                        .or(Some(&e.facility)),
                    since,
                    format!(
                        "{} departed at {} ({}) and has not arrived anywhere",
                        p.register_no,
                        stay.from,
                        stay.note.as_deref().unwrap_or("in transit")
                    ),
                    vec![stay.seq],
                ));
            }
        }
        // prolonged-solitary and solitary-prohibited
        if let Some(sep) = e.open_separation() {
            let max = s.limits.days("prolonged-solitary.days");
            let since = add(sep.from, max);
            if since < t {
                out.push(person_finding(
                    "prolonged-solitary",
                    p,
                    fac,
                    since,
                    format!(
                        "{} has been in separation since {} ({} days; the maximum is {}), authorized by {}",
                        p.register_no,
                        sep.from,
                        t.duration_since(sep.from).as_secs() / 86_400,
                        s.limits.get("prolonged-solitary.days"),
                        sep.authorized_by
                    ),
                    vec![sep.seq],
                ));
            }
            if let Some(dob) = p.identity.as_ref().and_then(|i| i.date_of_birth)
                && f64::from(age_at(dob, t, zones.of(fac))) < s.limits.get("adult.age")
            {
                out.push(person_finding(
                    "solitary-prohibited",
                    p,
                    fac,
                    sep.from,
                    format!(
                        "{}, aged {}, has been in separation since {}",
                        p.register_no,
                        age_at(dob, t, zones.of(fac)),
                        sep.from
                    ),
                    vec![sep.seq],
                ));
            }
        }
    }
    // transfer-against-order: a departure while a bar order applying to the person was in
    // force; open while the order stays in force.
    for d in &s.departures {
        for o in &s.court_orders {
            if o.kind != CourtOrderKind::BarTransfer || !o.in_force_at(d.at) || !o.in_force_at(t) {
                continue;
            }
            let applies = match &o.applies_to {
                AppliesTo::RegisterNos { register_nos } => register_nos.contains(&d.register_no),
                AppliesTo::LegalBasisReference {
                    legal_basis_reference,
                } => d.legal_basis_references.contains(legal_basis_reference),
            };
            if applies {
                out.push(Finding {
                    check: "transfer-against-order",
                    severity: info("transfer-against-order"),
                    subject_kind: SubjectKind::Person,
                    subject: d.register_no.to_string(),
                    facility: None,
                    since: d.at,
                    detail: format!(
                        "{} departed to {} at {} while court order {} ({}, case {}) barred the transfer",
                        d.register_no, d.to, d.at, o.order, o.court, o.case
                    ),
                    evidence: vec![o.seq, d.seq],
                });
            }
        }
    }
}
