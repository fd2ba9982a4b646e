//! The overview pages: the dashboard (population now, its trend, occupancy, findings by
//! check, the latest movements) and the statistics page (charts with their data tables).
//! Both are served from the figures kept off the request path ([`crate::overview`]).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use habeas_domain::authz::{Action, permits};
use habeas_domain::checks::Finding;
use habeas_domain::{Event, View};
use habeas_store::{FileEvent, Population};

use super::pages::*;
use axum::http::StatusCode;
use serde::Deserialize;

use super::i18n::Tr;
use super::{Ctx, HtmlError, OrPage, Series, SignedIn, page};
use crate::AppState;
use crate::scope;

// --- dashboard --------------------------------------------------------------------------

struct UnitRow {
    unit: String,
    name: String,
    held: u64,
    places: u64,
    beds: u64,
    pct: String,
    class: &'static str,
}

struct FacilityRow {
    code: String,
    name: String,
    held: u64,
    capacity: u64,
    unplaced: u64,
    absent: u64,
    pct: String,
    class: &'static str,
    units: Vec<UnitRow>,
}

fn facility_rows(p: &Population) -> Vec<FacilityRow> {
    p.facilities
        .iter()
        .map(|f| FacilityRow {
            code: f.facility.clone(),
            name: f.name.clone(),
            held: f.held,
            capacity: f.official_capacity,
            unplaced: f.unplaced,
            absent: f.absent,
            pct: pct(f.held, f.official_capacity),
            class: occupancy_class(f.held, f.official_capacity, f.official_capacity),
            units: f
                .units
                .iter()
                .map(|u| UnitRow {
                    unit: u.unit.clone(),
                    name: u.name.clone().unwrap_or_default(),
                    held: u.held,
                    places: u.places,
                    beds: u.beds,
                    pct: pct(u.held, u.places),
                    class: occupancy_class(u.held, u.places, u.beds),
                })
                .collect(),
        })
        .collect()
}

struct CountRow {
    check: String,
    check_id: String,
    severity: String,
    severity_id: &'static str,
    count: usize,
}

fn finding_counts(findings: &[Finding], tr: Tr) -> Vec<CountRow> {
    let mut by: BTreeMap<(&'static str, &'static str), usize> = BTreeMap::new();
    for f in findings {
        *by.entry((severity_id(f.severity), f.check)).or_default() += 1;
    }
    let mut rows: Vec<CountRow> = by
        .into_iter()
        .map(|((sev, check), count)| CountRow {
            check: tr.dynamic("check", check),
            check_id: check.to_owned(),
            severity: tr.dynamic("severity", sev),
            severity_id: sev,
            count,
        })
        .collect();
    rows.sort_by(|a, b| {
        a.severity_id
            .cmp(b.severity_id)
            .then(b.count.cmp(&a.count))
            .then(a.check_id.cmp(&b.check_id))
    });
    rows
}

struct MovementRow {
    seq: u64,
    at: String,
    register_no: String,
    what: String,
    detail: String,
}

fn movement_rows(events: &[FileEvent], tr: Tr) -> Vec<MovementRow> {
    events
        .iter()
        .map(|e| MovementRow {
            seq: e.seq,
            at: when_opt(e.event.at()),
            register_no: e
                .event
                .register_no()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            what: tr.dynamic("event", e.event.type_name()),
            detail: movement_detail(&e.event),
        })
        .collect()
}

/// Where a movement went, in the vocabulary's own terms (codes and paths).
fn movement_detail(e: &Event) -> String {
    match e {
        Event::AdmissionRecorded(c) => c.facility.to_string(),
        Event::PlacementRecorded(c) => c.cell.to_string(),
        Event::AbsenceStarted(c) => c.destination.to_string(),
        Event::TransferDeparted(c) => c.to.to_string(),
        Event::TransferArrived(c) => c
            .cell
            .as_ref()
            .map_or_else(|| c.facility.to_string(), |x| x.to_string()),
        Event::DeathRecorded(c) => c.place.to_string(),
        Event::ReleaseRecorded(c) => c.reference.to_string(),
        _ => String::new(),
    }
}

