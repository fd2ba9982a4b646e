//! The pages and their handlers. Each gathers its data in one call to the store (on the
//! blocking pool), authorizes through `auth::require` exactly as the API does, and renders a
//! template.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use habeas_domain::authz::{Action, CommandClass, permits};
use habeas_domain::checks::{Finding, Severity, SubjectKind};
use habeas_domain::{Event, FacilityCode, RegisterNo, Submission, Text, View};
use habeas_store::Store;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::forms::{self, GroupView, Values};
use super::i18n::{LANG_COOKIE, Lang, Tr};
use super::{Ctx, HtmlError, OrPage, RequestLang, SignedIn, local_path, page};
use crate::locate::ClientAddr;
use crate::scope;
use crate::session::{COOKIE_NAME, SESSION_LIFETIME, session_cookie};
use crate::{ApiError, AppState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(super::dashboard::dashboard))
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/language", post(language))
        .route("/facilities/{code}", get(facility))
        .route("/cells", get(cell))
        .route("/people/{register_no}", get(person))
        .route("/receipt/{seq}", get(receipt))
        .route("/record", get(record_index))
        .route("/record/{ty}", get(record_form).post(record_submit))
        .route("/search", get(search))
        .route("/findings", get(super::findings::findings))
        .route("/findings.csv", get(super::findings::download_csv))
        .route("/findings.json", get(super::findings::download_json))
        .route("/statistics", get(super::dashboard::statistics))
        .route("/transparency", get(transparency))
        .route("/access-log", get(access_log))
}

pub(super) type PageResult = Result<Response, HtmlError>;

/// A time as the pages show it (UTC, to the minute).
pub(crate) fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

pub(super) fn when_opt(t: Option<Timestamp>) -> String {
    t.map(when).unwrap_or_default()
}

pub(super) fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "—".into()
    } else {
        format!("{:.0} %", (n as f64) * 100.0 / (d as f64))
    }
}

/// How full a place is against its places and beds, as a CSS class.
pub(super) fn occupancy_class(held: u64, places: u64, beds: u64) -> &'static str {
    if held == 0 {
        "occ-empty"
    } else if held > places {
        "occ-over"
    } else if held > beds {
        "occ-beds"
    } else {
        "occ-ok"
    }
}

