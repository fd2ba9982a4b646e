//! `/api/v1`: commands in, the register's answers out. Every handler authorizes through
//! `auth::require`; reads of a person's file are written to the access log.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use habeas_domain::authz::{Action, CommandClass};
use habeas_domain::{RegisterNo, Submission, Text};
use habeas_store::FindingsFilter;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{CurrentUser, require};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(commands))
        .routes(routes!(search))
        .routes(routes!(person))
        .routes(routes!(whereabouts))
        .routes(routes!(population))
        .routes(routes!(findings))
        .routes(routes!(access_log))
}

fn register_no(s: &str) -> Result<RegisterNo, ApiError> {
    RegisterNo::parse(s).map_err(|e| ApiError::bad_request(format!("register_no: {e}")))
}

/// `at`: an RFC 3339 time with offset.
fn at(q: &Option<String>) -> Result<Option<Timestamp>, ApiError> {
    q.as_deref()
        .map(|s| {
            s.parse::<Timestamp>().map_err(|_| {
                ApiError::bad_request(format!(
                    "at: `{s}` is not an RFC 3339 time with offset (2025-03-16T20:00:00Z)"
                ))
            })
        })
        .transpose()
}

/// `POST /api/v1/commands`: one command or an array, applied all or nothing. 200 with the
/// sequence numbers; 422 with every refusal (rule, field, record) and nothing applied; 400
/// for a body that is not JSON.
#[utoipa::path(post, path = "/api/v1/commands", tag = "register", security(("bearer" = [])),
    request_body(content = crate::doc::Commands, description = "One command (DESIGN §4 vocabulary) or a non-empty array of them"),
    responses(
        (status = 200, description = "All applied: `{seqs: [[seq…]…], checkpoint_size}`", body = crate::doc::Applied),
        (status = 400, description = "The body is not JSON"),
        (status = 401, description = "No or unknown token"),
        (status = 403, description = "The role or facility scope does not permit a command"),
        (status = 413, description = "Body over 1 MiB"),
        (status = 422, description = "Refused, nothing applied: `{error, refusals: [{index, refusal: {rule, field, reason, record}}]}`")))]
async fn commands(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    // Parsed with duplicate keys refused: `{"at": A, …, "at": B}` would otherwise record B.
    body: Result<Json<habeas_domain::json::UniqueValue>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(habeas_domain::json::UniqueValue(body)) = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes", crate::MAX_BODY),
        ),
        status => ApiError::new(
            if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            format!("the body is not a JSON command: {}", e.body_text()),
        ),
    })?;
    let items = match body {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => {
            return Err(ApiError::bad_request(
                "send a command object or an array of them",
            ));
        }
    };
    // An empty array is all of nothing: answered 200 with no sequence numbers (the OpenAPI
    // document cannot say "non-empty" through utoipa, and a no-op harms no one).
    let actor = Text::parse(&user.name).map_err(ApiError::internal)?;
    let mut submissions = Vec::with_capacity(items.len());
    let mut refusals = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match Submission::from_value(item) {
            Ok(mut s) => {
                require(&user, Action::Submit(CommandClass::of(&s.command)))?;
                // The actor is the signed-in user, whatever the body says.
                s.actor = Some(actor.clone());
                submissions.push(s);
            }
            Err(refusal) => refusals.push(json!({ "index": index, "refusal": refusal })),
        }
    }
    if !refusals.is_empty() {
        return Err(unprocessable(refusals));
    }
    // The writer checks the user's facility scope against the register as it stands when
    // the request's turn comes.
    let submitted = state.submit(submissions, user.facilities.clone()).await?;
    let outcomes = submitted.outcomes;
    let refusals: Vec<Value> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(index, o)| {
            o.as_ref()
                .err()
                .map(|r| json!({ "index": index, "refusal": r }))
        })
        .collect();
    if !refusals.is_empty() {
        return Err(unprocessable(refusals));
    }
    let seqs: Vec<&Vec<u64>> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    Ok(Json(json!({
        "seqs": seqs,
        "checkpoint_size": submitted.checkpoint_size,
    })))
}

fn unprocessable(refusals: Vec<Value>) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body: json!({
            "error": "refused: nothing was applied",
            "refusals": refusals,
        }),
    }
}

/// A person's file and open findings as `user` reads them: only within their facilities, and
/// always written to the access log. The one way the API and the pages read a file.
pub(crate) async fn read_person_file(
    state: &AppState,
    user: &habeas_store::User,
    r: RegisterNo,
) -> Result<
    (
        habeas_store::PersonFile,
        Vec<habeas_domain::checks::Finding>,
    ),
    ApiError,
