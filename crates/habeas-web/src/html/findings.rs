//! The findings page: every open finding, counted by check and by facility, filtered by the
//! URL, paged (most severe first, then the longest-standing), and downloadable whole as CSV
//! and JSON with the same filters. Findings about now come from the figures kept off the
//! request path ([`crate::overview`]); those at a past time are evaluated for the request and
//! the last such answer is kept for its next pages.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use habeas_domain::FacilityCode;
use habeas_domain::View;
use habeas_domain::authz::Action;
use habeas_domain::checks::{CHECKS, Finding};
use habeas_store::FindingsFilter;
use jiff::Timestamp;
use serde::Deserialize;

use super::dashboard::{ViewQuery, computed_note, overview_or_wait};
use super::i18n::Tr;
use super::pages::*;
use super::{Ctx, HtmlError, OrPage, SignedIn, page};
use crate::AppState;
use crate::scope;

/// Findings on one page: a national register has over a hundred thousand.
pub(crate) const PAGE_SIZE: usize = 100;

#[derive(Deserialize, Default)]
pub(super) struct FindingsQuery {
    check: Option<String>,
    severity: Option<String>,
    facility: Option<String>,
    at: Option<String>,
    page: Option<String>,
    #[serde(flatten)]
    view: ViewQuery,
}

/// What the URL asks for, checked.
struct Selection {
    check: Option<String>,
    severity: Option<String>,
    facility: Option<String>,
    /// As typed, for the form and the links.
    at_text: String,
    at: Option<Timestamp>,
    view: View,
    page: usize,
    error: Option<String>,
}

fn select(q: &FindingsQuery, tr: Tr, now: Timestamp) -> Selection {
    let check = non_empty(&q.check).map(str::to_owned);
    let severity = non_empty(&q.severity).map(str::to_owned);
    let facility = non_empty(&q.facility).map(str::to_owned);
    let at_text = non_empty(&q.at).map(str::to_owned).unwrap_or_default();
    let mut error = None;
    if let Some(c) = &check
        && habeas_domain::checks::check_info(c).is_none()
    {
        error = Some(tr.t1("findings.bad_check", c));
    }
    if let Some(s) = &severity
        && s != "critical"
        && s != "warning"
    {
        error = Some(tr.t1("findings.bad_severity", s));
    }
    if let Some(f) = &facility
        && let Err(e) = FacilityCode::parse(f)
    {
        error = Some(format!("{}: {e}", tr.t("field.facility")));
    }
    let at = if at_text.is_empty() {
        None
    } else {
        let t = super::forms::parse_time(&at_text);
        match t {
            None => error = Some(tr.t1("findings.bad_at", &at_text)),
            // Findings about the future would be a forecast (as the CLI and API refuse).
            Some(t) if t > now => error = Some(tr.t1("findings.future_at", &at_text)),
            Some(_) => {}
        }
        t
    };
    let page = match non_empty(&q.page) {
        None => 1,
        Some(p) => match p.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                error = Some(tr.t1("findings.bad_page", p));
                1
            }
        },
    };
    Selection {
        check,
        severity,
        facility,
        at_text,
        at,
        view: q.view.view(),
        page,
        error,
    }
}

/// `s` as one component of a query string.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Selection {
    /// The query string of this selection with `check` and `facility` replaced (for the
    /// counts' links) and without the page.
    fn query_with(&self, check: Option<&str>, facility: Option<&str>) -> String {
        let mut parts: Vec<(&str, &str)> = Vec::new();
        if let Some(c) = check {
            parts.push(("check", c));
        }
        if let Some(s) = self.severity.as_deref() {
            parts.push(("severity", s));
        }
        if let Some(f) = facility {
            parts.push(("facility", f));
        }
        if !self.at_text.is_empty() {
            parts.push(("at", &self.at_text));
        }
        if self.view == View::AsRecorded {
            parts.push(("as_recorded", "true"));
        }
        parts
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn query(&self) -> String {
        self.query_with(self.check.as_deref(), self.facility.as_deref())
    }

    fn keeps(&self, f: &Finding, dimension: Dimension) -> bool {
        (dimension == Dimension::Check || self.check.as_deref().is_none_or(|c| f.check == c))
            && (dimension == Dimension::Facility
                || self
                    .facility
                    .as_deref()
                    .is_none_or(|x| f.facility.as_deref() == Some(x)))
            && self
                .severity
                .as_deref()
                .is_none_or(|s| severity_id(f.severity) == s)
    }
}

