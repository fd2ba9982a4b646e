//! Contact and health checks: family, legal and consular contact, notifications, medical
//! exams, health requests, deaths and injuries referred.

use super::*;

/// The first notification to `to` (about `about`) from `after` on. A notification the person
/// declined counts: SMR 68 leaves the choice to them.
pub(super) fn notified(
    notifications: &[NotificationFact],
    to: NotifyTo,
    about: Option<NotifyAbout>,
    after: Timestamp,
) -> Option<&NotificationFact> {
    // A person may ask that their family or consulate not be told (SMR 68, VCCR 36); nobody
    // can waive a referral to an independent authority, and a death is always told.
    let waivable =
        matches!(to, NotifyTo::Family | NotifyTo::Consulate) && about != Some(NotifyAbout::Death);
    notifications.iter().find(|n| {
        n.to == to
            && about.is_none_or(|a| n.about == a)
            && n.at >= after
            && (!n.declined_by_person || waivable)
    })
}

pub(super) fn contact_and_health_checks(s: &Snapshot, out: &mut Vec<Finding>) {
    let t = s.at;
    for pf in &s.persons {
        let Some((e, stay)) = current(pf) else {
            continue;
        };
        let p = &pf.person;
        let fac = stay.facility.as_ref().or(Some(&e.facility));
        // no-family-contact: counted from the last contact of this episode, else admission.
        let (from, evidence) = match pf.last_family_contact {
            Some((at, seq)) if at >= e.admitted_at => (at, vec![seq]),
            _ => (e.admitted_at, vec![e.admission_seq]),
        };
        let since = add(from, s.limits.days("no-family-contact.days"));
        if since <= t {
            out.push(person_finding(
                "no-family-contact",
                p,
                fac,
                since,
                format!(
                    "{} has had no family visit, call or letter since {from} ({} days)",
                    p.register_no,
                    t.duration_since(from).as_secs() / 86_400
                ),
                evidence,
            ));
        }
        // no-legal-access: remand prisoners.
        if e.legal_status == LegalStatus::Remand && pf.legal_visit_since_admission.is_none() {
            let since = add(e.admitted_at, s.limits.days("no-legal-access.days"));
            if since <= t {
                out.push(person_finding(
                    "no-legal-access",
                    p,
                    fac,
                    since,
                    format!(
                        "{}, on remand since {}, has had no legal visit",
                        p.register_no, e.admitted_at
                    ),
                    vec![e.admission_seq],
                ));
            }
        }
        // consular-access-missing: a foreign national's consulate not notified.
        let foreign = match (&s.country, p.identity.as_ref()) {
            (Some(country), Some(id)) => {
                !id.nationalities.is_empty() && !id.nationalities.contains(country)
            }
            _ => false,
        };
        if foreign
            && notified(&pf.notifications, NotifyTo::Consulate, None, e.admitted_at).is_none()
        {
            let since = add(
                e.admitted_at,
                s.limits.hours("consular-access-missing.hours"),
            );
            if since <= t {
                let n: Vec<&str> = p
                    .identity
                    .iter()
                    .flat_map(|i| i.nationalities.iter().map(Country::as_str))
                    .collect();
                out.push(person_finding(
                    "consular-access-missing",
                    p,
                    fac,
                    since,
                    format!(
                        "{} ({}) was admitted at {} and their consulate has not been notified",
                        p.register_no,
                        n.join(", "),
                        e.admitted_at
                    ),
                    vec![e.admission_seq],
                ));
            }
        }
        // family-not-notified: after admission, and after the last transfer arrival.
        let hours = s.limits.hours("family-not-notified.hours");
        // The last arrival: a stay in custody right after a transit (a placement or an
        // absence after it must not hide it).
        let arrival = e
            .stays
            .windows(2)
            .rev()
            .find(|w| {
                w[0].status == Status::InTransit
                    && w[1].status == Status::InCustody
                    && w[0].until == Some(w[1].from)
            })
            // (transit stay, arrival): the family may be told from the departure on.
            .map(|w| (&w[0], &w[1]));
        let mut family_gap = None;
        if notified(
            &pf.notifications,
            NotifyTo::Family,
            Some(NotifyAbout::Admission),
            e.admitted_at,
        )
        .is_none()
        {
            family_gap = Some(("admission", e.admitted_at, e.admission_seq));
        } else if let Some((transit, a)) = arrival
            && notified(
                &pf.notifications,
                NotifyTo::Family,
                Some(NotifyAbout::Transfer),
                transit.from,
            )
            .is_none()
        {
            family_gap = Some(("transfer", a.from, a.seq));
        }
        if let Some((what, at, seq)) = family_gap {
            let since = add(at, hours);
            if since <= t {
                out.push(person_finding(
                    "family-not-notified",
                    p,
                    fac,
                    since,
                    format!(
                        "nobody was notified of the {what} of {} at {at}, and the person did not decline",
                        p.register_no
                    ),
                    vec![seq],
                ));
            }
        }
        // no-medical-exam
        if pf.exam_since_admission.is_none() {
            let since = add(e.admitted_at, s.limits.hours("no-medical-exam.hours"));
            if since <= t {
                out.push(person_finding(
                    "no-medical-exam",
                    p,
                    fac,
                    since,
                    format!(
                        "{} was admitted at {} and has had no health exam",
                        p.register_no, e.admitted_at
                    ),
                    vec![e.admission_seq],
                ));
            }
        }
    }
    // health-request-unanswered: only for people still held.
    let held: HashMap<&RegisterNo, &PersonFacts> = s
        .persons
        .iter()
        .map(|p| (&p.person.register_no, p))
        .collect();
    for r in &s.open_requests {
        let Some(pf) = held.get(&r.register_no) else {
            continue;
        };
        // A request from an earlier custody episode is not this one's.
        if current(pf).is_none_or(|(e, _)| r.at < e.admitted_at) {
            continue;
        }
        let since = add(r.at, s.limits.hours("health-request-unanswered.hours"));
        if since <= t {
            let fac = current(pf).and_then(|(_, st)| st.facility.clone());
            out.push(person_finding(
                "health-request-unanswered",
                &pf.person,
                fac.as_ref(),
                since,
                format!(
                    "health request {} of {} made at {} has not been seen",
                    r.request, r.register_no, r.at
                ),
                vec![r.seq],
            ));
        }
    }
    // Deaths: referred to an independent authority, and the family told.
    for d in &s.deaths {
        for (check, to, whom) in [
            (
                "death-not-referred",
                NotifyTo::IndependentAuthority,
                "an independent authority",
            ),
            ("death-family-not-notified", NotifyTo::Family, "the family"),
        ] {
            if notified(&d.notifications, to, Some(NotifyAbout::Death), d.at).is_some() {
                continue;
            }
            let since = add(d.at, s.limits.hours(&format!("{check}.hours")));
            if since <= t {
                out.push(Finding {
                    check,
                    severity: info(check),
                    subject_kind: SubjectKind::Person,
                    subject: d.register_no.to_string(),
                    facility: d.facility.as_ref().map(ToString::to_string),
                    since,
                    detail: format!(
                        "the death of {} at {} has not been notified to {whom}",
                        d.register_no, d.at
                    ),
                    evidence: vec![d.seq],
                });
            }
        }
    }
    // Injuries not referred.
    let hours = s.limits.hours("injury-not-referred.hours");
    for i in &s.injuries {
        if i.referred_at.is_some_and(|r| r <= t) {
            continue;
        }
        let since = add(i.at, hours);
        if since <= t {
            let fac = held
                .get(&i.register_no)
                .and_then(|pf| current(pf))
                .and_then(|(_, st)| st.facility.clone());
            out.push(Finding {
                check: "injury-not-referred",
                severity: info("injury-not-referred"),
                subject_kind: SubjectKind::Person,
                subject: i.register_no.to_string(),
                facility: fac.map(|f| f.to_string()),
                since,
                detail: format!(
                    "{} of {} at {} has not been referred to an independent authority",
                    i.what, i.register_no, i.at
                ),
                evidence: vec![i.seq],
            });
        }
    }
}