> {
    let name = user.name.clone();
    let scope = user.facilities.clone();
    let access = state.access.clone();
    state
        .read_current(move |store| {
            crate::scope::check_person(store, &scope, &r)?;
            access.record(&name, Some(&r), "person file");
            let file = store
                .person_file(&r)?
                .ok_or_else(|| ApiError::not_found(format!("{r} is not in the register")))?;
            let findings = store.person_findings(&r)?;
            Ok((file, findings))
        })
        .await
}

/// `GET /api/v1/persons/{register_no}`: the person's file and open findings.
#[utoipa::path(get, path = "/api/v1/persons/{register_no}", tag = "register", security(("bearer" = [])),
    params(("register_no" = String, Path, description = "The person's register number")),
    responses(
        (status = 200, description = "The person's file with `findings` (clinical detail only for health and admin)", body = crate::doc::PersonFile),
        (status = 403, description = "Outside the user's facilities"),
        (status = 404, description = "Not in the register")))]
async fn person(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(r): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require(&user, Action::ReadPerson)?;
    let r = register_no(&r)?;
    let clinical = habeas_domain::authz::permits(user.role, Action::ReadHealthDetail);
    let (file, findings) = read_person_file(&state, &user, r).await?;
    let mut value = serde_json::to_value(&file).map_err(ApiError::internal)?;
    if !clinical {
        // Monitors and staff without a health role see that health events happened, not
        // what they found.
        if let Some(events) = value.get_mut("events").and_then(Value::as_array_mut) {
            for (e, typed) in events.iter_mut().zip(&file.events) {
                if typed.event.is_clinical() {
                    e["event"] = json!({
                        "type": typed.event.type_name(),
                        "at": typed.event.at(),
                        "redacted": "clinical detail",
                    });
                }
            }
        }
    }
    value["findings"] = serde_json::to_value(&findings).map_err(ApiError::internal)?;
    Ok(Json(value))
}

/// `GET /api/v1/whereabouts/{register_no}`.
#[utoipa::path(get, path = "/api/v1/whereabouts/{register_no}", tag = "register", security(("bearer" = [])),
    params(("register_no" = String, Path, description = "The person's register number")),
    responses(
        (status = 200, description = "`{register_no, status, facility, unit, cell, since, episode}`", body = crate::doc::Whereabouts),
        (status = 404, description = "Not in the register")))]
async fn whereabouts(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(r): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require(&user, Action::ReadPerson)?;
    let r = register_no(&r)?;
    let name = user.name.clone();
    let scope = user.facilities.clone();
    let access = state.access.clone();
    let w = state
        .read(move |store| {
            crate::scope::check_person(store, &scope, &r)?;
            access.record(&name, Some(&r), "whereabouts");
            store
                .whereabouts(&r)?
                .ok_or_else(|| ApiError::not_found(format!("{r} is not in the register")))
        })
        .await?;
    Ok(Json(serde_json::to_value(&w).map_err(ApiError::internal)?))
}

/// `at` is in the past (a figure about the future would be a forecast).
fn not_after_now(at: Option<Timestamp>, now: Timestamp) -> Result<(), ApiError> {
    match at {
        Some(t) if t > now => Err(ApiError::bad_request(format!(
            "at: `{t}` is after now ({now}); the register answers about the past"
        ))),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
struct AtQuery {
    at: Option<String>,
    #[serde(default)]
    as_recorded: bool,
}

/// `GET /api/v1/population?at=&as_recorded=`.
#[utoipa::path(get, path = "/api/v1/population", tag = "register", security(("bearer" = [])),
    params(
        ("at" = Option<String>, Query, description = "RFC 3339 time, not after now; default now"),
        ("as_recorded" = Option<bool>, Query, description = "The audit view: count only what had been recorded by `at`. Default false: everything the register knows now about `at`")),
    responses((status = 200, description = "Population by facility and unit with capacity and occupancy", body = crate::doc::Population)))]
async fn population(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<AtQuery>,
) -> Result<Json<Value>, ApiError> {
    require(&user, Action::ReadPopulation)?;
    let at = at(&q.at)?;
    let view = habeas_domain::View::from_as_recorded(q.as_recorded);
    let scope = user.facilities.clone();
    let p = state
        .read_current(move |store| {
            not_after_now(at, store.now())?;
            Ok(store.population(at, view)?)
        })
        .await?;
    // A facility-scoped user sees their facilities only.
    let p = crate::scope::population(p, &scope);
    Ok(Json(serde_json::to_value(&p).map_err(ApiError::internal)?))
}

#[derive(Deserialize)]
struct FindingsQuery {
    at: Option<String>,
    #[serde(default)]
    as_recorded: bool,
    check: Option<String>,
    facility: Option<String>,
}

