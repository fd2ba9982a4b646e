//! habeas-stats through its library API, over facts built by hand: suppression never lets a
//! small count of people through (and never hides a death), the months of a series are the
//! calendar months, and charts escape what they are given. The figures of a real register
//! are checked against a hand computation in `crates/habeas/tests/stats.rs`.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use habeas_domain::Status;
use habeas_domain::model::{LegalStatus, Sex};
use habeas_stats::svg::{Chart, Series, bar_chart, line_chart};
use habeas_stats::*;
use jiff::Timestamp;
use proptest::prelude::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn held(sex: u8, status: u8) -> HeldFact {
    HeldFact {
        status: if status == 0 {
            Status::InTransit
        } else {
            Status::InCustody
        },
        facility: (status != 0).then(|| "F1".into()),
        unit: None,
        cell: None,
        sex: match sex {
            0 => Some(Sex::Female),
            1 => Some(Sex::Male),
            _ => None,
        },
        date_of_birth: None,
        nationalities: Vec::new(),
        legal_status: if status == 2 {
            LegalStatus::Remand
        } else {
            LegalStatus::Sentenced
        },
        agreement: None,
        custodial_authority: None,
    }
}

fn facts(people: &[(u8, u8)], deaths: usize, admissions: usize) -> Facts {
    let at = t("2024-03-31T23:00:00Z");
    let mut movements = Vec::new();
    for i in 0..deaths {
        movements.push(Movement {
            at: t("2024-03-10T00:00:00Z"),
            kind: MovementKind::Death {
                cause: None,
                facility: None,
                referred_at: (i % 2 == 0).then(|| t("2024-03-11T00:00:00Z")),
            },
        });
    }
    for _ in 0..admissions {
        movements.push(Movement {
            at: t("2024-02-10T00:00:00Z"),
            kind: MovementKind::Admission,
        });
    }
    Facts {
        at,
        view: habeas_domain::View::KnownNow,
        zone: jiff::tz::TimeZone::UTC,
        series_from: series_start(at, 2),
        settings: None,
        facilities: Vec::new(),
        cells: Vec::new(),
        held: people.iter().map(|&(s, st)| held(s, st)).collect(),
        stays: Vec::new(),
        movements,
        agreements: Vec::new(),
        findings: Vec::new(),
    }
}

proptest! {
    /// Whatever the register holds, after suppression no count of people is from 1 to
    /// min − 1, no share is left beside a suppressed count, and deaths are untouched.
    #[test]
    fn suppression_hides_every_small_count_and_no_death(
        people in proptest::collection::vec((0u8..3, 0u8..3), 0..12),
        deaths in 0usize..4,
        admissions in 0usize..6,
        min in 2u64..6,
    ) {
        let mut s = compute(&facts(&people, deaths, admissions));
        let before = s.clone();
        s.suppress(Some(min));
        let small = |n: Option<u64>| n.is_some_and(|n| n > 0 && n < min);
        let n = &s.national;
        for c in [n.total, n.remand, n.female, n.sex_unknown, n.juvenile, n.age_unknown,
                  n.in_transit, n.held_for_other_authorities, n.convicted_unsentenced] {
            prop_assert!(!small(c));
        }
        prop_assert!(n.female.is_some() || n.female_pct.is_none());
        prop_assert!(n.remand.is_some() || n.remand_pct.is_none());
        prop_assert!(n.total.is_some() || n.rate_per_100k.is_none());
        for m in &s.months {
            for c in [m.population_at_end, m.admissions, m.releases, m.escapes,
                      m.transfers_internal, m.transfers_out_of_jurisdiction] {
                prop_assert!(!small(c));
            }
        }
        for (a, b) in s.months.iter().zip(&before.months) {
            prop_assert_eq!((a.deaths, a.deaths_referred), (b.deaths, b.deaths_referred));
        }
        prop_assert_eq!(&s.deaths_by_cause, &before.deaths_by_cause);
        // Every suppressed figure is listed, and only those.
        let listed = s.suppression.suppressed.len();
        let hidden = [
            (before.national.total, s.national.total),
            (before.national.female, s.national.female),
            (before.national.remand, s.national.remand),
        ]
        .iter()
        .filter(|(b, a)| b.is_some() && a.is_none())
        .count();
        prop_assert!(listed >= hidden);
    }
}

#[test]
fn a_series_is_calendar_months_ending_with_the_date() {
    let at = t("2024-03-31T23:00:00Z");
    let s = compute(&Facts {
        series_from: series_start(at, 35),
        ..facts(&[], 0, 0)
    });
    assert_eq!(s.months.len(), 36);
    assert_eq!(s.months[0].month, "2021-04");
    assert_eq!(s.months[0].end, t("2021-04-30T23:59:59.999999Z"));
    assert_eq!(s.months[10].end, t("2022-02-28T23:59:59.999999Z"));
    assert_eq!(s.months[35].month, "2024-03");
    assert_eq!(s.months[35].end, at);
    assert_eq!(
        end_of_day("2024-02-29".parse().unwrap()),
        t("2024-02-29T23:59:59.999999Z")
    );
}

