#![allow(clippy::unwrap_used)]
//! Proves the domain's rules through its public API: `decide` is pure, facts are recorded even
//! when unlawful, contradictions and barred authorizations are refused naming rule, field and
//! record, malformed input is refused as `malformed`, whereabouts follow a life, events survive
//! canonical JSON, and neither parsing nor `apply` panics.

use habeas_domain::*;
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Value, json};

const RECORDED_AT: &str = "2026-01-01T00:00:00Z";

fn ctx() -> Context {
    Context::new(ts(RECORDED_AT))
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn rn(s: &str) -> RegisterNo {
    RegisterNo::parse(s).unwrap()
}

/// A register in memory: the state, the log, and the next sequence number.
#[derive(Default)]
struct Register {
    state: State,
    log: Vec<Recorded>,
    seq: u64,
}

impl Register {
    fn run(&mut self, json: &str) -> Result<Vec<Event>, Refusal> {
        let submission = Submission::from_json(json)?;
        let events = decide(&self.state, &submission.command, &ctx())?;
        for event in &events {
            let recorded = Recorded {
                seq: self.seq,
                recorded_at: ts(RECORDED_AT),
                actor: submission.actor.clone(),
                source_id: submission.source_id.clone(),
                event: event.clone(),
            };
            self.seq += 1;
            apply(&mut self.state, &recorded).unwrap();
            self.log.push(recorded);
        }
        Ok(events)
    }

    /// Runs a command that must be accepted.
    fn ok(&mut self, cmd: Value) -> Vec<Event> {
        let events = self
            .run(&cmd.to_string())
            .unwrap_or_else(|r| panic!("refused {cmd}: {r}"));
        assert!(!events.is_empty(), "an accepted command gives events");
        events
    }

    /// Runs a command that must be refused, and checks that the refusal changed nothing.
    fn refused(&mut self, cmd: Value) -> Refusal {
        self.refused_str(&cmd.to_string())
    }

    fn refused_str(&mut self, cmd: &str) -> Refusal {
        let before = self.state.clone();
        let seq = self.seq;
        let refusal = match self.run(cmd) {
            Ok(events) => panic!("accepted {cmd}: {events:?}"),
            Err(r) => r,
        };
        assert_eq!(self.state, before, "a refusal changes nothing");
        assert_eq!(self.seq, seq, "a refusal logs nothing");
        refusal
    }

    fn person(&self, no: &str) -> &Person {
        &self.state.persons[&rn(no)]
    }

    fn whereabouts(&self, no: &str) -> Whereabouts {
        self.person(no).whereabouts().unwrap()
    }

    /// The register with two facilities: SYN-A (unit P1, cells C001 and C002; unit P2) and
    /// SYN-B (unit P1, cell C001).
    fn with_places() -> Register {
        let mut reg = Register::default();
        for f in ["SYN-A", "SYN-B"] {
            reg.ok(json!({"type":"facility.register","facility":f,"name":format!("Centro {f}"),
                "authority":"Autoridad Ejemplo","timezone":"America/El_Salvador","official_capacity":100}));
            reg.ok(json!({"type":"unit.register","facility":f,"unit":"P1","name":"Pabellon 1"}));
        }
        reg.ok(json!({"type":"unit.register","facility":"SYN-A","unit":"P2","name":"Pabellon 2"}));
        for c in ["SYN-A/P1/C001", "SYN-A/P1/C002", "SYN-B/P1/C001"] {
            reg.ok(json!({"type":"cell.register","cell":c,"places":2,"beds":1,"area_m2":12.5}));
        }
        reg
    }

    fn admit(&mut self, no: &str, facility: &str, at: &str) -> Vec<Event> {
        self.ok(admission(no, facility, at))
    }
}

fn admission(no: &str, facility: &str, at: &str) -> Value {
    json!({"type":"admission.record","register_no":no,"facility":facility,"at":at,
        "person":{"given_names":format!("Persona {no}"),"family_names":"Ejemplo","sex":"other"},
        "legal_status":"remand"})
}

fn admission_under(no: &str, reference: &str, at: &str) -> Value {
    let mut cmd = admission(no, "SYN-A", at);
    cmd["legal_basis"] = json!({"kind":"court_order","authority":"Juzgado Ejemplo",
        "reference":reference,"issued_on":"2025-01-02","grounds":"Motivos de ejemplo"});
    cmd
}

fn bar_transfer(order: &str, issued_at: &str, applies_to: Value) -> Value {
    json!({"type":"court_order.record","order":order,"court":"Juzgado Ejemplo 1",
        "case":"SYN-CASO-7","kind":"bar_transfer","issued_at":issued_at,"applies_to":applies_to})
}

fn transfer_order(transfer: &str, nos: &[&str]) -> Value {
    json!({"type":"transfer.order","transfer":transfer,"register_nos":nos,
        "to":{"facility":"SYN-B"},"authority":"Direccion Ejemplo","reference":"SYN-OF-1",
        "planned_at":"2025-12-31T10:00:00Z"})
}

fn assert_refusal(r: &Refusal, rule: &str, field: &str) {
    assert_eq!((r.rule, r.field.as_str()), (rule, field), "refusal: {r}");
}

fn record_of(r: &Refusal) -> &str {
    r.record
        .as_deref()
        .unwrap_or_else(|| panic!("refusal names no record: {r}"))
}

// --- 1. purity ------------------------------------------------------------------------------

#[test]
fn decide_is_deterministic_and_leaves_the_state_unchanged_also_when_refusing() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    let snapshot = reg.state.clone();
    let commands = [
        json!({"type":"placement.record","register_no":"SYN-1","cell":"SYN-A/P1/C001","at":"2025-03-01T09:00:00Z"}),
        transfer_order("SYN-T-1", &["SYN-1"]),
        // refused: unknown cell, and not in custody
        json!({"type":"placement.record","register_no":"SYN-1","cell":"SYN-A/P1/C999","at":"2025-03-01T09:00:00Z"}),
        json!({"type":"release.record","register_no":"SYN-9","at":"2025-03-01T09:00:00Z",
            "reason":"bail","authority":"Juzgado Ejemplo","reference":"SYN-R-1"}),
    ];
    for cmd in commands {
        let command = Submission::from_json(&cmd.to_string()).unwrap().command;
        let first = decide(&reg.state, &command, &ctx());
        let second = decide(&reg.state, &command, &ctx());
        assert_eq!(first, second, "same state and command, same outcome: {cmd}");
        assert_eq!(reg.state, snapshot, "decide changed the state: {cmd}");
    }
}

/// The store writes no entity back for the facts it keeps in their own tables: applying
/// one must leave the state as it was.
#[test]
fn facts_kept_in_their_own_tables_change_no_entity() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    let facts = [
        json!({"type":"contact.record","register_no":"SYN-1","at":"2025-03-01T10:00:00Z","kind":"letter"}),
        json!({"type":"notification.record","register_no":"SYN-1","at":"2025-03-01T10:00:00Z","to":"family","about":"admission"}),
        json!({"type":"health.exam","register_no":"SYN-1","at":"2025-03-01T10:00:00Z","injuries_observed":false}),
    ];
    for cmd in facts {
        let before = reg.state.clone();
        let events = reg.ok(cmd.clone());
        assert!(events.iter().all(Event::changes_no_entity), "{cmd}");
        assert_eq!(reg.state, before, "{cmd} changed an entity");
    }
    let placement = reg.ok(json!({"type":"placement.record","register_no":"SYN-1","cell":"SYN-A/P1/C001","at":"2025-03-01T11:00:00Z"}));
    assert!(!placement[0].changes_no_entity());
}

