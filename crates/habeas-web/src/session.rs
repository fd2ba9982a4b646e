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
/// Failed sign-ins per account (and per known address of it) before the back-off starts.
pub const FREE_FAILURES: u32 = 5;
/// The first back-off after [`FREE_FAILURES`]; each further failure doubles it.
pub const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// The longest back-off.
pub const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// An account's failures are forgotten after this long without one.
pub const ACCOUNT_MEMORY: Duration = Duration::from_secs(3600);
/// Failed sign-ins per address (to any accounts not known from it) in [`ADDRESS_WINDOW`].
pub const MAX_ADDRESS_FAILURES: u32 = 100;
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered per account as having signed into it.
pub const KNOWN_ADDRESSES: usize = 8;
/// Password checks (argon2) running at once: they never take every read handle.
pub const CONCURRENT_CHECKS: usize = 2;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
}

/// Attempts of one key: failures, attempts being checked now, and when the next may start.
struct Counter {
    failures: u32,
    pending: u32,
    since: Instant,
    open_at: Instant,
}

impl Counter {
    fn new(now: Instant) -> Counter {
        Counter {
            failures: 0,
            pending: 0,
            since: now,
            open_at: now,
        }
    }
}

#[derive(Default)]
struct Limits {
    /// Per account (`name`), or per account and known address (`name\naddress`).
    accounts: HashMap<String, Counter>,
    /// Per address, for accounts not known from it.
    addresses: HashMap<String, Counter>,
    /// Per account, the addresses it was signed into from, latest first.
    known: HashMap<String, Vec<String>>,
}

/// Sign-in limits (OWASP ASVS 4 §2.2.1): per account, [`FREE_FAILURES`] failures, then an
/// exponential back-off ([`BACKOFF_BASE`] doubling up to [`BACKOFF_MAX`]) with one attempt at
/// a time, rather than a hard lock; per address, [`MAX_ADDRESS_FAILURES`] in
/// [`ADDRESS_WINDOW`]. An address that signed into an account before has its own counter for
/// that account and is not held to the address limit, so failures from elsewhere (or from
/// other users behind the same proxy) do not keep the account's owner out.
///
/// An attempt is reserved (counted) under the lock before its password is checked, so any
/// number of concurrent attempts checks at most the limit.
pub struct LoginGuard {
    limits: Mutex<Limits>,
    checks: tokio::sync::Semaphore,
}

impl Default for LoginGuard {
    fn default() -> Self {
        LoginGuard {
            limits: Mutex::new(Limits::default()),
            checks: tokio::sync::Semaphore::new(CONCURRENT_CHECKS),
        }
    }
}

/// A reserved attempt; counted as a failure unless [`LoginGuard::succeeded`] takes it.
pub struct Attempt<'g> {
    guard: &'g LoginGuard,
    account: String,
    address: Option<String>,
    name: String,
    client: String,
    done: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.guard.finish(self, false);
        }
    }
}

