//! Errors as HTTP answers: a status and a JSON body `{"error": …}` (plus the refusals for a
//! 422). Internal errors are logged on the server and answered without detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    /// Logged with its detail; the client learns only that something went wrong.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        eprintln!("habeas serve: internal error: {detail}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl From<habeas_store::StoreError> for ApiError {
    fn from(e: habeas_store::StoreError) -> Self {
        use habeas_store::StoreError as E;
        match e {
            E::NoSuchEvent { .. } | E::NoCheckpoint => ApiError::not_found(e.to_string()),
            E::BadOldSize { .. } => ApiError::bad_request(e.to_string()),
            E::Damaged { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the register is damaged and refuses writes; an administrator must run habeas verify",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Every error of the API (`/api/…`, `/login`, `/logout`, `/log/…`, `/locate`) is JSON, also
/// those answered before a handler runs: an extractor's rejection (a query string that does
/// not parse), a body over the limit, an unknown method, a time-out. Their text becomes the
/// `error`. Pages keep their HTML error pages.
pub(crate) async fn json_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let api = ["/api/", "/log/", "/locate", "/login", "/logout"]
        .iter()
        .any(|p| path.starts_with(p));
    let res = next.run(req).await;
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !api || is_json || !(res.status().is_client_error() || res.status().is_server_error()) {
        return res;
    }
    let status = res.status();
    let retry = res.headers().get(axum::http::header::RETRY_AFTER).cloned();
    let text = match axum::body::to_bytes(res.into_body(), 4096).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).trim().to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut out = ApiError::new(status, text).into_response();
    if let Some(r) = retry {
        out.headers_mut().insert(axum::http::header::RETRY_AFTER, r);
    }
    out
}
