//! The web interface: server-rendered HTML (askama templates in `templates/`), served by the
//! same router as the API. Every form works without JavaScript; the vendored htmx only makes
//! navigation and search quicker. Authorization is the API's: `auth::require` with the
//! domain's table, facility scopes, clinical detail only for roles that may read it, and
//! every read of a person's file written to the access log.
//!
//! A browser signs in with a form (`/sign-in`), which opens the same session as `POST /login`
//! (the `habeas_session` cookie); every form of a session carries its CSRF token in a hidden
//! field, checked here before anything else.

mod charts;
mod dashboard;
mod findings;
mod forms;
mod i18n;
mod pages;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use habeas_domain::authz::{Action, CommandClass, permits};
use habeas_store::User;

pub use charts::{Series, bar_chart, line_chart};
pub use i18n::{Lang, Tr};

use crate::{ApiError, AppState};

/// The HTML routes (not part of the OpenAPI document: they are pages, not an API).
pub(crate) fn routes() -> Router<AppState> {
    pages::routes()
        .route("/static/htmx.min.js", axum::routing::get(htmx))
        .route("/static/habeas.css", axum::routing::get(css))
}

const HTMX: &str = include_str!("../../static/htmx.min.js");
const CSS: &str = include_str!("../../static/habeas.css");

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

async fn htmx() -> Response {
    static_file("text/javascript; charset=utf-8", HTMX)
}

async fn css() -> Response {
    static_file("text/css; charset=utf-8", CSS)
}

/// The signed-in user of a page, their session's CSRF token and their language. Without a
/// session the browser is sent to the sign-in page, and back afterwards.
pub struct SignedIn {
    pub user: User,
    pub csrf: String,
    pub lang: Lang,
}

/// The language of a request (the `lang` cookie, else `Accept-Language`).
pub struct RequestLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestLang(Lang::of_request(&parts.headers)))
    }
}

/// A local path to come back to (never another site: `//host` and schemes are refused).
pub(crate) fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

fn to_sign_in(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let q = serde_urlencoded_pair("next", &next);
    Redirect::to(&format!("/sign-in?{q}")).into_response()
}

pub(crate) fn serde_urlencoded_pair(k: &str, v: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!("{}={}", enc(k), enc(v))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::of_request(&parts.headers);
        let Some(id) = crate::session::session_cookie(&parts.headers) else {
            return Err(to_sign_in(parts));
        };
        match state
            .with_store(move |store| Ok(store.session_user(&id)?))
            .await
        {
            Ok(Some((user, csrf))) => Ok(SignedIn { user, csrf, lang }),
            Ok(None) => Err(to_sign_in(parts)),
            Err(e) => Err(HtmlError::api(lang, e).into_response()),
        }
    }
}

impl SignedIn {
    pub fn tr(&self) -> Tr {
        Tr::new(self.lang)
    }

    /// The page context for this user.
    pub fn ctx(&self, nav: &'static str) -> Ctx {
        Ctx::new(self.lang, Some(&self.user), self.csrf.clone(), nav)
    }

    /// `auth::require`, answered as a page.
    pub fn require(&self, action: Action) -> Result<(), HtmlError> {
        crate::auth::require(&self.user, action).map_err(|e| HtmlError::api(self.lang, e))
    }

    /// The form's CSRF token must be this session's.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), HtmlError> {
        let ok = crate::session::same_token(sent, &self.csrf);
        if ok {
            Ok(())
        } else {
            Err(HtmlError::new(
                self.lang,
                StatusCode::FORBIDDEN,
                Tr::new(self.lang).t("error.csrf"),
            ))
        }
    }
}

/// One link of the navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// What every page's layout needs: the language, the user and their menu, the CSRF token.
pub struct Ctx {
    pub tr: Tr,
    pub lang: &'static str,
    pub user: Option<String>,
    pub role: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub langs: Vec<(&'static str, &'static str, bool)>,
}

