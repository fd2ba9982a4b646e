//! The authorization table, as a table: every role × every action against a matrix written out
//! here literally (a change to `authz::permits` must change this test), every command type's
//! class, and facility scopes.

use habeas_domain::authz::*;
use habeas_domain::*;

use super::every_command;

/// The columns of [`MATRIX`], in order.
const ACTIONS: [Action; 12] = [
    Action::Submit(CommandClass::Places),
    Action::Submit(CommandClass::Custody),
    Action::Submit(CommandClass::DailyLife),
    Action::Submit(CommandClass::Health),
    Action::Submit(CommandClass::Settings),
    Action::ReadPerson,
    Action::ReadHealthDetail,
    Action::ReadFindings,
    Action::ReadPopulation,
    Action::ReadAccessLog,
    Action::ManageUsers,
    Action::SearchPersons,
];

const Y: bool = true;
const N: bool = false;

/// Who may do what. Columns: submit places, custody, daily life, health, settings; read
/// person, health detail, findings, population, access log; manage users; search persons.
#[rustfmt::skip]
const MATRIX: [(Role, [bool; 12]); 5] = [
    //                  pla cus day hea set  per hdt fnd pop acc  usr srch
    (Role::Admin,     [ Y,  Y,  Y,  Y,  Y,   Y,  Y,  Y,  Y,  Y,   Y,  Y ]),
    (Role::Registrar, [ Y,  Y,  Y,  N,  N,   Y,  N,  Y,  Y,  N,   N,  Y ]),
    (Role::Officer,   [ N,  N,  Y,  N,  N,   Y,  N,  Y,  Y,  N,   N,  Y ]),
    (Role::Health,    [ N,  N,  N,  Y,  N,   Y,  Y,  Y,  Y,  N,   N,  Y ]),
    (Role::Monitor,   [ N,  N,  N,  N,  N,   Y,  N,  Y,  Y,  Y,   N,  Y ]),
];

#[test]
fn every_role_and_action_is_permitted_exactly_as_the_matrix_says() {
    assert_eq!(ACTIONS, Action::ALL, "the matrix must cover every action");
    let roles: Vec<Role> = MATRIX.iter().map(|(r, _)| *r).collect();
    assert_eq!(roles, Role::ALL, "the matrix must cover every role");
    let mut wrong = Vec::new();
    for (role, row) in MATRIX {
        for (action, expected) in ACTIONS.into_iter().zip(row) {
            if permits(role, action) != expected {
                wrong.push(format!("{role} {action:?}: expected {expected}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the table disagrees:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn monitors_never_write_and_see_no_clinical_detail() {
    for class in CommandClass::ALL {
        assert!(!permits(Role::Monitor, Action::Submit(class)), "{class:?}");
    }
    assert!(!permits(Role::Monitor, Action::ReadHealthDetail));
    assert!(!permits(Role::Monitor, Action::ManageUsers));
    // Only health staff and admins see clinical detail.
    let clinical: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| permits(*r, Action::ReadHealthDetail))
        .collect();
    assert_eq!(clinical, [Role::Admin, Role::Health]);
}

#[test]
fn every_command_type_has_its_class() {
    use CommandClass::*;
    let expected = [
        ("facility.register", Places),
        ("unit.register", Places),
        ("cell.register", Places),
        ("admission.record", Custody),
        ("placement.record", Custody),
        ("legal_basis.record", Custody),
        ("absence.start", Custody),
        ("absence.end", Custody),
        ("transfer.order", Custody),
        ("transfer.depart", Custody),
        ("transfer.arrive", Custody),
        ("release.record", Custody),
        ("death.record", Custody),
        ("escape.record", Custody),
        ("court_order.record", Custody),
        ("court_order.lift", Custody),
        ("agreement.record", Custody),
        ("exercise.record", DailyLife),
        ("contact.record", DailyLife),
        ("notification.record", DailyLife),
        ("separation.start", DailyLife),
        ("separation.end", DailyLife),
        ("incident.record", DailyLife),
        ("count.record", DailyLife),
        ("health.exam", Health),
        ("health.request", Health),
        ("health.seen", Health),
        ("settings.record", Settings),
    ];
    let mut listed: Vec<&str> = expected.iter().map(|(t, _)| *t).collect();
    let mut types = Command::TYPES.to_vec();
    listed.sort_unstable();
    types.sort_unstable();
    assert_eq!(listed, types, "every command type is classified here");

    let mut seen = Vec::new();
    for json in every_command() {
        let command = Submission::from_value(json).unwrap().command;
        let name = command.type_name();
        let class = expected.iter().find(|(t, _)| *t == name).unwrap().1;
        assert_eq!(CommandClass::of(&command), class, "{name}");
        assert_eq!(CommandClass::of_type(name), Some(class), "of_type({name})");
        seen.push(name);
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, types, "every type was tried on a real command");
    assert_eq!(CommandClass::of_type("no.such"), None);
}

#[test]
fn roles_parse_print_and_serialize_in_snake_case() {
    for (text, role) in [
        ("admin", Role::Admin),
        ("registrar", Role::Registrar),
        ("officer", Role::Officer),
        ("health", Role::Health),
        ("monitor", Role::Monitor),
    ] {
        assert_eq!(text.parse::<Role>().unwrap(), role);
        assert_eq!(role.as_str(), text);
        assert_eq!(role.to_string(), text);
        assert_eq!(serde_json::to_value(role).unwrap(), text);
        assert_eq!(serde_json::from_value::<Role>(text.into()).unwrap(), role);
    }
    let err = "Admin".parse::<Role>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown role `Admin`; roles: admin, registrar, officer, health, monitor"
    );
}

#[test]
fn a_scope_limits_facilities_and_an_empty_scope_covers_all() {
    let a = FacilityCode::parse("SYN-A").unwrap();
    let b = FacilityCode::parse("SYN-B").unwrap();
    let scoped = [a.clone()];
    assert!(in_scope(&[], Some(&a)));
    assert!(in_scope(&[], None));
    assert!(in_scope(&scoped, Some(&a)));
    assert!(!in_scope(&scoped, Some(&b)));
    assert!(
        !in_scope(&scoped, None),
        "nothing outside a facility for a scoped user"
    );
    assert!(facility_scoped(&scoped));
    assert!(!facility_scoped(&[]));
}