// --- 2. facts are recorded even when unlawful ---------------------------------------------

#[test]
fn admission_without_legal_basis_is_recorded() {
    let mut reg = Register::with_places();
    let events = reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    assert!(matches!(&events[..], [Event::AdmissionRecorded(a)] if a.legal_basis.is_none()));
    let episode = reg.person("SYN-1").open_episode().unwrap();
    assert!(episode.legal_bases.is_empty());
    assert_eq!(reg.whereabouts("SYN-1").status, Status::InCustody);
}

#[test]
fn admission_under_expired_legal_basis_is_recorded() {
    let mut reg = Register::with_places();
    let mut cmd = admission_under("SYN-1", "SYN-CAUSA-1", "2025-03-01T08:00:00Z");
    cmd["legal_basis"]["expires_on"] = json!("2025-02-01");
    reg.ok(cmd);
    let episode = reg.person("SYN-1").open_episode().unwrap();
    assert_eq!(
        episode.legal_bases[0].legal_basis.expires_on,
        Some("2025-02-01".parse().unwrap())
    );
}

#[test]
fn departure_barred_by_court_order_in_force_is_recorded_as_a_fact() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(bar_transfer(
        "SYN-CO-1",
        "2025-03-02T00:00:00Z",
        json!({"register_nos":["SYN-1"]}),
    ));
    // The order is refused (an authorization) …
    let r = reg.refused(transfer_order("SYN-T-1", &["SYN-1"]));
    assert_eq!(r.rule, "barred-by-court-order");
    // … but the departure happened, so it is recorded.
    let events = reg.ok(json!({"type":"transfer.depart","register_no":"SYN-1",
        "at":"2025-03-03T06:00:00Z","to":{"facility":"SYN-B"}}));
    assert!(matches!(&events[..], [Event::TransferDeparted(_)]));
    assert_eq!(reg.whereabouts("SYN-1").status, Status::InTransit);
}

#[test]
fn placement_into_a_cell_over_its_places_and_beds_is_recorded() {
    let mut reg = Register::with_places();
    // SYN-A/P1/C001 has 2 places and 1 bed: three persons are placed there.
    for no in ["SYN-1", "SYN-2", "SYN-3"] {
        reg.admit(no, "SYN-A", "2025-03-01T08:00:00Z");
        reg.ok(
            json!({"type":"placement.record","register_no":no,"cell":"SYN-A/P1/C001",
            "at":"2025-03-01T09:00:00Z"}),
        );
    }
    let in_cell = reg
        .state
        .persons
        .values()
        .filter(|p| {
            p.whereabouts().unwrap().cell == Some(CellPath::parse("SYN-A/P1/C001").unwrap())
        })
        .count();
    assert_eq!(in_cell, 3);
}

// --- 3. contradictions with the record -----------------------------------------------------

#[test]
fn unknown_facility_unit_and_cell_are_refused_naming_the_field() {
    let mut reg = Register::with_places();
    let r = reg.refused(admission("SYN-1", "SYN-X", "2025-03-01T08:00:00Z"));
    assert_refusal(&r, "unknown-facility", "facility");
    assert!(r.reason.contains("SYN-X"), "{r}");

    let r = reg
        .refused(json!({"type":"unit.register","facility":"SYN-X","unit":"P1","name":"Pabellon"}));
    assert_refusal(&r, "unknown-facility", "facility");

    let r = reg.refused(json!({"type":"cell.register","cell":"SYN-A/P9/C001","places":1,"beds":1}));
    assert_refusal(&r, "unknown-unit", "cell");
    assert!(r.reason.contains("SYN-A/P9"), "{r}");

    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    let r = reg.refused(json!({"type":"placement.record","register_no":"SYN-1",
        "cell":"SYN-A/P1/C999","at":"2025-03-01T09:00:00Z"}));
    assert_refusal(&r, "unknown-cell", "cell");
    assert!(r.reason.contains("SYN-A/P1/C999"), "{r}");

    let r = reg.refused(json!({"type":"transfer.depart","register_no":"SYN-1",
        "at":"2025-03-02T09:00:00Z","to":{"facility":"SYN-X"}}));
    assert_refusal(&r, "unknown-facility", "to.facility");

    let r = reg.refused(json!({"type":"placement.record","register_no":"SYN-404",
        "cell":"SYN-A/P1/C001","at":"2025-03-01T09:00:00Z"}));
    assert_refusal(&r, "unknown-person", "register_no");
}

#[test]
fn placement_into_a_cell_of_another_facility_is_refused_naming_where_the_person_is() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    let r = reg.refused(json!({"type":"placement.record","register_no":"SYN-1",
        "cell":"SYN-B/P1/C001","at":"2025-03-01T09:00:00Z"}));
    assert_refusal(&r, "other-facility", "cell");
    assert!(r.reason.contains("transfer"), "{r}");
    let record = record_of(&r);
    assert!(
        record.contains("SYN-1") && record.contains("SYN-A"),
        "{record}"
    );
}

#[test]
fn placement_of_an_absent_or_in_transit_person_is_refused_saying_what_to_record_first() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(
        json!({"type":"absence.start","register_no":"SYN-1","at":"2025-03-02T08:00:00Z",
        "purpose":"court_hearing","destination":"Juzgado Ejemplo"}),
    );
    let r = reg.refused(json!({"type":"placement.record","register_no":"SYN-1",
        "cell":"SYN-A/P1/C001","at":"2025-03-02T09:00:00Z"}));
    assert_refusal(&r, "wrong-status", "register_no");
    assert!(r.reason.contains("absence.end first"), "{r}");
    assert!(record_of(&r).contains("absent"), "{r}");

    reg.admit("SYN-2", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(
        json!({"type":"transfer.depart","register_no":"SYN-2","at":"2025-03-02T08:00:00Z",
        "to":{"facility":"SYN-B"}}),
    );
    let r = reg.refused(json!({"type":"placement.record","register_no":"SYN-2",
        "cell":"SYN-B/P1/C001","at":"2025-03-02T09:00:00Z"}));
    assert_refusal(&r, "wrong-status", "register_no");
    assert!(r.reason.contains("transfer.arrive first"), "{r}");
    assert!(record_of(&r).contains("in_transit"), "{r}");

    // An absence cannot end for someone who is not absent.
    let r = reg
        .refused(json!({"type":"absence.end","register_no":"SYN-2","at":"2025-03-02T09:00:00Z"}));
    assert_refusal(&r, "wrong-status", "register_no");
}

