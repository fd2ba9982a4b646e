//! `/locate`: the public locator for relatives and lawyers. An exact query (a register number,
//! or family names with the date of birth) answers the facility holding the person and its
//! responsible authority, or that there is no record; it never lists or enumerates. Queries
//! are rate-limited per client and each one is written to the access log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use habeas_domain::{RegisterNo, Status};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(locate))
}

/// A fixed window per client: at most `max` queries per `window`.
pub struct RateLimiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one query from `client`; false when over the limit.
    pub fn allow(&self, client: &str) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let now = Instant::now();
        if seen.len() > 100_000 {
            // Forget old windows rather than grow without bound.
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(client.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.max
    }
}

#[derive(Deserialize)]
struct LocateQuery {
    register_no: Option<String>,
    family_names: Option<String>,
    date_of_birth: Option<String>,
}

/// The client's address, when the server knows it (not under a test router): the peer of the
/// connection, or, when that peer is a proxy the server was told to trust
/// ([`AppState::with_trusted_proxies`]), the nearest address before it in `X-Forwarded-For`
/// that is not itself a trusted proxy. Every per-address limit (sign-in, locator) counts it.
pub(crate) struct ClientAddr(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical())
        else {
            return Ok(ClientAddr("unknown".to_owned()));
        };
        Ok(ClientAddr(
            client_of(peer, &parts.headers, &state.trusted_proxies).to_string(),
        ))
    }
}

/// The client behind `peer`: `X-Forwarded-For` is read only when `peer` is trusted, from its
/// last entry back, skipping trusted proxies; anything unparsable stops the walk (the address
/// before it cannot be believed).
fn client_of(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        match hop.parse::<std::net::IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[utoipa::path(get, path = "/locate", tag = "public",
    params(
        ("register_no" = Option<String>, Query, description = "A register number, alone"),
        ("family_names" = Option<String>, Query, description = "Exact family names, with date_of_birth"),
        ("date_of_birth" = Option<String>, Query, description = "YYYY-MM-DD, with family_names")),
    responses(
        (status = 200, description = "`{found: true, status, facility: {code, name, authority}}` or `{found: false}`; never a list"),
        (status = 400, description = "Neither a register number nor family names with a date of birth"),
        (status = 429, description = "More than 30 queries a minute from this address")))]
async fn locate(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Query(q): Query<LocateQuery>,
) -> Result<Json<Value>, ApiError> {
    if !state.locator.allow(&client) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many queries from this address; try again in a minute",
        ));
    }
    enum Ask {
        Number(RegisterNo),
        Identity(String, String),
    }
    let ask = match (&q.register_no, &q.family_names, &q.date_of_birth) {
        (Some(r), None, None) => Ask::Number(
            RegisterNo::parse(r.trim())
                .map_err(|e| ApiError::bad_request(format!("register_no: {e}")))?,
        ),
        (None, Some(f), Some(d)) => {
            let d = d
                .trim()
                .parse::<jiff::civil::Date>()
                .map_err(|_| ApiError::bad_request("date_of_birth: give the date as YYYY-MM-DD"))?;
            if f.trim().chars().count() < 2 {
                return Err(ApiError::bad_request(
                    "family_names: give the full family names",
                ));
            }
            Ask::Identity(f.trim().to_owned(), d.to_string())
        }
        _ => {
            return Err(ApiError::bad_request(
                "ask with register_no, or with family_names and date_of_birth together",
            ));
        }
    };
    let who = format!("public:{client}");
    let access = state.access.clone();
    let answer = state
        .read(move |store| {
            let register_no = match &ask {
                Ask::Number(r) => Some(r.clone()),
                Ask::Identity(f, d) => {
                    let hits = store.find_by_identity(f, d)?;
                    // Exactly one match or nothing: never a list.
                    match hits.as_slice() {
                        [one] => RegisterNo::parse(&one.register_no).ok(),
                        // The table may have lost them: the log has the last word.
                        [] => match store.find_by_identity_in_log(f, d)?.as_slice() {
                            [one] => Some(one.clone()),
                            _ => None,
                        },
                        _ => None,
                    }
                }
            };
            let what = match &ask {
                Ask::Number(_) => "locator: by register number",
                Ask::Identity(..) => "locator: by family names and date of birth",
            };
            access.record(&who, register_no.as_ref(), what);
            let Some(r) = register_no else {
                return Ok(None);
            };
            let w = match store.person(&r)? {
                Some(person) => person.whereabouts(),
                None => {
                    // Damaged current state must not turn into "no record" for a relative.
                    let w = store.whereabouts_from_log(&r)?;
                    if w.is_some() {
                        eprintln!(
                            "habeas serve: the current state has no row for {r}, whom the log holds; \
                             the locator answered from the log (run `habeas verify`, then `habeas rebuild`)"
                        );
                    }
                    w
                }
            };
            let Some(w) = w else {
                return Ok(None);
            };
            if !w.status.is_held() {
                return Ok(None);
            }
            let facility = w
                .facility
                .as_ref()
                .and_then(|f| store.state().facilities.get(f).cloned());
            Ok(Some((w.status, facility)))
        })
        .await?;
    Ok(Json(match answer {
        None => json!({ "found": false, "message": "no record of a person held under that query" }),
        Some((Status::InTransit, _)) => json!({
            "found": true,
            "status": "in_transit",
            "message": "the person is being transferred between facilities of this register",
        }),
        Some((status, facility)) => json!({
            "found": true,
            "status": status.as_str(),
            "facility": facility.map(|f| json!({
                "code": f.facility.as_str(),
                "name": f.name.as_str(),
                "authority": f.authority.as_str(),
            })),
        }),
    }))
}