/// A line chart with its data table: categories down, series across.
struct Chart {
    title: String,
    svg: String,
    series: Vec<String>,
    /// One row per category: the values of each series.
    rows: Vec<(String, Vec<String>)>,
}

impl Chart {
    fn new(title: String, categories: Vec<String>, series: Vec<Series>, bars: bool) -> Chart {
        let svg = if bars {
            super::bar_chart(&title, &categories, &series)
        } else {
            super::line_chart(&title, &categories, &series)
        };
        let rows = categories
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    c.clone(),
                    series
                        .iter()
                        .map(|s| s.values.get(i).map_or_else(String::new, |v| format!("{v}")))
                        .collect(),
                )
            })
            .collect();
        Chart {
            title,
            svg,
            series: series.into_iter().map(|s| s.label).collect(),
            rows,
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Ctx,
    total: u64,
    in_transit: u64,
    facilities: Vec<FacilityRow>,
    trend: Chart,
    findings: Option<Vec<CountRow>>,
    findings_total: usize,
    movements: Vec<MovementRow>,
    /// The trend in the audit view.
    as_recorded: bool,
    /// When the figures were computed.
    computed: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct ViewQuery {
    as_recorded: Option<String>,
}

impl ViewQuery {
    /// A ticked checkbox (`true`, `on`, `1`) asks for the audit view.
    pub(super) fn view(&self) -> View {
        View::from_as_recorded(
            non_empty(&self.as_recorded).is_some_and(|v| v != "false" && v != "0"),
        )
    }
}

/// The figures about now, or the page that says they are being computed (only before the
/// first ones exist, e.g. just after start-up on a national register).
pub(super) async fn overview_or_wait(
    state: &AppState,
    me: &SignedIn,
) -> Result<std::sync::Arc<crate::overview::Overview>, HtmlError> {
    match state.overview().await.or_page(me.lang)? {
        Some(o) => Ok(o),
        None => Err(HtmlError::new(
            me.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            me.tr().t("overview.computing"),
        )),
    }
}

/// The population series of the pages in `view`: the overview's when known now; the audit
/// view is read for the request.
async fn series_in(
    state: &AppState,
    me: &SignedIn,
    o: &crate::overview::Overview,
    view: View,
) -> Result<Vec<(String, Population)>, HtmlError> {
    match view {
        View::KnownNow => Ok(o.series.clone()),
        View::AsRecorded => state
            .read_current(move |store| crate::overview::population_series(store, view))
            .await
            .or_page(me.lang),
    }
}

/// "Figures of HH:MM" under a page served from figures computed earlier than now.
pub(super) fn computed_note(o: &crate::overview::Overview, tr: Tr) -> String {
    tr.tn(
        "overview.computed",
        &[&when(o.at), &format!("{:.1}", o.took.as_secs_f64())],
    )
}

pub(super) async fn dashboard(
    State(state): State<AppState>,
    me: SignedIn,
    Query(vq): Query<ViewQuery>,
) -> PageResult {
    me.require(Action::ReadPopulation)?;
    let tr = me.tr();
    let scope = me.user.facilities.clone();
    let view = vq.view();
    let o = overview_or_wait(&state, &me).await?;
    let now = scope::population(o.population.clone(), &scope);
    // The trend: every month end of the series (three years) and now; the audit view is read
    // for the request.
    let series = series_in(&state, &me, &o, view).await?;
    let skip = series
        .len()
        .saturating_sub(crate::overview::SERIES_MONTHS + 1);
    let over_time: Vec<(String, u64)> = series
        .into_iter()
        .skip(skip)
        .map(|(label, p)| (label, scope::population(p, &scope).total))
        .collect();
    // Counted from the shared list; copied only to apply a facility scope.
    let findings = permits(me.user.role, Action::ReadFindings).then(|| {
        if scope.is_empty() {
            finding_counts(&o.findings, tr)
        } else {
            finding_counts(&scope::findings(o.findings.as_ref().clone(), &scope), tr)
        }
    });
    let scope2 = scope.clone();
    let movements = state
        .read(move |store| {
            let movements = store.latest_movements(scope::read_limit(&scope2, 15))?;
            scope::person_events(store, &scope2, movements, 15)
        })
        .await
        .or_page(me.lang)?;
    let trend = Chart::new(
        tr.t("dashboard.trend").to_owned(),
        over_time.iter().map(|(l, _)| l.clone()).collect(),
        vec![Series {
            label: tr.t("dashboard.held").to_owned(),
            values: over_time.iter().map(|(_, n)| *n as f64).collect(),
        }],
        false,
    );
    let findings_total = findings
        .as_ref()
        .map_or(0, |rows| rows.iter().map(|r| r.count).sum());
    Ok(page(&DashboardPage {
        total: now.total,
        in_transit: now.in_transit,
        facilities: facility_rows(&now),
        trend,
        findings,
        findings_total,
        movements: movement_rows(&movements, tr),
        as_recorded: view == View::AsRecorded,
        computed: computed_note(&o, tr),
        c: me.ctx("/"),
    }))
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    c: Ctx,
    charts: Vec<Chart>,
    as_recorded: bool,
    computed: String,
}

pub(super) async fn statistics(
    State(state): State<AppState>,
    me: SignedIn,
    Query(vq): Query<ViewQuery>,
) -> PageResult {
    me.require(Action::ReadPopulation)?;
    let tr = me.tr();
    let view = vq.view();
    let scope = me.user.facilities.clone();
    let o = overview_or_wait(&state, &me).await?;
    let series = series_in(&state, &me, &o, view).await?;
    let points: Vec<(String, Population)> = series
        .into_iter()
        .map(|(label, p)| (label, scope::population(p, &scope)))
        .collect();
    let now = scope::population(o.population.clone(), &scope);
    let categories: Vec<String> = points.iter().map(|(l, _)| l.clone()).collect();
    let mut series = vec![Series {
        label: tr.t("stats.total").to_owned(),
        values: points.iter().map(|(_, p)| p.total as f64).collect(),
    }];
    for f in &now.facilities {
        series.push(Series {
            label: f.facility.clone(),
            values: points
                .iter()
                .map(|(_, p)| {
                    p.facilities
                        .iter()
                        .find(|x| x.facility == f.facility)
                        .map_or(0.0, |x| x.held as f64)
                })
                .collect(),
        });
    }
    let over_time = Chart::new(
        tr.t("stats.population").to_owned(),
        categories,
        series,
        false,
    );
    let occupancy = Chart::new(
        tr.t("stats.occupancy").to_owned(),
        now.facilities.iter().map(|f| f.facility.clone()).collect(),
        vec![
            Series {
                label: tr.t("stats.held").to_owned(),
                values: now.facilities.iter().map(|f| f.held as f64).collect(),
            },
            Series {
                label: tr.t("stats.capacity").to_owned(),
                values: now
                    .facilities
                    .iter()
                    .map(|f| f.official_capacity as f64)
                    .collect(),
            },
            Series {
                label: tr.t("stats.beds").to_owned(),
                values: now
                    .facilities
                    .iter()
                    .map(|f| f.units.iter().map(|u| u.beds).sum::<u64>() as f64)
                    .collect(),
            },
        ],
        true,
    );
    Ok(page(&StatisticsPage {
        c: me.ctx("/statistics"),
        charts: vec![over_time, occupancy],
        as_recorded: view == View::AsRecorded,
        computed: computed_note(&o, tr),
    }))
}