/// A filter left out of a count: counts per check ignore the check filter, and so on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dimension {
    None,
    Check,
    Facility,
}

/// Every open finding the user may see at the selection's time and view (no filter but the
/// scope), sorted, with the note of when they were computed.
async fn scoped_findings(
    state: &AppState,
    me: &SignedIn,
    sel: &Selection,
) -> Result<(Arc<Vec<Finding>>, Option<String>), HtmlError> {
    let scope = me.user.facilities.clone();
    let (all, note) = match sel.at {
        None => {
            let o = overview_or_wait(state, me).await?;
            (o.findings.clone(), Some(computed_note(&o, me.tr())))
        }
        Some(at) => (
            past_findings(state, at, sel.view).await.or_page(me.lang)?,
            None,
        ),
    };
    if scope.is_empty() {
        return Ok((all, note));
    }
    Ok((
        Arc::new(scope::findings(all.as_ref().clone(), &scope)),
        note,
    ))
}

/// The findings at a past time, evaluated for the request; the last answer is kept for its
/// next pages and downloads while the log has not grown.
async fn past_findings(
    state: &AppState,
    at: Timestamp,
    view: View,
) -> Result<Arc<Vec<Finding>>, crate::ApiError> {
    let kept = state.overview.past.clone();
    state
        .with_reader(move |store| {
            store.refresh()?;
            let size = store.log_size();
            if let Ok(k) = kept.lock()
                && let Some((s, t, v, f)) = k.as_ref()
                && (*s, *t, *v) == (size, at, view)
            {
                return Ok(f.clone());
            }
            let filter = FindingsFilter {
                view,
                ..FindingsFilter::default()
            };
            let mut f = store.findings(Some(at), &filter)?;
            crate::overview::sort_findings(&mut f);
            let f = Arc::new(f);
            if let Ok(mut k) = kept.lock() {
                *k = Some((size, at, view, f.clone()));
            }
            Ok(f)
        })
        .await
}

struct CountLink {
    label: String,
    code: String,
    count: usize,
    href: String,
}

