//! The static site `habeas publish` writes: HTML pages with SVG charts, a CSV and a JSON file
//! beside every table, the whole statistics as one JSON file, and a page of definitions and
//! sources. No scripts, no external assets: it works offline and can be posted as is.

use std::fmt::Write as _;

use crate::compute::{Statistics, date_label};
use crate::svg::{Chart, Series, bar_chart, escape, line_chart};
use crate::table::{CellValue, Table, tables};

/// What the site says about where its figures come from.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteInfo {
    /// The register's log origin (`example.org/habeas/national`).
    pub origin: String,
    /// The size of the log the figures were computed from.
    pub log_size: u64,
}

/// One file of the site: a path relative to the output folder, and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteFile {
    pub path: String,
    pub contents: String,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#111;line-height:1.45}\
nav a{margin-right:1rem}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}\
caption{text-align:left;font-weight:bold;padding:.3rem 0}th,td{border:1px solid #bbb;padding:.25rem .5rem}\
th{background:#eee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#333}.files{font-size:.9rem}\
dt{font-weight:bold;margin-top:.6rem}footer{margin-top:2rem;font-size:.85rem;color:#444}";

const PAGES: &[(&str, &str)] = &[
    ("index.html", "Overview"),
    ("facilities.html", "Facilities"),
    ("movements.html", "Movements"),
    ("deaths.html", "Deaths in custody"),
    ("agreements.html", "Held for other authorities"),
    ("checks.html", "Standards"),
    ("definitions.html", "Definitions and sources"),
];

/// A whole HTML page around `body`.
pub fn page(title: &str, current: &str, body: &str, info: &SiteInfo, at: &str) -> String {
    let mut nav = String::new();
    for (href, label) in PAGES {
        if *href == current {
            let _ = write!(nav, r#"<a href="{href}" aria-current="page">{label}</a>"#);
        } else {
            let _ = write!(nav, r#"<a href="{href}">{label}</a>"#);
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — custody statistics</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<p>Custody statistics of the register <code>{}</code> at {}</p>\n<nav aria-label=\"Pages\">{nav}</nav>\n</header>\n<main>\n<h1>{}</h1>\n{body}</main>\n<footer><p>Aggregates only: no personal data. Computed by habeas from the register's log of {} entries (origin <code>{}</code>); see <a href=\"definitions.html\">definitions and sources</a>.</p></footer>\n</body>\n</html>\n",
        escape(title),
        escape(&info.origin),
        escape(at),
        escape(title),
        info.log_size,
        escape(&info.origin),
    )
}

/// A table as HTML, with its caption, headers and links to its CSV and JSON files.
pub fn table_html(t: &Table, min_count: Option<u64>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<table id=\"{}\">\n<caption>{}</caption>\n<thead><tr>",
        t.id,
        escape(&t.caption)
    );
    for c in &t.columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(c.label));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, v) in row.iter().enumerate() {
            let shown = escape(&v.display(min_count));
            let class = if v.is_numeric() { " class=\"n\"" } else { "" };
            if i == 0 {
                // Figures are named in words; their key links them to the definitions.
                match crate::table::figure_label(&v.display(min_count)) {
                    Some(words) if t.id == "summary" => {
                        let _ = write!(
                            out,
                            "<th scope=\"row\">{} <code>{shown}</code></th>",
                            escape(words)
                        );
                    }
                    _ => {
                        let _ = write!(out, "<th scope=\"row\">{shown}</th>");
                    }
                }
            } else {
                let _ = write!(out, "<td{class}>{shown}</td>");
            }
        }
        out.push_str("</tr>\n");
    }
    let _ = write!(
        out,
        "</tbody>\n</table>\n<p class=\"files\">This table as <a href=\"{0}.csv\">CSV</a> or <a href=\"{0}.json\">JSON</a>.</p>\n",
        t.id
    );
    out
}

fn figure(svg: String, caption: &str) -> String {
    format!(
        "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
        escape(caption)
    )
}

/// A column of a table as chart values (suppressed or missing: `None`).
pub fn series(t: &Table, key: &str, label: &str) -> Series {
    Series {
        label: label.into(),
        values: t.column(key).into_iter().map(CellValue::as_f64).collect(),
    }
}

fn labels(t: &Table, key: &str) -> Vec<String> {
    t.column(key).into_iter().map(CellValue::csv).collect()
}

/// Every file of the site.
pub fn site(s: &Statistics, info: &SiteInfo) -> Vec<SiteFile> {
    let ts = tables(s);
    let min = s.suppression.min_count;
    let at = date_label(s.at);
    let get = |id: &str| ts.iter().find(|t| t.id == id);
    let mut files = Vec::new();
    for t in &ts {
        files.push(SiteFile {
            path: format!("{}.csv", t.id),
            contents: t.to_csv(),
        });
        files.push(SiteFile {
            path: format!("{}.json", t.id),
            contents: format!(
                "{}\n",
                serde_json::to_string_pretty(&t.to_json()).unwrap_or_default()
            ),
        });
    }
    files.push(SiteFile {
        path: "statistics.json".into(),
        contents: format!("{}\n", serde_json::to_string_pretty(s).unwrap_or_default()),
    });
    let suppression_note = match min {
        Some(m) => format!(
            "<p>Counts of people from 1 to {} are shown as <q>&lt;{m}</q> (figures derived from them as <q>suppressed</q>) and left empty in the CSV and <code>null</code> in the JSON files, with every figure that would reveal them; deaths are never suppressed.</p>\n",
            m - 1
        ),
        None => String::new(),
    };

    // Overview.
    if let (Some(summary), Some(months)) = (get("summary"), get("months")) {
        let x = labels(months, "month");
        let pop = [series(
            months,
            "population_at_end",
            "Population at month end",
        )];
        let mut body = String::new();
        body.push_str(&suppression_note);
        body.push_str(&table_html(summary, min));
        body.push_str(&figure(
            line_chart(&Chart {
                id: "population",
                title: "Population at the end of each month",
                description: "A line of the number of persons held at the end of each month of the series.",
                x_labels: &x,
                series: &pop,
                y_label: "persons",
                reference: Some((s.national.official_capacity as f64, "official capacity")),
            }),
            "Population at the end of each month, against the official capacity at the date (dashed).",
        ));
        files.push(SiteFile {
            path: "index.html".into(),
            contents: page("Overview", "index.html", &body, info, &at),
        });
    }
    if let Some(t) = get("facilities") {
        let x = labels(t, "facility");
        let occ = [series(t, "occupancy_pct", "Occupancy %")];
        let mut body = String::new();
        body.push_str(&suppression_note);
        body.push_str(&figure(
            bar_chart(&Chart {
                id: "occupancy",
                title: "Occupancy by facility",
                description: "Bars of each facility's population as a percentage of its official capacity.",
                x_labels: &x,
                series: &occ,
                y_label: "% of official capacity",
                reference: Some((100.0, "100 %")),
            }),
            "Population per 100 official places, by facility.",
        ));
        body.push_str(&table_html(t, min));
        files.push(SiteFile {
            path: "facilities.html".into(),
            contents: page("Facilities", "facilities.html", &body, info, &at),
        });
    }
    if let Some(t) = get("months") {
        let x = labels(t, "month");
        let moves = [
            series(t, "admissions", "Admissions"),
            series(t, "releases", "Releases"),
            series(t, "transfers_internal", "Transfers between facilities"),
            series(
                t,
                "transfers_out_of_jurisdiction",
                "Transfers out of the jurisdiction",
            ),
        ];
        let mut body = String::new();
        body.push_str(&suppression_note);
        body.push_str(&figure(
            line_chart(&Chart {
                id: "movements",
                title: "Movements per month",
                description: "Lines of admissions, releases, transfers between facilities and transfers out of the jurisdiction per month.",
                x_labels: &x,
                series: &moves,
                y_label: "persons",
                reference: None,
            }),
            "Admissions, releases and transfers per month.",
        ));
        body.push_str(&table_html(t, min));
        files.push(SiteFile {
            path: "movements.html".into(),
            contents: page("Movements", "movements.html", &body, info, &at),
        });
        let deaths = [
            series(t, "deaths", "Deaths"),
            series(t, "deaths_referred", "Referred to an independent authority"),
        ];
        let mut body = String::new();
        body.push_str(&figure(
            bar_chart(&Chart {
                id: "deaths",
                title: "Deaths in custody per month",
                description: "Bars of deaths in custody per month and of those referred to an independent authority.",
                x_labels: &x,
                series: &deaths,
                y_label: "deaths",
                reference: None,
            }),
            "Deaths in custody per month, and how many were referred to an independent authority (SMR 71).",
        ));
        if let Some(c) = get("deaths_by_cause") {
            body.push_str(&table_html(c, min));
        }
        files.push(SiteFile {
            path: "deaths.html".into(),
            contents: page("Deaths in custody", "deaths.html", &body, info, &at),
        });
    }
    if let Some(t) = get("agreements") {
        let mut body = String::new();
        body.push_str(&suppression_note);
        body.push_str("<p>Persons held on behalf of another authority under an agreement, the person-days held inside its term, and what the term cost per person-day.</p>\n");
        body.push_str(&table_html(t, min));
        files.push(SiteFile {
            path: "agreements.html".into(),
            contents: page(
                "Held for other authorities",
                "agreements.html",
                &body,
                info,
                &at,
            ),
        });
    }
    if let Some(t) = get("checks") {
        let x = labels(t, "check");
        let affected = [
            series(t, "persons_affected", "Persons affected"),
            series(
                t,
                "persons_in_affected_places",
                "Persons in affected places",
            ),
        ];
        let mut body = String::new();
        body.push_str(&suppression_note);
        body.push_str(&figure(
            bar_chart(&Chart {
                id: "checks",
                title: "Persons affected by each standard not kept",
                description: "Bars per check of the persons with an open finding and of the persons held in places with an open finding.",
                x_labels: &x,
                series: &affected,
                y_label: "persons",
                reference: None,
            }),
            "Persons affected at the date, by check.",
        ));
        body.push_str(&table_html(t, min));
        files.push(SiteFile {
            path: "checks.html".into(),
            contents: page("Standards", "checks.html", &body, info, &at),
        });
    }
    let mut body = String::new();
    body.push_str("<dl>\n");
    for (term, text) in crate::DEFINITIONS {
        let _ = writeln!(body, "<dt>{}</dt><dd>{}</dd>", escape(term), escape(text));
    }
    body.push_str("</dl>\n<h2>Sources</h2>\n<ul>\n");
    for source in crate::SOURCES {
        let _ = writeln!(body, "<li>{}</li>", escape(source));
    }
    body.push_str("</ul>\n");
    files.push(SiteFile {
        path: "definitions.html".into(),
        contents: page(
            "Definitions and sources",
            "definitions.html",
            &body,
            info,
            &at,
        ),
    });
    files
}
