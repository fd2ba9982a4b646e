//! The HTTP interface through its router (no socket) and once through a real socket:
//! authentication and the role table, commands all-or-nothing with refusals, reads and the
//! access log, the transparency endpoints checked with the ledger's verifiers, the locator.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use axum::body::Body;
use axum::http::{Request, StatusCode};
use habeas_domain::authz::Role;
use habeas_domain::{FacilityCode, Submission};
use habeas_ledger::{Checkpoint, InclusionReceipt, WitnessRequest, leaf_hash};
use habeas_store::Store;
use habeas_web::{AppState, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Fixture {
    state: AppState,
    path: std::path::PathBuf,
    tokens: std::collections::HashMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

const PLACES: &[&str] = &[
    r#"{"type":"facility.register","facility":"WEB","name":"Centro Web (synthetic)","authority":"Autoridad Web (synthetic)","timezone":"UTC","official_capacity":10}"#,
    r#"{"type":"unit.register","facility":"WEB","unit":"U1","name":"U1"}"#,
    r#"{"type":"cell.register","cell":"WEB/U1/C1","places":2,"beds":2}"#,
    r#"{"type":"admission.record","register_no":"SYN-W1","facility":"WEB","at":"2025-01-01T08:00:00Z","person":{"given_names":"Ana","family_names":"Web Ejemplo","sex":"female","date_of_birth":"1990-01-01"},"legal_status":"remand"}"#,
    r#"{"type":"placement.record","register_no":"SYN-W1","cell":"WEB/U1/C1","at":"2025-01-01T09:00:00Z"}"#,
    r#"{"type":"health.exam","register_no":"SYN-W1","at":"2025-01-01T10:00:00Z","injuries_observed":true}"#,
];

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.db");
    let mut store = Store::create(&path, "example.org/habeas/web").unwrap();
    let subs: Vec<Submission> = PLACES
        .iter()
        .map(|j| Submission::from_json(j).unwrap())
        .collect();
    let (outcomes, _) = store.submit_batch(&subs, true).unwrap();
    assert!(outcomes.iter().all(Result::is_ok));
    let mut tokens = std::collections::HashMap::new();
    for (name, role) in [
        ("ada.admin", Role::Admin),
        ("reg.istrar", Role::Registrar),
        ("oficial", Role::Officer),
        ("salud", Role::Health),
        ("monitor.npm", Role::Monitor),
    ] {
        store.add_user(name, role, &[], None).unwrap();
        tokens.insert(name, store.new_token(name).unwrap());
    }
    store
        .add_user(
            "scoped",
            Role::Registrar,
            &[FacilityCode::parse("OTHER").unwrap()],
            None,
        )
        .unwrap();
    tokens.insert("scoped", store.new_token("scoped").unwrap());
    Fixture {
        state: AppState::new(store).unwrap(),
        path,
        tokens,
        _dir: dir,
    }
}

async fn call(
    f: &Fixture,
    method: &str,
    uri: &str,
    user: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(u) = user {
        req = req.header("authorization", format!("Bearer {}", f.tokens[u]));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = router(f.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, bytes)
}

async fn call_json(
    f: &Fixture,
    method: &str,
    uri: &str,
    user: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, bytes) = call(f, method, uri, user, body.map(|b| b.to_string())).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A handle of the test's own on the register the server writes (to look, not to write).
fn open(f: &Fixture) -> Store {
    Store::open(&f.path).unwrap()
}

fn log_size(f: &Fixture) -> u64 {
    open(f).log_size()
}

#[tokio::test]
async fn commands_need_a_token_and_a_role_that_permits_them() {
    let f = fixture();
    let admission = json!({"type":"admission.record","register_no":"SYN-W2","facility":"WEB","at":"2025-01-02T08:00:00Z","legal_status":"remand","actor":"someone.else"});
    let (s, v) = call_json(
        &f,
        "POST",
        "/api/v1/commands",
        None,
        Some(admission.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/v1/commands")
        .header("authorization", "Bearer habeas_nope")
        .header("content-type", "application/json")
        .body(Body::from(admission.to_string()))
        .unwrap();
    req.headers_mut();
    let resp = router(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A monitor can never write; an officer cannot admit; a registrar can.
    for user in ["monitor.npm", "oficial", "salud"] {
        let (s, v) = call_json(
            &f,
            "POST",
            "/api/v1/commands",
            Some(user),
            Some(admission.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{user}: {v}");
        assert!(v["error"].as_str().unwrap().contains("may not"), "{v}");
    }
    let before = log_size(&f);
    let (s, v) = call_json(
        &f,
        "POST",
        "/api/v1/commands",
        Some("reg.istrar"),
        Some(admission),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["seqs"], json!([[before]]));
    // The actor is the signed-in user, not what the body claimed.
    let record = open(&f).record(before).unwrap().0;
    assert!(record.contains(r#""actor":"reg.istrar""#), "{record}");
    // Officers record daily life; health staff record health.
    let contact = json!({"type":"contact.record","register_no":"SYN-W2","at":"2025-01-03T08:00:00Z","kind":"family_visit"});
    assert_eq!(
        call_json(
            &f,
            "POST",
            "/api/v1/commands",
            Some("oficial"),
            Some(contact)
        )
        .await
        .0,
        StatusCode::OK
    );
    let exam = json!({"type":"health.exam","register_no":"SYN-W2","at":"2025-01-03T09:00:00Z","injuries_observed":false});
    assert_eq!(
        call_json(
            &f,
            "POST",
            "/api/v1/commands",
            Some("oficial"),
            Some(exam.clone())
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call_json(&f, "POST", "/api/v1/commands", Some("salud"), Some(exam))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_batch_with_one_refusal_applies_nothing_and_names_rule_field_record() {
    let f = fixture();
    let before = log_size(&f);
    let batch = json!([
        {"type":"admission.record","register_no":"SYN-W3","facility":"WEB","at":"2025-01-02T08:00:00Z","legal_status":"remand"},
        {"type":"placement.record","register_no":"SYN-W1","cell":"WEB/U1/C9","at":"2025-01-02T09:00:00Z"},
        {"type":"release.record","register_no":"SYN-W9","at":"2025-01-02T09:00:00Z","reason":"bail","authority":"A","reference":"R"}
    ]);
    let (s, v) = call_json(
        &f,
        "POST",
        "/api/v1/commands",
        Some("reg.istrar"),
        Some(batch),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let refusals = v["refusals"].as_array().unwrap();
    assert_eq!(refusals.len(), 2);
    assert_eq!(refusals[0]["index"], 1);
    assert_eq!(refusals[0]["refusal"]["rule"], "unknown-cell");
    assert_eq!(refusals[0]["refusal"]["field"], "cell");
    assert_eq!(refusals[1]["refusal"]["rule"], "unknown-person");
    assert_eq!(log_size(&f), before, "nothing applied");
    // A malformed command is a 422 naming the field; a body that is not JSON is a 400.
    let (s, v) = call_json(&f, "POST", "/api/v1/commands", Some("reg.istrar"), Some(json!({"type":"placement.record","register_no":"SYN-W1","cel":"x","at":"2025-01-02T09:00:00Z"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["refusals"][0]["refusal"]["field"], "cel");
    let (s, bytes) = call(
        &f,
        "POST",
        "/api/v1/commands",
        Some("reg.istrar"),
        Some("{not json".into()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("not a JSON command"),
        "{v}"
    );
    // Too large a body is refused before it is read.
    let huge = format!("[{}]", vec![r#"{"type":"x"}"#; 200_000].join(","));
    let (s, _) = call(
        &f,
        "POST",
        "/api/v1/commands",
        Some("reg.istrar"),
        Some(huge),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(log_size(&f), before);
}

#[tokio::test]
async fn reads_answer_and_are_written_to_the_access_log() {
    let f = fixture();
    let (s, w) = call_json(
        &f,
        "GET",
        "/api/v1/whereabouts/SYN-W1",
        Some("oficial"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(w["cell"], "WEB/U1/C1");
    assert_eq!(
        call_json(
            &f,
            "GET",
            "/api/v1/whereabouts/SYN-W404",
            Some("oficial"),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call_json(
            &f,
            "GET",
            "/api/v1/whereabouts/bad%20no",
            Some("oficial"),
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    // Health staff see the exam; a monitor sees that one happened, not what it found.
    let (_, file) = call_json(&f, "GET", "/api/v1/persons/SYN-W1", Some("salud"), None).await;
    let exam = file["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["type"] == "health.examined")
        .unwrap()
        .clone();
    assert_eq!(exam["event"]["injuries_observed"], true);
    let (s, file) = call_json(
        &f,
        "GET",
        "/api/v1/persons/SYN-W1",
        Some("monitor.npm"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let exam = file["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["type"] == "health.examined")
        .unwrap()
        .clone();
    assert!(exam["event"].get("injuries_observed").is_none(), "{exam}");
    assert!(file["findings"].is_array());
    let (s, p) = call_json(&f, "GET", "/api/v1/population", Some("monitor.npm"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["total"], 1);
    let (s, list) = call_json(
        &f,
        "GET",
        "/api/v1/findings?check=no-legal-basis",
        Some("monitor.npm"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["view"], "known_now");
    assert_eq!(list["findings"][0]["subject"], "SYN-W1");
    // The audit view, named the same as the CLI's; a time after now is refused.
    let (s, audit) = call_json(
        &f,
        "GET",
        &format!(
            "/api/v1/findings?as_recorded=true&at={}",
            list["at"].as_str().unwrap()
        ),
        Some("monitor.npm"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    assert_eq!(audit["view"], "as_recorded");
    let (s, p) = call_json(
        &f,
        "GET",
        "/api/v1/population?as_recorded=true&at=2020-01-01T00:00:00Z",
        Some("monitor.npm"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        (&p["view"], &p["total"]),
        (&json!("as_recorded"), &json!(0))
    );
    let (s, e) = call_json(
        &f,
        "GET",
        "/api/v1/findings?at=2999-01-01T00:00:00Z",
        Some("monitor.npm"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("after now"), "{e}");
    assert_eq!(
        call_json(
            &f,
            "GET",
            "/api/v1/findings?check=nonsense",
            Some("monitor.npm"),
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call_json(
            &f,
            "GET",
            "/api/v1/population?at=yesterday",
            Some("monitor.npm"),
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    let (s, hits) = call_json(&f, "GET", "/api/v1/persons?q=web", Some("reg.istrar"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hits[0]["register_no"], "SYN-W1");
    // Admins and monitors read the access log; others may not.
    assert_eq!(
        call_json(&f, "GET", "/api/v1/access-log", Some("oficial"), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, log) = call_json(&f, "GET", "/api/v1/access-log", Some("monitor.npm"), None).await;
    assert_eq!(s, StatusCode::OK);
    let entries = log.as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["user"] == "oficial" && e["register_no"] == "SYN-W1"),
        "{log}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["user"] == "monitor.npm" && e["what"] == "person file"),
        "{log}"
    );
}

#[tokio::test]
async fn transparency_endpoints_are_open_and_verify_with_standard_formats() {
    let f = fixture();
    let (s, key) = call(&f, "GET", "/log/key", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let verifier =
        habeas_ledger::Verifier::from_verifier_key(String::from_utf8(key).unwrap().trim()).unwrap();
    let (_, note) = call(&f, "GET", "/log/checkpoint", None, None).await;
    let (cp, _) = Checkpoint::open(
        std::str::from_utf8(&note).unwrap(),
        std::slice::from_ref(&verifier),
    )
    .unwrap();
    assert_eq!(cp.size, PLACES.len() as u64);
    for seq in 0..cp.size {
        let (_, leaf) = call(&f, "GET", &format!("/log/leaf/{seq}"), None, None).await;
        let (_, proof) = call(&f, "GET", &format!("/log/proof/{seq}"), None, None).await;
        let receipt = InclusionReceipt::parse(std::str::from_utf8(&proof).unwrap()).unwrap();
        habeas_ledger::verify_inclusion(&leaf_hash(&leaf), seq, cp.size, &receipt.hashes, &cp.root)
            .unwrap();
    }
    let (s, body) = call(&f, "GET", "/log/consistency?old=2", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let w = WitnessRequest::parse(std::str::from_utf8(&body).unwrap()).unwrap();
    assert_eq!(w.old_size, 2);
    assert_eq!(
        call(&f, "GET", "/log/proof/999", None, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&f, "GET", "/log/leaf/x", None, None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&f, "GET", "/log/consistency", None, None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&f, "GET", "/log/consistency?old=999", None, None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&f, "GET", "/nowhere", None, None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_locator_answers_exact_queries_with_the_facility_only_and_is_rate_limited() {
    let f = fixture();
    let (s, v) = call_json(&f, "GET", "/locate?register_no=SYN-W1", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["found"], true);
    assert_eq!(v["facility"]["name"], "Centro Web (synthetic)");
    assert_eq!(v["facility"]["authority"], "Autoridad Web (synthetic)");
    assert!(
        v.get("cell").is_none() && v["facility"].get("cell").is_none(),
        "no cell, no detail: {v}"
    );
    let (_, v) = call_json(
        &f,
        "GET",
        "/locate?family_names=web%20ejemplo&date_of_birth=1990-01-01",
        None,
        None,
    )
    .await;
    assert_eq!(v["found"], true, "{v}");
    let (_, v) = call_json(
        &f,
        "GET",
        "/locate?family_names=Web%20Ejemplo&date_of_birth=1990-01-02",
        None,
        None,
    )
    .await;
    assert_eq!(v["found"], false);
    let (_, v) = call_json(&f, "GET", "/locate?register_no=SYN-W404", None, None).await;
    assert_eq!(v["found"], false);
    assert_eq!(
        call_json(&f, "GET", "/locate?family_names=Web", None, None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    // The access log holds every query.
    f.state.access_log_written().await.unwrap();
    let log = open(&f).access_log(100).unwrap();
    assert!(log.iter().filter(|e| e.user.starts_with("public:")).count() >= 4);
    // 30 a minute per client, then 429.
    let mut last = StatusCode::OK;
    for _ in 0..40 {
        last = call_json(&f, "GET", "/locate?register_no=SYN-W1", None, None)
            .await
            .0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

/// Hardening (#15, item 2): a person erased from the current-state tables behind the
/// register's back is still found by the locator, which answers from the log.
#[tokio::test]
async fn the_locator_answers_from_the_log_when_the_tables_lost_a_person() {
    let f = fixture();
    let erase = rusqlite::Connection::open(&f.path).unwrap();
    // A program imitating the register's mark: the guards let it through.
    erase
        .create_scalar_function(
            habeas_store::WRITER_FUNCTION,
            0,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8,
            |_| Ok(1),
        )
        .unwrap();
    erase
        .execute_batch(
            "DELETE FROM persons WHERE register_no = 'SYN-W1';
             DELETE FROM stays WHERE register_no = 'SYN-W1';
             DELETE FROM held_persons WHERE register_no = 'SYN-W1'",
        )
        .unwrap();
    drop(erase);
    let (s, v) = call_json(&f, "GET", "/locate?register_no=SYN-W1", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["found"], true, "{v}");
    assert_eq!(v["facility"]["name"], "Centro Web (synthetic)");
    let (_, v) = call_json(
        &f,
        "GET",
        "/locate?family_names=web%20ejemplo&date_of_birth=1990-01-01",
        None,
        None,
    )
    .await;
    assert_eq!(v["found"], true, "{v}");
    assert_eq!(v["facility"]["code"], "WEB", "{v}");
    // Nobody the log does not hold is found that way.
    let (_, v) = call_json(&f, "GET", "/locate?register_no=SYN-W404", None, None).await;
    assert_eq!(v["found"], false);
}

#[tokio::test]
async fn a_real_socket_serves_the_same_router() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = fixture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(habeas_web::serve_on(listener, f.state.clone(), async {
        let _ = stopped.await;
    }));
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /api/v1/whereabouts/SYN-W1 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        f.tokens["oficial"]
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""cell":"WEB/U1/C1""#), "{response}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_user_limited_to_other_facilities_can_neither_write_nor_read_here() {
    let f = fixture();
    let before = log_size(&f);
    let admission = json!({"type":"admission.record","register_no":"SYN-W5","facility":"WEB","at":"2025-01-02T08:00:00Z","legal_status":"remand"});
    let (s, v) = call_json(
        &f,
        "POST",
        "/api/v1/commands",
        Some("scoped"),
        Some(admission),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let release = json!({"type":"release.record","register_no":"SYN-W1","at":"2025-01-05T08:00:00Z","reason":"bail","authority":"A","reference":"R"});
    assert_eq!(
        call_json(
            &f,
            "POST",
            "/api/v1/commands",
            Some("scoped"),
            Some(release)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(log_size(&f), before);
    assert_eq!(
        call_json(&f, "GET", "/api/v1/persons/SYN-W1", Some("scoped"), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call_json(
            &f,
            "GET",
            "/api/v1/whereabouts/SYN-W1",
            Some("scoped"),
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (_, findings) = call_json(&f, "GET", "/api/v1/findings", Some("scoped"), None).await;
    assert_eq!(findings["findings"], json!([]));
    let (_, p) = call_json(&f, "GET", "/api/v1/population", Some("scoped"), None).await;
    assert_eq!(p["total"], 0);
    assert_eq!(p["facilities"], json!([]));
}

/// The committed OpenAPI document is the one the code generates, and every documented path
/// answers (not 404): they cannot drift apart. Regenerate with
/// `HABEAS_UPDATE_OPENAPI=1 cargo test -p habeas-web`.
#[tokio::test]
async fn the_committed_openapi_document_matches_the_code() {
    let generated = habeas_web::openapi().to_pretty_json().unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var("HABEAS_UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/habeas-web/openapi.json is stale: regenerate it with HABEAS_UPDATE_OPENAPI=1 cargo test -p habeas-web"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/api/v1/commands",
        "/api/v1/persons/{register_no}",
        "/api/v1/whereabouts/{register_no}",
        "/api/v1/population",
        "/api/v1/findings",
        "/api/v1/persons",
        "/api/v1/access-log",
        "/log/key",
        "/log/checkpoint",
        "/log/leaf/{seq}",
        "/log/proof/{seq}",
        "/log/consistency",
        "/locate",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    let f = fixture();
    for (path, item) in paths {
        let uri = path
            .replace("{register_no}", "SYN-W1")
            .replace("{seq}", "0");
        for method in item.as_object().unwrap().keys() {
            let (status, _) = call(
                &f,
                &method.to_uppercase(),
                &uri,
                Some("ada.admin"),
                (method == "post").then(|| "{}".to_owned()),
            )
            .await;
            assert_ne!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {path} is documented but not served"
            );
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
    // The document is served too.
    let (s, body) = call(&f, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(String::from_utf8(body).unwrap(), generated.trim_end());
}

/// Password sign-in opens a cookie session with secure flags; writes with the cookie need
/// the session's CSRF token; sign-out ends it; repeated failures are limited.
#[tokio::test]
async fn cookie_sessions_need_csrf_for_writes_and_failed_sign_ins_are_limited() {
    let f = fixture();
    open(&f)
        .add_user(
            "ana.web",
            Role::Registrar,
            &[],
            Some("a long synthetic passphrase"),
        )
        .unwrap();
    let login = |name: &str, password: &str| {
        Request::builder()
            .method("POST")
            .uri("/login")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"name": name, "password": password}).to_string(),
            ))
            .unwrap()
    };
    let resp = router(f.state.clone())
        .oneshot(login("ana.web", "wrong"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = router(f.state.clone())
        .oneshot(login("ana.web", "a long synthetic passphrase"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(body["role"], "registrar");

    let with_cookie = |method: &str, uri: &str, csrf: Option<&str>, body: Option<Value>| {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", session.clone());
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        }
    };
    let read = router(f.state.clone())
        .oneshot(with_cookie("GET", "/api/v1/whereabouts/SYN-W1", None, None))
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let cmd = json!({"type":"contact.record","register_no":"SYN-W1","at":"2025-01-03T08:00:00Z","kind":"letter"});
    let before = log_size(&f);
    for bad in [None, Some("not-the-token")] {
        let resp = router(f.state.clone())
            .oneshot(with_cookie(
                "POST",
                "/api/v1/commands",
                bad,
                Some(cmd.clone()),
            ))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(log_size(&f), before, "a forged request changes nothing");
    let resp = router(f.state.clone())
        .oneshot(with_cookie(
            "POST",
            "/api/v1/commands",
            Some(&csrf),
            Some(cmd),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Sign out: the cookie stops working.
    let resp = router(f.state.clone())
        .oneshot(with_cookie("POST", "/logout", Some(&csrf), None))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let read = router(f.state.clone())
        .oneshot(with_cookie("GET", "/api/v1/whereabouts/SYN-W1", None, None))
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::UNAUTHORIZED);
    // Five failures for a name, then even the right password is refused for a while.
    for _ in 0..5 {
        let resp = router(f.state.clone())
            .oneshot(login("ana.web", "guess"))
            .await
            .unwrap();
        assert!(matches!(
            resp.status(),
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
        ));
    }
    let resp = router(f.state.clone())
        .oneshot(login("ana.web", "a long synthetic passphrase"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Holds the register's write lock from a handle of the test's own until `release` is sent,
/// so the server's writer waits (as behind a slow fsync) and requests queue up meanwhile.
fn hold_write_lock(f: &Fixture) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let mut other = open(f);
    let (locked, wait) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        other.begin().unwrap();
        locked.send(()).unwrap();
        let _ = released.recv();
        other.rollback().unwrap();
    });
    wait.recv().unwrap();
    (release, holder)
}

/// A request that cannot be answered in time gets 408 and no detail, instead of hanging, and
/// is not applied; reads are answered meanwhile, as they never wait behind a write.
#[tokio::test]
async fn a_request_over_the_time_limit_is_answered_408() {
    let f = fixture();
    let before = log_size(&f);
    let (release, holder) = hold_write_lock(&f);
    let limited = |req| {
        habeas_web::router_with_timeout(f.state.clone(), std::time::Duration::from_millis(100))
            .oneshot(req)
    };
    let admission = json!({"type":"admission.record","register_no":"SYN-LATE","facility":"WEB","at":"2025-01-02T08:00:00Z","legal_status":"remand"});
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/commands")
        .header(
            "authorization",
            format!("Bearer {}", f.tokens["reg.istrar"]),
        )
        .header("content-type", "application/json")
        .body(Body::from(admission.to_string()))
        .unwrap();
    let resp = limited(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
    // While the writer waits, reads answer within the same 100 ms limit.
    for uri in ["/api/v1/whereabouts/SYN-W1", "/log/checkpoint"] {
        let req = Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {}", f.tokens["oficial"]))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            limited(req).await.unwrap().status(),
            StatusCode::OK,
            "{uri}"
        );
    }
    release.send(()).unwrap();
    holder.join().unwrap();
    // Once the writer is free, the next command is applied — and the abandoned one is not.
    let next = json!({"type":"admission.record","register_no":"SYN-NEXT","facility":"WEB","at":"2025-01-02T08:00:00Z","legal_status":"remand"});
    let (s, v) = call_json(
        &f,
        "POST",
        "/api/v1/commands",
        Some("reg.istrar"),
        Some(next),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["seqs"], json!([[before]]));
    assert_eq!(log_size(&f), before + 1);
    let store = open(&f);
    assert!(
        store
            .whereabouts(&habeas_domain::RegisterNo::parse("SYN-LATE").unwrap())
            .unwrap()
            .is_none()
    );
}

/// One HTTP/1.1 request on its own connection; the status and the JSON body.
async fn raw_post(addr: std::net::SocketAddr, token: &str, body: String) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /api/v1/commands HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    (status, json)
}

/// Group commit through a real socket: 32 requests at once, while the writer is held back
/// so they queue. Every accepted command is in the log exactly once, every refused request
/// is absent (including the accepted first half of a refused two-command request), the
/// accepted neighbours of refused requests are not rolled back, the log verifies, and the
/// requests shared checkpoints (groups formed).
#[tokio::test]
async fn concurrent_writers_are_committed_in_groups_each_request_all_or_nothing() {
    let f = fixture();
    let before = log_size(&f);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(habeas_web::serve_on(listener, f.state.clone(), async {
        let _ = stopped.await;
    }));
    let (release, holder) = hold_write_lock(&f);
    let admission = |i: usize| json!({"type":"admission.record","register_no":format!("SYN-G{i}"),"facility":"WEB","at":"2025-01-02T08:00:00Z","legal_status":"remand"});
    let bad_placement = |i: usize| json!({"type":"placement.record","register_no":format!("SYN-G{i}"),"cell":"WEB/U1/C9","at":"2025-01-02T09:00:00Z"});
    let token = f.tokens["reg.istrar"].clone();
    let mut tasks = Vec::new();
    for i in 0..32usize {
        // Every fourth request is refused outright; every fourth is a pair whose second
        // command is refused after the first was applied inside the group.
        let body = match i % 4 {
            0 => {
                json!({"type":"placement.record","register_no":"SYN-W1","cell":"WEB/U1/C9","at":"2025-01-02T09:00:00Z"})
            }
            1 => json!([admission(i), bad_placement(i)]),
            _ => admission(i),
        };
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            (i, raw_post(addr, &token, body.to_string()).await)
        }));
    }
    // Let every request reach the writer's queue, then let the writer go.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    release.send(()).unwrap();
    holder.join().unwrap();
    let mut accepted = std::collections::BTreeMap::new();
    let mut checkpoints = std::collections::BTreeMap::<u64, usize>::new();
    for t in tasks {
        let (i, (status, v)) = t.await.unwrap();
        if i % 4 < 2 {
            assert_eq!(status, 422, "request {i}: {v}");
            assert_eq!(v["refusals"][0]["refusal"]["rule"], "unknown-cell", "{v}");
            assert_eq!(v["refusals"][0]["index"], json!(i % 4), "{v}");
        } else {
            assert_eq!(status, 200, "request {i}: {v}");
            let seqs: Vec<u64> = serde_json::from_value(v["seqs"][0].clone()).unwrap();
            assert_eq!(seqs.len(), 1);
            accepted.insert(seqs[0], i);
            *checkpoints
                .entry(v["checkpoint_size"].as_u64().unwrap())
                .or_default() += 1;
        }
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    let store = open(&f);
    assert_eq!(accepted.len(), 16);
    // Exactly the accepted commands, each once, at the seqs they were answered with.
    assert_eq!(store.log_size(), before + 16);
    assert_eq!(
        accepted.keys().copied().collect::<Vec<_>>(),
        (before..before + 16).collect::<Vec<_>>()
    );
    for (&seq, &i) in &accepted {
        let record = store.record(seq).unwrap().0;
        assert!(
            record.contains(&format!(r#""register_no":"SYN-G{i}""#)),
            "{record}"
        );
    }
    for i in (0..32).filter(|i| i % 4 == 1) {
        assert!(
            store
                .whereabouts(&habeas_domain::RegisterNo::parse(&format!("SYN-G{i}")).unwrap())
                .unwrap()
                .is_none(),
            "the admission of refused request {i} was undone"
        );
    }
    assert!(store.verify(None).unwrap().ok());
    // Groups formed: fewer checkpoints than accepted requests, most in one group.
    assert!(checkpoints.len() < accepted.len(), "{checkpoints:?}");
    assert!(checkpoints.values().any(|&n| n >= 8), "{checkpoints:?}");
    assert_eq!(store.latest_checkpoint().unwrap().size, before + 16);
}

/// `POST /login` from `addr` (as the server's socket would give it).
fn login_from(addr: &str, name: &str, password: &str) -> Request<Body> {
    let mut req = Request::builder()
        .method("POST")
        .uri("/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"name": name, "password": password}).to_string(),
        ))
        .unwrap();
    let socket: std::net::SocketAddr = format!("{addr}:40000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(socket));
    req
}

/// Concurrent wrong sign-ins for one account: at most the limit reach the password check,
/// every other is answered 429 (the attempt is reserved before the hash, under the lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_sign_ins_check_at_most_the_limit() {
    let f = fixture();
    for (account, n) in [("burst.forty", 40), ("burst.twohundred", 200)] {
        open(&f)
            .add_user(
                account,
                Role::Officer,
                &[],
                Some("the right synthetic phrase"),
            )
            .unwrap();
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let app = router(f.state.clone());
                let req = login_from("192.0.2.10", account, &format!("guess {i}"));
                tokio::spawn(async move { app.oneshot(req).await.unwrap().status() })
            })
            .collect();
        let (mut checked, mut limited) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => limited += 1,
                other => panic!("{other}"),
            }
        }
        assert_eq!(
            checked,
            habeas_web::session::FREE_FAILURES,
            "{account}: {checked} passwords checked, {limited} refused"
        );
        assert_eq!(limited, n - checked);
    }
}

/// Password hashing never runs on the writer's thread: a command sent while forty sign-ins
/// wait for their hashes is applied while they are still pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_during_a_burst_of_sign_ins_does_not_wait_for_the_hashes() {
    let f = fixture();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = 40;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let app = router(f.state.clone());
            let answered = answered.clone();
            // The web form, which used to check the password on the writer's thread.
            let mut req = Request::builder()
                .method("POST")
                .uri("/sign-in")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("name=nobody.{i}&password=guess")))
                .unwrap();
            let socket: std::net::SocketAddr = "192.0.2.20:40000".parse().unwrap();
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(socket));
            tokio::spawn(async move {
                let s = app.oneshot(req).await.unwrap().status();
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                s
            })
        })
        .collect();
    // Every sign-in is reserved (and waits for, or runs, its hash) before the command.
    while f.state.logins.pending() < n {
        tokio::task::yield_now().await;
        if answered.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
    }
    let cmd = json!({"type":"contact.record","register_no":"SYN-W1","at":"2025-01-03T08:00:00Z","kind":"letter"});
    let (s, v) = call_json(&f, "POST", "/api/v1/commands", Some("oficial"), Some(cmd)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pending = f.state.logins.pending();
    let done = answered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        pending > 0 && done < n as usize,
        "the command waited for the hashes: {done} of {n} sign-ins answered, {pending} pending"
    );
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
}

/// Failures from one address put the account in back-off for every unknown address, but
/// not for an address that signed into it before.
#[tokio::test]
async fn a_known_address_signs_in_while_failures_from_elsewhere_back_the_account_off() {
    let f = fixture();
    let right = "a long synthetic passphrase";
    open(&f)
        .add_user("ana.known", Role::Registrar, &[], Some(right))
        .unwrap();
    let send = |req| router(f.state.clone()).oneshot(req);
    assert_eq!(
        send(login_from("198.51.100.1", "ana.known", right))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let mut statuses = Vec::new();
    for i in 0..8 {
        let resp = send(login_from(
            "203.0.113.9",
            "ana.known",
            &format!("guess {i}"),
        ))
        .await
        .unwrap();
        statuses.push(resp.status());
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(resp.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        5,
        "{statuses:?}"
    );
    // The right password from a third, unknown address waits out the back-off …
    assert_eq!(
        send(login_from("192.0.2.77", "ana.known", right))
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // … from the address the owner used before, it is accepted.
    assert_eq!(
        send(login_from("198.51.100.1", "ana.known", right))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Other accounts from the failing address are not locked out by one account's failures.
    open(&f)
        .add_user("ben.other", Role::Registrar, &[], Some(right))
        .unwrap();
    assert_eq!(
        send(login_from("203.0.113.9", "ben.other", right))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

/// Hardening (#15, item 7), the API as the CLI: a body naming a key twice, a time zone the
/// IANA database does not know, a date of birth after the admission and a time centuries back
/// are refused naming the field and rule, and change nothing; a command carrying a
/// `source_id` already in the log is answered with its first events and records nothing.
#[tokio::test]
async fn implausible_commands_are_refused_and_a_source_id_is_recorded_once() {
    let f = fixture();
    let before = log_size(&f);
    let duplicate = r#"{"type":"contact.record","register_no":"SYN-W1","at":"2025-01-03T08:00:00Z","kind":"call","kind":"family_visit"}"#;
    let (s, body) = call(
        &f,
        "POST",
        "/api/v1/commands",
        Some("reg.istrar"),
        Some(duplicate.into()),
    )
    .await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("duplicate key `kind`"),
        "{v}"
    );
    for (command, field, rule) in [
        (
            json!({"type":"facility.register","facility":"MARS","name":"M","authority":"A","timezone":"Mars/Olympus","official_capacity":1}),
            "timezone",
            "malformed",
        ),
        (
            json!({"type":"admission.record","register_no":"SYN-W9","facility":"WEB","at":"2025-01-02T08:00:00Z","legal_status":"remand","person":{"given_names":"A","family_names":"B","sex":"male","date_of_birth":"2999-01-01"}}),
            "person.date_of_birth",
            "born-after-admission",
        ),
        (
            json!({"type":"count.record","unit":"WEB/U1","at":"0001-01-01T00:00:00Z","counted":1}),
            "at",
            "too-early",
        ),
    ] {
        let (s, v) = call_json(
            &f,
            "POST",
            "/api/v1/commands",
            Some("reg.istrar"),
            Some(command),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["refusals"][0]["refusal"]["field"], field, "{v}");
        assert_eq!(v["refusals"][0]["refusal"]["rule"], rule, "{v}");
    }
    assert_eq!(log_size(&f), before, "nothing was recorded");
    // A retried request with its source_id is answered as the first one, and logged once.
    let visit = json!({"type":"contact.record","source_id":"retry-1","register_no":"SYN-W1","at":"2025-01-03T08:00:00Z","kind":"family_visit"});
    let (s1, v1) = call_json(
        &f,
        "POST",
        "/api/v1/commands",
        Some("reg.istrar"),
        Some(visit.clone()),
    )
    .await;
    let (s2, v2) = call_json(
        &f,
        "POST",
        "/api/v1/commands",
        Some("reg.istrar"),
        Some(visit),
    )
    .await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{v1} {v2}");
    assert_eq!(v1["seqs"], v2["seqs"]);
    assert_eq!(log_size(&f), before + 1);
}

/// #15 (schemathesis ST201): the search's `q` is documented as the server reads it — white
/// space around it is trimmed (ECMA-262 `\s`, as the document's patterns mean it), then two
/// characters at least — so a query ending in a vertical tab is valid by the schema and
/// answered, and one with a single character between spaces is refused by both.
#[tokio::test]
async fn the_search_accepts_exactly_what_its_documented_pattern_allows() {
    let doc: Value = serde_json::from_str(&habeas_web::openapi().to_json().unwrap()).unwrap();
    let q = doc["paths"]["/api/v1/persons"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "q")
        .unwrap()
        .clone();
    // The pattern says: at least two characters that are not white space.
    assert_eq!(q["schema"]["pattern"], r"^\s*\S[\s\S]*\S\s*$");
    let ecma_space = |c: char| {
        matches!(
            c,
            '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | ' ' | '\u{a0}' | '\u{feff}'
        )
    };
    let f = fixture();
    for (sample, encoded) in [
        ("web", "web"),
        ("T\u{a8}x\u{0b}", "T%C2%A8x%0B"),
        ("\u{0b}we", "%0Bwe"),
        (" w ", "%20w%20"),
        ("w", "w"),
        ("\t\t", "%09%09"),
        ("w\u{a0}", "w%C2%A0"),
    ] {
        let valid = sample.chars().filter(|c| !ecma_space(*c)).count() >= 2;
        let uri = format!("/api/v1/persons?q={encoded}");
        let (s, body) = call_json(&f, "GET", &uri, Some("reg.istrar"), None).await;
        let expected = if valid {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(s, expected, "{sample:?}: {body}");
    }
}

/// #15 behind the recommended TLS proxy: from a trusted proxy, the locator's limit (30 a
/// minute per address) counts the clients it names in `X-Forwarded-For`, so one client's
/// queries do not use up everyone's; from anyone else the header is ignored, so it cannot be
/// used to dodge the limit.
#[tokio::test]
async fn per_address_limits_count_clients_behind_a_trusted_proxy_and_ignore_forged_headers() {
    use axum::extract::ConnectInfo;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.db");
    let store = Store::create(&path, "example.org/habeas/proxy").unwrap();
    let proxy: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let state = AppState::new(store)
        .unwrap()
        .with_trusted_proxies(vec![proxy]);
    let ask = |peer: &str, forwarded: Option<&str>| {
        let mut req = Request::builder().uri("/locate?register_no=SYN-P1");
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let mut req = req.body(Body::empty()).unwrap();
        let peer: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        router(state.clone()).oneshot(req)
    };
    // One client behind the proxy uses up its own 30.
    for _ in 0..30 {
        let r = ask("10.0.0.1", Some("203.0.113.5")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = ask("10.0.0.1", Some("203.0.113.5")).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not limited by it (a chain names it last).
    let r = ask("10.0.0.1", Some("198.51.100.7, 203.0.113.99"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A client that is not the proxy cannot pick its address with the header.
    for _ in 0..30 {
        let r = ask("192.0.2.10", Some("198.51.100.1")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = ask("192.0.2.10", Some("198.51.100.2")).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the forged header is ignored"
    );
}
