//! `decide(state, command, context) -> events | refusal`.
//!
//! Facts are recorded whenever they are well-formed and consistent with the record, even when
//! what happened was unlawful: that becomes a finding, not a refusal. Refused are only
//! (a) malformed input, (b) contradictions with the record, (c) authorizations the law forbids
//! (a transfer order barred by a court order in force).

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::command::*;
use crate::daily;
use crate::event::{Event, TransferOrdered};
use crate::ids::*;
use crate::model::*;
use crate::refusal::{Refusal, rules};
use crate::state::*;

/// What the register supplies with a command: the domain reads no clock.
#[derive(Debug, Clone)]
pub struct Context {
    /// When the register records the command.
    pub recorded_at: Timestamp,
    /// The earliest time a command may report (`records.max_years_back` before
    /// `recorded_at`): set by `decide` from the settings in force.
    earliest: Option<Timestamp>,
}

impl Context {
    pub fn new(recorded_at: Timestamp) -> Context {
        Context {
            recorded_at,
            earliest: None,
        }
    }

    /// The context with the bounds the register's settings give.
    fn bounded(&self, state: &State) -> Context {
        let years = state
            .settings
            .as_ref()
            .map(|s| crate::checks::Limits::new(s.limits.clone()))
            .unwrap_or_default()
            .get(MAX_YEARS_BACK);
        // Whole days: a calendar span would need a time zone; 365.25 days a year is close
        // enough for a plausibility bound.
        let back = SignedDuration::from_secs((years.max(0.0) * 365.25 * 86_400.0) as i64);
        Context {
            recorded_at: self.recorded_at,
            earliest: Some(self.recorded_at.checked_sub(back).unwrap_or(Timestamp::MIN)),
        }
    }
}

/// The setting bounding how far back a reported time or date may lie.
pub const MAX_YEARS_BACK: &str = "records.max_years_back";

/// How far ahead of the register's clock a reported time may be (clock skew between devices).
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

