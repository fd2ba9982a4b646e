//! Password sign-in for the web: `POST /login` opens a session (an HttpOnly, Secure,
//! SameSite=Strict cookie) with its own CSRF token, which every state-changing request made
//! with the cookie must echo in `X-CSRF-Token`. Failed sign-ins are limited per address and
//! per user name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::locate::ClientAddr;
use crate::{ApiError, AppState};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "habeas_session";
/// The header carrying a cookie session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lives.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Failed sign-ins allowed per address and per name in [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
}

/// Failed sign-ins per key (an address, a user name) in a fixed window.
#[derive(Default)]
pub struct LoginGuard {
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginGuard {
    pub(crate) fn blocked(&self, key: &str) -> bool {
        let Ok(map) = self.failures.lock() else {
            return true;
        };
        map.get(key)
            .is_some_and(|(start, n)| start.elapsed() < FAILURE_WINDOW && *n >= MAX_FAILURES)
    }

    pub(crate) fn fail(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            let entry = map.entry(key.to_owned()).or_insert((Instant::now(), 0));
            if entry.0.elapsed() >= FAILURE_WINDOW {
                *entry = (Instant::now(), 0);
            }
            entry.1 += 1;
        }
    }

    pub(crate) fn clear(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }
}

/// The session id from the request's cookies, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.to_owned())
}

#[derive(Deserialize)]
struct Login {
    name: String,
    password: String,
}

#[utoipa::path(post, path = "/login", tag = "session",
    request_body(content = Object, description = "`{name, password}`"),
    responses(
        (status = 200, description = "Signed in: a `habeas_session` cookie and `{user, role, csrf_token}`"),
        (status = 401, description = "Wrong name or password"),
        (status = 429, description = "Too many failed sign-ins from this address or for this name")))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: Result<Json<Login>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(login) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"name\", \"password\"}}: {}",
            e.body_text()
        ))
    })?;
    let by_address = format!("addr:{client}");
    let by_name = format!("name:{}", login.name);
    let guard = state.logins.clone();
    if guard.blocked(&by_address) || guard.blocked(&by_name) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins; try again later",
        ));
    }
    let name = login.name.clone();
    // The password is checked on a reader (argon2 takes a while; writes do not wait for it),
    // the session is opened by the writer.
    let user = state
        .read(move |store| Ok(store.check_password(&login.name, &login.password)?))
        .await?;
    let signed_in = match user {
        Some(user) => {
            let session_for = user.name.clone();
            let (id, csrf) = state
                .with_store(move |store| Ok(store.new_session(&session_for, SESSION_LIFETIME)?))
                .await?;
            Some((user, id, csrf))
        }
        None => None,
    };
    let Some((user, id, csrf)) = signed_in else {
        guard.fail(&by_address);
        guard.fail(&by_name);
        return Err(ApiError::unauthorized(format!(
            "wrong name or password for `{name}`"
        )));
    };
    guard.clear(&by_name);
    let cookie = format!(
        "{COOKIE_NAME}={id}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    );
    Ok((
        [(SET_COOKIE, cookie)],
        Json(json!({ "user": user.name, "role": user.role.as_str(), "csrf_token": csrf })),
    )
        .into_response())
}

#[utoipa::path(post, path = "/logout", tag = "session",
    params(("x-csrf-token" = Option<String>, Header, description = "The session's CSRF token (required with a live session cookie)")),
    responses(
        (status = 200, description = "The session is ended and its cookie cleared", body = crate::doc::SignedOut),
        (status = 403, description = "A live session without its CSRF token, or a cross-site request", body = crate::doc::Error)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(id) = session_cookie(&headers) {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Ending a live session is a change like any other: it needs the session's token.
        state
            .with_store(move |store| {
                if let Some((_, csrf)) = store.session_user(&id)? {
                    if !same_token(sent.as_deref(), &csrf) {
                        return Err(ApiError::forbidden(
                            "a request made with a session cookie must carry its X-CSRF-Token",
                        ));
                    }
                    store.end_session(&id)?;
                }
                Ok(())
            })
            .await?;
    }
    let clear = format!("{COOKIE_NAME}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(SET_COOKIE, clear)], Json(json!({ "signed_out": true }))).into_response())
}

/// Whether `sent` is the session's CSRF token, compared without an early exit.
pub(crate) fn same_token(sent: Option<&str>, token: &str) -> bool {
    sent.is_some_and(|s| {
        s.len() == token.len()
            && s.bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

/// Login CSRF and cross-site writes: a browser names the page a request comes from in
/// `Origin` (and `Sec-Fetch-Site`); a state-changing request from another site's page is
/// refused before any handler runs. Clients that send neither (curl, API clients) are not
/// browsers a forged page could drive, and pass.
pub(crate) async fn same_origin(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    use axum::http::header::{HOST, ORIGIN};
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let h = req.headers();
        let host = h.get(HOST).and_then(|v| v.to_str().ok());
        let origin_ok = match h.get(ORIGIN) {
            None => true,
            Some(o) => o
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .is_some_and(|(_, authority)| Some(authority) == host),
        };
        let cross_site = h
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site");
        if !origin_ok || cross_site {
            return ApiError::forbidden("a request from another site may not change anything")
                .into_response();
        }
    }
    next.run(req).await
}