#[test]
fn release_of_a_person_not_in_custody_is_refused_naming_the_release_or_death() {
    let mut reg = Register::with_places();
    let release = |no: &str, at: &str| {
        json!({"type":"release.record","register_no":no,"at":at,"reason":"sentence_served",
            "authority":"Juzgado Ejemplo","reference":"SYN-R-1"})
    };
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(release("SYN-1", "2025-04-01T08:00:00Z"));
    let r = reg.refused(release("SYN-1", "2025-04-02T08:00:00Z"));
    assert_refusal(&r, "not-in-custody", "register_no");
    let record = record_of(&r);
    assert!(
        record.contains("released since 2025-04-01T08:00:00Z"),
        "{record}"
    );

    reg.admit("SYN-2", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(
        json!({"type":"death.record","register_no":"SYN-2","at":"2025-03-05T08:00:00Z",
        "place":"Enfermeria","circumstances":"Circunstancias de ejemplo"}),
    );
    let r = reg.refused(release("SYN-2", "2025-04-02T08:00:00Z"));
    assert_refusal(&r, "not-in-custody", "register_no");
    assert!(
        record_of(&r).contains("deceased since 2025-03-05T08:00:00Z"),
        "{r}"
    );

    let r = reg.refused(release("SYN-404", "2025-04-02T08:00:00Z"));
    assert_refusal(&r, "unknown-person", "register_no");
}

#[test]
fn admission_of_a_person_already_in_custody_is_refused_naming_the_admission() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    let r = reg.refused(admission("SYN-1", "SYN-B", "2025-03-02T08:00:00Z"));
    assert_refusal(&r, "already-in-custody", "register_no");
    let record = record_of(&r);
    assert!(
        record.contains("admitted 2025-03-01T08:00:00Z") && record.contains("SYN-A"),
        "{record}"
    );
}

#[test]
fn register_no_reused_for_another_identity_is_refused_but_readmission_opens_episode_two() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(
        json!({"type":"release.record","register_no":"SYN-1","at":"2025-04-01T08:00:00Z",
        "reason":"bail","authority":"Juzgado Ejemplo","reference":"SYN-R-1"}),
    );

    let mut other = admission("SYN-1", "SYN-A", "2025-05-01T08:00:00Z");
    other["person"]["given_names"] = json!("Otra Persona");
    let r = reg.refused(other);
    assert_refusal(&r, "register-no-taken", "register_no");
    assert!(record_of(&r).contains("Persona SYN-1 Ejemplo"), "{r}");

    // Readmission before the release is out of order.
    let r = reg.refused(admission("SYN-1", "SYN-A", "2025-03-15T08:00:00Z"));
    assert_refusal(&r, "out-of-order", "at");

    // The same person, names in another case: the same identity.
    let mut same = admission("SYN-1", "SYN-B", "2025-05-01T08:00:00Z");
    same["person"]["family_names"] = json!("EJEMPLO");
    reg.ok(same);
    let w = reg.whereabouts("SYN-1");
    assert_eq!(w.episode, 2);
    assert_eq!(w.facility, Some(FacilityCode::parse("SYN-B").unwrap()));
    assert_eq!(reg.person("SYN-1").episodes.len(), 2);
    assert_eq!(reg.person("SYN-1").episodes[0].status(), Status::Released);
}

#[test]
fn duplicate_ids_are_refused_naming_the_existing_record() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    let order = bar_transfer(
        "SYN-CO-1",
        "2025-01-01T00:00:00Z",
        json!({"register_nos":["SYN-9"]}),
    );
    reg.ok(order.clone());
    let agreement = json!({"type":"agreement.record","agreement":"SYN-AG-1",
        "parties":["Estado Ejemplo","Estado Muestra"],"from":"2025-01-01","until":"2025-12-31"});
    reg.ok(agreement.clone());
    reg.ok(transfer_order("SYN-T-1", &["SYN-1"]));

    let duplicates = [
        (
            json!({"type":"facility.register","facility":"SYN-A","name":"Otro","authority":"Otra",
                "timezone":"UTC","official_capacity":1}),
            "facility",
            "facility SYN-A (event 0)",
        ),
        (
            json!({"type":"unit.register","facility":"SYN-A","unit":"P1","name":"Otro"}),
            "unit",
            "unit SYN-A/P1",
        ),
        (
            json!({"type":"cell.register","cell":"SYN-A/P1/C001","places":9,"beds":9}),
            "cell",
            "cell SYN-A/P1/C001",
        ),
        (order, "order", "court order SYN-CO-1"),
        (agreement, "agreement", "agreement SYN-AG-1"),
        (
            transfer_order("SYN-T-1", &["SYN-1"]),
            "transfer",
            "transfer SYN-T-1",
        ),
    ];
    for (cmd, field, record) in duplicates {
        let r = reg.refused(cmd);
        assert_refusal(&r, "duplicate", field);
        assert!(record_of(&r).starts_with(record), "{r}");
        assert!(record_of(&r).contains("(event "), "{r}");
    }
}

#[test]
fn a_movement_before_the_last_recorded_movement_is_out_of_order() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(
        json!({"type":"absence.start","register_no":"SYN-1","at":"2025-03-05T08:00:00Z",
        "purpose":"hospital","destination":"Hospital Ejemplo"}),
    );
    reg.ok(json!({"type":"absence.end","register_no":"SYN-1","at":"2025-03-06T08:00:00Z"}));
    let r = reg.refused(json!({"type":"placement.record","register_no":"SYN-1",
        "cell":"SYN-A/P1/C001","at":"2025-03-04T08:00:00Z"}));
    assert_refusal(&r, "out-of-order", "at");
    assert!(r.reason.contains("2025-03-06T08:00:00Z"), "{r}");
    // At the same instant as the last movement is in order.
    reg.ok(json!({"type":"placement.record","register_no":"SYN-1",
        "cell":"SYN-A/P1/C001","at":"2025-03-06T08:00:00Z"}));
    let r = reg.refused(json!({"type":"release.record","register_no":"SYN-1",
        "at":"2025-03-01T08:00:00Z","reason":"bail","authority":"Juzgado Ejemplo","reference":"SYN-R"}));
    assert_refusal(&r, "out-of-order", "at");
}

#[test]
fn at_beyond_the_clock_skew_is_refused_but_exactly_at_the_skew_is_accepted() {
    let mut reg = Register::with_places();
    // recorded_at is 2026-01-01T00:00:00Z; the skew is five minutes.
    let r = reg.refused(admission(
        "SYN-1",
        "SYN-A",
        "2026-01-01T00:05:00.000000001Z",
    ));
    assert_refusal(&r, "at-in-future", "at");
    let r = reg.refused(bar_transfer(
        "SYN-CO-1",
        "2026-01-02T00:00:00Z",
        json!({"register_nos":["SYN-1"]}),
    ));
    assert_refusal(&r, "at-in-future", "issued_at");
    reg.admit("SYN-1", "SYN-A", "2026-01-01T00:05:00Z");
    // The same instant, written with another offset, is the same instant.
    reg.admit("SYN-2", "SYN-A", "2025-12-31T18:05:00-06:00");
    assert_eq!(reg.whereabouts("SYN-2").since, ts("2026-01-01T00:05:00Z"));
}