#[test]
fn months_are_the_register_time_zone_s_calendar_months() {
    // In America/El_Salvador (UTC-6), 23:30 on 31 March is 05:30 UTC on 1 April: a person
    // admitted then is in March's month-end population, and the admission in March's count.
    let zone = habeas_domain::zones::zone("America/El_Salvador").unwrap();
    let at = t("2024-04-10T12:00:00Z");
    let admitted = t("2024-04-01T05:30:00Z");
    let mut f = facts(&[], 0, 0);
    f.at = at;
    f.zone = zone.clone();
    f.series_from = habeas_domain::zones::month_start("2024-03-01".parse().unwrap(), &zone);
    f.stays = vec![StayInterval {
        from: admitted,
        until: None,
    }];
    f.movements = vec![Movement {
        at: admitted,
        kind: MovementKind::Admission,
    }];
    let s = compute(&f);
    assert_eq!(s.time_zone, "America/El_Salvador");
    assert_eq!(s.months[0].month, "2024-03");
    // March ends at midnight local, 06:00 UTC on 1 April.
    assert_eq!(s.months[0].end, t("2024-04-01T05:59:59.999999Z"));
    assert_eq!(s.months[0].population_at_end, Some(1));
    assert_eq!(s.months[0].admissions, Some(1));
    assert_eq!(s.months[1].admissions, Some(0));
    // In UTC the same person belongs to April.
    f.zone = jiff::tz::TimeZone::UTC;
    f.series_from = t("2024-03-01T00:00:00Z");
    let s = compute(&f);
    assert_eq!(s.months[0].population_at_end, Some(0));
    assert_eq!(s.months[1].admissions, Some(1));
}

#[test]
fn no_suppression_without_a_threshold_and_zero_is_shown() {
    let mut s = compute(&facts(&[(0, 1)], 1, 0));
    s.suppress(None);
    assert_eq!(s.national.female, Some(1));
    s.suppress(Some(1));
    assert_eq!(
        s.suppression.min_count, None,
        "a threshold of 1 suppresses nothing"
    );
    s.suppress(Some(5));
    assert_eq!(s.national.female, None);
    assert_eq!(s.national.sex_unknown, Some(0), "zero is not suppressed");
    assert!(
        s.suppression
            .suppressed
            .contains(&"national.female".to_owned())
    );
}

#[test]
fn charts_escape_labels_and_leave_gaps_for_missing_values() {
    let x = vec!["<a>".to_owned(), "b&c".to_owned(), "d".to_owned()];
    let series = [Series {
        label: "\"quoted\" <script>".into(),
        values: vec![Some(1.0), None, Some(3.0)],
    }];
    let chart = Chart {
        id: "c1",
        title: "T <1>",
        description: "D & E",
        x_labels: &x,
        series: &series,
        y_label: "persons",
        reference: Some((2.0, "ref")),
    };
    for svg in [line_chart(&chart), bar_chart(&chart)] {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title id=\"c1-title\">T &lt;1&gt;</title>"));
        assert!(svg.contains("<desc id=\"c1-desc\">D &amp; E</desc>"));
        assert!(!svg.contains("<script") && !svg.contains("<a>"));
        assert!(svg.contains("&quot;quoted&quot; &lt;script&gt;"));
        assert!(svg.ends_with("</svg>"));
    }
    // The missing middle value splits the line in two (two points each side at most).
    let line = line_chart(&chart);
    assert_eq!(line.matches("<polyline").count(), 2);
    assert_eq!(
        bar_chart(&chart).matches("<rect x=").count(),
        2 + 1,
        "two bars and a legend key"
    );
}

#[test]
fn tables_give_the_same_figures_in_csv_and_json() {
    let mut s = compute(&facts(&[(0, 1), (1, 2), (1, 2)], 1, 3));
    s.suppress(Some(2));
    let tables = tables(&s);
    let summary = tables.iter().find(|t| t.id == "summary").unwrap();
    let csv = summary.to_csv();
    assert!(csv.starts_with("figure,value\r\ntotal,3\r\n"));
    assert!(
        csv.contains("\r\nfemale,\r\n"),
        "a suppressed count is empty in CSV"
    );
    let json = summary.to_json();
    let female = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["figure"] == "female")
        .unwrap();
    assert_eq!(female["value"], serde_json::Value::Null);
    let html = table_html(summary, Some(2));
    assert!(html.contains(
        "<th scope=\"row\">Women and girls <code>female</code></th><td class=\"n\">&lt;2</td>"
    ));
    assert!(html.contains("<th scope=\"row\">Women and girls, per 100 held <code>female_pct</code></th><td class=\"n\">suppressed</td>"));
}
