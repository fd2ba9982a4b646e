//! One form per command of the vocabulary (DESIGN §4), generated from one description per
//! command type: the fields as JSON paths with their kind. A submitted form becomes the same
//! JSON command the API takes, goes through `Submission::from_value` and the store, and a
//! refusal is shown beside the field its JSON path names, with the entered values kept.

use habeas_domain::Refusal;
use serde_json::{Map, Value};

use super::i18n::Tr;

/// How a field is entered and turned into JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Text,
    /// A longer text (descriptions, circumstances).
    LongText,
    /// A whole number (places, capacity, counted).
    Int,
    /// A decimal number (area, price).
    Num,
    /// A time: RFC 3339, or `YYYY-MM-DDTHH:MM` read as UTC.
    Time,
    /// A date `YYYY-MM-DD`.
    Date,
    /// A checkbox. `always`: sent as `false` when unchecked (a required yes/no).
    Bool {
        always: bool,
    },
    /// One of the vocabulary's values.
    Select(&'static [&'static str]),
    /// Several values, one per line or separated by commas.
    List,
    /// `name = number` lines (the checks' limits).
    Pairs,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The JSON path (`person.date_of_birth`, `contacts[0].name`), as refusals name fields.
    pub path: &'static str,
    pub kind: Kind,
    pub required: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Form {
    /// The command type (`placement.record`).
    pub ty: &'static str,
    pub fields: &'static [Field],
}

const fn req(path: &'static str, kind: Kind) -> Field {
    Field {
        path,
        kind,
        required: true,
    }
}

const fn opt(path: &'static str, kind: Kind) -> Field {
    Field {
        path,
        kind,
        required: false,
    }
}

use Kind::*;

const SEX: &[&str] = &["female", "male", "other"];
const LEGAL_BASIS_KIND: &[&str] = &[
    "arrest_warrant",
    "court_order",
    "sentence",
    "administrative_order",
    "transfer_agreement",
    "other",
];
const LEGAL_STATUS: &[&str] = &[
    "remand",
    "convicted_unsentenced",
    "sentenced",
    "immigration",
    "civil",
    "other",
];
const ABSENCE_PURPOSE: &[&str] = &["court_hearing", "hospital", "other"];
const RELEASE_REASON: &[&str] = &[
    "court_order",
    "sentence_served",
    "bail",
    "acquittal",
    "charges_dropped",
    "pardon",
    "released_in_error",
    "other",
];
const ORDER_KIND: &[&str] = &["bar_transfer", "release", "detention_limit", "produce"];
const PRICE_PER: &[&str] = &["term", "person_day"];
const CONTACT_KIND: &[&str] = &[
    "family_visit",
    "legal_visit",
    "consular_visit",
    "call",
    "letter",
];
const NOTIFY_TO: &[&str] = &["family", "counsel", "consulate", "independent_authority"];
const NOTIFY_ABOUT: &[&str] = &[
    "admission",
    "transfer",
    "serious_illness",
    "death",
    "release",
    "injury",
];
const INCIDENT_KIND: &[&str] = &["use_of_force", "injury", "self_harm", "assault", "other"];

const LEGAL_BASIS: [Field; 6] = [
    req("legal_basis.kind", Select(LEGAL_BASIS_KIND)),
    req("legal_basis.authority", Text),
    req("legal_basis.reference", Text),
    req("legal_basis.issued_on", Date),
    req("legal_basis.grounds", LongText),
    opt("legal_basis.expires_on", Date),
];

