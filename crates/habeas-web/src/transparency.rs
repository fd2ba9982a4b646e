//! `/log/…`: open to everyone, no sign-in — the verifier key, the latest signed checkpoint,
//! leaves, inclusion receipts and consistency bodies, in the formats standard tools read.
//! Nothing here carries personal data: leaves hold salted commitments.

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(key))
        .routes(routes!(checkpoint))
        .routes(routes!(leaf))
        .routes(routes!(proof))
        .routes(routes!(consistency))
}

fn text(body: String) -> Response {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn seq(s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request(format!("seq: `{s}` is not a sequence number")))
}

#[utoipa::path(get, path = "/log/key", tag = "transparency",
    responses((status = 200, description = "The verifier key `name+hex(keyID)+base64(0x01||pubkey)`", content_type = "text/plain")))]
async fn key(State(state): State<AppState>) -> Result<Response, ApiError> {
    let k = state.read(|store| Ok(store.verifier_key())).await?;
    Ok(text(format!("{k}\n")))
}

#[utoipa::path(get, path = "/log/checkpoint", tag = "transparency",
    responses((status = 200, description = "The latest C2SP checkpoint as a signed note", content_type = "text/plain")))]
async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let note = state
        .read(|store| Ok(store.latest_checkpoint()?.note))
        .await?;
    Ok(text(note))
}

#[utoipa::path(get, path = "/log/leaf/{seq}", tag = "transparency",
    params(("seq" = u64, Path, description = "Sequence number = leaf index")),
    responses((status = 200, description = "The exact leaf bytes", content_type = "application/octet-stream"), (status = 404, description = "No such event")))]
async fn leaf(State(state): State<AppState>, Path(s): Path<String>) -> Result<Response, ApiError> {
    let seq = seq(&s)?;
    let bytes = state.read(move |store| Ok(store.leaf(seq)?)).await?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[utoipa::path(get, path = "/log/proof/{seq}", tag = "transparency",
    params(("seq" = u64, Path, description = "Sequence number = leaf index")),
    responses((status = 200, description = "A c2sp.org/tlog-proof@v1 against the latest checkpoint", content_type = "text/plain"), (status = 404, description = "No such event")))]
async fn proof(State(state): State<AppState>, Path(s): Path<String>) -> Result<Response, ApiError> {
    let seq = seq(&s)?;
    let receipt = state
        .read(move |store| Ok(store.inclusion_receipt(seq)?.format()))
        .await?;
    Ok(text(receipt))
}

#[derive(Deserialize)]
struct OldQuery {
    old: Option<String>,
}

#[utoipa::path(get, path = "/log/consistency", tag = "transparency",
    params(("old" = u64, Query, description = "Size of the earlier checkpoint")),
    responses((status = 200, description = "A C2SP tlog-witness body: `old N`, proof, blank line, checkpoint", content_type = "text/plain"), (status = 400, description = "Missing or larger than the log")))]
async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<OldQuery>,
) -> Result<Response, ApiError> {
    let old = q
        .old
        .as_deref()
        .ok_or_else(|| {
            ApiError::bad_request("old: give the size of the earlier checkpoint (?old=N)")
        })
        .and_then(seq)?;
    let body = state
        .read(move |store| Ok(store.consistency(old)?.format()))
        .await?;
    Ok(text(body))
}
