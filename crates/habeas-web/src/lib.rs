//! habeas-web: the register over HTTP.
//!
//! - `/api/v1/…`: the JSON API for registrars, officers, health staff and monitors, with a
//!   bearer token per user; every request is authorized by `habeas_domain::authz` in one place
//!   ([`auth::require`]).
//! - `/log/…`: the transparency endpoints, open to everyone: the verifier key, checkpoints,
//!   leaves and proofs in the C2SP formats.
//! - `/locate`: the public locator — an exact match answers the facility only, never a list.
//! - `/`, `/people/…`, `/record/…` …: the web interface ([`html`]), server-rendered pages
//!   for the same users and roles (not in the OpenAPI document).
//!
//! The store is synchronous; handlers run it on the blocking pool behind one mutex (SQLite
//! has one writer anyway).

mod api;
pub mod auth;
mod error;
pub mod html;
mod locate;
pub mod session;
mod transparency;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use habeas_store::Store;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;

/// The largest request body accepted: a batch of commands, not a file upload.
pub const MAX_BODY: usize = 1 << 20;
/// A request that takes longer than this is answered 408 and dropped.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Mutex<Store>>,
    pub locator: Arc<locate::RateLimiter>,
    /// Every read of a person's file, search and locator query, written in the background.
    pub access: Arc<habeas_store::AccessLogger>,
    /// Failed sign-ins, per address and per name.
    pub logins: Arc<session::LoginGuard>,
}

impl AppState {
    pub fn new(store: Store) -> Result<Self, habeas_store::StoreError> {
        let access = habeas_store::AccessLogger::start(store.path())?;
        habeas_store::start_background_checkpoints(&store)?;
        Ok(AppState {
            store: Arc::new(Mutex::new(store)),
            locator: Arc::new(locate::RateLimiter::new(30, Duration::from_secs(60))),
            access: Arc::new(access),
            logins: Arc::new(session::LoginGuard::default()),
        })
    }

    /// Runs `f` with the store on the blocking pool.
    pub(crate) async fn with_store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .map_err(|_| ApiError::internal("the store lock is poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError::internal(format!("a blocking task failed: {e}")))?
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "habeas",
        description = "The habeas custody register: JSON API (a bearer token per user, or a session cookie after POST /login with X-CSRF-Token on writes; roles), transparency endpoints (open), public locator."
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// The routes and their OpenAPI description, from the same annotated handlers.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    utoipa_axum::router::OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(api::routes())
        .merge(transparency::routes())
        .merge(locate::routes())
        .merge(session::routes())
        .split_for_parts()
}

/// The OpenAPI document of the API, generated from the handlers (committed as
/// `crates/habeas-web/openapi.json`; a test fails when they drift).
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// The whole application: API, transparency endpoints and locator, with body size and time
/// limits.
pub fn router(state: AppState) -> Router {
    router_with_timeout(state, TIMEOUT)
}

/// [`router`] with another request time limit.
pub fn router_with_timeout(state: AppState, timeout: Duration) -> Router {
    let (routes, doc) = parts();
    let doc = doc.to_pretty_json().unwrap_or_default();
    routes
        .merge(html::routes())
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        doc,
                    )
                }
            }),
        )
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
}

/// Serves the application on `addr` until Ctrl-C.
pub async fn serve(state: AppState, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Serves on a bound listener until `shutdown` completes (tests bind port 0).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