pub fn decide(state: &State, command: &Command, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let ctx = &ctx.bounded(state);
    match command {
        Command::FacilityRegister(c) => {
            if let Some(f) = state.facilities.get(&c.facility) {
                return Err(duplicate("facility", "facility", &c.facility, f.seq));
            }
            if !is_timezone_name(c.timezone.as_str()) {
                return Err(Refusal::malformed(
                    "timezone",
                    format!(
                        "`{}` is not a time zone of the IANA database (Area/City, as America/El_Salvador, or UTC)",
                        c.timezone
                    ),
                ));
            }
            Ok(vec![Event::FacilityRegistered(c.clone())])
        }
        Command::UnitRegister(c) => {
            facility(state, &c.facility, "facility")?;
            let path = UnitPath {
                facility: c.facility.clone(),
                unit: c.unit.clone(),
            };
            if let Some(u) = state.units.get(&path) {
                return Err(duplicate("unit", "unit", &path, u.seq));
            }
            Ok(vec![Event::UnitRegistered(c.clone())])
        }
        Command::CellRegister(c) => {
            let unit = c.cell.unit_path();
            if !state.units.contains_key(&unit) {
                return Err(Refusal::new(
                    rules::UNKNOWN_UNIT,
                    "cell",
                    format!("unit {unit} is not registered; register it with unit.register first"),
                ));
            }
            if let Some(existing) = state.cells.get(&c.cell) {
                return Err(duplicate("cell", "cell", &c.cell, existing.seq));
            }
            if let Some(a) = c.area_m2
                && !(a.is_finite() && a > 0.0)
            {
                return Err(Refusal::malformed(
                    "area_m2",
                    "must be a positive number of square metres",
                ));
            }
            Ok(vec![Event::CellRegistered(c.clone())])
        }
        Command::AdmissionRecord(c) => decide_admission(state, c, ctx),
        Command::PlacementRecord(c) => {
            check_time(c.at, ctx, "at")?;
            let (person, episode) = open_episode(state, &c.register_no, "register_no")?;
            require_status(person, episode, &[Status::InCustody], "placement.record")?;
            not_before(episode, c.at)?;
            let cell = state
                .cells
                .get(&c.cell)
                .ok_or_else(|| unknown_cell(&c.cell, "cell"))?;
            let held_in = episode.current_stay().and_then(|s| s.facility.as_ref());
            if held_in != Some(&cell.cell.facility) {
                return Err(Refusal::new(
                    rules::OTHER_FACILITY,
                    "cell",
                    format!(
                        "cell {} is in facility {}, but the person is held in {}; a move between facilities is a transfer",
                        c.cell,
                        c.cell.facility,
                        held_in.map_or("no facility".to_owned(), |f| f.to_string())
                    ),
                )
                .with_record(describe_whereabouts(person)));
            }
            Ok(vec![Event::PlacementRecorded(c.clone())])
        }
        Command::LegalBasisRecord(c) => {
            check_time(c.at, ctx, "at")?;
            open_episode(state, &c.register_no, "register_no")?;
            check_legal_basis(&c.legal_basis, ctx, "legal_basis")?;
            Ok(vec![Event::LegalBasisRecorded(c.clone())])
        }
        Command::AbsenceStart(c) => {
            check_time(c.at, ctx, "at")?;
            let (person, episode) = open_episode(state, &c.register_no, "register_no")?;
            require_status(person, episode, &[Status::InCustody], "absence.start")?;
            not_before(episode, c.at)?;
            Ok(vec![Event::AbsenceStarted(c.clone())])
        }
        Command::AbsenceEnd(c) => {
            check_time(c.at, ctx, "at")?;
            let (person, episode) = open_episode(state, &c.register_no, "register_no")?;
            require_status(person, episode, &[Status::Absent], "absence.end")?;
            not_before(episode, c.at)?;
            Ok(vec![Event::AbsenceEnded(c.clone())])
        }
        Command::TransferOrder(c) => decide_transfer_order(state, c, ctx),
        Command::TransferDepart(c) => {
            check_time(c.at, ctx, "at")?;
            let (person, episode) = open_episode(state, &c.register_no, "register_no")?;
            require_status(
                person,
                episode,
                &[Status::InCustody, Status::Absent],
                "transfer.depart",
            )?;
            not_before(episode, c.at)?;
            if let Destination::Facility { facility: to } = &c.to {
                facility(state, to, "to.facility")?;
                let from = episode.current_stay().and_then(|s| s.facility.as_ref());
                if from == Some(to) {
                    return Err(Refusal::new(
                        rules::OTHER_FACILITY,
                        "to.facility",
                        format!(
                            "the person is already held in {to}; a move inside a facility is a placement"
                        ),
                    ));
                }
            }
            if let Some(t) = &c.transfer {
                let transfer = state.transfers.get(t).ok_or_else(|| {
                    Refusal::new(
                        rules::UNKNOWN_TRANSFER,
                        "transfer",
                        format!("transfer {t} has not been ordered"),
                    )
                })?;
                if !transfer.register_nos.contains(&c.register_no) {
                    return Err(Refusal::new(
                        rules::UNKNOWN_TRANSFER,
                        "transfer",
                        format!("transfer {t} was not ordered for {}", c.register_no),
                    )
                    .with_record(format!("transfer {t} (event {})", transfer.seq)));
                }
            }
            // A departure is a fact: it is recorded even when a court order barred it
            // (the checks report it as `transfer-against-order`).
            Ok(vec![Event::TransferDeparted(c.clone())])
        }
        Command::TransferArrive(c) => {
            check_time(c.at, ctx, "at")?;
            let (person, episode) = open_episode(state, &c.register_no, "register_no")?;
            require_status(person, episode, &[Status::InTransit], "transfer.arrive")?;
            not_before(episode, c.at)?;
            facility(state, &c.facility, "facility")?;
            if let Some(cell) = &c.cell {
                state
                    .cells
                    .get(cell)
                    .ok_or_else(|| unknown_cell(cell, "cell"))?;
                if cell.facility != c.facility {
                    return Err(Refusal::new(
                        rules::OTHER_FACILITY,
                        "cell",
                        format!("cell {cell} is not in facility {}", c.facility),
                    ));
                }
            }
            Ok(vec![Event::TransferArrived(c.clone())])
        }
        Command::ReleaseRecord(c) => {
            check_time(c.at, ctx, "at")?;
            let (_, episode) = open_episode(state, &c.register_no, "register_no")?;
            not_before(episode, c.at)?;
            Ok(vec![Event::ReleaseRecorded(c.clone())])
        }
        Command::DeathRecord(c) => {
            check_time(c.at, ctx, "at")?;
            let (_, episode) = open_episode(state, &c.register_no, "register_no")?;
            not_before(episode, c.at)?;
            Ok(vec![Event::DeathRecorded(c.clone())])
        }
        Command::EscapeRecord(c) => {
            check_time(c.at, ctx, "at")?;
            let (_, episode) = open_episode(state, &c.register_no, "register_no")?;
            not_before(episode, c.at)?;
            Ok(vec![Event::EscapeRecorded(c.clone())])
        }
        Command::CourtOrderRecord(c) => {
            check_time(c.issued_at, ctx, "issued_at")?;
            if let Some(o) = state.court_orders.get(&c.order) {
                return Err(duplicate("court order", "order", &c.order, o.seq));
            }
            if let Some(until) = c.until
                && until <= c.issued_at
            {
                return Err(Refusal::malformed("until", "must be later than issued_at"));
            }
            if let AppliesTo::RegisterNos { register_nos } = &c.applies_to
                && register_nos.is_empty()
            {
                return Err(Refusal::malformed(
                    "applies_to.register_nos",
                    "must name at least one person",
                ));
            }
            Ok(vec![Event::CourtOrderRecorded(c.clone())])
        }
        Command::CourtOrderLift(c) => {
            check_time(c.at, ctx, "at")?;
            let order = state.court_orders.get(&c.order).ok_or_else(|| {
                Refusal::new(
                    rules::UNKNOWN_ORDER,
                    "order",
                    format!("court order {} is not recorded", c.order),
                )
            })?;
            if let Some(lifted) = order.lifted_at {
                return Err(Refusal::new(
                    rules::ORDER_LIFTED,
                    "order",
                    format!("court order {} was already lifted at {lifted}", c.order),
                )
                .with_record(order.describe()));
            }
            if c.at < order.issued_at {
                return Err(Refusal::new(
                    rules::OUT_OF_ORDER,
                    "at",
                    format!("is before the order was issued ({})", order.issued_at),
                )
                .with_record(order.describe()));
            }
            Ok(vec![Event::CourtOrderLifted(c.clone())])
        }
        Command::ExerciseRecord(c) => daily::exercise(state, c, ctx),
        Command::ContactRecord(c) => daily::contact(state, c, ctx),
        Command::NotificationRecord(c) => daily::notification(state, c, ctx),
        Command::HealthExam(c) => daily::health_exam(state, c, ctx),
        Command::HealthRequest(c) => daily::health_request(state, c, ctx),
        Command::HealthSeen(c) => daily::health_seen(state, c, ctx),
        Command::SeparationStart(c) => daily::separation_start(state, c, ctx),
        Command::SeparationEnd(c) => daily::separation_end(state, c, ctx),
        Command::IncidentRecord(c) => daily::incident(state, c, ctx),
        Command::CountRecord(c) => daily::count(state, c, ctx),
        Command::SettingsRecord(c) => daily::settings(c, ctx),
        Command::AgreementRecord(c) => {
            if let Some(a) = state.agreements.get(&c.agreement) {
                return Err(duplicate("agreement", "agreement", &c.agreement, a.seq));
            }
            if c.parties.is_empty() {
                return Err(Refusal::malformed("parties", "must name the parties"));
            }
            check_date(c.from, ctx, "from")?;
            if c.until < c.from {
                return Err(Refusal::malformed("until", "must not be before `from`"));
            }
            if let Some(p) = &c.price
                && !(p.amount.is_finite() && p.amount >= 0.0)
            {
                return Err(Refusal::malformed(
                    "price.amount",
                    "must be a non-negative number",
                ));
            }
            Ok(vec![Event::AgreementRecorded(c.clone())])
        }
    }
}