impl LoginGuard {
    /// Reserves an attempt for `name` from `client`, or the time to wait before the next.
    pub fn reserve(&self, name: &str, client: &str) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        let Ok(mut l) = self.limits.lock() else {
            return Err(BACKOFF_BASE);
        };
        if l.accounts.len() > 100_000 || l.addresses.len() > 100_000 {
            // Forget what is over rather than grow without bound.
            l.accounts
                .retain(|_, c| c.pending > 0 || now.duration_since(c.since) < ACCOUNT_MEMORY);
            l.addresses
                .retain(|_, c| c.pending > 0 || now.duration_since(c.since) < ADDRESS_WINDOW);
        }
        let known = l
            .known
            .get(name)
            .is_some_and(|a| a.iter().any(|a| a == client));
        let account = if known {
            format!("{name}\n{client}")
        } else {
            name.to_owned()
        };
        let c = l
            .accounts
            .entry(account.clone())
            .or_insert_with(|| Counter::new(now));
        if c.pending == 0 && now.duration_since(c.since) >= ACCOUNT_MEMORY {
            *c = Counter::new(now);
        }
        let account_ok =
            now >= c.open_at && (c.failures + c.pending < FREE_FAILURES || c.pending == 0);
        let account_wait = c.open_at.saturating_duration_since(now);
        let address = (!known).then(|| client.to_owned());
        let address_ok = match &address {
            None => true,
            Some(a) => {
                let c = l
                    .addresses
                    .entry(a.clone())
                    .or_insert_with(|| Counter::new(now));
                if now.duration_since(c.since) >= ADDRESS_WINDOW {
                    c.failures = 0;
                    c.since = now;
                }
                c.failures + c.pending < MAX_ADDRESS_FAILURES
            }
        };
        if !account_ok {
            return Err(account_wait.max(Duration::from_secs(1)));
        }
        if !address_ok {
            return Err(ADDRESS_WINDOW);
        }
        if let Some(c) = l.accounts.get_mut(&account) {
            c.pending += 1;
        }
        if let Some(c) = address.as_ref().and_then(|a| l.addresses.get_mut(a)) {
            c.pending += 1;
        }
        Ok(Attempt {
            guard: self,
            account,
            address,
            name: name.to_owned(),
            client: client.to_owned(),
            done: false,
        })
    }

    /// The attempt's password was right: its account counter starts again, and the address
    /// is known for the account from now on.
    pub fn succeeded(&self, mut attempt: Attempt<'_>) {
        attempt.done = true;
        self.finish(&attempt, true);
    }

    fn finish(&self, a: &Attempt<'_>, ok: bool) {
        let now = Instant::now();
        let Ok(mut l) = self.limits.lock() else {
            return;
        };
        if let Some(c) = l.accounts.get_mut(&a.account) {
            c.pending = c.pending.saturating_sub(1);
            if ok {
                c.failures = 0;
                c.open_at = now;
            } else {
                c.failures += 1;
                c.since = now;
                if c.failures >= FREE_FAILURES {
                    let doublings = (c.failures - FREE_FAILURES).min(16);
                    c.open_at = now + (BACKOFF_BASE * (1u32 << doublings)).min(BACKOFF_MAX);
                }
            }
        }
        if let Some(c) = a.address.as_ref().and_then(|x| l.addresses.get_mut(x)) {
            c.pending = c.pending.saturating_sub(1);
            if !ok {
                c.failures += 1;
            }
        }
        if ok {
            let known = l.known.entry(a.name.clone()).or_default();
            known.retain(|x| *x != a.client);
            known.insert(0, a.client.clone());
            known.truncate(KNOWN_ADDRESSES);
        }
    }

    /// Attempts reserved and not yet answered (being checked or waiting to be).
    pub fn pending(&self) -> u32 {
        self.limits
            .lock()
            .map(|l| {
                l.addresses.values().map(|c| c.pending).sum::<u32>()
                    + l.accounts
                        .iter()
                        .filter(|(k, _)| k.contains('\n'))
                        .map(|(_, c)| c.pending)
                        .sum::<u32>()
            })
            .unwrap_or(0)
    }
}

/// What a sign-in came to.
pub(crate) enum SignIn {
    /// The user, the session id and its CSRF token.
    Opened(habeas_store::User, String, String),
    Wrong,
    /// Over a limit: try again after this long.
    Limited(Duration),
}

/// A sign-in, shared by `POST /login` and the sign-in form: reserve an attempt, check the
/// password on a read handle (argon2 never runs on the writer's thread), and only then ask
/// the writer to open the session.
pub(crate) async fn sign_in(
    state: &AppState,
    name: String,
    password: String,
    client: &str,
) -> Result<SignIn, ApiError> {
    let guard = state.logins.clone();
    let attempt = match guard.reserve(&name, client) {
        Ok(a) => a,
        Err(wait) => return Ok(SignIn::Limited(wait)),
    };
    let user = {
        let _check = guard
            .checks
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the sign-in checks are closed"))?;
        state
            .read(move |store| Ok(store.check_password(&name, &password)?))
            .await?
    };
    let Some(user) = user else {
        drop(attempt);
        return Ok(SignIn::Wrong);
    };
    let session_for = user.name.clone();
    let (id, csrf) = state
        .with_store(move |store| Ok(store.new_session(&session_for, SESSION_LIFETIME)?))
        .await?;
    guard.succeeded(attempt);
    Ok(SignIn::Opened(user, id, csrf))
}

/// A 429 with `Retry-After`.
pub(crate) fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(axum::http::header::RETRY_AFTER, secs.to_string())],
        Json(json!({
            "error": "too many failed sign-ins; try again later",
            "retry_after": secs,
        })),
    )
        .into_response()
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
    request_body(content = crate::doc::Login, description = "`{name, password}`"),
    responses(
        (status = 200, description = "Signed in: a `habeas_session` cookie and `{user, role, csrf_token}`", body = crate::doc::SignedIn),
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
    let name = login.name.clone();
    let (user, id, csrf) = match sign_in(&state, login.name, login.password, &client).await? {
        SignIn::Opened(user, id, csrf) => (user, id, csrf),
        SignIn::Limited(wait) => return Ok(too_many(wait)),
        SignIn::Wrong => {
            return Err(ApiError::unauthorized(format!(
                "wrong name or password for `{name}`"
            )));
        }
    };
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