/// Every command's form, in vocabulary order.
pub const FORMS: &[Form] = &[
    Form {
        ty: "facility.register",
        fields: &[
            req("facility", Text),
            req("name", Text),
            req("authority", Text),
            req("timezone", Text),
            req("official_capacity", Int),
        ],
    },
    Form {
        ty: "unit.register",
        fields: &[req("facility", Text), req("unit", Text), req("name", Text)],
    },
    Form {
        ty: "cell.register",
        fields: &[
            req("cell", Text),
            req("places", Int),
            req("beds", Int),
            opt("area_m2", Num),
        ],
    },
    Form {
        ty: "admission.record",
        fields: &[
            req("register_no", Text),
            req("facility", Text),
            req("at", Time),
            req("legal_status", Select(LEGAL_STATUS)),
            opt("custodial_authority", Text),
            opt("agreement", Text),
            opt("person.given_names", Text),
            opt("person.family_names", Text),
            opt("person.sex", Select(SEX)),
            opt("person.date_of_birth", Date),
            opt("person.nationalities", List),
            // Not part of the command: an admission without identity only when ticked.
            opt("person.identity_unknown", Bool { always: false }),
            opt("deprived.at", Time),
            opt("deprived.place", Text),
            opt("deprived.by", Text),
            opt("legal_basis.kind", Select(LEGAL_BASIS_KIND)),
            opt("legal_basis.authority", Text),
            opt("legal_basis.reference", Text),
            opt("legal_basis.issued_on", Date),
            opt("legal_basis.grounds", LongText),
            opt("legal_basis.expires_on", Date),
            opt("contacts[0].name", Text),
            opt("contacts[0].relation", Text),
            opt("contacts[0].notify", Bool { always: false }),
        ],
    },
    Form {
        ty: "placement.record",
        fields: &[req("register_no", Text), req("cell", Text), req("at", Time)],
    },
    Form {
        ty: "legal_basis.record",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            opt("legal_status", Select(LEGAL_STATUS)),
            LEGAL_BASIS[0],
            LEGAL_BASIS[1],
            LEGAL_BASIS[2],
            LEGAL_BASIS[3],
            LEGAL_BASIS[4],
            LEGAL_BASIS[5],
        ],
    },
    Form {
        ty: "absence.start",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            req("purpose", Select(ABSENCE_PURPOSE)),
            req("destination", Text),
        ],
    },
    Form {
        ty: "absence.end",
        fields: &[req("register_no", Text), req("at", Time)],
    },
    Form {
        ty: "transfer.order",
        fields: &[
            req("transfer", Text),
            req("register_nos", List),
            req("authority", Text),
            req("reference", Text),
            req("planned_at", Time),
            opt("to.facility", Text),
            opt("to.jurisdiction", Text),
            opt("to.authority", Text),
        ],
    },
    Form {
        ty: "transfer.depart",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            opt("transfer", Text),
            opt("to.facility", Text),
            opt("to.jurisdiction", Text),
            opt("to.authority", Text),
        ],
    },
    Form {
        ty: "transfer.arrive",
        fields: &[
            req("register_no", Text),
            req("facility", Text),
            req("at", Time),
            opt("cell", Text),
        ],
    },
    Form {
        ty: "release.record",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            req("reason", Select(RELEASE_REASON)),
            req("authority", Text),
            req("reference", Text),
        ],
    },
    Form {
        ty: "death.record",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            req("place", Text),
            req("circumstances", LongText),
            opt("cause", Text),
        ],
    },
    Form {
        ty: "escape.record",
        fields: &[req("register_no", Text), req("at", Time)],
    },
    Form {
        ty: "court_order.record",
        fields: &[
            req("order", Text),
            req("court", Text),
            req("case", Text),
            req("kind", Select(ORDER_KIND)),
            req("issued_at", Time),
            opt("until", Time),
            opt("applies_to.register_nos", List),
            opt("applies_to.legal_basis_reference", Text),
        ],
    },
    Form {
        ty: "court_order.lift",
        fields: &[req("order", Text), req("at", Time)],
    },
    Form {
        ty: "agreement.record",
        fields: &[
            req("agreement", Text),
            req("parties", List),
            req("from", Date),
            req("until", Date),
            opt("price.amount", Num),
            opt("price.currency", Text),
            opt("price.per", Select(PRICE_PER)),
        ],
    },
    Form {
        ty: "exercise.record",
        fields: &[
            req("at", Time),
            req("until", Time),
            req("outdoors", Bool { always: true }),
            opt("cells", List),
            opt("unit", Text),
            opt("register_nos", List),
        ],
    },
    Form {
        ty: "contact.record",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            req("kind", Select(CONTACT_KIND)),
        ],
    },
    Form {
        ty: "notification.record",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            req("to", Select(NOTIFY_TO)),
            req("about", Select(NOTIFY_ABOUT)),
            opt("declined_by_person", Bool { always: false }),
        ],
    },
    Form {
        ty: "health.exam",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            req("injuries_observed", Bool { always: true }),
        ],
    },
    Form {
        ty: "health.request",
        fields: &[
            req("request", Text),
            req("register_no", Text),
            req("at", Time),
        ],
    },
    Form {
        ty: "health.seen",
        fields: &[req("request", Text), req("at", Time)],
    },
    Form {
        ty: "separation.start",
        fields: &[
            req("register_no", Text),
            req("at", Time),
            req("reason", LongText),
            req("authorized_by", Text),
        ],
    },
    Form {
        ty: "separation.end",
        fields: &[req("register_no", Text), req("at", Time)],
    },
    Form {
        ty: "incident.record",
        fields: &[
            req("incident", Text),
            req("kind", Select(INCIDENT_KIND)),
            req("register_nos", List),
            req("at", Time),
            req("description", LongText),
            opt("referred_to", Text),
        ],
    },
    Form {
        ty: "count.record",
        fields: &[req("unit", Text), req("at", Time), req("counted", Int)],
    },
    Form {
        ty: "settings.record",
        fields: &[
            req("at", Time),
            opt("national_population", Int),
            opt("country", Text),
            opt("limits", Pairs),
        ],
    },
];