impl Ctx {
    pub fn new(lang: Lang, user: Option<&User>, csrf: String, current: &'static str) -> Ctx {
        let tr = Tr::new(lang);
        let mut nav = Vec::new();
        if let Some(u) = user {
            let may = |a: Action| permits(u.role, a);
            let writes = CommandClass::ALL
                .into_iter()
                .any(|c| may(Action::Submit(c)));
            for (href, key, shown) in [
                ("/", "nav.dashboard", may(Action::ReadPopulation)),
                ("/search", "nav.search", may(Action::SearchPersons)),
                ("/record", "nav.record", writes),
                ("/findings", "nav.findings", may(Action::ReadFindings)),
                ("/statistics", "nav.statistics", may(Action::ReadPopulation)),
                ("/transparency", "nav.transparency", true),
                ("/access-log", "nav.access_log", may(Action::ReadAccessLog)),
            ] {
                if shown {
                    nav.push(NavItem {
                        href,
                        label: tr.t(key).to_owned(),
                        current: href == current,
                    });
                }
            }
        }
        Ctx {
            tr,
            lang: lang.tag(),
            user: user.map(|u| u.name.clone()),
            role: user.map_or_else(String::new, |u| tr.dynamic("role", u.role.as_str())),
            csrf,
            nav,
            langs: Lang::ALL
                .into_iter()
                .map(|l| (l.tag(), l.native_name(), l == lang))
                .collect(),
        }
    }

    /// The text for a catalogue key.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.tr.t(key)
    }

    /// The text for a key with `{}` replaced.
    pub fn t1(&self, key: &str, arg: impl std::fmt::Display) -> String {
        self.tr.t1(key, arg)
    }

    /// A count with the language's thousands separator.
    pub fn count<N: Copy + TryInto<usize>>(&self, n: &N) -> String {
        self.tr.count((*n).try_into().unwrap_or(usize::MAX))
    }
}

/// Renders a template as a page.
pub(crate) fn page(t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => (
            [(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
                ),
            )],
            Html(body),
        )
            .into_response(),
        Err(e) => ApiError::internal(format!("a template failed: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Ctx,
    status: u16,
    title: String,
    detail: String,
}

/// An error answered as a page in the user's language.
#[derive(Debug)]
pub struct HtmlError {
    pub lang: Lang,
    pub status: StatusCode,
    pub detail: String,
}

impl HtmlError {
    pub fn new(lang: Lang, status: StatusCode, detail: impl Into<String>) -> HtmlError {
        HtmlError {
            lang,
            status,
            detail: detail.into(),
        }
    }

    /// An API error (its message is the detail).
    pub fn api(lang: Lang, e: ApiError) -> HtmlError {
        let detail = e
            .body
            .get("error")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        HtmlError::new(lang, e.status, detail)
    }
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        let tr = Tr::new(self.lang);
        let title = match self.status {
            StatusCode::FORBIDDEN => tr.t("error.forbidden"),
            StatusCode::NOT_FOUND => tr.t("error.not_found"),
            StatusCode::BAD_REQUEST => tr.t("error.bad_request"),
            StatusCode::TOO_MANY_REQUESTS => tr.t("error.too_many"),
            StatusCode::SERVICE_UNAVAILABLE => tr.t("error.computing"),
            s if s.is_server_error() => tr.t("error.internal"),
            _ => tr.t("error.other"),
        }
        .to_owned();
        let body = page(&ErrorPage {
            c: Ctx::new(self.lang, None, String::new(), ""),
            status: self.status.as_u16(),
            title,
            detail: self.detail,
        });
        (self.status, body).into_response()
    }
}

/// `?` on a store call inside a page handler.
pub(crate) trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, HtmlError>;
}

impl<T> OrPage<T> for Result<T, ApiError> {
    fn or_page(self, lang: Lang) -> Result<T, HtmlError> {
        self.map_err(|e| HtmlError::api(lang, e))
    }
}

#[cfg(test)]
mod tests;