fn decide_admission(
    state: &State,
    c: &AdmissionRecord,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    facility(state, &c.facility, "facility")?;
    if let Some(d) = &c.deprived
        && d.at > c.at
    {
        return Err(Refusal::malformed(
            "deprived.at",
            "is later than the admission: deprivation of liberty precedes admission",
        ));
    }
    if let Some(b) = &c.legal_basis {
        check_legal_basis(b, ctx, "legal_basis")?;
    }
    if let Some(d) = &c.deprived {
        check_time(d.at, ctx, "deprived.at")?;
    }
    if let Some(dob) = c.person.as_ref().and_then(|p| p.date_of_birth) {
        check_date(dob, ctx, "person.date_of_birth")?;
        if dob > jiff::tz::Offset::UTC.to_datetime(c.at).date() {
            return Err(Refusal::new(
                rules::BORN_LATER,
                "person.date_of_birth",
                format!(
                    "{dob} is after the admission ({}): a person is born before they are admitted",
                    c.at
                ),
            ));
        }
    }
    if let Some(a) = &c.agreement
        && !state.agreements.contains_key(a)
    {
        return Err(Refusal::new(
            rules::UNKNOWN_AGREEMENT,
            "agreement",
            format!("agreement {a} is not recorded"),
        ));
    }
    if let Some(person) = state.persons.get(&c.register_no) {
        if let Some(episode) = person.open_episode() {
            return Err(Refusal::new(
                rules::ALREADY_IN_CUSTODY,
                "register_no",
                format!("{} is already in custody", c.register_no),
            )
            .with_record(format!(
                "{}; admitted {} (event {})",
                describe_whereabouts(person),
                episode.admitted_at,
                episode.admission_seq
            )));
        }
        if let (Some(given), Some(known)) = (&c.person, &person.identity)
            && !same_person(given, known)
        {
            return Err(Refusal::new(
                rules::REGISTER_NO_TAKEN,
                "register_no",
                format!(
                    "{} belongs to another person; register numbers are never reused",
                    c.register_no
                ),
            )
            .with_record(format!(
                "person {} ({} {}), first admitted {}",
                c.register_no,
                known.given_names,
                known.family_names,
                person
                    .episodes
                    .first()
                    .map_or("?".into(), |e| e.admitted_at.to_string())
            )));
        }
        if let Some(last) = person.current_episode()
            && c.at < last.last_movement_at()
        {
            return Err(Refusal::new(
                rules::OUT_OF_ORDER,
                "at",
                format!(
                    "is before the end of the person's previous custody ({})",
                    last.last_movement_at()
                ),
            ));
        }
    }
    Ok(vec![Event::AdmissionRecorded(Box::new(c.clone()))])
}