#[test]
fn lifting_an_unknown_or_already_lifted_court_order_is_refused() {
    let mut reg = Register::with_places();
    let lift = |at: &str| json!({"type":"court_order.lift","order":"SYN-CO-1","at":at});
    let r = reg.refused(lift("2025-03-01T00:00:00Z"));
    assert_refusal(&r, "unknown-court-order", "order");

    reg.ok(bar_transfer(
        "SYN-CO-1",
        "2025-02-01T00:00:00Z",
        json!({"register_nos":["SYN-1"]}),
    ));
    let r = reg.refused(lift("2025-01-01T00:00:00Z"));
    assert_refusal(&r, "out-of-order", "at");
    reg.ok(lift("2025-03-01T00:00:00Z"));
    let r = reg.refused(lift("2025-04-01T00:00:00Z"));
    assert_refusal(&r, "court-order-lifted", "order");
    assert!(r.reason.contains("2025-03-01T00:00:00Z"), "{r}");
    assert!(record_of(&r).contains("court order SYN-CO-1"), "{r}");
}

// --- 4. authorizations the law forbids -----------------------------------------------------

#[test]
fn transfer_order_for_a_person_named_by_a_bar_transfer_order_is_refused_naming_order_court_case() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    reg.admit("SYN-2", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(bar_transfer(
        "SYN-CO-1",
        "2025-03-02T00:00:00Z",
        json!({"register_nos":["SYN-2"]}),
    ));
    let r = reg.refused(transfer_order("SYN-T-1", &["SYN-1", "SYN-2"]));
    assert_refusal(&r, "barred-by-court-order", "register_nos[1]");
    for part in ["SYN-2", "SYN-CO-1", "Juzgado Ejemplo 1", "SYN-CASO-7"] {
        assert!(r.reason.contains(part), "reason lacks {part}: {r}");
    }
    assert!(
        record_of(&r).contains("court order SYN-CO-1 (bar_transfer)"),
        "{r}"
    );
    // Nobody was ordered: the refusal is whole.
    assert!(reg.state.transfers.is_empty());
    // The person the order does not name can be transferred.
    let events = reg.ok(transfer_order("SYN-T-1", &["SYN-1"]));
    assert_eq!(events.len(), 1);
}

#[test]
fn bar_transfer_by_legal_basis_reference_refuses_each_person_held_under_it_and_no_other() {
    let mut reg = Register::with_places();
    for no in ["SYN-1", "SYN-2", "SYN-3"] {
        reg.ok(admission_under(no, "SYN-CAUSA-1", "2025-03-01T08:00:00Z"));
    }
    reg.ok(admission_under(
        "SYN-4",
        "SYN-CAUSA-2",
        "2025-03-01T08:00:00Z",
    ));
    reg.ok(bar_transfer(
        "SYN-CO-1",
        "2025-03-02T00:00:00Z",
        json!({"legal_basis_reference":"SYN-CAUSA-1"}),
    ));

    let r = reg.refused(transfer_order("SYN-T-1", &["SYN-1", "SYN-2", "SYN-3"]));
    assert_refusal(&r, "barred-by-court-order", "register_nos[0]");
    assert!(
        r.reason.contains("SYN-1") && r.reason.contains("SYN-CO-1"),
        "{r}"
    );
    for no in ["SYN-1", "SYN-2", "SYN-3"] {
        let r = reg.refused(transfer_order("SYN-T-1", &[no]));
        assert_refusal(&r, "barred-by-court-order", "register_nos[0]");
        assert!(r.reason.contains(no), "{r}");
    }
    let r = reg.refused(transfer_order("SYN-T-1", &["SYN-4", "SYN-3"]));
    assert_refusal(&r, "barred-by-court-order", "register_nos[1]");
    reg.ok(transfer_order("SYN-T-1", &["SYN-4"]));

    // A legal basis recorded later brings a person under the order.
    reg.ok(
        json!({"type":"legal_basis.record","register_no":"SYN-4","at":"2025-03-03T08:00:00Z",
        "legal_basis":{"kind":"sentence","authority":"Juzgado Ejemplo","reference":"SYN-CAUSA-1",
        "issued_on":"2025-03-03","grounds":"Motivos de ejemplo"},"legal_status":"sentenced"}),
    );
    let r = reg.refused(transfer_order("SYN-T-2", &["SYN-4"]));
    assert_refusal(&r, "barred-by-court-order", "register_nos[0]");
}

#[test]
fn bar_transfer_no_longer_bars_after_it_is_lifted_or_after_its_until() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    reg.admit("SYN-2", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(bar_transfer(
        "SYN-CO-1",
        "2025-03-02T00:00:00Z",
        json!({"register_nos":["SYN-1"]}),
    ));
    let mut limited = bar_transfer(
        "SYN-CO-2",
        "2025-03-02T00:00:00Z",
        json!({"register_nos":["SYN-2"]}),
    );
    limited["until"] = json!("2025-06-01T00:00:00Z");
    reg.ok(limited);

    reg.refused(transfer_order("SYN-T-1", &["SYN-1"]));
    reg.ok(json!({"type":"court_order.lift","order":"SYN-CO-1","at":"2025-07-01T00:00:00Z"}));
    reg.ok(transfer_order("SYN-T-1", &["SYN-1"]));

    // SYN-CO-2 expired on 2025-06-01; the transfer is planned and ordered after that.
    reg.ok(transfer_order("SYN-T-2", &["SYN-2"]));

    // Planned for a time when the order was in force: still barred.
    let mut early = transfer_order("SYN-T-3", &["SYN-2"]);
    early["planned_at"] = json!("2025-05-01T00:00:00Z");
    let r = reg.refused(early);
    assert_refusal(&r, "barred-by-court-order", "register_nos[0]");
}

#[test]
fn court_order_of_kind_release_does_not_bar_transfers() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    let mut order = bar_transfer(
        "SYN-CO-1",
        "2025-03-02T00:00:00Z",
        json!({"register_nos":["SYN-1"]}),
    );
    order["kind"] = json!("release");
    reg.ok(order);
    let events = reg.ok(transfer_order("SYN-T-1", &["SYN-1"]));
    assert!(matches!(&events[..], [Event::TransferOrdered(t)] if t.register_no == rn("SYN-1")));
    assert_eq!(
        reg.state.transfers[&TransferId::parse("SYN-T-1").unwrap()].register_nos,
        [rn("SYN-1")]
    );
}

// --- 5. malformed input ---------------------------------------------------------------------

