//! `/log/…`: open to everyone, no sign-in — the verifier key, the latest signed checkpoint,
//! leaves, inclusion receipts and consistency bodies, in the formats standard tools read.
//! Nothing here carries personal data: leaves hold salted commitments.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/key", get(key))
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/leaf/{seq}", get(leaf))
        .route("/log/proof/{seq}", get(proof))
        .route("/log/consistency", get(consistency))
}

fn text(body: String) -> Response {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn seq(s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request(format!("seq: `{s}` is not a sequence number")))
}

async fn key(State(state): State<AppState>) -> Result<Response, ApiError> {
    let k = state.with_store(|store| Ok(store.verifier_key())).await?;
    Ok(text(format!("{k}\n")))
}

async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let note = state
        .with_store(|store| Ok(store.latest_checkpoint()?.note))
        .await?;
    Ok(text(note))
}

async fn leaf(State(state): State<AppState>, Path(s): Path<String>) -> Result<Response, ApiError> {
    let seq = seq(&s)?;
    let bytes = state.with_store(move |store| Ok(store.leaf(seq)?)).await?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

async fn proof(State(state): State<AppState>, Path(s): Path<String>) -> Result<Response, ApiError> {
    let seq = seq(&s)?;
    let receipt = state
        .with_store(move |store| Ok(store.inclusion_receipt(seq)?.format()))
        .await?;
    Ok(text(receipt))
}

#[derive(Deserialize)]
struct OldQuery {
    old: Option<String>,
}

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
        .with_store(move |store| Ok(store.consistency(old)?.format()))
        .await?;
    Ok(text(body))
}
