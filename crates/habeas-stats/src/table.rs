//! The statistics as tables: one shape for the CSV and JSON files, the HTML tables and the
//! text output, so that every format shows the same figures.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::compute::Statistics;

/// One value of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    Int(u64),
    Num(f64),
    Text(String),
    /// Not applicable or not known (e.g. no national population recorded).
    Missing,
    /// Suppressed: a count of people below the publication threshold.
    Suppressed,
    /// Suppressed because it would reveal a suppressed count (a share, a rate…).
    SuppressedDerived,
}

impl CellValue {
    /// As in a CSV file: suppressed and missing values are empty.
    pub fn csv(&self) -> String {
        match self {
            CellValue::Int(n) => n.to_string(),
            CellValue::Num(x) => format_num(*x),
            CellValue::Text(s) => s.clone(),
            CellValue::Missing | CellValue::Suppressed | CellValue::SuppressedDerived => {
                String::new()
            }
        }
    }

    /// As people read it: `<5` for a suppressed count, `–` for a missing value.
    pub fn display(&self, min_count: Option<u64>) -> String {
        match self {
            CellValue::Suppressed => match min_count {
                Some(m) => format!("<{m}"),
                None => "suppressed".into(),
            },
            CellValue::SuppressedDerived => "suppressed".into(),
            CellValue::Missing => "–".into(),
            other => other.csv(),
        }
    }

    pub fn json(&self) -> Value {
        match self {
            CellValue::Int(n) => Value::from(*n),
            CellValue::Num(x) => {
                serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number)
            }
            CellValue::Text(s) => Value::String(s.clone()),
            CellValue::Missing | CellValue::Suppressed | CellValue::SuppressedDerived => {
                Value::Null
            }
        }
    }

    pub fn is_numeric(&self) -> bool {
        !matches!(self, CellValue::Text(_))
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            CellValue::Int(n) => Some(*n as f64),
            CellValue::Num(x) => Some(*x),
            _ => None,
        }
    }
}

/// Numbers without trailing zeros: 12.5, 3, 0.25.
pub fn format_num(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_owned() }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The CSV header and JSON key.
    pub key: &'static str,
    /// The header people read.
    pub label: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem of its CSV and JSON files (`facilities` → `facilities.csv`).
    pub id: &'static str,
    pub title: &'static str,
    pub caption: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<CellValue>>,
}

impl Table {
    /// RFC 4180 CSV with a header line; CRLF line ends.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(",")
                + "\r\n"
        };
        out.push_str(&line(
            self.columns.iter().map(|c| c.key.to_owned()).collect(),
        ));
        for row in &self.rows {
            out.push_str(&line(row.iter().map(CellValue::csv).collect()));
        }
        out
    }

    /// A JSON array with one object per row, keyed by the columns' keys.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    let mut m = Map::new();
                    for (c, v) in self.columns.iter().zip(row) {
                        m.insert(c.key.to_owned(), v.json());
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    }

    /// The values of one column, by key.
    pub fn column(&self, key: &str) -> Vec<&CellValue> {
        let Some(i) = self.columns.iter().position(|c| c.key == key) else {
            return Vec::new();
        };
        self.rows.iter().filter_map(|r| r.get(i)).collect()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

struct Builder<'a> {
    suppressed: &'a HashSet<&'a str>,
}

impl Builder<'_> {
    fn count(&self, path: &str, v: Option<u64>) -> CellValue {
        match v {
            Some(n) => CellValue::Int(n),
            None if self.suppressed.contains(path) => CellValue::Suppressed,
            None => CellValue::Missing,
        }
    }
    /// A figure derived from the count at `path` (suppressed with it).
    fn derived(&self, path: &str, v: Option<f64>) -> CellValue {
        match v {
            Some(x) => CellValue::Num(x),
            None if self.suppressed.contains(path) => CellValue::SuppressedDerived,
            None => CellValue::Missing,
        }
    }
}

fn int(n: u64) -> CellValue {
    CellValue::Int(n)
}
fn num(v: Option<f64>) -> CellValue {
    v.map_or(CellValue::Missing, CellValue::Num)
}
fn text(s: impl Into<String>) -> CellValue {
    CellValue::Text(s.into())
}
/// The words for a figure of the summary table, whose rows are named by their JSON key (the
/// key stays in CSV and JSON, and next to the words on the pages).
pub fn figure_label(key: &str) -> Option<&'static str> {
    Some(match key {
        "total" => "Persons held",
        "national_population" => "National population",
        "rate_per_100k" => "Persons held per 100,000 of the national population",
        "remand" => "On remand (pre-trial)",
        "remand_pct" => "On remand, per 100 held",
        "convicted_unsentenced" => "Convicted, not yet sentenced",
        "female" => "Women and girls",
        "female_pct" => "Women and girls, per 100 held",
        "sex_unknown" => "Sex not recorded",
        "juvenile" => "Under 18",
        "juvenile_pct" => "Under 18, per 100 held",
        "age_unknown" => "Age not recorded",
        "foreign" => "Foreign nationals",
        "foreign_pct" => "Foreign nationals, per 100 held",
        "nationality_unknown" => "Nationality not recorded",
        "held_for_other_authorities" => {
            "Held for another authority (agreements, custodial authorities)"
        }
        "in_transit" => "In transit between facilities",
        "establishments" => "Establishments",
        "official_capacity" => "Official capacity (places)",
        "occupancy_pct" => "Occupancy, per 100 places",
        _ => return None,
    })
}