fn decide_transfer_order(
    state: &State,
    c: &TransferOrder,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    if let Some(t) = state.transfers.get(&c.transfer) {
        return Err(duplicate("transfer", "transfer", &c.transfer, t.seq));
    }
    if c.register_nos.is_empty() {
        return Err(Refusal::malformed(
            "register_nos",
            "must name at least one person",
        ));
    }
    if let Destination::Facility { facility: to } = &c.to {
        facility(state, to, "to.facility")?;
    }
    let mut events = Vec::with_capacity(c.register_nos.len());
    for (i, register_no) in c.register_nos.iter().enumerate() {
        let field = format!("register_nos[{i}]");
        if c.register_nos[..i].contains(register_no) {
            return Err(Refusal::malformed(
                field,
                format!("{register_no} is listed twice"),
            ));
        }
        let (_, episode) = open_episode(state, register_no, &field)?;
        // The order is an authorization: barred if a court order is in force now or at the
        // planned time.
        for order in state.court_orders.values() {
            if order.kind == CourtOrderKind::BarTransfer
                && (order.in_force_at(ctx.recorded_at) || order.in_force_at(c.planned_at))
                && order.applies_to(register_no, Some(episode))
            {
                return Err(Refusal::new(
                    rules::BARRED_BY_COURT_ORDER,
                    field,
                    format!(
                        "the transfer of {register_no} is barred by court order {} ({}, case {})",
                        order.order, order.court, order.case
                    ),
                )
                .with_record(order.describe()));
            }
        }
        events.push(Event::TransferOrdered(TransferOrdered {
            transfer: c.transfer.clone(),
            register_no: register_no.clone(),
            to: c.to.clone(),
            authority: c.authority.clone(),
            reference: c.reference.clone(),
            planned_at: c.planned_at,
        }));
    }
    Ok(events)
}

// --- shared rules -----------------------------------------------------------------------

fn facility<'s>(
    state: &'s State,
    code: &FacilityCode,
    field: &str,
) -> Result<&'s Facility, Refusal> {
    state.facilities.get(code).ok_or_else(|| {
        Refusal::new(
            rules::UNKNOWN_FACILITY,
            field,
            format!("facility {code} is not registered"),
        )
    })
}

fn unknown_cell(cell: &CellPath, field: &str) -> Refusal {
    Refusal::new(
        rules::UNKNOWN_CELL,
        field,
        format!("cell {cell} is not registered"),
    )
}

fn duplicate(what: &str, field: &str, id: &dyn std::fmt::Display, seq: u64) -> Refusal {
    Refusal::new(
        rules::DUPLICATE,
        field,
        format!("{what} {id} is already registered"),
    )
    .with_record(format!("{what} {id} (event {seq})"))
}

/// The person and their open custody episode, or a refusal naming what the record says.
pub(crate) fn open_episode<'s>(
    state: &'s State,
    register_no: &RegisterNo,
    field: &str,
) -> Result<(&'s Person, &'s Episode), Refusal> {
    let person = state.persons.get(register_no).ok_or_else(|| {
        Refusal::new(
            rules::UNKNOWN_PERSON,
            field,
            format!("{register_no} is not in the register; record the admission first"),
        )
    })?;
    match person.open_episode() {
        Some(e) => Ok((person, e)),
        None => Err(Refusal::new(
            rules::NOT_IN_CUSTODY,
            field,
            format!("{register_no} is not in custody"),
        )
        .with_record(describe_whereabouts(person))),
    }
}