/// `GET /api/v1/findings?at=&as_recorded=&check=&facility=`.
#[utoipa::path(get, path = "/api/v1/findings", tag = "register", security(("bearer" = [])),
    params(
        ("at" = Option<String>, Query, description = "RFC 3339 time, not after now; default now"),
        ("as_recorded" = Option<bool>, Query, description = "The audit view: only what had been recorded by `at` (what staff could have seen then). Default false: everything the register knows now about `at`"),
        ("check" = Option<String>, Query, description = "A check id of STANDARDS.md"),
        ("facility" = Option<String>, Query, description = "A facility code")),
    responses((status = 200, description = "`{at, view, findings: [{check, severity, subject_kind, subject, facility, since, detail, evidence}]}`", body = crate::doc::Findings)))]
async fn findings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<FindingsQuery>,
) -> Result<Json<Value>, ApiError> {
    require(&user, Action::ReadFindings)?;
    let at = at(&q.at)?;
    if let Some(c) = &q.check
        && habeas_domain::checks::check_info(c).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "check: `{c}` is not a check id"
        )));
    }
    let facility = q
        .facility
        .as_deref()
        .map(|f| {
            habeas_domain::FacilityCode::parse(f)
                .map_err(|e| ApiError::bad_request(format!("facility: {e}")))
        })
        .transpose()?;
    let filter = FindingsFilter {
        check: q.check,
        facility,
        view: habeas_domain::View::from_as_recorded(q.as_recorded),
    };
    let scope = user.facilities.clone();
    let mut f = state
        .with_reader(move |store| {
            not_after_now(at, store.now())?;
            // `findings` takes its own snapshot; the state it reads beside it is caught up
            // with the log just before.
            store.refresh()?;
            Ok(store.findings_report(at, &filter)?)
        })
        .await?;
    // A facility-scoped user sees the findings of their facilities only.
    f.findings = crate::scope::findings(f.findings, &scope);
    Ok(Json(serde_json::to_value(&f).map_err(ApiError::internal)?))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
}

/// `GET /api/v1/persons?q=`: by register number (exact) or names (prefix), at most 50.
#[utoipa::path(get, path = "/api/v1/persons", tag = "register", security(("bearer" = [])),
    params(("q" = String, Query, description = "Register number (exact) or names (prefix), 2 characters at least")),
    responses((status = 200, description = "Up to 50 `{register_no, given_names, family_names, date_of_birth, status, facility, cell}`", body = Vec<crate::doc::PersonHit>)))]
async fn search(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    require(&user, Action::SearchPersons)?;
    // Trimmed of exactly the white space of the documented pattern (ECMA-262 `\s`), so that
    // what the schema allows the server accepts.
    let text = q.q.trim_matches(is_ecma_space).to_owned();
    if text.chars().count() < 2 {
        return Err(ApiError::bad_request("q: give at least 2 characters"));
    }
    let name = user.name.clone();
    let access = state.access.clone();
    let scope = user.facilities.clone();
    let hits = state
        .read(move |store| {
            access.record(&name, None, &format!("search `{text}`"));
            // Only persons of the user's facilities (the same rule as the pages).
            let hits = store.search_persons(&text, crate::scope::read_limit(&scope, 50))?;
            crate::scope::persons(store, &scope, hits, 50)
        })
        .await?;
    Ok(Json(
        serde_json::to_value(&hits).map_err(ApiError::internal)?,
    ))
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/access-log?limit=`: who read whose file (admins and monitors).
#[utoipa::path(get, path = "/api/v1/access-log", tag = "register", security(("bearer" = [])),
    params(("limit" = Option<usize>, Query, description = "How many entries, newest first (default 100)")),
    responses(
        (status = 200, description = "`[{id, at, user, register_no, what}]`", body = Vec<crate::doc::AccessEntry>),
        (status = 403, description = "Only admins and monitors")))]
async fn access_log(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Value>, ApiError> {
    require(&user, Action::ReadAccessLog)?;
    let limit = q.limit.unwrap_or(100);
    if limit > 10_000 {
        return Err(ApiError::bad_request("limit: at most 10000"));
    }
    // Reads recorded so far are shown.
    state.access_log_written().await?;
    let scope = user.facilities.clone();
    let entries = state
        .read(move |store| {
            // A scoped user sees the reads of files of persons in their facilities only.
            let entries = store.access_log(crate::scope::read_limit(&scope, limit))?;
            crate::scope::access_entries(store, &scope, entries, limit)
        })
        .await?;
    Ok(Json(
        serde_json::to_value(&entries).map_err(ApiError::internal)?,
    ))
}

/// ECMA-262's white space and line terminators (`\s` in the OpenAPI document's patterns):
/// Rust's `trim` also removes U+0085 and keeps U+FEFF, which would disagree with the schema.
fn is_ecma_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}