fn counts_by(all: &[Finding], sel: &Selection, dimension: Dimension, tr: Tr) -> Vec<CountLink> {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for f in all.iter().filter(|f| sel.keeps(f, dimension)) {
        let key = match dimension {
            Dimension::Check => f.check.to_owned(),
            _ => f.facility.clone().unwrap_or_default(),
        };
        *by.entry(key).or_default() += 1;
    }
    let mut rows: Vec<CountLink> = by
        .into_iter()
        .map(|(code, count)| {
            let href = match dimension {
                Dimension::Check => sel.query_with(Some(&code), sel.facility.as_deref()),
                _ => sel.query_with(
                    sel.check.as_deref(),
                    Some(code.as_str()).filter(|c| !c.is_empty()),
                ),
            };
            CountLink {
                label: match dimension {
                    Dimension::Check => tr.dynamic("check", &code),
                    _ if code.is_empty() => tr.t("findings.register_wide").to_owned(),
                    _ => code.clone(),
                },
                code,
                count,
                href: format!("/findings?{href}"),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    rows
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    c: Ctx,
    checks: Vec<(String, String, bool)>,
    severities: Vec<(String, String, bool)>,
    facilities: Vec<(String, String, bool)>,
    at: String,
    as_recorded: bool,
    error: Option<String>,
    /// Findings matching every filter.
    total: usize,
    by_check: Vec<CountLink>,
    by_facility: Vec<CountLink>,
    findings: Vec<FindingRow>,
    /// `Page N of M`.
    page_label: String,
    /// `first–last of total` on this page.
    shown: String,
    /// Links to the previous and next page, if any.
    prev: Option<String>,
    next: Option<String>,
    /// The query string of the filters, for the downloads.
    query: String,
    computed: Option<String>,
}

pub(super) async fn findings(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<FindingsQuery>,
) -> PageResult {
    me.require(Action::ReadFindings)?;
    let tr = me.tr();
    let now = state.read(|store| Ok(store.now())).await.or_page(me.lang)?;
    let mut sel = select(&q, tr, now);
    let (all, computed) = if sel.error.is_none() {
        scoped_findings(&state, &me, &sel).await?
    } else {
        (Arc::new(Vec::new()), None)
    };
    let scope = me.user.facilities.clone();
    let facility_list = state
        .read_current(move |store| Ok(facility_options(store, &scope)))
        .await
        .or_page(me.lang)?;
    let matching: Vec<&Finding> = all
        .iter()
        .filter(|f| sel.keeps(f, Dimension::None))
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    if sel.page > pages {
        sel.error = Some(tr.t1("findings.bad_page", sel.page));
        sel.page = pages;
    }
    let from = (sel.page - 1) * PAGE_SIZE;
    let on_page: Vec<Finding> = matching
        .iter()
        .skip(from)
        .take(PAGE_SIZE)
        .map(|f| (*f).clone())
        .collect();
    let query = sel.query();
    let link = |p: usize| {
        if query.is_empty() {
            format!("/findings?page={p}")
        } else {
            format!("/findings?{query}&page={p}")
        }
    };
    let shown = if total == 0 {
        String::new()
    } else {
        tr.tn(
            "findings.shown",
            &[
                &tr.count(from + 1),
                &tr.count(from + on_page.len()),
                &tr.count(total),
            ],
        )
    };
    Ok(page(&FindingsPage {
        checks: CHECKS
            .iter()
            .map(|c| {
                (
                    c.id.to_owned(),
                    tr.dynamic("check", c.id),
                    sel.check.as_deref() == Some(c.id),
                )
            })
            .collect(),
        severities: ["critical", "warning"]
            .into_iter()
            .map(|s| {
                (
                    s.to_owned(),
                    tr.dynamic("severity", s),
                    sel.severity.as_deref() == Some(s),
                )
            })
            .collect(),
        facilities: facility_list
            .into_iter()
            .map(|(code, name)| {
                let chosen = sel.facility.as_deref() == Some(code.as_str());
                (code, name, chosen)
            })
            .collect(),
        as_recorded: sel.view == View::AsRecorded,
        by_check: counts_by(&all, &sel, Dimension::Check, tr),
        by_facility: counts_by(&all, &sel, Dimension::Facility, tr),
        findings: finding_rows(&on_page, tr),
        total,
        page_label: tr.tn("findings.page", &[&tr.count(sel.page), &tr.count(pages)]),
        shown,
        prev: (sel.page > 1).then(|| link(sel.page - 1)),
        next: (sel.page < pages).then(|| link(sel.page + 1)),
        query,
        computed,
        at: sel.at_text,
        error: sel.error,
        c: me.ctx("/findings"),
    }))
}

/// `/findings.csv` and `/findings.json`: every finding of the selection (no paging).
pub(super) async fn download(
    state: AppState,
    me: SignedIn,
    q: FindingsQuery,
    csv: bool,
) -> PageResult {
    me.require(Action::ReadFindings)?;
    let tr = me.tr();
    let now = state.read(|store| Ok(store.now())).await.or_page(me.lang)?;
    let sel = select(&q, tr, now);
    if let Some(e) = sel.error {
        return Err(HtmlError::new(
            me.lang,
            axum::http::StatusCode::BAD_REQUEST,
            e,
        ));
    }
    let (all, _) = scoped_findings(&state, &me, &sel).await?;
    let matching: Vec<&Finding> = all
        .iter()
        .filter(|f| sel.keeps(f, Dimension::None))
        .collect();
    // The register's clock was read once for this request, to check the selection.
    let at = sel.at.unwrap_or(now);
    let stamp = at.strftime("%Y%m%dT%H%M%SZ");
    if csv {
        let mut out =
            String::from("check,severity,subject_kind,subject,facility,since,detail,evidence\n");
        for f in &matching {
            let kind = serde_json::to_value(f.subject_kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let evidence: Vec<String> = f.evidence.iter().map(u64::to_string).collect();
            let fields = [
                f.check.to_owned(),
                severity_id(f.severity).to_owned(),
                kind,
                f.subject.clone(),
                f.facility.clone().unwrap_or_default(),
                f.since.to_string(),
                f.detail.clone(),
                evidence.join(" "),
            ];
            let line: Vec<String> = fields.iter().map(|s| csv_field(s)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"findings-{stamp}.csv\""),
                ),
            ],
            out,
        )
            .into_response())
    } else {
        let body = serde_json::json!({
            "at": at,
            "view": sel.view,
            "total": matching.len(),
            "findings": matching,
        });
        Ok((
            [
                (CONTENT_TYPE, "application/json".to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"findings-{stamp}.json\""),
                ),
            ],
            body.to_string(),
        )
            .into_response())
    }
}

pub(super) async fn download_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<FindingsQuery>,
) -> PageResult {
    download(state, me, q, true).await
}

pub(super) async fn download_json(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<FindingsQuery>,
) -> PageResult {
    download(state, me, q, false).await
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. A field
/// that a spreadsheet would read as a formula is prefixed with a quote mark.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
