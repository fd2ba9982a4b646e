//! What the dashboard, the statistics page and the findings page show about now: population
//! now and at each month end, and every open finding. Over a national register these take
//! seconds to compute, so they are computed off the request path, once per log size (and
//! again after a minute, since time alone opens findings), and pages are served from memory.
//!
//! A request that finds the figures out of date starts one refresh and waits for it at most
//! [`AppState::overview_wait`]; if the refresh is not done by then it is served the figures
//! it has (the page says when they were computed), or, before the first ones exist, a page
//! saying they are being computed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use habeas_domain::View;
use habeas_domain::checks::{Finding, Severity};
use habeas_store::{FindingsFilter, Population, Store};
use jiff::Timestamp;
use tokio::sync::watch;

use crate::{ApiError, AppState};

/// Months of population the pages chart (the statistics page; the dashboard shows the last
/// of them).
pub(crate) const SERIES_MONTHS: usize = 36;

/// Figures about now, for one log size.
pub(crate) struct Overview {
    pub log_size: u64,
    /// The register's clock when they were computed.
    pub at: Timestamp,
    /// How long computing them took.
    pub took: Duration,
    /// Population now, of every facility (scoped when shown).
    pub population: Population,
    /// Population at each month end (the register's months), then now: known now.
    pub series: Vec<(String, Population)>,
    /// Every finding open at `at`, most severe first, then longest-standing first.
    pub findings: Arc<Vec<Finding>>,
}

/// The latest [`Overview`] and whether a refresh is running.
pub(crate) struct OverviewCache {
    latest: watch::Sender<Option<Arc<Overview>>>,
    refreshing: AtomicBool,
    /// The findings page's last answer about a past time: (log size, time, view, findings).
    pub past: Arc<Mutex<Option<PastFindings>>>,
}

pub(crate) type PastFindings = (u64, Timestamp, View, Arc<Vec<Finding>>);

impl Default for OverviewCache {
    fn default() -> Self {
        OverviewCache {
            latest: watch::Sender::new(None),
            refreshing: AtomicBool::new(false),
            past: Arc::new(Mutex::new(None)),
        }
    }
}

/// Time alone opens findings (a limit runs out): figures older than this are refreshed.
const MAX_AGE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// Most severe first, then the longest-standing, then by check and subject: the order of
/// every list of findings the pages and downloads give.
pub(crate) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let rank = |s: Severity| match s {
            Severity::Critical => 0,
            Severity::Warning => 1,
        };
        rank(a.severity)
            .cmp(&rank(b.severity))
            .then(a.since.cmp(&b.since))
            .then(a.check.cmp(b.check))
            .then(a.subject.cmp(&b.subject))
    });
}

/// The register's month ends from `from`'s month to the month before `now`'s (at most `max`,
/// the latest), then `now` itself, labelled `YYYY-MM` (and now by its date).
pub(crate) fn month_ends(
    store: &Store,
    from: Timestamp,
    now: Timestamp,
    max: usize,
) -> Vec<(String, Timestamp)> {
    let tz = habeas_domain::zones::register_zone(store.state().facilities.values());
    let mut day = habeas_domain::zones::local_date(from, &tz).first_of_month();
    let this_month = habeas_domain::zones::local_date(now, &tz).first_of_month();
    let mut out = Vec::new();
    while day < this_month {
        let Ok(next) = day.checked_add(jiff::Span::new().months(1)) else {
            break;
        };
        let end = habeas_domain::zones::day_start(next, &tz)
            .checked_sub(jiff::SignedDuration::from_micros(1))
            .unwrap_or(now);
        out.push((format!("{:04}-{:02}", day.year(), day.month()), end));
        day = next;
    }
    let skip = out.len().saturating_sub(max);
    let mut out: Vec<_> = out.into_iter().skip(skip).collect();
    out.push((habeas_domain::zones::local_date(now, &tz).to_string(), now));
    out
}

/// The population series of the pages in `view`: month ends, then now.
pub(crate) fn population_series(
    store: &Store,
    view: View,
) -> Result<Vec<(String, Population)>, ApiError> {
    let now = store.now();
    let from = store.first_admission_at()?.unwrap_or(now);
    let ends = month_ends(store, from, now, SERIES_MONTHS);
    let times: Vec<Timestamp> = ends.iter().map(|(_, t)| *t).collect();
    let series = store.population_series(&times, view)?;
    Ok(ends.into_iter().map(|(l, _)| l).zip(series).collect())
}

fn compute(store: &mut Store) -> Result<Overview, ApiError> {
    let started = std::time::Instant::now();
    // `findings` takes its own snapshot; the state read beside it catches up first.
    store.refresh()?;
    let log_size = store.log_size();
    let at = store.now();
    let population = store.population(None, View::KnownNow)?;
    let series = population_series(store, View::KnownNow)?;
    let mut findings = store.findings(Some(at), &FindingsFilter::default())?;
    sort_findings(&mut findings);
    Ok(Overview {
        log_size,
        at,
        took: started.elapsed(),
        population,
        series,
        findings: Arc::new(findings),
    })
}

impl AppState {
    /// The figures about now: refreshed when the log has grown or they are over a minute
    /// old, waiting at most [`AppState::overview_wait`] for the refresh. `None` only before
    /// the first ones are computed.
    pub(crate) async fn overview(&self) -> Result<Option<Arc<Overview>>, ApiError> {
        let cache = self.overview.clone();
        let mut seen = cache.latest.subscribe();
        let current = seen.borrow_and_update().clone();
        let (size, now) = self
            .with_reader(|store| {
                store.refresh()?;
                Ok((store.log_size(), store.now()))
            })
            .await?;
        let fresh = current.as_ref().is_some_and(|o| {
            o.log_size == size && now >= o.at && now.duration_since(o.at) < MAX_AGE
        });
        if fresh {
            return Ok(current);
        }
        if !cache.refreshing.swap(true, Ordering::AcqRel) {
            let state = self.clone();
            tokio::spawn(async move {
                let result = state.with_reader(compute).await;
                // Cleared before the new figures are sent: a request that finds them out of
                // date from now on starts the next refresh rather than waiting for none.
                state.overview.refreshing.store(false, Ordering::Release);
                match result {
                    Ok(o) => {
                        state.overview.latest.send_replace(Some(Arc::new(o)));
                    }
                    Err(e) => eprintln!("habeas-web: computing the dashboard's figures: {e:?}"),
                }
            });
        }
        // Wait for this refresh (or one that was already running) to finish, up to the limit.
        let _ = tokio::time::timeout(self.overview_wait, seen.changed()).await;
        let latest = seen.borrow().clone();
        Ok(latest)
    }
}
