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
//! The store is synchronous. Writes go to one writer thread that owns the writing Store and
//! commits the requests queued at that moment together (group commit, [`writer`]); reads run
//! on the blocking pool with read-only handles ([`readers`]), so they never wait for a write.

mod api;
pub mod auth;
mod doc;
mod error;
pub mod html;
mod locate;
mod overview;
mod readers;
mod scope;
pub mod session;
mod transparency;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use habeas_store::Store;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use doc::ErrorResponses;
pub use error::ApiError;
pub use writer::{AccessLog, MAX_GROUP_COMMANDS};

/// The largest request body accepted: a batch of commands, not a file upload.
pub const MAX_BODY: usize = 1 << 20;
/// A request that takes longer than this is answered 408 and dropped.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The writer thread, owner of the writing Store: commands in groups, other writes between.
    writer: Arc<writer::Writer>,
    /// Read-only handles for the GET endpoints.
    readers: Arc<readers::Readers>,
    /// Held, never read: the WAL is copied back into the database off the writer's path
    /// until the last clone of the state is dropped.
    _checkpoints: Arc<habeas_store::BackgroundCheckpoints>,
    pub locator: Arc<locate::RateLimiter>,
    /// Every read of a person's file, search and locator query, written by the writer thread
    /// in its next transaction.
    pub access: AccessLog,
    /// Failed sign-ins, per address and per name.
    pub logins: Arc<session::LoginGuard>,
    /// The figures about now that the dashboard, statistics and findings pages show,
    /// computed off the request path once per log size ([`overview`]).
    pub(crate) overview: Arc<overview::OverviewCache>,
    /// How long a page waits for those figures to be refreshed before it is served the
    /// previous ones ([`AppState::with_overview_wait`]).
    pub(crate) overview_wait: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (`habeas serve --trusted-proxy`).
    pub(crate) trusted_proxies: Arc<Vec<std::net::IpAddr>>,
}

/// What a library user or a test gets: long enough for any register a test builds to be
/// refreshed before a page is served. `habeas serve` uses [`SERVE_OVERVIEW_WAIT`].
const OVERVIEW_WAIT: Duration = Duration::from_secs(20);
/// `habeas serve`'s wait: every page answers within a second on a national register.
pub const SERVE_OVERVIEW_WAIT: Duration = Duration::from_millis(400);

/// Read-only handles: enough for the blocking reads two cores can run at once, with some
/// waiting on the disk.
const READERS: usize = 4;

impl AppState {
    pub fn new(store: Store) -> Result<Self, habeas_store::StoreError> {
        Self::with_max_group(store, MAX_GROUP_COMMANDS)
    }

    /// [`AppState::new`] with another group limit (commands per transaction; 1 commits every
    /// request on its own).
    pub fn with_max_group(
        store: Store,
        max_group: usize,
    ) -> Result<Self, habeas_store::StoreError> {
        let checkpoints = habeas_store::start_background_checkpoints(&store)?;
        let readers = readers::Readers::open(&store, READERS)?;
        let writer = writer::Writer::start(store, max_group)?;
        Ok(AppState {
            access: writer.access_log(),
            _checkpoints: Arc::new(checkpoints),
            writer: Arc::new(writer),
            readers: Arc::new(readers),
            locator: Arc::new(locate::RateLimiter::new(30, Duration::from_secs(60))),
            logins: Arc::new(session::LoginGuard::default()),
            overview: Arc::new(overview::OverviewCache::default()),
            overview_wait: OVERVIEW_WAIT,
            trusted_proxies: Arc::new(Vec::new()),
        })
    }

    /// The reverse proxies in front of the server: for a request from one of them, the client
    /// is the address it names in `X-Forwarded-For`, so limits per address count clients, not
    /// the proxy. Without it the header is ignored (anyone could send it).
    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> Self {
        // `::ffff:127.0.0.1` (a server bound to `[::]`) is 127.0.0.1.
        self.trusted_proxies = Arc::new(proxies.into_iter().map(|p| p.to_canonical()).collect());
        self
    }

    /// How long a page waits for the figures about now to be refreshed (after a write, or a
    /// minute) before it is served the previous ones with the time they were computed.
    pub fn with_overview_wait(mut self, wait: Duration) -> Self {
        self.overview_wait = wait;
        self
    }

    /// Waits until every read recorded so far is in the access log.
    pub async fn access_log_written(&self) -> Result<(), ApiError> {
        self.writer.run(|_| Ok(())).await
    }

    /// Runs `f` with the writing store on the writer thread, between two groups of commands
    /// (for writes other than commands: sign-in, sign-out).
    pub(crate) async fn with_store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        self.writer.run(f).await
    }

    /// Runs `f` on a read-only handle, in one snapshot of what is committed, for queries of
    /// the tables (whereabouts, files, search, the log).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        self.readers.run(move |store| store.read_snapshot(f)).await
    }

    /// [`AppState::read`] for queries that also use the in-memory state (population, a
    /// person's findings): the handle's state catches up with the snapshot first.
    pub(crate) async fn read_current<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        self.readers.run(move |store| store.read_current(f)).await
    }

    /// Runs `f` with a read-only handle as it is (for calls that take their own snapshot).
    pub(crate) async fn with_reader<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        self.readers.run(f).await
    }

    /// Applies one request's commands, all or nothing, in the writer's next group.
    pub(crate) async fn submit(
        &self,
        submissions: Vec<habeas_domain::Submission>,
        scope: Vec<habeas_domain::FacilityCode>,
    ) -> Result<writer::Submitted, ApiError> {
        self.writer.submit(submissions, scope).await
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "habeas",
        description = "The habeas custody register: JSON API (a bearer token per user, or a session cookie after POST /login with X-CSRF-Token on writes; roles), transparency endpoints (open), public locator."
    ),
    components(schemas(doc::Error, doc::SignedOut, doc::Login, doc::Commands, doc::Located)),
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
    let (routes, mut doc) =
        utoipa_axum::router::OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
            .merge(api::routes())
            .merge(transparency::routes())
            .merge(locate::routes())
            .merge(session::routes())
            .split_for_parts();
    // After the merge: the modifier walks every operation's parameters and responses.
    utoipa::Modify::modify(&ErrorResponses, &mut doc);
    (routes, doc)
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
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not answer that method",
            )
        })
        .with_state(state)
        .layer(axum::middleware::from_fn(session::same_origin))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
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