pub fn form(ty: &str) -> Option<&'static Form> {
    FORMS.iter().find(|f| f.ty == ty)
}

/// The catalogue key of a field's label: `field.` and the name, or `nested.` and the path
/// without indexes for a field inside an object (`contacts[0].name` → `nested.contacts.name`),
/// so that `to` and `to.facility` can both have a label.
pub fn label_key(path: &str) -> String {
    let path = strip_indexes(path);
    if path.contains('.') {
        format!("nested.{path}")
    } else {
        format!("field.{path}")
    }
}

fn strip_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut skip = false;
    for c in path.chars() {
        match c {
            '[' => skip = true,
            ']' => skip = false,
            c if !skip => out.push(c),
            _ => {}
        }
    }
    out
}

/// The group a field belongs to (`person`, `legal_basis`, `contacts`), if it is nested.
pub fn group_of(path: &str) -> Option<String> {
    path.split_once('.').map(|(g, _)| strip_indexes(g))
}

/// A path as object keys and array indexes.
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        for idx in rest.split('[') {
            if let Some(n) = idx.strip_suffix(']').and_then(|n| n.parse().ok()) {
                out.push(Seg::Index(n));
            }
        }
    }
    out
}

fn set_path(root: &mut Value, path: &str, value: Value) {
    let segs = segments(path);
    let mut cur = root;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match seg {
            Seg::Key(k) => {
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                let Value::Object(map) = cur else { return };
                if last {
                    map.insert((*k).to_owned(), value);
                    return;
                }
                cur = map.entry((*k).to_owned()).or_insert(Value::Null);
            }
            Seg::Index(n) => {
                if !cur.is_array() {
                    *cur = Value::Array(Vec::new());
                }
                let Value::Array(items) = cur else { return };
                while items.len() <= *n {
                    items.push(Value::Null);
                }
                if last {
                    items[*n] = value;
                    return;
                }
                cur = &mut items[*n];
            }
        }
    }
}

/// A time as the domain reads it: RFC 3339 as given; `YYYY-MM-DDTHH:MM[:SS]` (or with a
/// space) without an offset is read as UTC, as the form says.
fn time_value(s: &str) -> String {
    let s = s.replacen(' ', "T", 1);
    let has_offset = s.ends_with('Z')
        || s.ends_with('z')
        || s.get(19..).is_some_and(|tail| tail.contains(['+', '-']));
    match (has_offset, s.len()) {
        (false, 16) => format!("{s}:00Z"),
        (false, 19) => format!("{s}Z"),
        _ => s,
    }
}

/// The submitted values of a form, by field path (what the user typed, kept on a refusal).
pub type Values = Vec<(String, String)>;

pub fn value_of<'a>(values: &'a Values, path: &str) -> Option<&'a str> {
    values
        .iter()
        .rev()
        .find(|(k, _)| k == path)
        .map(|(_, v)| v.as_str())
}

/// The JSON command a submitted form stands for. Empty fields are left out (the domain says
/// which are required); numbers that do not parse are passed as text so the domain names the
/// field and the rule.
pub fn to_json(form: &Form, values: &Values) -> Value {
    let mut root = Value::Object(Map::new());
    set_path(&mut root, "type", Value::String(form.ty.to_owned()));
    for f in form.fields {
        let raw = value_of(values, f.path).unwrap_or("").trim();
        let v = match f.kind {
            Bool { always } => {
                let on = !raw.is_empty();
                if on || always {
                    Value::Bool(on)
                } else {
                    continue;
                }
            }
            _ if raw.is_empty() => continue,
            Text | LongText | Date | Select(_) => Value::String(raw.to_owned()),
            Time => Value::String(time_value(raw)),
            Int => raw
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(raw.to_owned())),
            Num => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(raw.to_owned())),
            List => Value::Array(
                raw.split([',', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
            Pairs => {
                let mut map = Map::new();
                for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let (k, v) = line.split_once('=').unwrap_or((line, ""));
                    let v = v.trim();
                    let n = v
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .unwrap_or_else(|| Value::String(v.to_owned()));
                    map.insert(k.trim().to_owned(), n);
                }
                Value::Object(map)
            }
        };
        set_path(&mut root, f.path, v);
    }
    root
}

