//! Who is asking, and whether they may: the bearer token identifies a user; the domain's
//! authorization table decides. Every API handler goes through [`require`].

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use habeas_domain::authz::{Action, permits};
use habeas_store::User;

use crate::{ApiError, AppState};

/// The signed-in user of an API request (`Authorization: Bearer TOKEN`).
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return from_session(parts, state).await;
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer TOKEN`")
            })?
            .to_owned();
        let user = state
            .read(move |store| Ok(store.user_for_token(&token)?))
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        Ok(CurrentUser(user))
    }
}

/// The one place where the API enforces the authorization table.
pub fn require(user: &User, action: Action) -> Result<(), ApiError> {
    if permits(user.role, action) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "role {} may not {}",
            user.role.as_str(),
            action_name(action)
        )))
    }
}

fn action_name(action: Action) -> String {
    match action {
        Action::Submit(class) => format!(
            "submit {} commands",
            habeas_domain::model::variant_name(&class)
        ),
        Action::ReadPerson => "read a person's file".into(),
        Action::ReadHealthDetail => "read clinical detail".into(),
        Action::ReadFindings => "read findings".into(),
        Action::ReadPopulation => "read the population".into(),
        Action::ReadAccessLog => "read the access log".into(),
        Action::ManageUsers => "manage users".into(),
        Action::SearchPersons => "search persons".into(),
    }
}

/// A web session: the cookie names the user; a request that changes anything must also carry
/// the session's CSRF token, which another site cannot read.
async fn from_session(parts: &Parts, state: &AppState) -> Result<CurrentUser, ApiError> {
    let id = crate::session::session_cookie(&parts.headers).ok_or_else(|| {
        ApiError::unauthorized(
            "sign in: send Authorization: Bearer TOKEN, or sign in at POST /login",
        )
    })?;
    let (user, csrf) = state
        .read(move |store| Ok(store.session_user(&id)?))
        .await?
        .ok_or_else(|| ApiError::unauthorized("the session has ended; sign in again"))?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = parts
            .headers
            .get(crate::session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok());
        if !crate::session::same_token(sent, &csrf) {
            return Err(ApiError::forbidden(
                "a request made with a session cookie must carry its X-CSRF-Token",
            ));
        }
    }
    Ok(CurrentUser(user))
}