// --- sign-in ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    c: Ctx,
    next: String,
    name: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn sign_in_form(RequestLang(lang): RequestLang, Query(q): Query<NextQuery>) -> Response {
    page(&SignInPage {
        c: Ctx::new(lang, None, String::new(), "sign-in"),
        next: local_path(q.next.as_deref()),
        name: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct SignInForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// The same sign-in as `POST /login` (same limits, same session), from a form.
async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    RequestLang(lang): RequestLang,
    Form(form): Form<SignInForm>,
) -> PageResult {
    let tr = Tr::new(lang);
    let next = local_path(form.next.as_deref());
    let again = |status: StatusCode, error: &str, name: String| {
        (
            status,
            page(&SignInPage {
                c: Ctx::new(lang, None, String::new(), "sign-in"),
                next: next.clone(),
                name,
                error: Some(error.to_owned()),
            }),
        )
            .into_response()
    };
    let id = match crate::session::sign_in(&state, form.name.clone(), form.password, &client)
        .await
        .or_page(lang)?
    {
        crate::session::SignIn::Opened(_, id, _) => id,
        crate::session::SignIn::Limited(_) => {
            return Ok(again(
                StatusCode::TOO_MANY_REQUESTS,
                tr.t("sign_in.too_many"),
                form.name,
            ));
        }
        crate::session::SignIn::Wrong => {
            return Ok(again(
                StatusCode::UNAUTHORIZED,
                tr.t("sign_in.wrong"),
                form.name,
            ));
        }
    };
    let cookie = format!(
        "{COOKIE_NAME}={id}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn sign_out(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    me.check_csrf(form.csrf.as_deref())?;
    if let Some(id) = session_cookie(&headers) {
        state
            .with_store(move |store| Ok(store.end_session(&id)?))
            .await
            .or_page(me.lang)?;
    }
    let clear = format!("{COOKIE_NAME}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(SET_COOKIE, clear)], Redirect::to("/sign-in")).into_response())
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    next: Option<String>,
    csrf: Option<String>,
}

/// The language a user chooses is kept in a cookie for a year: it applies before signing in
/// too, and needs no account change (see README).
async fn language(
    State(state): State<AppState>,
    RequestLang(current): RequestLang,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> PageResult {
    let Some(lang) = Lang::parse(&form.lang) else {
        return Err(HtmlError::new(
            current,
            StatusCode::BAD_REQUEST,
            Tr::new(current).t1("error.unknown_language", &form.lang),
        ));
    };
    // With a session, the form must carry its CSRF token like every other.
    if let Some(id) = session_cookie(&headers) {
        let session = state
            .with_store(move |store| Ok(store.session_user(&id)?))
            .await
            .or_page(current)?;
        if let Some((user, csrf)) = session {
            SignedIn {
                user,
                csrf,
                lang: current,
            }
            .check_csrf(form.csrf.as_deref())?;
        }
    }
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.tag()
    );
    // Back to the page the switch was on (the form is in every page's header).
    let back = form.next.clone().or_else(|| {
        headers
            .get(axum::http::header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
            .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
    });
    Ok((
        [(SET_COOKIE, cookie)],
        Redirect::to(&local_path(back.as_deref())),
    )
        .into_response())
}

pub(super) fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(super) fn facility_options(store: &Store, scope: &[FacilityCode]) -> Vec<(String, String)> {
    store
        .state()
        .facilities
        .values()
        .filter(|f| scope::covers(scope, Some(f.facility.as_str())))
        .map(|f| (f.facility.to_string(), f.name.to_string()))
        .collect()
}

pub(super) fn severity_id(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
    }
}

// --- facility grid ----------------------------------------------------------------------

struct CellView {
    path: String,
    code: String,
    held: u64,
    places: u64,
    beds: u64,
    class: &'static str,
    status: String,
}

struct UnitGrid {
    path: String,
    name: String,
    held: u64,
    places: u64,
    beds: u64,
    cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "facility.html")]
struct FacilityPage {
    c: Ctx,
    code: String,
    name: String,
    authority: String,
    capacity: u64,
    held: u64,
    unplaced: u64,
    absent: u64,
    units: Vec<UnitGrid>,
}

fn cell_status(tr: Tr, held: u64, places: u64, beds: u64) -> String {
    match occupancy_class(held, places, beds) {
        "occ-empty" => tr.t("grid.empty"),
        "occ-over" => tr.t("grid.over_places"),
        "occ-beds" => tr.t("grid.over_beds"),
        _ => tr.t("grid.within"),
    }
    .to_owned()
}

async fn facility(
    State(state): State<AppState>,
    me: SignedIn,
    Path(code): Path<String>,
) -> PageResult {
    me.require(Action::ReadPopulation)?;
    let tr = me.tr();
    let lang = me.lang;
    let code = FacilityCode::parse(&code)
        .map_err(|e| HtmlError::new(lang, StatusCode::BAD_REQUEST, format!("facility: {e}")))?;
    if !scope::covers(&me.user.facilities, Some(code.as_str())) {
        return Err(HtmlError::new(
            lang,
            StatusCode::FORBIDDEN,
            tr.t("error.outside_scope"),
        ));
    }
    let page_data = state
        .read_current(move |store| {
            let st = store.state();
            let Some(f) = st.facilities.get(&code) else {
                return Err(ApiError::not_found(format!("no facility {code}")));
            };
            let occupancy = store.cell_occupancy(code.as_str())?;
            let pop = store.population(None, View::KnownNow)?;
            let fp = pop.facilities.iter().find(|p| p.facility == code.as_str());
            let mut units = Vec::new();
            for (path, unit) in st.units.iter().filter(|(p, _)| p.facility == code) {
                let mut cells = Vec::new();
                for cell in st.cells.values().filter(|c| c.cell.unit_path() == *path) {
                    let key = cell.cell.to_string();
                    let held = occupancy.get(&key).copied().unwrap_or(0);
                    let (places, beds) = (u64::from(cell.places), u64::from(cell.beds));
                    cells.push(CellView {
                        code: key.rsplit('/').next().unwrap_or(&key).to_owned(),
                        path: key,
                        held,
                        places,
                        beds,
                        class: occupancy_class(held, places, beds),
                        status: cell_status(tr, held, places, beds),
                    });
                }
                units.push(UnitGrid {
                    path: path.to_string(),
                    name: unit.name.to_string(),
                    held: cells.iter().map(|c| c.held).sum(),
                    places: cells.iter().map(|c| c.places).sum(),
                    beds: cells.iter().map(|c| c.beds).sum(),
                    cells,
                });
            }
            Ok(FacilityPage {
                c: Ctx::new(lang, None, String::new(), ""),
                code: code.to_string(),
                name: f.name.to_string(),
                authority: f.authority.to_string(),
                capacity: u64::from(f.official_capacity),
                held: fp.map_or(0, |p| p.held),
                unplaced: fp.map_or(0, |p| p.unplaced),
                absent: fp.map_or(0, |p| p.absent),
                units,
            })
        })
        .await
        .or_page(lang)?;
    Ok(page(&FacilityPage {
        c: me.ctx("/"),
        ..page_data
    }))
}

#[derive(Deserialize)]
struct CellQuery {
    path: String,
}

struct PersonRow {
    register_no: String,
    name: String,
    date_of_birth: String,
    status: String,
    facility: String,
    cell: String,
}

fn person_rows(hits: Vec<habeas_store::PersonHit>, tr: Tr) -> Vec<PersonRow> {
    hits.into_iter()
        .map(|h| PersonRow {
            name: format!(
                "{}, {}",
                h.family_names.unwrap_or_default(),
                h.given_names.unwrap_or_default()
            ),
            register_no: h.register_no,
            date_of_birth: h.date_of_birth.unwrap_or_default(),
            status: tr.dynamic("status", &h.status),
            facility: h.facility.unwrap_or_default(),
            cell: h.cell.unwrap_or_default(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "cell.html")]
struct CellPage {
    c: Ctx,
    path: String,
    facility: String,
    places: u64,
    beds: u64,
    people: Vec<PersonRow>,
}

async fn cell(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<CellQuery>,
) -> PageResult {
    me.require(Action::ReadPerson)?;
    let lang = me.lang;
    let tr = me.tr();
    let path = habeas_domain::CellPath::parse(&q.path)
        .map_err(|e| HtmlError::new(lang, StatusCode::BAD_REQUEST, format!("cell: {e}")))?;
    if !scope::covers(&me.user.facilities, Some(path.facility.as_str())) {
        return Err(HtmlError::new(
            lang,
            StatusCode::FORBIDDEN,
            tr.t("error.outside_scope"),
        ));
    }
    let access = state.access.clone();
    let name = me.user.name.clone();
    let scope = me.user.facilities.clone();
    let (places, beds, hits) = state
        .read_current(move |store| {
            let Some(c) = store.state().cells.get(&path) else {
                return Err(ApiError::not_found(format!("no cell {path}")));
            };
            let (places, beds) = (u64::from(c.places), u64::from(c.beds));
            // A list of who is in a cell is a read of the register like a search.
            access.record(&name, None, &format!("cell list `{path}`"));
            let hits = store.persons_in_cell(&path.to_string(), 500)?;
            Ok((places, beds, scope::persons(store, &scope, hits, 500)?))
        })
        .await
        .or_page(lang)?;
    let facility = q.path.split('/').next().unwrap_or_default().to_owned();
    Ok(page(&CellPage {
        c: me.ctx("/"),
        path: q.path,
        facility,
        places,
        beds,
        people: person_rows(hits, tr),
    }))
}

// --- person file ------------------------------------------------------------------------

struct StayRow {
    from: String,
    until: String,
    status: String,
    facility: String,
    cell: String,
    note: String,
    seq: u64,
}

struct EventRow {
    seq: u64,
    at: String,
    recorded_at: String,
    what: String,
    actor: String,
    details: Vec<(String, String)>,
    redacted: bool,
}

struct BasisRow {
    kind: String,
    authority: String,
    reference: String,
    issued_on: String,
    expires_on: String,
    grounds: String,
    status: String,
    seq: u64,
}

pub(super) struct FindingRow {
    pub(super) check: String,
    pub(super) check_id: String,
    pub(super) severity: String,
    pub(super) severity_id: &'static str,
    pub(super) subject: String,
    pub(super) subject_is_person: bool,
    pub(super) facility: String,
    pub(super) since: String,
    pub(super) detail: String,
    pub(super) evidence: Vec<u64>,
}

pub(super) fn finding_rows(findings: &[Finding], tr: Tr) -> Vec<FindingRow> {
    findings
        .iter()
        .map(|f| FindingRow {
            check: tr.dynamic("check", f.check),
            check_id: f.check.to_owned(),
            severity: tr.dynamic("severity", severity_id(f.severity)),
            severity_id: severity_id(f.severity),
            subject: f.subject.clone(),
            subject_is_person: f.subject_kind == SubjectKind::Person,
            facility: f.facility.clone().unwrap_or_default(),
            since: when(f.since),
            detail: f.detail.clone(),
            evidence: f.evidence.clone(),
        })
        .collect()
}

/// An event's fields as label and value, nested objects flattened (`legal_basis.reference`).
fn details(event: &Event, tr: Tr) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(Value::Object(map)) = serde_json::to_value(event) {
        for (k, v) in map {
            if k == "type" || k == "register_no" {
                continue;
            }
            flatten_value(&k, &v, tr, &mut out);
        }
    }
    out
}

fn flatten_value(path: &str, v: &Value, tr: Tr, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                flatten_value(&format!("{path}.{k}"), v, tr, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, item) in items.iter().enumerate() {
                flatten_value(&format!("{path}[{i}]"), item, tr, out);
            }
        }
        other => {
            let key = forms::label_key(path);
            let label = if tr.has(&key) {
                tr.t(&key).to_owned()
            } else {
                path.to_owned()
            };
            let value = match other {
                Value::String(s) => {
                    if tr.has(&format!("opt.{s}")) {
                        tr.dynamic("opt", s)
                    } else {
                        s.clone()
                    }
                }
                Value::Bool(b) => tr.t(if *b { "common.yes" } else { "common.no" }).to_owned(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                Value::Null => String::new(),
                n => n.to_string(),
            };
            out.push((label, value));
        }
    }
}

struct Action_ {
    href: String,
    label: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    c: Ctx,
    register_no: String,
    given_names: String,
    family_names: String,
    sex: String,
    date_of_birth: String,
    nationalities: String,
    status: String,
    facility: String,
    cell: String,
    since: String,
    legal_status: String,
    custodial_authority: String,
    agreement: String,
    deprived: String,
    admitted_at: String,
    episode: String,
    bases: Vec<BasisRow>,
    contacts: Vec<(String, String, String)>,
    stays: Vec<StayRow>,
    events: Vec<EventRow>,
    findings: Vec<FindingRow>,
    actions: Vec<Action_>,
    recorded: Option<u64>,
}

#[derive(Deserialize)]
struct RecordedQuery {
    recorded: Option<u64>,
}

/// The person commands offered from a file, prefilled with the register number.
const PERSON_COMMANDS: &[&str] = &[
    "placement.record",
    "legal_basis.record",
    "absence.start",
    "absence.end",
    "transfer.depart",
    "transfer.arrive",
    "release.record",
    "contact.record",
    "notification.record",
    "health.exam",
    "health.request",
    "separation.start",
    "separation.end",
    "death.record",
    "escape.record",
];

async fn person(
    State(state): State<AppState>,
    me: SignedIn,
    Path(r): Path<String>,
    Query(q): Query<RecordedQuery>,
) -> PageResult {
    me.require(Action::ReadPerson)?;
    let lang = me.lang;
    let tr = me.tr();
    let r = RegisterNo::parse(&r)
        .map_err(|e| HtmlError::new(lang, StatusCode::BAD_REQUEST, format!("register_no: {e}")))?;
    let clinical = permits(me.user.role, Action::ReadHealthDetail);
    let (file, findings) = crate::api::read_person_file(&state, &me.user, r)
        .await
        .or_page(lang)?;
    let id = file.identity.as_ref();
    let episode = file.episodes.last();
    let basis_rows = episode
        .map(|e| {
            e.legal_bases
                .iter()
                .rev()
                .map(|b| BasisRow {
                    kind: tr.dynamic(
                        "opt",
                        &habeas_domain::model::variant_name(&b.legal_basis.kind),
                    ),
                    authority: b.legal_basis.authority.to_string(),
                    reference: b.legal_basis.reference.to_string(),
                    issued_on: b.legal_basis.issued_on.to_string(),
                    expires_on: b
                        .legal_basis
                        .expires_on
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    grounds: b.legal_basis.grounds.to_string(),
                    status: b
                        .legal_status
                        .map(|s| tr.dynamic("opt", &habeas_domain::model::variant_name(&s)))
                        .unwrap_or_default(),
                    seq: b.seq,
                })
                .collect()
        })
        .unwrap_or_default();
    let stays = file
        .episodes
        .iter()
        .rev()
        .flat_map(|e| e.stays.iter().rev())
        .map(|s| StayRow {
            from: when(s.from),
            until: when_opt(s.until),
            status: tr.dynamic("status", s.status.as_str()),
            facility: s
                .facility
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_default(),
            cell: s.cell.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            note: s.note.clone().unwrap_or_default(),
            seq: s.seq,
        })
        .collect();
    let events = file
        .events
        .iter()
        .rev()
        .map(|e| {
            let redacted = e.event.is_clinical() && !clinical;
            EventRow {
                seq: e.seq,
                at: when_opt(e.event.at()),
                recorded_at: when(e.recorded_at),
                what: tr.dynamic("event", e.event.type_name()),
                actor: e.actor.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                details: if redacted {
                    Vec::new()
                } else {
                    details(&e.event, tr)
                },
                redacted,
            }
        })
        .collect();
    let w = file.whereabouts.as_ref();
    let wv = w
        .and_then(|w| serde_json::to_value(w).ok())
        .unwrap_or(Value::Null);
    let wstr = |k: &str| {
        wv.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let actions = PERSON_COMMANDS
        .iter()
        .filter(|ty| {
            CommandClass::of_type(ty).is_some_and(|c| permits(me.user.role, Action::Submit(c)))
        })
        .map(|ty| Action_ {
            href: format!(
                "/record/{ty}?{}",
                super::serde_urlencoded_pair("register_no", file.register_no.as_str())
            ),
            label: tr.dynamic("cmd", ty),
        })
        .collect();
    Ok(page(&PersonPage {
        register_no: file.register_no.to_string(),
        given_names: id.map(|i| i.given_names.to_string()).unwrap_or_default(),
        family_names: id.map(|i| i.family_names.to_string()).unwrap_or_default(),
        sex: id
            .map(|i| tr.dynamic("opt", &habeas_domain::model::variant_name(&i.sex)))
            .unwrap_or_default(),
        date_of_birth: id
            .and_then(|i| i.date_of_birth)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        nationalities: id
            .map(|i| {
                i.nationalities
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        status: {
            let s = wstr("status");
            if s.is_empty() {
                String::new()
            } else {
                tr.dynamic("status", &s)
            }
        },
        facility: wstr("facility"),
        cell: wstr("cell"),
        since: {
            let s = wstr("since");
            s.parse::<Timestamp>().map(when).unwrap_or(s)
        },
        legal_status: episode
            .map(|e| tr.dynamic("opt", &habeas_domain::model::variant_name(&e.legal_status)))
            .unwrap_or_default(),
        custodial_authority: episode
            .and_then(|e| e.custodial_authority.as_ref())
            .map(|a| a.to_string())
            .unwrap_or_default(),
        agreement: episode
            .and_then(|e| e.agreement.as_ref())
            .map(|a| a.to_string())
            .unwrap_or_default(),
        deprived: episode
            .and_then(|e| e.deprived.as_ref())
            .map(|d| format!("{} — {} — {}", when(d.at), d.place, d.by))
            .unwrap_or_default(),
        admitted_at: episode.map(|e| when(e.admitted_at)).unwrap_or_default(),
        episode: episode.map(|e| e.number.to_string()).unwrap_or_default(),
        contacts: episode
            .map(|e| {
                e.contacts
                    .iter()
                    .map(|c| {
                        (
                            c.name.to_string(),
                            c.relation.to_string(),
                            tr.t(if c.notify { "common.yes" } else { "common.no" })
                                .to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        bases: basis_rows,
        stays,
        events,
        findings: finding_rows(&findings, tr),
        actions,
        recorded: q.recorded,
        c: me.ctx(""),
    }))
}

/// `c2sp.org/tlog-proof@v1` for one event against the latest checkpoint, as a file. Open
/// like `/log/proof/{seq}`: the leaf holds a commitment, nothing personal.
async fn receipt(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(seq): Path<String>,
) -> PageResult {
    let seq: u64 = seq.parse().map_err(|_| {
        HtmlError::new(
            lang,
            StatusCode::BAD_REQUEST,
            format!("seq: `{seq}` is not a sequence number"),
        )
    })?;
    let body = state
        .read_current(move |store| Ok(store.inclusion_receipt(seq)?.format()))
        .await
        .or_page(lang)?;
    Ok((
        [
            (CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"habeas-receipt-{seq}.tlog-proof\""),
            ),
        ],
        body,
    )
        .into_response())
}

// --- forms ------------------------------------------------------------------------------

struct FormLink {
    href: String,
    label: String,
}

struct FormSection {
    title: String,
    forms: Vec<FormLink>,
}

#[derive(Template)]
#[template(path = "record_index.html")]
struct RecordIndexPage {
    c: Ctx,
    sections: Vec<FormSection>,
}

async fn record_index(me: SignedIn) -> PageResult {
    let tr = me.tr();
    let sections: Vec<FormSection> = CommandClass::ALL
        .into_iter()
        .filter(|c| permits(me.user.role, Action::Submit(*c)))
        .map(|class| FormSection {
            title: tr.dynamic("class", class.as_str()),
            forms: forms::FORMS
                .iter()
                .filter(|f| CommandClass::of_type(f.ty) == Some(class))
                .map(|f| FormLink {
                    href: format!("/record/{}", f.ty),
                    label: tr.dynamic("cmd", f.ty),
                })
                .collect(),
        })
        .collect();
    if sections.is_empty() {
        return Err(HtmlError::new(
            me.lang,
            StatusCode::FORBIDDEN,
            tr.t("error.no_writes"),
        ));
    }
    Ok(page(&RecordIndexPage {
        c: me.ctx("/record"),
        sections,
    }))
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    c: Ctx,
    ty: String,
    title: String,
    groups: Vec<GroupView>,
    general_error: Option<String>,
    /// The error summary at the top: (field id, label, message) of each field refused.
    field_errors: Vec<(String, String, String)>,
    done: Option<String>,
    /// The register's places, suggested in the facility and cell fields.
    facilities: Vec<(String, String)>,
    cells: Vec<String>,
    /// The register number suggested for an admission.
    suggested: Option<String>,
}

/// The most cells a form lists: a datalist of every cell of a national register stays small.
const FORM_CELLS: usize = 5_000;

/// The facilities and cells a user may record in, for the forms' lists.
fn form_places(store: &Store, scope: &[FacilityCode]) -> (Vec<(String, String)>, Vec<String>) {
    let facilities = facility_options(store, scope);
    let cells = store
        .state()
        .cells
        .values()
        .map(|c| c.cell.to_string())
        .filter(|c| {
            scope.is_empty()
                || scope
                    .iter()
                    .any(|f| c.starts_with(&format!("{}/", f.as_str())))
        })
        .take(FORM_CELLS)
        .collect();
    (facilities, cells)
}

fn command_form(ty: &str, lang: Lang) -> Result<&'static forms::Form, HtmlError> {
    forms::form(ty).ok_or_else(|| {
        HtmlError::new(
            lang,
            StatusCode::NOT_FOUND,
            Tr::new(lang).t1("error.unknown_command", ty),
        )
    })
}

fn require_class(me: &SignedIn, ty: &str) -> Result<(), HtmlError> {
    let class = CommandClass::of_type(ty).ok_or_else(|| {
        HtmlError::new(
            me.lang,
            StatusCode::NOT_FOUND,
            me.tr().t1("error.unknown_command", ty),
        )
    })?;
    me.require(Action::Submit(class))
}

async fn record_form(
    State(state): State<AppState>,
    me: SignedIn,
    Path(ty): Path<String>,
    Query(mut values): Query<Vec<(String, String)>>,
) -> PageResult {
    let form = command_form(&ty, me.lang)?;
    require_class(&me, &ty)?;
    let done = forms::value_of(&values, "done").map(|seq| me.tr().t1("record.done", seq));
    // Times default to now, to the minute; an admission gets a suggested register number.
    let scope = me.user.facilities.clone();
    let admission = ty == "admission.record";
    let (now, (facilities, cells), suggestion) = state
        .read_current(move |store| {
            let suggestion = if admission {
                store.next_register_no()?
            } else {
                None
            };
            Ok((store.now(), form_places(store, &scope), suggestion))
        })
        .await
        .or_page(me.lang)?;
    let suggested = suggestion.filter(|_| forms::value_of(&values, "register_no").is_none());
    if let Some(n) = &suggested {
        values.push(("register_no".to_owned(), n.clone()));
    }
    for f in form.fields {
        if f.kind == forms::Kind::Time && f.required && forms::value_of(&values, f.path).is_none() {
            values.push((
                f.path.to_owned(),
                now.strftime("%Y-%m-%dT%H:%MZ").to_string(),
            ));
        }
    }
    let groups = forms::view(form, &values, None, me.tr());
    Ok(page(&RecordPage {
        title: me.tr().dynamic("cmd", &ty),
        ty,
        groups,
        general_error: None,
        field_errors: Vec::new(),
        done,
        facilities,
        cells,
        suggested,
        c: me.ctx("/record"),
    }))
}

async fn record_submit(
    State(state): State<AppState>,
    me: SignedIn,
    Path(ty): Path<String>,
    Form(values): Form<Values>,
) -> PageResult {
    me.check_csrf(forms::value_of(&values, "csrf"))?;
    let form = command_form(&ty, me.lang)?;
    require_class(&me, &ty)?;
    let tr = me.tr();
    let mut json = forms::to_json(form, &values);
    let scope = me.user.facilities.clone();
    let (facilities, cells) = state
        .read_current(move |store| Ok(form_places(store, &scope)))
        .await
        .or_page(me.lang)?;
    let refused = |refusal: habeas_domain::Refusal, me: &SignedIn| {
        let field = forms::refused_field(form, &refusal);
        let general = field.is_none().then(|| forms::describe(&refusal, tr));
        let groups = forms::view(form, &values, Some((&refusal, field)), tr);
        let field_errors = groups
            .iter()
            .flat_map(|g| &g.fields)
            .filter_map(|f| Some((f.id.clone(), f.label.clone(), f.error.clone()?)))
            .collect();
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&RecordPage {
                title: tr.dynamic("cmd", &ty),
                ty: ty.clone(),
                groups,
                general_error: general,
                field_errors,
                done: None,
                facilities: facilities.clone(),
                cells: cells.clone(),
                suggested: None,
                c: me.ctx("/record"),
            }),
        )
            .into_response()
    };
    // An admission names the person, or says that their identity is not known: a form left
    // empty by mistake is not taken for an unknown person.
    if ty == "admission.record" {
        let person = json.get_mut("person").and_then(Value::as_object_mut);
        let unknown = person
            .and_then(|p| p.remove("identity_unknown"))
            .is_some_and(|v| v == Value::Bool(true));
        let named = json
            .get("person")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        if !named && !unknown {
            return Ok(refused(
                habeas_domain::Refusal::new(
                    "identity-or-unknown",
                    "person.family_names",
                    tr.t("record.identity_or_unknown"),
                ),
                &me,
            ));
        }
        if let Some(o) = json.as_object_mut()
            && o.get("person")
                .and_then(Value::as_object)
                .is_some_and(|p| p.is_empty())
        {
            o.remove("person");
        }
    }
    let mut submission = match Submission::from_value(json) {
        Ok(s) => s,
        Err(refusal) => return Ok(refused(refusal, &me)),
    };
    submission.actor = Some(
        Text::parse(&me.user.name).map_err(|e| HtmlError::api(me.lang, ApiError::internal(e)))?,
    );
    let subject = submission
        .command
        .register_nos()
        .first()
        .map(|r| r.to_string());
    let scope = me.user.facilities.clone();
    let lang = me.lang;
    // The API's path: the same scope rule, then the store decides.
    let outcome = state
        .with_store(move |store| {
            if !scope::command_in_scope(store, &scope, &submission.command) {
                return Err(ApiError::forbidden(
                    Tr::new(lang).t("error.outside_scope").to_owned(),
                ));
            }
            let (mut outcomes, _) = store.submit_batch(std::slice::from_ref(&submission), true)?;
            Ok(outcomes.pop())
        })
        .await
        .or_page(lang)?;
    match outcome {
        Some(Ok(seqs)) => {
            let seq = seqs.last().copied().unwrap_or_default();
            let to = match subject {
                Some(r) => format!("/people/{r}?recorded={seq}"),
                None => format!("/record/{ty}?done={seq}"),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Some(Err(refusal)) => Ok(refused(refusal, &me)),
        None => Err(HtmlError::api(
            lang,
            ApiError::internal("the store answered nothing"),
        )),
    }
}

// --- search -----------------------------------------------------------------------------

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Ctx,
    q: String,
    error: Option<String>,
    searched: bool,
    people: Vec<PersonRow>,
}

async fn search(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<SearchQuery>,
) -> PageResult {
    me.require(Action::SearchPersons)?;
    let tr = me.tr();
    let text = q.q.unwrap_or_default().trim().to_owned();
    let mut error = None;
    let mut people = Vec::new();
    let searched = !text.is_empty();
    if searched && text.chars().count() < 2 {
        error = Some(tr.t("search.too_short").to_owned());
    } else if searched {
        let name = me.user.name.clone();
        let access = state.access.clone();
        let scope = me.user.facilities.clone();
        let needle = text.clone();
        let hits = state
            .read_current(move |store| {
                access.record(&name, None, &format!("search `{needle}`"));
                let hits = store.search_persons(&needle, scope::read_limit(&scope, 50))?;
                scope::persons(store, &scope, hits, 50)
            })
            .await
            .or_page(me.lang)?;
        people = person_rows(hits, tr);
    }
    Ok(page(&SearchPage {
        c: me.ctx("/search"),
        q: text,
        error,
        searched,
        people,
    }))
}

// --- transparency -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "transparency.html")]
struct TransparencyPage {
    c: Ctx,
    host: String,
    checkpoint: String,
    size: u64,
    key: String,
    origin: String,
}

/// Open to everyone, like `/log/…`.
async fn transparency(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
) -> PageResult {
    let session = session_cookie(&headers);
    // The commands name this server as the browser reached it.
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map_or_else(|| "HOST".to_owned(), |h| format!("http://{h}"));
    let (checkpoint, size, key, origin, user) = state
        .with_store(move |store| {
            let user = match session {
                Some(id) => store.session_user(&id)?,
                None => None,
            };
            let (note, size) = match store.latest_checkpoint() {
                Ok(c) => (c.note, c.size),
                Err(habeas_store::StoreError::NoCheckpoint) => (String::new(), 0),
                Err(e) => return Err(e.into()),
            };
            Ok((
                note,
                size,
                store.verifier_key(),
                store.origin().to_owned(),
                user,
            ))
        })
        .await
        .or_page(lang)?;
    let c = match &user {
        Some((u, csrf)) => Ctx::new(lang, Some(u), csrf.clone(), "/transparency"),
        None => Ctx::new(lang, None, String::new(), "/transparency"),
    };
    Ok(page(&TransparencyPage {
        c,
        host,
        checkpoint,
        size,
        key,
        origin,
    }))
}

// --- access log -------------------------------------------------------------------------

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<usize>,
}

struct AccessRow {
    at: String,
    user: String,
    register_no: String,
    what: String,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage {
    c: Ctx,
    entries: Vec<AccessRow>,
    limit: usize,
}

async fn access_log(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<LimitQuery>,
) -> PageResult {
    me.require(Action::ReadAccessLog)?;
    let limit = q.limit.unwrap_or(200).clamp(1, 10_000);
    state
        .access_log_written()
        .await
        .map_err(|e| HtmlError::api(me.lang, e))?;
    let scope = me.user.facilities.clone();
    let entries = state
        .read_current(move |store| {
            let entries = store.access_log(scope::read_limit(&scope, limit))?;
            scope::access_entries(store, &scope, entries, limit)
        })
        .await
        .or_page(me.lang)?;
    Ok(page(&AccessLogPage {
        c: me.ctx("/access-log"),
        entries: entries
            .into_iter()
            .map(|e| AccessRow {
                at: when(e.at),
                user: e.user,
                register_no: e.register_no.map(|r| r.to_string()).unwrap_or_default(),
                what: e.what,
            })
            .collect(),
        limit,
    }))
}