#[test]
fn malformed_commands_are_refused_naming_the_field() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    let admit = || admission("SYN-2", "SYN-A", "2025-03-01T08:00:00Z");
    let with = |mut v: Value, pointer: &str, value: Value| {
        let target = pointer
            .split('/')
            .skip(1)
            .fold(&mut v, |v, key| &mut v[key]);
        *target = value;
        v
    };
    let mut unknown_field = admit();
    unknown_field["nickname"] = json!("Ejemplito");
    let mut missing_type = admit();
    missing_type.as_object_mut().unwrap().remove("type");
    let mut expired_before_issued = admission_under("SYN-2", "SYN-CAUSA-1", "2025-03-01T08:00:00Z");
    expired_before_issued["legal_basis"]["expires_on"] = json!("2025-01-01");
    let mut until_before_issued = bar_transfer(
        "SYN-CO-1",
        "2025-03-02T00:00:00Z",
        json!({"register_nos":["SYN-1"]}),
    );
    until_before_issued["until"] = json!("2025-03-01T00:00:00Z");
    let cell = |area: Value| json!({"type":"cell.register","cell":"SYN-A/P2/C001","places":1,"beds":1,"area_m2":area});

    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("missing type", missing_type.to_string(), "type", "missing"),
        ("type not a string", with(admit(), "/type", json!(7)).to_string(), "type", "string"),
        ("unknown type", json!({"type":"person.teleport"}).to_string(), "type", "unknown command type `person.teleport`"),
        ("unknown field", unknown_field.to_string(), "nickname", "unknown field `nickname`"),
        ("not an object", "[1,2]".into(), "", "object"),
        ("not JSON", "{\"type\":".into(), "", "not valid JSON"),
        ("bad register number", with(admit(), "/register_no", json!("SYN 2")).to_string(), "register_no", "SYN 2"),
        ("bad cell path", json!({"type":"placement.record","register_no":"SYN-1","cell":"SYN-A/P1","at":"2025-03-01T09:00:00Z"}).to_string(), "cell", "FACILITY/UNIT/CELL"),
        ("bad date", with(admit(), "/person/date_of_birth", json!("2001-02-30")).to_string(), "person.date_of_birth", ""),
        ("time without offset", with(admit(), "/at", json!("2025-03-16T20:00:00")).to_string(), "at", ""),
        ("destination neither facility nor jurisdiction", with(transfer_order("SYN-T-1", &["SYN-1"]), "/to", json!({"planet":"Marte"})).to_string(), "to", "must be"),
        ("expires_on before issued_on", expired_before_issued.to_string(), "legal_basis.expires_on", "issued_on"),
        ("until before issued_at", until_before_issued.to_string(), "until", "issued_at"),
        ("zero area", cell(json!(0)).to_string(), "area_m2", "positive"),
        ("negative area", cell(json!(-3.5)).to_string(), "area_m2", "positive"),
        ("NaN area", cell(json!("NaN")).to_string(), "area_m2", ""),
        ("area out of range", r#"{"type":"cell.register","cell":"SYN-A/P2/C001","places":1,"beds":1,"area_m2":1e999}"#.into(), "", "not valid JSON"),
        ("negative places", with(cell(json!(1.0)), "/places", json!(-1)).to_string(), "places", ""),
        ("empty register_nos", transfer_order("SYN-T-1", &[]).to_string(), "register_nos", "at least one"),
        ("person listed twice", transfer_order("SYN-T-1", &["SYN-1", "SYN-1"]).to_string(), "register_nos[1]", "twice"),
        ("control character in a name", with(admit(), "/person/given_names", json!("Ana\u{7}")).to_string(), "person.given_names", "control"),
        ("newline in a reference", with(transfer_order("SYN-T-1", &["SYN-1"]), "/reference", json!("SYN\nOF")).to_string(), "reference", "control"),
        ("blank text", with(admit(), "/person/family_names", json!("   ")).to_string(), "person.family_names", "empty"),
        ("control character in actor", with(admit(), "/legal_status", json!("remand")).to_string().replacen('{', "{\"actor\":\"op\\u0000\",", 1), "actor", "control"),
        ("bad country", with(admit(), "/person/nationalities", json!(["slv"])).to_string(), "person.nationalities[0]", "alpha-3"),
        ("bad time zone", json!({"type":"facility.register","facility":"SYN-C","name":"C","authority":"A","timezone":"Hora local","official_capacity":1}).to_string(), "timezone", "IANA"),
        ("deprived after admission", with(admit(), "/deprived", json!({"at":"2025-03-02T00:00:00Z","place":"Calle Ejemplo","by":"Policia Ejemplo"})).to_string(), "deprived.at", "precedes"),
        ("agreement ends before it begins", json!({"type":"agreement.record","agreement":"SYN-AG-1","parties":["Estado Ejemplo"],"from":"2025-02-01","until":"2025-01-01"}).to_string(), "until", "from"),
        ("negative price", json!({"type":"agreement.record","agreement":"SYN-AG-1","parties":["Estado Ejemplo"],"from":"2025-01-01","until":"2025-12-31","price":{"amount":-1.0,"currency":"USD","per":"term"}}).to_string(), "price.amount", "non-negative"),
    ];
    for (what, cmd, field, reason) in cases {
        let r = reg.refused_str(&cmd);
        assert_eq!(r.rule, "malformed", "{what}: {r}");
        assert_eq!(r.field, field, "{what}: {r}");
        assert!(
            r.reason.contains(reason),
            "{what}: reason lacks `{reason}`: {r}"
        );
    }
}