/// The field a refusal belongs beside: the field its path names (or a list field it indexes
/// into), else the first field of the group it names (`to` → `to.facility`); `None` for the
/// whole command.
pub fn refused_field(form: &Form, refusal: &Refusal) -> Option<&'static str> {
    let r = refusal.field.as_str();
    if r.is_empty() {
        return None;
    }
    let exact = form
        .fields
        .iter()
        .filter(|f| {
            r == f.path
                || r.strip_prefix(f.path)
                    .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
        })
        .max_by_key(|f| f.path.len());
    exact
        .or_else(|| {
            form.fields.iter().find(|f| {
                f.path
                    .strip_prefix(r)
                    .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
            })
        })
        .map(|f| f.path)
}

/// One field as a template shows it.
pub struct FieldView {
    pub path: &'static str,
    /// The HTML id (`f-person-given_names`).
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    /// `text`, `number`, `textarea`, `checkbox`, `select`.
    pub control: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<(String, String, bool)>,
    pub required: bool,
    pub error: Option<String>,
    /// The `<datalist>` of the register's places that suggests values (facility codes, cell
    /// paths), typed or chosen, with or without JavaScript.
    pub list: Option<&'static str>,
}

/// The list of known values for a field: the facilities for a facility, the cells for a cell,
/// except where the command registers a new one.
fn list_of(ty: &str, path: &str) -> Option<&'static str> {
    match path {
        "facility" | "to.facility" if ty != "facility.register" => Some("dl-facilities"),
        "cell" if ty != "cell.register" => Some("dl-cells"),
        _ => None,
    }
}

pub struct GroupView {
    pub legend: Option<String>,
    pub fields: Vec<FieldView>,
}

/// The form's fields in groups, with their values and the refusal beside its field.
pub fn view(
    form: &Form,
    values: &Values,
    refusal: Option<(&Refusal, Option<&str>)>,
    tr: Tr,
) -> Vec<GroupView> {
    let mut groups: Vec<GroupView> = Vec::new();
    let mut current: Option<Option<String>> = None;
    for f in form.fields {
        let group = group_of(f.path);
        if current.as_ref() != Some(&group) {
            groups.push(GroupView {
                legend: group
                    .as_ref()
                    .map(|g| tr.t(&format!("group.{g}")).to_owned()),
                fields: Vec::new(),
            });
            current = Some(group);
        }
        let value = value_of(values, f.path).unwrap_or("").to_owned();
        let (control, hint) = match f.kind {
            Text | Date | Time | List => ("text", None),
            LongText | Pairs => ("textarea", None),
            Int | Num => ("number", None),
            Bool { .. } => ("checkbox", None),
            Select(_) => ("select", None),
        };
        let hint = hint.or(match f.kind {
            Time => Some(tr.t("hint.time").to_owned()),
            Date => Some(tr.t("hint.date").to_owned()),
            List => Some(tr.t("hint.list").to_owned()),
            Pairs => Some(tr.t("hint.pairs").to_owned()),
            _ => None,
        });
        let options = match f.kind {
            Select(opts) => opts
                .iter()
                .map(|o| ((*o).to_owned(), tr.dynamic("opt", o), value == *o))
                .collect(),
            _ => Vec::new(),
        };
        let error = refusal.and_then(|(r, field)| (field == Some(f.path)).then(|| describe(r, tr)));
        groups
            .last_mut()
            .map(|g| {
                g.fields.push(FieldView {
                    path: f.path,
                    id: format!("f-{}", f.path.replace(['.', '[', ']'], "-")),
                    label: tr.t(&label_key(f.path)).to_owned(),
                    hint,
                    control,
                    checked: matches!(f.kind, Bool { .. }) && !value.is_empty(),
                    value,
                    options,
                    required: f.required,
                    error,
                    list: list_of(form.ty, f.path),
                })
            })
            .unwrap_or(());
    }
    groups
}

/// A refusal as one line: the rule (from the catalogue), the domain's reason, and the record
/// it contradicts.
pub fn describe(r: &Refusal, tr: Tr) -> String {
    let mut s = format!("{}: {}", tr.dynamic("rule", r.rule), r.reason);
    if let Some(rec) = &r.record {
        s.push_str(&format!(" — {rec}"));
    }
    s
}

/// A time typed in a filter, read as [`to_json`] reads it.
pub fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    time_value(s.trim()).parse().ok()
}
