//! Schemas of the API's bodies for the OpenAPI document: the top-level shape of every
//! answer, so that a client (and schemathesis) can check each response it gets.

#![allow(dead_code)] // these types describe JSON the handlers build; they are never built

use serde::Serialize;
use utoipa::ToSchema;

/// Every error: `{error}`, plus the refusals of a 422.
#[derive(Serialize, ToSchema)]
pub struct Error {
    /// What went wrong, in one sentence.
    pub error: String,
    /// A 422's refusals: `{index, refusal: {rule, field, reason, record}}`.
    #[schema(required = false)]
    pub refusals: Option<Vec<serde_json::Value>>,
    /// A 429's seconds until the next attempt is accepted.
    #[schema(required = false)]
    pub retry_after: Option<u64>,
}

/// `POST /logout`.
#[derive(Serialize, ToSchema)]
pub struct SignedOut {
    pub signed_out: bool,
}