#[test]
fn unknown_field_refusal_names_the_field_also_when_nested() {
    let mut cmd = admission("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    cmd["person"]["apodo"] = json!("Ejemplito");
    let r = Submission::from_json(&cmd.to_string()).unwrap_err();
    assert_eq!(r.rule, "malformed");
    assert_eq!(r.field, "person.apodo", "{r}");
    assert!(r.reason.contains("apodo"), "{r}");
}

#[test]
fn ambiguous_destination_or_applies_to_with_extra_fields_is_refused_not_silently_dropped() {
    let depart = |to: Value| {
        json!({"type":"transfer.depart","register_no":"SYN-1","at":"2025-03-03T06:00:00Z","to":to})
            .to_string()
    };
    for to in [
        json!({"facility":"SYN-B","jurisdiction":"Republica Ejemplo","authority":"Ministerio Ejemplo"}),
        json!({"facility":"SYN-B","authority":"Ministerio Ejemplo"}),
        json!({"jurisdiction":"Republica Ejemplo","authority":"Ministerio Ejemplo","facility":"SYN-B"}),
    ] {
        let r = Submission::from_json(&depart(to.clone())).unwrap_err();
        assert_eq!((r.rule, r.field.as_str()), ("malformed", "to"), "{to}: {r}");
    }
    for applies_to in [
        json!({"register_nos":["SYN-1"],"legal_basis_reference":"SYN-CAUSA-1"}),
        json!({"register_nos":["SYN-1"],"nota":"Ejemplo"}),
    ] {
        let cmd = bar_transfer("SYN-CO-1", "2025-03-02T00:00:00Z", applies_to.clone());
        let r = Submission::from_json(&cmd.to_string()).unwrap_err();
        assert_eq!(
            (r.rule, r.field.as_str()),
            ("malformed", "applies_to"),
            "{applies_to}: {r}"
        );
    }
}

// --- 6. whereabouts through a life ----------------------------------------------------------

fn assert_where(
    reg: &Register,
    no: &str,
    status: Status,
    facility: Option<&str>,
    cell: Option<&str>,
    since: &str,
) {
    let w = reg.whereabouts(no);
    assert_eq!(w.register_no, rn(no));
    assert_eq!(w.status, status, "{w:?}");
    assert_eq!(
        w.facility,
        facility.map(|f| FacilityCode::parse(f).unwrap()),
        "{w:?}"
    );
    assert_eq!(w.cell, cell.map(|c| CellPath::parse(c).unwrap()), "{w:?}");
    assert_eq!(w.unit, w.cell.as_ref().map(CellPath::unit_path), "{w:?}");
    assert_eq!(w.since, ts(since), "{w:?}");
}

#[test]
fn whereabouts_follow_admission_placement_absence_transfer_and_release() {
    let mut reg = Register::with_places();
    let (a, b) = (Some("SYN-A"), Some("SYN-B"));
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    assert_where(
        &reg,
        "SYN-1",
        Status::InCustody,
        a,
        None,
        "2025-03-01T08:00:00Z",
    );

    reg.ok(json!({"type":"placement.record","register_no":"SYN-1","cell":"SYN-A/P1/C001","at":"2025-03-01T09:00:00Z"}));
    assert_where(
        &reg,
        "SYN-1",
        Status::InCustody,
        a,
        Some("SYN-A/P1/C001"),
        "2025-03-01T09:00:00Z",
    );

    reg.ok(
        json!({"type":"absence.start","register_no":"SYN-1","at":"2025-03-02T08:00:00Z",
        "purpose":"hospital","destination":"Hospital Ejemplo"}),
    );
    assert_where(
        &reg,
        "SYN-1",
        Status::Absent,
        a,
        None,
        "2025-03-02T08:00:00Z",
    );
    assert_eq!(
        reg.whereabouts("SYN-1").note.as_deref(),
        Some("hospital: Hospital Ejemplo")
    );

    reg.ok(json!({"type":"absence.end","register_no":"SYN-1","at":"2025-03-02T18:00:00Z"}));
    assert_where(
        &reg,
        "SYN-1",
        Status::InCustody,
        a,
        Some("SYN-A/P1/C001"),
        "2025-03-02T18:00:00Z",
    );

    reg.ok(json!({"type":"transfer.depart","register_no":"SYN-1","at":"2025-03-03T06:00:00Z","to":{"facility":"SYN-B"}}));
    assert_where(
        &reg,
        "SYN-1",
        Status::InTransit,
        None,
        None,
        "2025-03-03T06:00:00Z",
    );

    reg.ok(json!({"type":"transfer.arrive","register_no":"SYN-1","facility":"SYN-B","at":"2025-03-03T10:00:00Z","cell":"SYN-B/P1/C001"}));
    assert_where(
        &reg,
        "SYN-1",
        Status::InCustody,
        b,
        Some("SYN-B/P1/C001"),
        "2025-03-03T10:00:00Z",
    );

    reg.ok(
        json!({"type":"release.record","register_no":"SYN-1","at":"2025-04-01T12:00:00Z",
        "reason":"acquittal","authority":"Juzgado Ejemplo","reference":"SYN-R-1"}),
    );
    assert_where(
        &reg,
        "SYN-1",
        Status::Released,
        None,
        None,
        "2025-04-01T12:00:00Z",
    );

    let episode = &reg.person("SYN-1").episodes[0];
    let statuses: Vec<_> = episode.stays.iter().map(|s| s.status).collect();
    use Status::*;
    assert_eq!(
        statuses,
        [
            InCustody, InCustody, Absent, InCustody, InTransit, InCustody
        ]
    );
    for pair in episode.stays.windows(2) {
        assert_eq!(
            pair[0].until,
            Some(pair[1].from),
            "each stay closes at the next one's start"
        );
    }
    assert_eq!(
        episode.stays.last().unwrap().until,
        Some(ts("2025-04-01T12:00:00Z"))
    );
    assert_eq!(episode.end.as_ref().unwrap().at, ts("2025-04-01T12:00:00Z"));

    // Current state is a cache of the log: replaying it gives the same state.
    let mut rebuilt = State::default();
    for recorded in &reg.log {
        apply(&mut rebuilt, recorded).unwrap();
    }
    assert_eq!(rebuilt, reg.state);
}

#[test]
fn departure_out_of_jurisdiction_death_and_escape_end_the_episode() {
    let mut reg = Register::with_places();
    for no in ["SYN-1", "SYN-2", "SYN-3"] {
        reg.admit(no, "SYN-A", "2025-03-01T08:00:00Z");
    }
    reg.ok(
        json!({"type":"absence.start","register_no":"SYN-1","at":"2025-03-02T08:00:00Z",
        "purpose":"court_hearing","destination":"Juzgado Ejemplo"}),
    );
    reg.ok(
        json!({"type":"transfer.depart","register_no":"SYN-1","at":"2025-03-03T08:00:00Z",
        "to":{"jurisdiction":"Republica Ejemplo","authority":"Ministerio Ejemplo"}}),
    );
    reg.ok(json!({"type":"death.record","register_no":"SYN-2","at":"2025-03-04T08:00:00Z",
        "place":"Enfermeria","circumstances":"Circunstancias de ejemplo","cause":"Causa de ejemplo"}));
    reg.ok(json!({"type":"escape.record","register_no":"SYN-3","at":"2025-03-05T08:00:00Z"}));

    assert_where(
        &reg,
        "SYN-1",
        Status::TransferredOut,
        None,
        None,
        "2025-03-03T08:00:00Z",
    );
    assert_where(
        &reg,
        "SYN-2",
        Status::Deceased,
        None,
        None,
        "2025-03-04T08:00:00Z",
    );
    assert_where(
        &reg,
        "SYN-3",
        Status::Escaped,
        None,
        None,
        "2025-03-05T08:00:00Z",
    );
    for no in ["SYN-1", "SYN-2", "SYN-3"] {
        let person = reg.person(no);
        assert!(person.open_episode().is_none(), "{no} episode still open");
        assert!(person.episodes[0].stays.iter().all(|s| s.until.is_some()));
        let r = reg
            .refused(json!({"type":"escape.record","register_no":no,"at":"2025-03-06T08:00:00Z"}));
        assert_refusal(&r, "not-in-custody", "register_no");
    }
    assert!(matches!(
        reg.person("SYN-1").episodes[0].end.as_ref().unwrap().kind,
        EndKind::TransferredOut { .. }
    ));
    // Readmission after an escape is a new episode.
    reg.admit("SYN-3", "SYN-A", "2025-03-07T08:00:00Z");
    assert_eq!(reg.whereabouts("SYN-3").episode, 2);
}

// --- 7. serialization -----------------------------------------------------------------------

/// A valid command of every type, in an order the register accepts.
fn every_command() -> Vec<Value> {
    let mut admit = admission_under("SYN-1", "SYN-CAUSA-1", "2025-03-01T08:00:00Z");
    admit["actor"] = json!("operador.ejemplo");
    admit["person"]["date_of_birth"] = json!("1990-05-17");
    admit["person"]["nationalities"] = json!(["XXA"]);
    admit["deprived"] =
        json!({"at":"2025-02-28T22:30:00.5+02:00","place":"Calle Ejemplo","by":"Policia Ejemplo"});
    admit["custodial_authority"] = json!("Estado Muestra");
    admit["agreement"] = json!("SYN-AG-1");
    admit["contacts"] = json!([{"name":"Contacto Ejemplo","relation":"madre","notify":true}]);
    vec![
        json!({"type":"facility.register","facility":"SYN-A","name":"Centro A","authority":"Autoridad Ejemplo","timezone":"America/El_Salvador","official_capacity":40000}),
        json!({"type":"facility.register","facility":"SYN-B","name":"Centro B","authority":"Autoridad Ejemplo","timezone":"UTC","official_capacity":10}),
        json!({"type":"unit.register","facility":"SYN-A","unit":"P1","name":"Pabellon 1"}),
        json!({"type":"unit.register","facility":"SYN-B","unit":"P1","name":"Pabellon 1"}),
        json!({"type":"cell.register","cell":"SYN-A/P1/C001","places":70,"beds":48,"area_m2":100.25}),
        json!({"type":"cell.register","cell":"SYN-B/P1/C001","places":2,"beds":2}),
        json!({"type":"agreement.record","agreement":"SYN-AG-1","parties":["Estado Ejemplo","Estado Muestra"],
            "from":"2025-01-01","until":"2025-12-31","price":{"amount":6000000.0,"currency":"USD","per":"term"}}),
        admit,
        admission("SYN-2", "SYN-A", "2025-03-01T08:00:00Z"),
        admission("SYN-3", "SYN-A", "2025-03-01T08:00:00Z"),
        json!({"type":"placement.record","register_no":"SYN-1","cell":"SYN-A/P1/C001","at":"2025-03-01T09:00:00Z"}),
        // Daily life, while SYN-1 is in cell SYN-A/P1/C001.
        json!({"type":"settings.record","at":"2025-03-01T09:30:00Z","national_population":6300000,"country":"SLV",
            "limits":{"prolonged-solitary.days":10.0,"floor-space.min_m2":4.0}}),
        json!({"type":"exercise.record","at":"2025-03-01T10:00:00Z","until":"2025-03-01T11:00:00Z","outdoors":true,
            "unit":"SYN-A/P1","cells":["SYN-A/P1/C001"],"register_nos":["SYN-1"]}),
        json!({"type":"contact.record","register_no":"SYN-1","at":"2025-03-01T12:00:00Z","kind":"family_visit"}),
        json!({"type":"notification.record","register_no":"SYN-1","at":"2025-03-01T12:30:00Z","to":"family","about":"admission","declined_by_person":true}),
        json!({"type":"health.exam","register_no":"SYN-1","at":"2025-03-01T13:00:00Z","injuries_observed":true}),
        json!({"type":"health.request","request":"SYN-H-1","register_no":"SYN-1","at":"2025-03-01T13:30:00Z"}),
        json!({"type":"health.seen","request":"SYN-H-1","at":"2025-03-01T14:00:00Z"}),
        json!({"type":"separation.start","register_no":"SYN-1","at":"2025-03-01T15:00:00Z","reason":"Motivo de ejemplo","authorized_by":"Director Ejemplo"}),
        json!({"type":"separation.end","register_no":"SYN-1","at":"2025-03-01T16:00:00Z"}),
        json!({"type":"incident.record","incident":"SYN-I-1","kind":"use_of_force","register_nos":["SYN-1","SYN-2"],
            "at":"2025-03-01T17:00:00Z","description":"Descripcion de ejemplo","referred_to":"Procuraduria Ejemplo"}),
        json!({"type":"count.record","unit":"SYN-A/P1","at":"2025-03-01T18:00:00Z","counted":1}),
        json!({"type":"legal_basis.record","register_no":"SYN-1","at":"2025-03-02T08:00:00Z",
            "legal_basis":{"kind":"sentence","authority":"Juzgado Ejemplo","reference":"SYN-CAUSA-2",
            "issued_on":"2025-03-02","grounds":"Motivos \"citados\" de ejemplo","expires_on":"2030-03-02"},"legal_status":"sentenced"}),
        json!({"type":"absence.start","register_no":"SYN-1","at":"2025-03-03T08:00:00Z","purpose":"court_hearing","destination":"Juzgado Ejemplo"}),
        json!({"type":"absence.end","register_no":"SYN-1","at":"2025-03-03T15:00:00Z"}),
        json!({"type":"court_order.record","order":"SYN-CO-1","court":"Juzgado Ejemplo","case":"SYN-CASO-1","kind":"produce",
            "issued_at":"2025-03-04T08:00:00Z","until":"2025-04-04T08:00:00Z","applies_to":{"legal_basis_reference":"SYN-CAUSA-2"}}),
        json!({"type":"court_order.lift","order":"SYN-CO-1","at":"2025-03-05T08:00:00Z"}),
        json!({"type":"transfer.order","transfer":"SYN-T-1","register_nos":["SYN-1"],"to":{"facility":"SYN-B"},
            "authority":"Direccion Ejemplo","reference":"SYN-OF-1","planned_at":"2025-03-06T08:00:00Z"}),
        json!({"type":"transfer.depart","register_no":"SYN-1","at":"2025-03-06T08:00:00Z","to":{"facility":"SYN-B"},"transfer":"SYN-T-1"}),
        json!({"type":"transfer.arrive","register_no":"SYN-1","facility":"SYN-B","at":"2025-03-06T12:00:00Z","cell":"SYN-B/P1/C001"}),
        json!({"type":"release.record","register_no":"SYN-1","at":"2025-03-07T08:00:00Z","reason":"released_in_error","authority":"Juzgado Ejemplo","reference":"SYN-R-1"}),
        json!({"type":"death.record","register_no":"SYN-2","at":"2025-03-07T08:00:00Z","place":"Enfermeria","circumstances":"Circunstancias de ejemplo"}),
        json!({"type":"escape.record","register_no":"SYN-3","at":"2025-03-07T08:00:00Z"}),
        json!({"type":"transfer.depart","register_no":"SYN-9","at":"2025-03-07T08:00:00Z",
            "to":{"jurisdiction":"Republica Ejemplo","authority":"Ministerio Ejemplo"}}),
    ]
}

/// Sorted keys at every level (checked on the parsed value, whose maps keep the text's order
/// only if serde_json's `preserve_order` is on; then this catches unsorted output).
fn assert_sorted_keys(v: &Value) {
    match v {
        Value::Object(map) => {
            let keys: Vec<&String> = map.keys().collect();
            assert!(
                keys.windows(2).all(|k| k[0] < k[1]),
                "unsorted keys: {keys:?}"
            );
            map.values().for_each(assert_sorted_keys);
        }
        Value::Array(items) => items.iter().for_each(assert_sorted_keys),
        _ => {}
    }
}

fn assert_no_whitespace_outside_strings(text: &str) {
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else {
            assert!(!c.is_whitespace(), "whitespace at byte {i} in {text}");
        }
    }
}