fn require_status(
    person: &Person,
    episode: &Episode,
    allowed: &[Status],
    command: &str,
) -> Result<(), Refusal> {
    let status = episode.status();
    if allowed.contains(&status) {
        return Ok(());
    }
    let hint = match status {
        Status::Absent => "; record absence.end first",
        Status::InTransit => "; record transfer.arrive first",
        _ => "",
    };
    Err(Refusal::new(
        rules::WRONG_STATUS,
        "register_no",
        format!(
            "{command} needs a person who is {}, but {} is {status}{hint}",
            allowed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
            person.register_no
        ),
    )
    .with_record(describe_whereabouts(person)))
}

fn not_before(episode: &Episode, at: Timestamp) -> Result<(), Refusal> {
    let last = episode.last_movement_at();
    if at < last {
        let seq = match (&episode.end, episode.stays.last()) {
            (Some(end), _) => end.seq,
            (None, Some(stay)) => stay.seq,
            (None, None) => episode.admission_seq,
        };
        return Err(Refusal::new(
            rules::OUT_OF_ORDER,
            "at",
            format!(
                "is before the person's last recorded movement ({last}); record events in the order they happened"
            ),
        )
        .with_record(format!("last movement at {last} (event {seq})")));
    }
    Ok(())
}

/// A reported time must lie between the register's earliest plausible time and the time of
/// recording (plus clock skew): `0001-01-01` or `2999-01-01` is a typing error, not a fact.
pub(crate) fn check_time(at: Timestamp, ctx: &Context, field: &str) -> Result<(), Refusal> {
    if at
        > ctx
            .recorded_at
            .saturating_add(CLOCK_SKEW)
            .unwrap_or(ctx.recorded_at)
    {
        return Err(Refusal::new(
            rules::AT_IN_FUTURE,
            field,
            format!(
                "{at} is later than the time of recording ({}): a fact is recorded after it happens",
                ctx.recorded_at
            ),
        ));
    }
    if let Some(earliest) = ctx.earliest
        && at < earliest
    {
        return Err(too_early(field, &at.to_string(), earliest));
    }
    Ok(())
}

/// A reported date (of birth, of issue, of expiry) must not lie before the earliest plausible
/// time; whether it may lie ahead depends on the field, so callers check that themselves.
pub(crate) fn check_date(date: Date, ctx: &Context, field: &str) -> Result<(), Refusal> {
    if let Some(earliest) = ctx.earliest
        && date < jiff::tz::Offset::UTC.to_datetime(earliest).date()
    {
        return Err(too_early(field, &date.to_string(), earliest));
    }
    Ok(())
}

fn too_early(field: &str, value: &str, earliest: Timestamp) -> Refusal {
    Refusal::new(
        rules::TOO_EARLY,
        field,
        format!(
            "{value} is before {earliest}, the earliest time this register accepts \
             (setting `{MAX_YEARS_BACK}`: how many years before the time of recording a reported \
             time may lie)"
        ),
    )
}

fn check_legal_basis(b: &LegalBasis, ctx: &Context, field: &str) -> Result<(), Refusal> {
    check_date(b.issued_on, ctx, &format!("{field}.issued_on"))?;
    if let Some(exp) = b.expires_on
        && exp < b.issued_on
    {
        return Err(Refusal::malformed(
            format!("{field}.expires_on"),
            "is before issued_on",
        ));
    }
    Ok(())
}

/// Same identity, for readmission under a known register number: names and birth date agree.
fn same_person(a: &Identity, b: &Identity) -> bool {
    let norm = |t: &Text| t.as_str().trim().to_lowercase();
    norm(&a.given_names) == norm(&b.given_names)
        && norm(&a.family_names) == norm(&b.family_names)
        && (a.date_of_birth.is_none()
            || b.date_of_birth.is_none()
            || a.date_of_birth == b.date_of_birth)
}

/// A name of the IANA time zone database bundled with habeas.
fn is_timezone_name(s: &str) -> bool {
    crate::zones::zone(s).is_some()
}

/// One line on where the record says the person is, for refusals.
pub fn describe_whereabouts(person: &Person) -> String {
    match person.whereabouts() {
        None => format!("person {} has no custody episode", person.register_no),
        Some(w) => {
            let place = match (&w.cell, &w.facility) {
                (Some(c), _) => format!(" in cell {c}"),
                (None, Some(f)) => format!(" in facility {f}"),
                _ => String::new(),
            };
            format!(
                "person {} is {}{place} since {}",
                w.register_no, w.status, w.since
            )
        }
    }
}
