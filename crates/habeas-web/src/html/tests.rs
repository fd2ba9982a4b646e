//! The catalogues are complete and every key the interface uses exists in both; every command
//! type has a form; a form becomes the command the API takes.

use super::forms::{self, FORMS};
use super::i18n::{self, SOURCES};
use habeas_domain::{Command, Refusal, Submission};
use std::collections::{BTreeSet, HashMap};

fn catalogues() -> Vec<(&'static str, HashMap<String, String>)> {
    SOURCES
        .iter()
        .map(|(lang, text)| {
            (
                *lang,
                i18n::parse(text).unwrap_or_else(|e| panic!("i18n/{lang}.toml: {e}")),
            )
        })
        .collect()
}

/// Keys used literally: `.t("…")` and `.t1("…"` in templates and the interface's code.
fn literal_keys() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for sub in ["templates", "src/html"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap_or_else(|e| panic!("{sub}: {e}")) {
            let path = entry.map(|e| e.path()).unwrap_or_default();
            if path.file_name().is_some_and(|n| n != "tests.rs") {
                texts.push(std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let mut keys = BTreeSet::new();
    for text in texts {
        for opener in [".t(\"", ".t1(\""] {
            for (i, _) in text.match_indices(opener) {
                let rest = &text[i + opener.len()..];
                if let Some(end) = rest.find('"') {
                    keys.insert(rest[..end].to_owned());
                }
            }
        }
    }
    keys
}

/// Keys built at run time from the vocabulary: commands, fields, options, checks, statuses…
fn dynamic_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for ty in Command::TYPES {
        keys.insert(format!("cmd.{ty}"));
    }
    for f in FORMS {
        for field in f.fields {
            keys.insert(forms::label_key(field.path));
            if let Some(g) = forms::group_of(field.path) {
                keys.insert(format!("group.{g}"));
            }
            if let forms::Kind::Select(opts) = field.kind {
                for o in opts {
                    keys.insert(format!("opt.{o}"));
                }
            }
        }
    }
    for c in habeas_domain::checks::CHECKS {
        keys.insert(format!("check.{}", c.id));
    }
    for s in [
        "in_custody",
        "absent",
        "in_transit",
        "released",
        "transferred_out",
        "deceased",
        "escaped",
    ] {
        keys.insert(format!("status.{s}"));
    }
    for r in habeas_domain::authz::Role::ALL {
        keys.insert(format!("role.{}", r.as_str()));
    }
    for c in habeas_domain::authz::CommandClass::ALL {
        keys.insert(format!("class.{}", c.as_str()));
    }
    for s in ["critical", "warning"] {
        keys.insert(format!("severity.{s}"));
    }
    keys
}

#[test]
fn both_catalogues_have_the_same_keys_and_no_empty_text() {
    let cats = catalogues();
    let (en, es) = (&cats[0].1, &cats[1].1);
    let en_keys: BTreeSet<_> = en.keys().collect();
    let es_keys: BTreeSet<_> = es.keys().collect();
    let only_en: Vec<_> = en_keys.difference(&es_keys).collect();
    let only_es: Vec<_> = es_keys.difference(&en_keys).collect();
    assert!(only_en.is_empty(), "keys missing in es.toml: {only_en:?}");
    assert!(only_es.is_empty(), "keys missing in en.toml: {only_es:?}");
    for (lang, cat) in &cats {
        for (k, v) in cat {
            assert!(!v.trim().is_empty(), "{lang}: `{k}` is empty");
        }
    }
}

#[test]
fn every_key_the_interface_uses_is_in_both_catalogues() {
    let used: BTreeSet<String> = literal_keys().into_iter().chain(dynamic_keys()).collect();
    assert!(used.len() > 200, "the scan found the keys ({})", used.len());
    for (lang, cat) in catalogues() {
        let missing: Vec<_> = used.iter().filter(|k| !cat.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{lang}: unknown keys {missing:?}");
    }
}

#[test]
fn every_command_type_has_one_form_and_a_class() {
    let mut tys: Vec<_> = FORMS.iter().map(|f| f.ty).collect();
    tys.sort_unstable();
    let mut all = Command::TYPES.to_vec();
    all.sort_unstable();
    assert_eq!(tys, all);
    for f in FORMS {
        assert!(
            habeas_domain::authz::CommandClass::of_type(f.ty).is_some(),
            "{}",
            f.ty
        );
    }
}

fn values(pairs: &[(&str, &str)]) -> forms::Values {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_filled_admission_form_is_the_command_the_api_takes() {
    let form = forms::form("admission.record").unwrap_or_else(|| unreachable!());
    let json = forms::to_json(
        form,
        &values(&[
            ("register_no", "SYN-1"),
            ("facility", "WEB"),
            ("at", "2025-01-01T08:00"),
            ("legal_status", "remand"),
            ("person.given_names", "Ana"),
            ("person.family_names", "Ejemplo"),
            ("person.sex", "female"),
            ("person.nationalities", "SLV, GTM"),
            ("contacts[0].name", "Rosa"),
            ("contacts[0].relation", "mother"),
            ("contacts[0].notify", "true"),
            ("legal_basis.kind", ""),
            ("csrf", "ignored"),
        ]),
    );
    let expected = serde_json::json!({
        "type": "admission.record", "register_no": "SYN-1", "facility": "WEB",
        "at": "2025-01-01T08:00:00Z", "legal_status": "remand",
        "person": {"given_names": "Ana", "family_names": "Ejemplo", "sex": "female",
                   "nationalities": ["SLV", "GTM"]},
        "contacts": [{"name": "Rosa", "relation": "mother", "notify": true}],
    });
    assert_eq!(json, expected);
    assert!(Submission::from_value(json).is_ok());
}

#[test]
fn a_refusal_is_placed_beside_the_field_it_names() {
    let form = forms::form("admission.record").unwrap_or_else(|| unreachable!());
    let bad = forms::to_json(
        form,
        &values(&[
            ("register_no", "SYN-1"),
            ("facility", "WEB"),
            ("at", "2025-01-01T08:00"),
            ("legal_status", "remand"),
            ("person.given_names", "Ana"),
            ("person.family_names", "Ejemplo"),
            ("person.sex", "female"),
            ("person.date_of_birth", "1990-13-01"),
        ]),
    );
    let refusal = Submission::from_value(bad)
        .err()
        .unwrap_or_else(|| unreachable!());
    assert_eq!(refusal.field, "person.date_of_birth");
    assert_eq!(
        forms::refused_field(form, &refusal),
        Some("person.date_of_birth")
    );
    // A list field takes refusals about its items; a group, its first field.
    let order = forms::form("transfer.order").unwrap_or_else(|| unreachable!());
    let r = Refusal::malformed("register_nos[1]", "x");
    assert_eq!(forms::refused_field(order, &r), Some("register_nos"));
    let r = Refusal::malformed("to", "x");
    assert_eq!(forms::refused_field(order, &r), Some("to.facility"));
    assert_eq!(
        forms::refused_field(order, &Refusal::malformed("", "x")),
        None
    );
    // A number that does not parse goes to the domain as text, which names the field.
    let cell = forms::form("cell.register").unwrap_or_else(|| unreachable!());
    let json = forms::to_json(
        cell,
        &values(&[("cell", "W/U/C"), ("places", "two"), ("beds", "1")]),
    );
    let r = Submission::from_value(json)
        .err()
        .unwrap_or_else(|| unreachable!());
    assert_eq!(forms::refused_field(cell, &r), Some("places"));
}