#[test]
fn every_command_type_round_trips_through_canonical_json() {
    let mut reg = Register::default();
    let mut covered = std::collections::BTreeSet::new();
    for cmd in every_command() {
        if cmd["register_no"] == "SYN-9" {
            reg.admit("SYN-9", "SYN-A", "2025-03-07T07:00:00Z");
        }
        covered.insert(
            Submission::from_json(&cmd.to_string())
                .unwrap()
                .command
                .type_name(),
        );
        reg.ok(cmd);
    }
    for t in Command::TYPES {
        assert!(covered.contains(t), "no sample for command type {t}");
    }
    assert!(reg.log.len() > Command::TYPES.len());
    for recorded in &reg.log {
        let text = recorded.canonical_json();
        let back = Recorded::from_json(&text).unwrap();
        assert_eq!(&back, recorded, "round trip of {text}");
        assert_eq!(back.canonical_json(), text, "same event, same bytes");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), text);
        assert_sorted_keys(&value);
        assert_no_whitespace_outside_strings(&text);
        assert_eq!(value["event"]["type"], recorded.event.type_name());
    }
    let with_actor = reg.log.iter().find(|r| r.actor.is_some()).unwrap();
    assert!(
        with_actor
            .canonical_json()
            .contains(r#""actor":"operador.ejemplo""#)
    );
}

// --- 8. apply does not panic ----------------------------------------------------------------

