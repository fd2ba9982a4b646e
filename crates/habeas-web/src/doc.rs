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

/// `POST /login`.
#[derive(Serialize, ToSchema)]
pub struct Login {
    pub name: String,
    pub password: String,
}

/// One command: an object naming its type (DESIGN §4 vocabulary).
#[derive(Serialize, ToSchema)]
pub struct Command {
    /// The command's type, e.g. `admission.record`.
    #[serde(rename = "type")]
    pub ty: String,
}

/// `POST /api/v1/commands`: one command, or a non-empty array of them (all or nothing).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Commands {
    One(Command),
    Many(Vec<Command>),
}

/// `GET /api/v1/whereabouts/{register_no}`.
#[derive(Serialize, ToSchema)]
pub struct Whereabouts {
    pub register_no: String,
    /// `in_custody|absent|in_transit|released|transferred_out|deceased|escaped`.
    pub status: String,
    pub facility: Option<String>,
    pub unit: Option<String>,
    pub cell: Option<String>,
    pub since: String,
    pub episode: u32,
}

/// `GET /api/v1/persons/{register_no}`: the file (clinical detail redacted unless permitted).
#[derive(Serialize, ToSchema)]
pub struct PersonFile {
    pub register_no: String,
    #[schema(value_type = Object)]
    pub whereabouts: Option<serde_json::Value>,
    #[schema(value_type = Object, required = false)]
    pub identity: Option<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub episodes: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    pub findings: Vec<Finding>,
}

/// `GET /api/v1/findings`: the findings open at a time, in a view.
#[derive(Serialize, ToSchema)]
pub struct Findings {
    pub at: String,
    pub view: View,
    pub findings: Vec<Finding>,
}

/// A finding of a check.
#[derive(Serialize, ToSchema)]
pub struct Finding {
    pub check: String,
    /// `critical|warning`.
    pub severity: String,
    pub subject_kind: String,
    pub subject: String,
    #[schema(required = false)]
    pub facility: Option<String>,
    pub since: String,
    pub detail: String,
    pub evidence: Vec<u64>,
}

/// The world a past time is read in: `known_now` (everything the register knows now about
/// that time, the default) or `as_recorded` (only what had been recorded by then).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum View {
    KnownNow,
    AsRecorded,
}

/// `GET /api/v1/population`.
#[derive(Serialize, ToSchema)]
pub struct Population {
    #[schema(required = false)]
    pub at: Option<String>,
    pub view: View,
    pub total: u64,
    pub in_transit: u64,
    #[schema(value_type = Vec<Object>)]
    pub facilities: Vec<serde_json::Value>,
}

/// One hit of `GET /api/v1/persons?q=`.
#[derive(Serialize, ToSchema)]
pub struct PersonHit {
    pub register_no: String,
    pub given_names: Option<String>,
    pub family_names: Option<String>,
    pub date_of_birth: Option<String>,
    pub status: String,
    pub facility: Option<String>,
    pub cell: Option<String>,
}

/// One entry of `GET /api/v1/access-log`.
#[derive(Serialize, ToSchema)]
pub struct AccessEntry {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub register_no: Option<String>,
    pub what: String,
}

/// `POST /api/v1/commands`, all applied.
#[derive(Serialize, ToSchema)]
pub struct Applied {
    /// Per command, the sequence numbers of its events.
    pub seqs: Vec<Vec<u64>>,
    pub checkpoint_size: Option<u64>,
}

/// `POST /login`, signed in.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub user: String,
    pub role: String,
    pub csrf_token: String,
}

/// `GET /locate`: found or not, never a list.
#[derive(Serialize, ToSchema)]
pub struct Located {
    pub found: bool,
    #[schema(required = false)]
    pub status: Option<String>,
    #[schema(value_type = Object, required = false)]
    pub facility: Option<serde_json::Value>,
    #[schema(required = false)]
    pub message: Option<String>,
}

/// A parameter's constraints, by its name (the same name means the same thing everywhere).
fn constrain(name: &str) -> Option<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let code = "^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$";
    let b = ObjectBuilder::new();
    let b = match name {
        "register_no" | "facility" => b
            .schema_type(Type::String)
            .pattern(Some(code))
            .max_length(Some(40)),
        // At least 2 characters once trimmed of white space (which the server trims).
        "q" => b
            .schema_type(Type::String)
            .min_length(Some(2))
            .pattern(Some(r"^\s*\S[\s\S]*\S\s*$")),
        "at" => b
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        "date_of_birth" => b
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        "limit" => b
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .maximum(Some(10_000)),
        "seq" | "old" => b
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .maximum(Some(i64::MAX)),
        "check" => b
            .schema_type(Type::String)
            .enum_values(Some(habeas_domain::checks::CHECKS.iter().map(|c| c.id))),
        _ => return None,
    };
    Some(utoipa::openapi::Schema::Object(b.build()))
}

/// The error statuses every operation may answer, each with the [`Error`] body; an
/// operation's own descriptions are kept and given the body.
pub struct ErrorResponses;

impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error_body = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [(&mut item.get, false), (&mut item.post, true)];
            for (op, has_body) in ops {
                let Some(op) = op.as_mut() else { continue };
                for p in op.parameters.iter_mut().flatten() {
                    let RefOr::T(p) = p else { continue };
                    if let Some(schema) = constrain(&p.name) {
                        p.schema = Some(RefOr::T(schema));
                    }
                }
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut statuses = vec![
                    (
                        "400",
                        "Malformed request: a parameter or the body does not parse",
                    ),
                    ("405", "Method not allowed"),
                    ("408", "Not answered within the time limit"),
                    ("500", "Internal error (logged on the server, no detail)"),
                    ("503", "The register is damaged and refuses writes"),
                ];
                if secured || path.starts_with("/logout") {
                    statuses.push(("401", "No, unknown or revoked token, or no session"));
                    statuses.push(("403", "The role or facility scope does not permit it, or a session request without its CSRF token"));
                }
                if has_body {
                    statuses.push(("413", "Body over 1 MiB"));
                    statuses.push(("415", "The body is not sent as application/json"));
                    statuses.push(("403", "A request from another site's page"));
                }
                for (code, text) in statuses {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| {
                            RefOr::T(ResponseBuilder::new().description(text).build())
                        });
                }
                // The locator's own file declares no body; its shape is documented here.
                if path == "/locate"
                    && let Some(RefOr::T(r)) = op.responses.responses.get_mut("200")
                {
                    r.content.insert(
                        "application/json".to_owned(),
                        RefOr::T(
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Located")))
                                .build(),
                        ),
                    );
                }
                for (code, r) in op.responses.responses.iter_mut() {
                    if (code.starts_with('4') || code.starts_with('5'))
                        && let RefOr::T(r) = r
                    {
                        r.content.clear();
                        r.content
                            .insert("application/json".to_owned(), RefOr::T(error_body()));
                    }
                }
            }
        }
    }
}