fn col(key: &'static str, label: &'static str) -> Column {
    Column { key, label }
}

/// Every table of the statistics, in the order the site shows them.
pub fn tables(s: &Statistics) -> Vec<Table> {
    let set: HashSet<&str> = s
        .suppression
        .suppressed
        .iter()
        .map(String::as_str)
        .collect();
    let b = Builder { suppressed: &set };
    let at = crate::compute::date_label(s.at);
    let n = &s.national;
    let summary = Table {
        id: "summary",
        title: "Prison population",
        caption: format!("Prison population at {at} (World Prison Brief fields)"),
        columns: vec![col("figure", "Figure"), col("value", "Value")],
        rows: vec![
            vec![text("total"), b.count("national.total", n.total)],
            vec![
                text("national_population"),
                n.national_population.map_or(CellValue::Missing, int),
            ],
            vec![
                text("rate_per_100k"),
                b.derived("national.total", n.rate_per_100k),
            ],
            vec![text("remand"), b.count("national.remand", n.remand)],
            vec![
                text("remand_pct"),
                b.derived("national.remand", n.remand_pct),
            ],
            vec![
                text("convicted_unsentenced"),
                b.count("national.convicted_unsentenced", n.convicted_unsentenced),
            ],
            vec![text("female"), b.count("national.female", n.female)],
            vec![
                text("female_pct"),
                b.derived("national.female", n.female_pct),
            ],
            vec![
                text("sex_unknown"),
                b.count("national.sex_unknown", n.sex_unknown),
            ],
            vec![text("juvenile"), b.count("national.juvenile", n.juvenile)],
            vec![
                text("juvenile_pct"),
                b.derived("national.juvenile", n.juvenile_pct),
            ],
            vec![
                text("age_unknown"),
                b.count("national.age_unknown", n.age_unknown),
            ],
            vec![text("foreign"), b.count("national.foreign", n.foreign)],
            vec![
                text("foreign_pct"),
                b.derived("national.foreign", n.foreign_pct),
            ],
            vec![
                text("nationality_unknown"),
                b.count("national.nationality_unknown", n.nationality_unknown),
            ],
            vec![
                text("held_for_other_authorities"),
                b.count(
                    "national.held_for_other_authorities",
                    n.held_for_other_authorities,
                ),
            ],
            vec![
                text("in_transit"),
                b.count("national.in_transit", n.in_transit),
            ],
            vec![text("establishments"), int(n.establishments)],
            vec![text("official_capacity"), int(n.official_capacity)],
            vec![text("occupancy_pct"), num(n.occupancy_pct)],
        ],
    };
    let facilities = Table {
        id: "facilities",
        title: "Facilities",
        caption: format!("Population, capacity and living space per facility at {at}"),
        columns: vec![
            col("facility", "Facility"),
            col("name", "Name"),
            col("population", "Population"),
            col("in_cells", "In cells"),
            col("official_capacity", "Official capacity"),
            col("occupancy_pct", "Occupancy %"),
            col("cells", "Cells"),
            col("places", "Places"),
            col("beds", "Beds"),
            col("persons_per_bed", "Persons per bed"),
            col("area_m2", "Cell area m²"),
            col("m2_per_person", "m² per person"),
        ],
        rows: s
            .facilities
            .iter()
            .map(|f| {
                let p = format!("facilities[{}]", f.facility);
                let pop = format!("{p}.population");
                let cells = format!("{p}.in_cells");
                vec![
                    text(&f.facility),
                    text(&f.name),
                    b.count(&pop, f.population),
                    b.count(&cells, f.in_cells),
                    int(f.official_capacity),
                    b.derived(&pop, f.occupancy_pct),
                    int(f.cells),
                    int(f.places),
                    int(f.beds),
                    b.derived(&cells, f.persons_per_bed),
                    num(f.area_m2),
                    b.derived(&cells, f.m2_per_person),
                ]
            })
            .collect(),
    };
    let months = Table {
        id: "months",
        title: "Movements per month",
        caption: format!(
            "Population at the end of each month and movements during it, {} to {}",
            s.series.from, s.series.to
        ),
        columns: vec![
            col("month", "Month"),
            col("population_at_end", "Population at month end"),
            col("admissions", "Admissions"),
            col("releases", "Releases"),
            col("escapes", "Escapes"),
            col("transfers_internal", "Transfers between facilities"),
            col(
                "transfers_out_of_jurisdiction",
                "Transfers out of the jurisdiction",
            ),
            col("deaths", "Deaths"),
            col(
                "deaths_referred",
                "Deaths referred to an independent authority",
            ),
            col("deaths_referred_pct", "Deaths referred %"),
        ],
        rows: s
            .months
            .iter()
            .map(|m| {
                let p = format!("months[{}]", m.month);
                vec![
                    text(&m.month),
                    b.count(&format!("{p}.population_at_end"), m.population_at_end),
                    b.count(&format!("{p}.admissions"), m.admissions),
                    b.count(&format!("{p}.releases"), m.releases),
                    b.count(&format!("{p}.escapes"), m.escapes),
                    b.count(&format!("{p}.transfers_internal"), m.transfers_internal),
                    b.count(
                        &format!("{p}.transfers_out_of_jurisdiction"),
                        m.transfers_out_of_jurisdiction,
                    ),
                    int(m.deaths),
                    int(m.deaths_referred),
                    num(m.deaths_referred_pct),
                ]
            })
            .collect(),
    };
    let deaths = Table {
        id: "deaths_by_cause",
        title: "Deaths in custody by cause",
        caption: format!(
            "Deaths in custody by recorded cause, {} to {}, and how many were referred to an independent authority",
            s.series.from, s.series.to
        ),
        columns: vec![
            col("cause", "Cause"),
            col("deaths", "Deaths"),
            col("referred", "Referred"),
            col("referred_pct", "Referred %"),
        ],
        rows: s
            .deaths_by_cause
            .iter()
            .map(|c| {
                vec![
                    text(&c.cause),
                    int(c.deaths),
                    int(c.referred),
                    num(c.referred_pct),
                ]
            })
            .collect(),
    };
    let agreements = Table {
        id: "agreements",
        title: "Persons held for other authorities",
        caption: format!("Agreements to hold persons for another authority, at {at}"),
        columns: vec![
            col("agreement", "Agreement"),
            col("parties", "Parties"),
            col("from", "From"),
            col("until", "Until"),
            col("people_held", "Held at the date"),
            col("people_total", "Admitted under it"),
            col("person_days", "Person-days"),
            col("price_amount", "Price"),
            col("price_per", "Price per"),
            col("currency", "Currency"),
            col("cost_to_date", "Cost to date"),
            col("price_per_person_day", "Price per person-day"),
        ],
        rows: s
            .agreements
            .iter()
            .map(|a| {
                let p = format!("agreements[{}]", a.agreement);
                let total = format!("{p}.people_total");
                vec![
                    text(&a.agreement),
                    text(a.parties.join("; ")),
                    text(a.from.to_string()),
                    text(a.until.to_string()),
                    b.count(&format!("{p}.people_held"), a.people_held),
                    b.count(&total, a.people_total),
                    b.derived(&total, a.person_days),
                    num(a.price_amount),
                    a.price_per.clone().map_or(CellValue::Missing, text),
                    a.currency.clone().map_or(CellValue::Missing, text),
                    b.derived(&total, a.cost_to_date),
                    b.derived(&total, a.price_per_person_day),
                ]
            })
            .collect(),
    };
    let checks = Table {
        id: "checks",
        title: "Standards not kept",
        caption: format!(
            "For each check of the standards, who and what was affected at {at}, and for how long"
        ),
        columns: vec![
            col("check", "Check"),
            col("source", "Source"),
            col("severity", "Severity"),
            col("open_findings", "Open findings"),
            col("persons_affected", "Persons affected"),
            col("person_days", "Person-days affected"),
            col("places_affected", "Places affected"),
            col("place_days", "Place-days affected"),
            col("persons_in_affected_places", "Persons in affected places"),
            col("other_findings", "Other findings"),
        ],
        rows: s
            .checks
            .iter()
            .map(|c| {
                let p = format!("checks[{}]", c.check);
                let persons = format!("{p}.persons_affected");
                vec![
                    text(c.check),
                    text(c.source),
                    text(c.severity),
                    int(c.open_findings),
                    b.count(&persons, c.persons_affected),
                    b.derived(&persons, c.person_days),
                    int(c.places_affected),
                    CellValue::Num(c.place_days),
                    b.count(
                        &format!("{p}.persons_in_affected_places"),
                        c.persons_in_affected_places,
                    ),
                    int(c.other_findings),
                ]
            })
            .collect(),
    };
    vec![summary, facilities, months, deaths, agreements, checks]
}