#[test]
fn apply_returns_an_error_naming_the_seq_for_an_event_that_does_not_fit() {
    let mut state = State::default();
    let recorded = |seq, event| Recorded {
        seq,
        recorded_at: ts(RECORDED_AT),
        actor: None,
        source_id: None,
        event,
    };
    let placement = Event::PlacementRecorded(
        serde_json::from_value(
            json!({"register_no":"SYN-404","cell":"SYN-A/P1/C001","at":"2025-03-01T08:00:00Z"}),
        )
        .unwrap(),
    );
    let err = apply(&mut state, &recorded(41, placement)).unwrap_err();
    assert_eq!((err.seq, err.kind), (41, "placement.recorded"));
    assert!(err.to_string().contains("event 41"), "{err}");
    assert!(err.reason.contains("SYN-404"), "{err}");

    let lift = Event::CourtOrderLifted(
        serde_json::from_value(json!({"order":"SYN-CO-404","at":"2025-03-01T08:00:00Z"})).unwrap(),
    );
    let err = apply(&mut state, &recorded(42, lift)).unwrap_err();
    assert_eq!((err.seq, err.kind), (42, "court_order.lifted"));
    assert_eq!(
        state,
        State::default(),
        "a failed apply left the state as it was"
    );

    // An event for a person whose episode has ended.
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
    reg.ok(json!({"type":"escape.record","register_no":"SYN-1","at":"2025-03-02T08:00:00Z"}));
    let escape = reg.log.last().unwrap().clone();
    let err = apply(&mut reg.state, &Recorded { seq: 99, ..escape }).unwrap_err();
    assert_eq!(err.seq, 99);
    assert!(err.reason.contains("no open custody episode"), "{err}");
}

// --- 9. properties --------------------------------------------------------------------------

/// Drops or replaces the value at a path of object keys / array indices picked by `picks`.
fn mutate(v: &mut Value, picks: &[usize], drop_key: bool, replacement: &Value) {
    let Some((&pick, rest)) = picks.split_first() else {
        *v = replacement.clone();
        return;
    };
    match v {
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(pick % map.len()).unwrap().clone();
            let nested = matches!(map[&key], Value::Object(_) | Value::Array(_));
            if rest.is_empty() || !nested {
                if drop_key {
                    map.remove(&key);
                } else {
                    map.insert(key, replacement.clone());
                }
            } else {
                mutate(map.get_mut(&key).unwrap(), rest, drop_key, replacement);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = pick % items.len();
            mutate(&mut items[i], rest, drop_key, replacement);
        }
        _ => *v = replacement.clone(),
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[ -~]{0,12}".prop_map(Value::from),
        Just(json!("2025-03-16T20:00:00")),
        Just(json!("SYN-A/P1")),
        Just(json!([])),
        Just(json!({})),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "type",
        "register_no",
        "facility",
        "unit",
        "cell",
        "at",
        "person",
        "given_names",
        "legal_basis",
        "to",
        "register_nos",
        "applies_to",
        "order",
        "until",
        "area_m2",
        "actor",
    ]);
    leaf().prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

fn assert_parse_never_panics_and_refuses_as_malformed(text: &str) {
    if let Err(r) = Submission::from_json(text) {
        assert_eq!(r.rule, "malformed", "{text}: {r}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_text_never_panics_and_is_refused_as_malformed(text in prop_oneof![
        any::<String>(),
        "[\\[\\]{}\":,0-9a-z_. \\-]{0,64}",
    ]) {
        let r = Submission::from_json(&text);
        if let Err(r) = &r {
            prop_assert_eq!(r.rule, "malformed");
        }
    }

    #[test]
    fn random_json_objects_with_a_known_type_never_panic(
        t in prop::sample::select(Command::TYPES),
        body in json_value(),
    ) {
        let mut v = if body.is_object() { body } else { json!({"value": body}) };
        v["type"] = json!(t);
        assert_parse_never_panics_and_refuses_as_malformed(&v.to_string());
    }

    #[test]
    fn mutated_valid_commands_never_panic_and_refusals_are_malformed_or_named_rules(
        which in any::<prop::sample::Index>(),
        picks in prop::collection::vec(any::<usize>(), 1..4),
        drop_key in any::<bool>(),
        replacement in leaf(),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let commands = every_command();
        let mut cmd = commands[which.index(commands.len())].clone();
        mutate(&mut cmd, &picks, drop_key, &replacement);
        let mut text = cmd.to_string();
        if truncate {
            let mut at = cut.index(text.len() + 1);
            while !text.is_char_boundary(at) { at -= 1; }
            text.truncate(at);
        }
        match Submission::from_json(&text) {
            Err(r) => prop_assert_eq!(r.rule, "malformed", "{}: {}", text, r),
            Ok(sub) => {
                // Deciding against a populated register never panics either.
                let mut reg = Register::with_places();
                reg.admit("SYN-1", "SYN-A", "2025-03-01T08:00:00Z");
                let _ = decide(&reg.state, &sub.command, &ctx());
            }
        }
    }

    #[test]
    fn any_finite_area_and_price_survive_parse_and_canonical_json_exactly(
        area in any::<f64>().prop_filter("positive, finite", |a| a.is_finite() && *a > 0.0),
        amount in any::<f64>().prop_filter("non-negative, finite", |a| a.is_finite() && *a >= 0.0),
    ) {
        let cell = json!({"type":"cell.register","cell":"SYN-A/P1/C001","places":1,"beds":1,"area_m2":area});
        let agreement = json!({"type":"agreement.record","agreement":"SYN-AG-1","parties":["Estado Ejemplo"],
            "from":"2025-01-01","until":"2025-12-31","price":{"amount":amount,"currency":"USD","per":"person_day"}});
        let mut reg = Register::default();
        for cmd in every_command().into_iter().take(4) {
            reg.ok(cmd);
        }
        reg.run(&cell.to_string()).map_err(|r| TestCaseError::fail(r.to_string()))?;
        reg.run(&agreement.to_string()).map_err(|r| TestCaseError::fail(r.to_string()))?;
        let cell = &reg.state.cells[&CellPath::parse("SYN-A/P1/C001").unwrap()];
        prop_assert_eq!(cell.area_m2, Some(area), "the value written is the value recorded");
        for recorded in &reg.log {
            let text = recorded.canonical_json();
            let back = Recorded::from_json(&text).unwrap();
            prop_assert_eq!(&back, recorded);
            prop_assert_eq!(back.canonical_json(), text);
        }
    }

    #[test]
    fn applying_logged_events_in_any_order_never_panics(
        order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle(),
        keep in 1..40usize,
    ) {
        let mut reg = Register::default();
        for cmd in every_command() {
            if cmd["register_no"] == "SYN-9" {
                reg.admit("SYN-9", "SYN-A", "2025-03-07T07:00:00Z");
            }
            reg.ok(cmd);
        }
        let mut state = State::default();
        for &i in order.iter().filter(|&&i| i < reg.log.len()).take(keep) {
            if let Err(e) = apply(&mut state, &reg.log[i]) {
                prop_assert_eq!(e.seq, reg.log[i].seq);
            }
        }
    }
}

// --- 10. the standards checks at their boundaries -------------------------------------------

#[path = "domain_checks/mod.rs"]
mod checks;

// --- 11. authorization: the role table ------------------------------------------------------

#[path = "domain_checks/authz.rs"]
mod authz;
