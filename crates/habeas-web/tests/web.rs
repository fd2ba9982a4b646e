//! The web interface: through the router (sign-in, CSRF, roles, scopes, the access log,
//! languages, refusals beside their field), and once in a real headless Chromium driven over
//! WebDriver (sign in, admit, place, find the person on the grid, see a finding appear,
//! download a receipt, switch to Spanish). The browser test fails when chromium or
//! chromedriver is missing: `.ci/run` installs them.
//!
//! With `HABEAS_SCREENSHOTS=DIR`, the browser test saves the dashboard, the facility view and
//! a person file there (`docs/screenshots/` in the README were made so).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use habeas_domain::authz::Role;
use habeas_domain::{FacilityCode, Submission};
use habeas_store::Store;
use habeas_web::{AppState, router};
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

/// A small synthetic register with history: two facilities, pavilions and cells of different
/// occupancy, about forty persons admitted over five months (recorded minutes after the
/// fact), placed, examined, some released; one cell already at its single bed.
struct Register {
    state: AppState,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn history(now: Timestamp) -> Vec<(Timestamp, Value)> {
    let t0 = now - SignedDuration::from_hours(150 * 24);
    let at = |h: i64| t0 + SignedDuration::from_hours(h);
    let mut out: Vec<(Timestamp, Value)> = Vec::new();
    let mut push = |t: Timestamp, mut v: Value| {
        if v.get("at").is_some() {
            v["at"] = json!(t.to_string());
        }
        out.push((t, v));
    };
    push(
        at(0),
        json!({"type":"facility.register","facility":"CEN","name":"Centro Penal Ejemplo Norte (synthetic)","authority":"Dirección de Centros Ejemplo (synthetic)","timezone":"UTC","official_capacity":40}),
    );
    push(
        at(0),
        json!({"type":"facility.register","facility":"SUR","name":"Centro Ejemplo Sur (synthetic)","authority":"Dirección de Centros Ejemplo (synthetic)","timezone":"UTC","official_capacity":12}),
    );
    let mut cells = Vec::new();
    for (fac, unit, name, n, places, beds) in [
        ("CEN", "P1", "Pabellón 1", 8, 4, 4),
        ("CEN", "P2", "Pabellón 2", 6, 6, 4),
        ("CEN", "ING", "Ingreso", 1, 2, 1),
        ("SUR", "A", "Módulo A", 4, 3, 3),
    ] {
        push(
            at(0),
            json!({"type":"unit.register","facility":fac,"unit":unit,"name":name}),
        );
        for i in 1..=n {
            let cell = format!("{fac}/{unit}/C{i:02}");
            push(
                at(0),
                json!({"type":"cell.register","cell":cell,"places":places,"beds":beds,"area_m2": 4.0 * f64::from(places)}),
            );
            cells.push((cell, places));
        }
    }
    let given = [
        "Ana", "Luis", "María", "José", "Carmen", "Jorge", "Rosa", "Pedro", "Elena", "Mario",
    ];
    let family = [
        "Ejemplo Uno",
        "Prueba Dos",
        "Muestra Tres",
        "Ficticio Cuatro",
        "Sintético Cinco",
    ];
    // Where each person goes: crowded cells first, so the grid shows every colour.
    let plan = [
        "CEN/P1/C01",
        "CEN/P1/C01",
        "CEN/P1/C01",
        "CEN/P1/C01",
        "CEN/P1/C01",
        "CEN/P1/C02",
        "CEN/P1/C02",
        "CEN/P1/C02",
        "CEN/P1/C03",
        "CEN/P1/C03",
        "CEN/P1/C04",
        "CEN/P1/C05",
        "CEN/P1/C05",
        "CEN/P1/C05",
        "CEN/P1/C05",
        "CEN/P2/C01",
        "CEN/P2/C01",
        "CEN/P2/C01",
        "CEN/P2/C01",
        "CEN/P2/C01",
        "CEN/P2/C02",
        "CEN/P2/C02",
        "CEN/P2/C02",
        "CEN/P2/C02",
        "CEN/P2/C02",
        "CEN/P2/C02",
        "CEN/P2/C02",
        "CEN/P2/C03",
        "CEN/P2/C03",
        "CEN/P2/C04",
        "CEN/ING/C01",
        "SUR/A/C01",
        "SUR/A/C01",
        "SUR/A/C02",
        "SUR/A/C02",
        "SUR/A/C02",
        "SUR/A/C03",
        "CEN/P1/C06",
        "CEN/P1/C06",
        "CEN/P2/C05",
        "CEN/P1/C01",
    ];
    for (i, cell) in plan.iter().enumerate() {
        let no = format!("SYN-{:04}", i + 1);
        let fac = &cell[..3];
        let h = (i as i64) * 80 + 24;
        let mut admission = json!({
            "type":"admission.record","register_no":no,"facility":fac,"at":"",
            "person":{"given_names":given[i % given.len()],"family_names":family[i % family.len()],
                      "sex": if i % 2 == 0 {"female"} else {"male"},"date_of_birth":format!("19{:02}-0{}-1{}", 70 + i % 30, 1 + i % 9, i % 10),
                      "nationalities":[if i % 7 == 3 {"GTM"} else {"SLV"}]},
            "deprived":{"at": (at(h) - SignedDuration::from_hours(6)).to_string(),"place":"Calle Ejemplo (synthetic)","by":"Policía Ejemplo (synthetic)"},
            "legal_status": if i % 3 == 0 {"sentenced"} else {"remand"},
            "custodial_authority":"Dirección de Centros Ejemplo (synthetic)",
            "contacts":[{"name":"Familiar Ejemplo (synthetic)","relation":"mother","notify":true}]
        });
        if i % 11 != 5 {
            admission["legal_basis"] = json!({"kind":"court_order","authority":"Juzgado Ejemplo (synthetic)","reference":format!("JE-{}", 100 + i),"issued_on":(at(h) - SignedDuration::from_hours(24)).to_string()[..10],"grounds":"Synthetic grounds"});
        }
        push(at(h), admission);
        push(
            at(h) + SignedDuration::from_mins(30),
            json!({"type":"placement.record","register_no":no,"cell":cell,"at":""}),
        );
        if i % 9 != 4 {
            push(
                at(h) + SignedDuration::from_hours(2),
                json!({"type":"health.exam","register_no":no,"at":"","injuries_observed": i % 13 == 7}),
            );
        }
        push(
            at(h) + SignedDuration::from_hours(3),
            json!({"type":"notification.record","register_no":no,"at":"","to":"family","about":"admission"}),
        );
        if i % 6 == 2 {
            push(
                at(h) + SignedDuration::from_hours(24 * 40),
                json!({"type":"release.record","register_no":no,"at":"","reason":"bail","authority":"Juzgado Ejemplo (synthetic)","reference":format!("L-{i}")}),
            );
        }
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

fn register() -> Register {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.db");
    let mut store = Store::create(&path, "example.org/habeas/web").unwrap();
    // History is recorded a few minutes after it happens; afterwards the clock is real time.
    let sim = Arc::new(AtomicI64::new(0));
    let clock = sim.clone();
    store.set_clock(move || match clock.load(Ordering::SeqCst) {
        0 => Timestamp::now(),
        us => Timestamp::from_microsecond(us).unwrap(),
    });
    let now = Timestamp::now() - SignedDuration::from_hours(1);
    for (t, cmd) in history(now) {
        sim.store(
            (t + SignedDuration::from_mins(5)).as_microsecond(),
            Ordering::SeqCst,
        );
        let s = Submission::from_value(cmd.clone()).unwrap();
        let (outcomes, _) = store.submit_batch(&[s], true).unwrap();
        assert!(outcomes[0].is_ok(), "{cmd}: {:?}", outcomes[0]);
    }
    sim.store(0, Ordering::SeqCst);
    for (name, role, scope) in [
        ("ada.admin", Role::Admin, vec![]),
        ("reg.istrar", Role::Registrar, vec![]),
        ("salud", Role::Health, vec![]),
        ("monitor.npm", Role::Monitor, vec![]),
        (
            "sur.only",
            Role::Registrar,
            vec![FacilityCode::parse("SUR").unwrap()],
        ),
        (
            "sur.monitor",
            Role::Monitor,
            vec![FacilityCode::parse("SUR").unwrap()],
        ),
    ] {
        store.add_user(name, role, &scope, Some(PASSWORD)).unwrap();
    }
    Register {
        state: AppState::new(store).unwrap(),
        path,
        _dir: dir,
    }
}

// --- through the router -------------------------------------------------------------------

struct Answer {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

async fn send(
    r: &Register,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
    lang: Option<&str>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(l) = lang {
        req = req.header("accept-language", l);
    }
    let req = match form {
        Some(pairs) => {
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect();
            req.header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body.join("&")))
                .unwrap()
        }
        None => req.body(Body::empty()).unwrap(),
    };
    let res = router(r.state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        location,
        cookies,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs in through the form; the session cookie and the page's CSRF token.
async fn sign_in(r: &Register, name: &str) -> (String, String) {
    let a = send(
        r,
        "POST",
        "/sign-in",
        None,
        Some(&[("name", name), ("password", PASSWORD), ("next", "/search")]),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/search"));
    let cookie = a.cookies[0].split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("habeas_session="));
    assert!(a.cookies[0].contains("HttpOnly") && a.cookies[0].contains("SameSite=Strict"));
    let page = send(r, "GET", "/search", Some(&cookie), None, None).await;
    (cookie, csrf_of(&page.body))
}

fn csrf_of(body: &str) -> String {
    let i = body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    body[i..i + body[i..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn pages_need_a_session_and_sign_in_goes_back_where_it_was_asked() {
    let r = register();
    let a = send(&r, "GET", "/people/SYN-0001", None, None, None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.location.as_deref(),
        Some("/sign-in?next=/people/SYN-0001")
    );
    let page = send(
        &r,
        "GET",
        "/sign-in?next=/people/SYN-0001",
        None,
        None,
        None,
    )
    .await;
    assert!(
        page.body.contains(r#"<label for="name">"#)
            && page.body.contains(r#"<label for="password">"#)
    );
    let wrong = send(
        &r,
        "POST",
        "/sign-in",
        None,
        Some(&[("name", "reg.istrar"), ("password", "nope nope nope")]),
        None,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong name or password"));
    // Never back to another site.
    let a = send(
        &r,
        "POST",
        "/sign-in",
        None,
        Some(&[
            ("name", "reg.istrar"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ]),
        None,
    )
    .await;
    assert_eq!(a.location.as_deref(), Some("/"));
    let (cookie, csrf) = sign_in(&r, "reg.istrar").await;
    let dash = send(&r, "GET", "/", Some(&cookie), None, None).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("<html lang=\"en\">"));
    assert!(dash.body.contains("Centro Penal Ejemplo Norte"));
    // Sign-out needs the token, then ends the session.
    assert_eq!(
        send(&r, "POST", "/sign-out", Some(&cookie), Some(&[]), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let out = send(
        &r,
        "POST",
        "/sign-out",
        Some(&cookie),
        Some(&[("csrf", &csrf)]),
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(&r, "GET", "/", Some(&cookie), None, None).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_form_records_through_the_domain_and_a_refusal_sits_beside_its_field() {
    let r = register();
    let (cookie, csrf) = sign_in(&r, "reg.istrar").await;
    let form = send(
        &r,
        "GET",
        "/record/placement.record?register_no=SYN-0004",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="register_no" value="SYN-0004""#));
    // Without the CSRF token nothing is recorded.
    let now = (Timestamp::now() - SignedDuration::from_mins(1)).to_string();
    let fields = [
        ("register_no", "SYN-0004"),
        ("cell", "CEN/P1/C99"),
        ("at", now.as_str()),
    ];
    let a = send(
        &r,
        "POST",
        "/record/placement.record",
        Some(&cookie),
        Some(&fields),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // An unknown cell: refused, shown beside the cell, the values kept.
    let mut with = fields.to_vec();
    with.push(("csrf", &csrf));
    let a = send(
        &r,
        "POST",
        "/record/placement.record",
        Some(&cookie),
        Some(&with),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains(r#"id="f-cell-error""#), "{}", a.body);
    assert!(a.body.contains(r#"value="CEN/P1/C99""#));
    let err = &a.body[a.body.find(r#"id="f-cell-error""#).unwrap()..];
    assert!(err.contains("Unknown cell"));
    // A malformed date of birth: the domain names person.date_of_birth.
    let admission = [
        ("csrf", csrf.as_str()),
        ("register_no", "SYN-9001"),
        ("facility", "CEN"),
        ("at", now.as_str()),
        ("legal_status", "remand"),
        ("person.given_names", "Nueva"),
        ("person.family_names", "Persona Ejemplo"),
        ("person.sex", "female"),
        ("person.date_of_birth", "1990-02-31"),
    ];
    let a = send(
        &r,
        "POST",
        "/record/admission.record",
        Some(&cookie),
        Some(&admission),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.body.contains(r#"id="f-person-date_of_birth-error""#),
        "{}",
        a.body
    );
    assert!(a.body.contains(r#"value="Persona Ejemplo""#));
    // Corrected, it is recorded and the browser goes to the file.
    let mut ok = admission.to_vec();
    ok.retain(|(k, _)| *k != "person.date_of_birth");
    let a = send(
        &r,
        "POST",
        "/record/admission.record",
        Some(&cookie),
        Some(&ok),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let to = a.location.unwrap();
    assert!(to.starts_with("/people/SYN-9001?recorded="), "{to}");
    let file = send(&r, "GET", &to, Some(&cookie), None, None).await;
    assert!(file.body.contains(r#"id="recorded""#) && file.body.contains("Persona Ejemplo"));
    assert!(
        file.body.contains("reg.istrar"),
        "the actor is the signed-in user"
    );
}

#[tokio::test]
async fn roles_and_scopes_apply_as_in_the_api() {
    let r = register();
    let (monitor, _) = sign_in(&r, "monitor.npm").await;
    // Monitors never write: no form, and the record menu is absent.
    assert_eq!(
        send(
            &r,
            "GET",
            "/record/admission.record",
            Some(&monitor),
            None,
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "GET", "/record", Some(&monitor), None, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let file = send(&r, "GET", "/people/SYN-0001", Some(&monitor), None, None).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(!file.body.contains("href=\"/record\""));
    assert!(
        file.body.contains("Clinical detail is withheld"),
        "a monitor sees no clinical detail"
    );
    assert!(!file.body.contains("Injuries observed"));
    let (health, _) = sign_in(&r, "salud").await;
    let file = send(&r, "GET", "/people/SYN-0001", Some(&health), None, None).await;
    assert!(
        file.body.contains("Injuries observed")
            && !file.body.contains("Clinical detail is withheld")
    );
    // The access log: admins and monitors only; it holds the HTML reads.
    assert_eq!(
        send(&r, "GET", "/access-log", Some(&health), None, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let log = send(&r, "GET", "/access-log", Some(&monitor), None, None).await;
    assert_eq!(log.status, StatusCode::OK);
    let rows = log.body.matches("<td>person file</td>").count();
    assert_eq!(
        rows, 2,
        "each read of the file is logged once: {}",
        log.body
    );
    assert!(log.body.contains("<td>monitor.npm</td>") && log.body.contains("<td>salud</td>"));
    // A user limited to SUR neither reads nor writes in CEN.
    let (sur, csrf) = sign_in(&r, "sur.only").await;
    assert_eq!(
        send(&r, "GET", "/people/SYN-0001", Some(&sur), None, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "GET", "/facilities/CEN", Some(&sur), None, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "GET", "/facilities/SUR", Some(&sur), None, None)
            .await
            .status,
        StatusCode::OK
    );
    let dash = send(&r, "GET", "/", Some(&sur), None, None).await;
    assert!(
        !dash.body.contains("Centro Penal Ejemplo Norte")
            && dash.body.contains("Centro Ejemplo Sur")
    );
    let a = send(
        &r,
        "POST",
        "/record/placement.record",
        Some(&sur),
        Some(&[
            ("csrf", &csrf),
            ("register_no", "SYN-0001"),
            ("cell", "SUR/A/C04"),
            ("at", "2025-06-01T00:00"),
        ]),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// A bearer token for `name`, issued on a handle of the test's own.
fn token(r: &Register, name: &str) -> String {
    Store::open(&r.path).unwrap().new_token(name).unwrap()
}

/// An API request with a bearer token; the status and the body as text.
async fn api(
    r: &Register,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let res = router(r.state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The register numbers of the history held in CEN (every plan entry but the six in SUR).
fn cen_numbers() -> Vec<String> {
    (1..=41)
        .filter(|i| !(32..=37).contains(i))
        .map(|i| format!("SYN-{i:04}"))
        .collect()
}

/// A user limited to SUR reads every read path of the API and the pages; nothing of CEN
/// leaks: no name, register number, facility code or name, count or search hit.
#[tokio::test]
async fn a_scoped_user_sees_nothing_of_other_facilities_on_any_read_path() {
    let r = register();
    let admin = token(&r, "ada.admin");
    let scoped = token(&r, "sur.monitor");
    // One person in each facility with a name found nowhere else; the CEN one has no legal
    // basis (a finding) and a family contact (a daily-life fact).
    let now = (Timestamp::now() - SignedDuration::from_mins(2)).to_string();
    let cmds = json!([
        {"type":"admission.record","register_no":"SYN-7001","facility":"CEN","at":now,"person":{"given_names":"Zacarías","family_names":"Norteño Único","sex":"male","date_of_birth":"1981-02-03"},"legal_status":"remand"},
        {"type":"placement.record","register_no":"SYN-7001","cell":"CEN/P1/C07","at":now},
        {"type":"admission.record","register_no":"SYN-7002","facility":"SUR","at":now,"person":{"given_names":"Sofía","family_names":"Sureña Prueba","sex":"female","date_of_birth":"1982-03-04"},"legal_status":"remand"},
        {"type":"placement.record","register_no":"SYN-7002","cell":"SUR/A/C04","at":now}
    ]);
    let (s, body) = api(&r, "POST", "/api/v1/commands", &admin, Some(cmds)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let first_seq: u64 = serde_json::from_str::<Value>(&body).unwrap()["seqs"][0][0]
        .as_u64()
        .unwrap();
    // The admin reads a file in each facility and searches for the CEN name: access-log
    // entries about CEN the scoped user must not see.
    for uri in [
        "/api/v1/persons/SYN-0001",
        "/api/v1/persons/SYN-7001",
        "/api/v1/persons/SYN-0032",
        "/api/v1/persons?q=Norte%C3%B1o",
    ] {
        assert_eq!(
            api(&r, "GET", uri, &admin, None).await.0,
            StatusCode::OK,
            "{uri}"
        );
    }
    let mut leaks: Vec<String> = cen_numbers();
    leaks.extend(
        [
            "SYN-7001",
            "Zacarías",
            "Norteño",
            "1981-02-03",
            "CEN/",
            "\"CEN\"",
            ">CEN<",
            "/facilities/CEN",
            "Centro Penal Ejemplo Norte",
            "Norte%C3%B1o",
        ]
        .map(str::to_owned),
    );
    let check = |what: &str, body: &str| {
        for l in &leaks {
            assert!(
                !body.contains(l.as_str()),
                "{what} shows `{l}` of CEN:\n{body}"
            );
        }
    };
    // The API.
    for uri in [
        "/api/v1/persons?q=Ejemplo",
        "/api/v1/persons?q=Norte%C3%B1o",
        "/api/v1/persons?q=Zacar%C3%ADas",
        "/api/v1/persons?q=SYN-7001",
        "/api/v1/persons?q=SYN-0001",
        "/api/v1/persons/SYN-7001",
        "/api/v1/whereabouts/SYN-7001",
        "/api/v1/persons/SYN-0001",
        "/api/v1/population",
        "/api/v1/findings",
        "/api/v1/findings?facility=CEN",
        "/api/v1/access-log",
        &format!("/log/proof/{first_seq}"),
        &format!("/log/leaf/{first_seq}"),
        &format!("/receipt/{first_seq}"),
    ] {
        let (s, body) = api(&r, "GET", uri, &scoped, None).await;
        assert!(
            s == StatusCode::OK || s == StatusCode::FORBIDDEN,
            "{uri}: {s} {body}"
        );
        check(uri, &body);
    }
    // What the scoped user does see: their own facility, its people and counts.
    let (_, hits) = api(&r, "GET", "/api/v1/persons?q=Sure%C3%B1a", &scoped, None).await;
    assert!(hits.contains("SYN-7002"), "{hits}");
    let (_, hits) = api(&r, "GET", "/api/v1/persons?q=Ejemplo", &scoped, None).await;
    assert!(hits.contains("SYN-0036"), "{hits}");
    let (_, all) = api(&r, "GET", "/api/v1/population", &admin, None).await;
    let all: Value = serde_json::from_str(&all).unwrap();
    let sur = all["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["facility"] == "SUR")
        .unwrap()
        .clone();
    let (_, mine) = api(&r, "GET", "/api/v1/population", &scoped, None).await;
    let mine: Value = serde_json::from_str(&mine).unwrap();
    assert_eq!(mine["facilities"], json!([sur]));
    assert_eq!(mine["total"], sur["held"]);
    assert_eq!(mine["in_transit"], 0);
    let (_, findings) = api(&r, "GET", "/api/v1/findings", &scoped, None).await;
    let findings: Value = serde_json::from_str(&findings).unwrap();
    assert!(
        findings["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["facility"] == "SUR"),
        "{findings}"
    );
    let (_, log) = api(&r, "GET", "/api/v1/access-log", &scoped, None).await;
    assert!(
        log.contains("SYN-0032"),
        "the read of a SUR file is shown: {log}"
    );
    // The pages.
    let (cookie, _) = sign_in(&r, "sur.monitor").await;
    for uri in [
        "/",
        "/facilities/SUR",
        "/facilities/CEN",
        "/cells?path=SUR/A/C01",
        "/cells?path=CEN/P1/C07",
        "/people/SYN-0032",
        "/people/SYN-7001",
        "/people/SYN-0001",
        "/search?q=Ejemplo",
        "/search?q=Norte%C3%B1o",
        "/search?q=SYN-7001",
        "/findings",
        "/findings?facility=CEN",
        "/statistics",
        "/access-log",
        "/transparency",
        &format!("/receipt/{first_seq}"),
    ] {
        let mut a = send(&r, "GET", uri, Some(&cookie), None, None).await;
        // The search page shows the query the user typed; that is not the register's.
        if let Some(q) = uri.strip_prefix("/search?q=") {
            for echoed in [q.replace("%C3%B1", "ñ"), q.to_owned()] {
                a.body = a.body.replace(&format!("value=\"{echoed}\""), "");
            }
        }
        assert!(
            a.status == StatusCode::OK || a.status == StatusCode::FORBIDDEN,
            "{uri}: {}",
            a.status
        );
        check(uri, &a.body);
    }
    let dash = send(&r, "GET", "/", Some(&cookie), None, None).await;
    assert!(
        dash.body.contains("Centro Ejemplo Sur") && dash.body.contains("SYN-7002"),
        "{}",
        dash.body
    );
    let search = send(&r, "GET", "/search?q=Ejemplo", Some(&cookie), None, None).await;
    assert!(search.body.contains("SYN-0036"));
}

/// A request with any headers; the status, the cookies set and the body.
async fn raw(
    r: &Register,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Vec<String>, String) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = router(r.state.clone())
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, cookies, String::from_utf8(body.to_vec()).unwrap())
}

/// Every state-changing route refuses a request with the session cookie but without its
/// CSRF token (403, nothing changed, the session still works afterwards), and the sign-in
/// routes refuse a cross-site form (login CSRF).
#[tokio::test]
async fn every_state_changing_route_needs_the_csrf_token() {
    let r = register();
    let (cookie, csrf) = sign_in(&r, "reg.istrar").await;
    let size = || Store::open(&r.path).unwrap().log_size();
    let before = size();
    let form = "application/x-www-form-urlencoded";
    let json_ct = "application/json";
    let contact = json!({"type":"contact.record","register_no":"SYN-0001","at":"2025-01-03T08:00:00Z","kind":"letter"}).to_string();
    let refused: Vec<(&str, &str, &str, String)> = vec![
        ("/logout", json_ct, "", String::new()),
        ("/api/v1/commands", json_ct, "", contact.clone()),
        ("/api/v1/commands", json_ct, "not-the-token", contact),
        ("/sign-out", form, "", String::new()),
        ("/sign-out", form, "", "csrf=not-the-token".into()),
        ("/language", form, "", "lang=es&next=/".into()),
        (
            "/record/contact.record",
            form,
            "",
            "register_no=SYN-0001&at=2025-01-03T08:00&kind=letter".into(),
        ),
    ];
    for (uri, ct, token, body) in &refused {
        let mut headers = vec![("cookie", cookie.as_str()), ("content-type", *ct)];
        if !token.is_empty() {
            headers.push(("x-csrf-token", token));
        }
        let (s, cookies, body) = raw(&r, "POST", uri, &headers, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{uri}: {body}");
        assert!(cookies.is_empty(), "{uri} set {cookies:?}");
        // The session still works.
        let page = send(&r, "GET", "/search", Some(&cookie), None, None).await;
        assert_eq!(page.status, StatusCode::OK, "after {uri}");
    }
    assert_eq!(size(), before, "nothing recorded");
    // A sign-in from another site's page is refused; the same from ours works.
    let creds = format!("name=reg.istrar&password={}", enc(PASSWORD));
    for (uri, ct, body) in [
        ("/sign-in", form, creds.clone()),
        (
            "/login",
            json_ct,
            json!({"name":"reg.istrar","password":PASSWORD}).to_string(),
        ),
    ] {
        for origin in ["https://evil.example", "null"] {
            let (s, cookies, _) = raw(
                &r,
                "POST",
                uri,
                &[
                    ("content-type", ct),
                    ("host", "habeas.example"),
                    ("origin", origin),
                ],
                &body,
            )
            .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{uri} from {origin}");
            assert!(cookies.is_empty());
        }
        let (s, cookies, _) = raw(
            &r,
            "POST",
            uri,
            &[
                ("content-type", ct),
                ("host", "habeas.example"),
                ("origin", "https://habeas.example"),
            ],
            &body,
        )
        .await;
        assert!(
            s == StatusCode::OK || s == StatusCode::SEE_OTHER,
            "{uri}: {s}"
        );
        assert!(cookies[0].starts_with("habeas_session="));
    }
    // With its token the API sign-out ends the session.
    let (s, _, _) = raw(
        &r,
        "POST",
        "/logout",
        &[("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        send(&r, "GET", "/search", Some(&cookie), None, None)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn every_page_renders_in_both_languages_chosen_by_cookie_or_browser() {
    let r = register();
    let (cookie, csrf) = sign_in(&r, "ada.admin").await;
    let pages = [
        "/",
        "/facilities/CEN",
        "/cells?path=CEN/P1/C01",
        "/people/SYN-0001",
        "/record",
        "/record/admission.record",
        "/search?q=Ejem",
        "/findings",
        "/findings?check=bed-shortage&severity=critical&facility=CEN",
        "/statistics",
        "/transparency",
        "/access-log",
    ];
    for p in pages {
        let en = send(&r, "GET", p, Some(&cookie), None, None).await;
        assert_eq!(en.status, StatusCode::OK, "{p}: {}", en.body);
        assert!(en.body.contains("<html lang=\"en\">"), "{p}");
        let es = send(
            &r,
            "GET",
            p,
            Some(&cookie),
            None,
            Some("es-SV,es;q=0.9,en;q=0.5"),
        )
        .await;
        assert!(es.body.contains("<html lang=\"es\">"), "{p}");
        assert!(es.body.contains("Cerrar sesión"), "{p}");
    }
    // The switch sets a cookie that wins over the browser.
    let a = send(
        &r,
        "POST",
        "/language",
        Some(&cookie),
        Some(&[("lang", "es"), ("csrf", &csrf), ("next", "/findings")]),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location.as_deref(), Some("/findings"));
    assert!(a.cookies[0].starts_with("lang=es;"));
    let both = format!("{cookie}; lang=es");
    let page = send(&r, "GET", "/findings", Some(&both), None, Some("en")).await;
    assert!(page.body.contains("Hallazgos") && page.body.contains("<html lang=\"es\">"));
    // Bad filters are explained, not ignored.
    let bad = send(
        &r,
        "GET",
        "/findings?check=nope&at=yesterday",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert!(bad.body.contains("is not a"), "{}", bad.body);
    let future = send(
        &r,
        "GET",
        "/findings?at=2999-01-01T00:00",
        Some(&cookie),
        None,
        Some("en"),
    )
    .await;
    assert!(future.body.contains("is after now"), "{}", future.body);
    // Each page of past figures says which view they are in, and the checkbox switches it
    // (#16): known now by default, as recorded when ticked.
    for uri in ["/", "/findings", "/statistics"] {
        let known = send(&r, "GET", uri, Some(&cookie), None, Some("en")).await;
        assert!(
            known.body.contains("everything the register knows now"),
            "{uri}: {}",
            known.body
        );
        assert!(
            !known
                .body
                .contains("name=\"as_recorded\" value=\"true\" checked")
        );
        let audit = format!("{uri}?as_recorded=true");
        let audit = send(&r, "GET", &audit, Some(&cookie), None, Some("en")).await;
        assert_eq!(audit.status, StatusCode::OK, "{uri}");
        assert!(audit.body.contains("Audit view"), "{uri}: {}", audit.body);
        assert!(
            audit
                .body
                .contains("name=\"as_recorded\" value=\"true\" checked")
        );
    }
    // Static files are served from the binary.
    let js = send(&r, "GET", "/static/htmx.min.js", None, None, None).await;
    assert!(js.body.starts_with("/*! htmx 2.") && js.body.len() > 40_000);
    assert!(
        send(&r, "GET", "/static/habeas.css", None, None, None)
            .await
            .body
            .contains("@media print")
    );
    // The receipt of any event is a tlog-proof file.
    let receipt = send(&r, "GET", "/receipt/3", None, None, None).await;
    assert_eq!(receipt.status, StatusCode::OK);
    let parsed = habeas_ledger::InclusionReceipt::parse(&receipt.body).unwrap();
    assert_eq!(parsed.index, 3);
}

// --- in a real browser ----------------------------------------------------------------------

use fantoccini::{Client, ClientBuilder, Locator};

fn on_path(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(15);

async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for `{css}`: {e}"))
}

async fn fill(c: &Client, css: &str, text: &str) {
    let e = wait_css(c, css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn submit(c: &Client, form_css: &str) {
    c.find(Locator::Css(&format!("{form_css} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    if let Some(dir) = std::env::var_os("HABEAS_SCREENSHOTS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_headless_chromium_sign_in_admit_place_find_receipt_and_spanish() {
    let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"]).expect(
        "chromium is not installed: apt-get install -y chromium chromium-driver (.ci/run does)",
    );
    let driver = on_path(&["chromedriver"])
        .expect("chromedriver is not installed: apt-get install -y chromium-driver (.ci/run does)");
    let r = register();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(habeas_web::serve_on(listener, r.state.clone(), async {
        let _ = stopped.await;
    }));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut chromedriver = tokio::process::Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < WAIT,
            "chromedriver did not listen on {port}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1400", "--lang=en-GB",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": {
                "download.default_directory": downloads.path(),
                "download.prompt_for_download": false,
                "intl.accept_languages": "en-GB,en",
            },
        },
    }))
    .unwrap();
    let c = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with chromium");

    // Sign in: the register sends the browser to the form, then back to the dashboard.
    c.goto(&format!("{base}/")).await.unwrap();
    fill(&c, "#name", "reg.istrar").await;
    fill(&c, "#password", PASSWORD).await;
    submit(&c, "form.stack").await;
    let total = wait_css(&c, "#total-held").await.text().await.unwrap();
    assert!(
        total.parse::<u64>().unwrap() > 20,
        "the dashboard shows the population"
    );
    screenshot(&c, "dashboard").await;

    // Admit a person through the generated form.
    c.goto(&format!("{base}/record/admission.record"))
        .await
        .unwrap();
    fill(&c, "#f-register_no", "SYN-B001").await;
    fill(&c, "#f-facility", "CEN").await;
    wait_css(&c, "#f-legal_status")
        .await
        .select_by_value("remand")
        .await
        .unwrap();
    fill(&c, "#f-person-given_names", "Berta").await;
    fill(&c, "#f-person-family_names", "Navegador Ejemplo").await;
    wait_css(&c, "#f-person-sex")
        .await
        .select_by_value("female")
        .await
        .unwrap();
    submit(&c, "form.command").await;
    wait_css(&c, "#recorded").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/people/SYN-B001")
    );

    // Place them from their file: an unknown cell is refused beside the field, then the
    // right one is accepted.
    wait_css(
        &c,
        "a[href^='/record/placement.record?register_no=SYN-B001']",
    )
    .await
    .click()
    .await
    .unwrap();
    fill(&c, "#f-cell", "CEN/ING/C09").await;
    submit(&c, "form.command").await;
    let err = wait_css(&c, "#f-cell-error").await.text().await.unwrap();
    assert!(err.contains("Unknown cell"), "{err}");
    // The refusal is summarized at the top, with a link to the field, and has the focus.
    let summary = wait_css(&c, "#error-summary").await;
    assert!(summary.text().await.unwrap().contains("Unknown cell"));
    let link = wait_css(&c, "#error-summary a[href='#f-cell']").await;
    assert!(link.text().await.unwrap().contains("Unknown cell"));
    let focused = c
        .execute(
            "return document.activeElement && document.activeElement.id",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        focused,
        json!("error-summary"),
        "focus moves to the summary"
    );
    assert_eq!(
        wait_css(&c, "#f-register_no")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("SYN-B001"),
        "the entered values are kept"
    );
    fill(&c, "#f-cell", "CEN/ING/C01").await;
    submit(&c, "form.command").await;
    wait_css(&c, "#recorded").await;
    let cell = wait_css(&c, "#person-cell").await.text().await.unwrap();
    assert_eq!(cell, "CEN/ING/C01");

    // A finding appears: two people for the cell's single bed.
    let finding = c
        .find(Locator::XPath(
            "//table[contains(@class,'findings')]//code[text()='bed-shortage']",
        ))
        .await;
    assert!(finding.is_ok(), "the person's file shows the bed shortage");

    // Find them on the facility grid, and open the cell.
    c.goto(&format!("{base}/facilities/CEN")).await.unwrap();
    let tile = wait_css(&c, "a[data-cell='CEN/ING/C01']").await;
    let text = tile.text().await.unwrap();
    assert!(text.contains("2 / 2"), "{text}");
    assert!(
        tile.attr("class")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("occ-beds")
    );
    screenshot(&c, "facility").await;
    tile.click().await.unwrap();
    wait_css(&c, "#people a[href='/people/SYN-B001']").await;

    // The findings page lists it too.
    c.goto(&format!("{base}/findings?check=bed-shortage"))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("CEN/ING/C01"),
        "bed-shortage for the cell is listed"
    );

    // Download the receipt of the placement, and check it against the log.
    c.goto(&format!("{base}/people/SYN-0005")).await.unwrap();
    wait_css(&c, "#timeline").await;
    screenshot(&c, "person").await;
    c.goto(&format!("{base}/people/SYN-B001")).await.unwrap();
    let link = wait_css(&c, "a.receipt").await;
    let href = link.attr("href").await.unwrap().unwrap();
    let seq: u64 = href.rsplit('/').next().unwrap().parse().unwrap();
    link.click().await.unwrap();
    let file = downloads
        .path()
        .join(format!("habeas-receipt-{seq}.tlog-proof"));
    let started = std::time::Instant::now();
    while !file.exists() {
        assert!(
            started.elapsed() < WAIT,
            "the receipt was downloaded to {}",
            file.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&file).unwrap();
    let receipt = habeas_ledger::InclusionReceipt::parse(&text).unwrap();
    assert_eq!(receipt.index, seq);
    let (verifier, leaf) = {
        // A reader of its own on the same register file, as any other process would open it.
        let store = Store::open(&r._dir.path().join("web.db")).unwrap();
        (store.verifier(), store.leaf(seq).unwrap())
    };
    let (cp, _) =
        habeas_ledger::Checkpoint::open(&receipt.checkpoint, std::slice::from_ref(&verifier))
            .unwrap();
    habeas_ledger::verify_inclusion(
        &habeas_ledger::leaf_hash(&leaf),
        seq,
        cp.size,
        &receipt.hashes,
        &cp.root,
    )
    .unwrap();

    // Switch to Spanish: the choice is kept.
    wait_css(&c, "button[name='lang'][value='es']")
        .await
        .click()
        .await
        .unwrap();
    wait_css(&c, "html[lang='es']").await;
    let body = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Cerrar sesión") && body.contains("Cronología"),
        "{body}"
    );
    c.goto(&format!("{base}/")).await.unwrap();
    wait_css(&c, "html[lang='es']").await;
    let h1 = wait_css(&c, "h1").await.text().await.unwrap();
    assert_eq!(h1, "Panel");

    // With thousands of findings the findings page is paged (#21): 1,200 more people admitted
    // without a legal basis, then page 1 and the next page in the browser.
    let admitted = (Timestamp::now() - SignedDuration::from_hours(240)).to_string();
    let registrar = token(&r, "reg.istrar");
    for chunk in 0..2 {
        let batch: Vec<Value> = (0..600)
            .map(|i| {
                json!({"type":"admission.record","register_no":format!("SYN-7{:04}", chunk * 600 + i),
                       "facility":"CEN","at":admitted,"legal_status":"remand",
                       "person":{"given_names":"Nombre","family_names":"Paginado","sex":"male"}})
            })
            .collect();
        let (s, body) = api(
            &r,
            "POST",
            "/api/v1/commands",
            &registrar,
            Some(json!(batch)),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    c.goto(&format!("{base}/findings")).await.unwrap();
    let shown = wait_css(&c, "#findings-shown").await.text().await.unwrap();
    assert!(shown.starts_with("Hallazgos 1 a 100 de "), "{shown}");
    wait_css(&c, "a[rel='next']").await.click().await.unwrap();
    // The next page replaces this one (htmx swaps the body): wait for its numbers.
    let started = std::time::Instant::now();
    let shown = loop {
        // The element read may be swapped out between finding and reading it: read again.
        let shown = wait_css(&c, "#findings-shown")
            .await
            .text()
            .await
            .unwrap_or_default();
        if shown.starts_with("Hallazgos 101 a 200 de ") || started.elapsed() > WAIT {
            break shown;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(shown.starts_with("Hallazgos 101 a 200 de "), "{shown}");
    let html = c.source().await.unwrap();
    assert!(
        html.len() < 1 << 20,
        "a page of findings is {} bytes",
        html.len()
    );

    // At phone width (#21) no page scrolls sideways: wide tables scroll inside themselves.
    c.set_window_size(390, 844).await.unwrap();
    for path in [
        "/",
        "/findings",
        "/facilities/CEN",
        "/people/SYN-B001",
        "/statistics",
        "/record/admission.record",
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        wait_css(&c, "h1").await;
        // The page's width, and what sticks out of it (outside a scrolling box).
        let widths = c
            .execute(
                "const w = document.documentElement.clientWidth; const out = [];
                 for (const e of document.querySelectorAll('body *')) {
                   let p = e.parentElement, inside = false;
                   while (p) { const o = getComputedStyle(p).overflowX; if (o == 'auto' || o == 'scroll') { inside = true; break; } p = p.parentElement; }
                   if (!inside && e.getBoundingClientRect().right > w + 1) out.push(e.tagName + '.' + e.className + '#' + e.id);
                 }
                 return [document.documentElement.scrollWidth, w, out.slice(0, 8)]",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert!(
            scroll <= client,
            "{path} scrolls sideways at phone width: {scroll} > {client}: {}",
            widths[2]
        );
    }

    c.close().await.unwrap();
    let _ = chromedriver.kill().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// #21: on a register with thousands of findings the findings page is paged (100 a page, most
/// severe first, with the total and the counts per check and facility as links), the filtered
/// list downloads whole as CSV and JSON, a page past the end is explained, and no page of the
/// crawl is over 1 MB.
#[tokio::test]
async fn findings_are_paged_counted_downloadable_and_no_page_is_over_a_megabyte() {
    let r = register();
    // 1,500 more people admitted ten days ago to CEN without a legal basis, never outdoors,
    // nobody told: several findings each.
    let admitted = (Timestamp::now() - SignedDuration::from_hours(240)).to_string();
    let token = token(&r, "reg.istrar");
    for chunk in 0..3 {
        let batch: Vec<Value> = (0..500)
            .map(|i| {
                let n = chunk * 500 + i;
                json!({"type":"admission.record","register_no":format!("SYN-8{n:04}"),"facility":"CEN",
                       "at":admitted,"legal_status":"remand",
                       "person":{"given_names":"Nombre","family_names":format!("Ejemplo{n}"),"sex":"male"}})
            })
            .collect();
        let (s, body) = api(&r, "POST", "/api/v1/commands", &token, Some(json!(batch))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (cookie, _) = sign_in(&r, "monitor.npm").await;
    let first = send(&r, "GET", "/findings", Some(&cookie), None, Some("en")).await;
    assert_eq!(first.status, StatusCode::OK);
    let rows = first.body.matches("<tr class=\"sev-").count();
    assert_eq!(rows, 100, "a page holds 100 findings");
    let total: usize = {
        let shown = first.body.split("id=\"findings-shown\">").nth(1).unwrap();
        let of = shown.split(" of ").nth(1).unwrap();
        of.split(' ')
            .next()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap()
    };
    assert!(total > 3000, "{total} findings");
    assert!(
        first.body.contains("Findings 1 to 100 of"),
        "{}",
        first.body
    );
    assert!(first.body.contains("rel=\"next\""));
    // Most severe first.
    let first_row = first.body.split("<tr class=\"sev-").nth(1).unwrap();
    assert!(first_row.starts_with("critical"), "{first_row}");
    // Page 2, and a page past the end.
    let second = send(
        &r,
        "GET",
        "/findings?page=2",
        Some(&cookie),
        None,
        Some("en"),
    )
    .await;
    assert!(second.body.contains("Findings 101 to 200 of"));
    assert!(second.body.contains("rel=\"prev\""));
    let past = send(
        &r,
        "GET",
        "/findings?page=9999",
        Some(&cookie),
        None,
        Some("en"),
    )
    .await;
    assert!(
        past.body.contains("is not a page of this list"),
        "{}",
        past.body
    );
    // The counts per check link to the filtered list, which gives the same number.
    let link = first
        .body
        .split("id=\"by-check\"")
        .nth(1)
        .unwrap()
        .split("<a href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(link.starts_with("/findings?check="), "{link}");
    let filtered = send(&r, "GET", &link, Some(&cookie), None, Some("en")).await;
    let check = link.trim_start_matches("/findings?check=").to_owned();
    let json_uri = format!("/findings.json?check={check}");
    let download = send(&r, "GET", &json_uri, Some(&cookie), None, Some("en")).await;
    assert_eq!(download.status, StatusCode::OK);
    let download: Value = serde_json::from_str(&download.body).unwrap();
    let n = download["total"].as_u64().unwrap() as usize;
    assert_eq!(download["findings"].as_array().unwrap().len(), n);
    assert!(
        download["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["check"] == check.as_str())
    );
    assert_eq!(download["view"], "known_now");
    assert!(
        filtered.body.contains(&format!("of {}", habeas_count(n))) || n <= 100,
        "{n}: {}",
        filtered.body
    );
    let csv = send(
        &r,
        "GET",
        &format!("/findings.csv?check={check}"),
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body
            .starts_with("check,severity,subject_kind,subject,facility,since,detail,evidence\n")
    );
    assert_eq!(csv.body.lines().count(), n + 1);
    // Every page type stays under 1 MB on this register.
    for uri in [
        "/",
        "/findings",
        "/findings?facility=CEN",
        "/statistics",
        "/facilities/CEN",
        "/cells?path=CEN/P1/C01",
        "/search?q=Ejemplo",
        "/people/SYN-80001",
        "/access-log",
        "/transparency",
        "/record/admission.record",
    ] {
        for lang in ["en", "es"] {
            let p = send(&r, "GET", uri, Some(&cookie), None, Some(lang)).await;
            assert!(
                p.status == StatusCode::OK || p.status == StatusCode::FORBIDDEN,
                "{uri}: {}",
                p.status
            );
            assert!(
                p.body.len() < 1 << 20,
                "{uri} ({lang}) is {} bytes",
                p.body.len()
            );
        }
    }
}

/// A count as the English pages print it.
fn habeas_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// #21: an admission form left without identity is refused with the summary at the top,
/// unless "identity not known" is ticked; that person's page is titled by register number.
#[tokio::test]
async fn an_admission_without_identity_needs_the_explicit_choice() {
    let r = register();
    let (cookie, csrf) = sign_in(&r, "reg.istrar").await;
    let base = [
        ("csrf", csrf.as_str()),
        ("register_no", "SYN-9000001"),
        ("facility", "CEN"),
        ("at", "2025-01-01T10:00Z"),
        ("legal_status", "remand"),
    ];
    let refused = send(
        &r,
        "POST",
        "/record/admission.record",
        Some(&cookie),
        Some(&base),
        Some("en"),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let summary = refused
        .body
        .split("id=\"error-summary\"")
        .nth(1)
        .expect("a summary");
    assert!(
        summary.contains("href=\"#f-person-family_names\""),
        "{summary}"
    );
    assert!(summary.contains("Identity not known"), "{summary}");
    // The summary comes before the form.
    assert!(
        refused.body.find("error-summary").unwrap()
            < refused
                .body
                .find("<form method=\"post\" action=\"/record/")
                .unwrap()
    );
    let mut ticked = base.to_vec();
    ticked.push(("person.identity_unknown", "true"));
    let done = send(
        &r,
        "POST",
        "/record/admission.record",
        Some(&cookie),
        Some(&ticked),
        Some("en"),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let file = send(
        &r,
        "GET",
        "/people/SYN-9000001",
        Some(&cookie),
        None,
        Some("en"),
    )
    .await;
    assert!(
        file.body
            .contains("<h1>SYN-9000001 <span class=\"muted\">(identity not known)</span></h1>"),
        "{}",
        file.body
    );
    assert!(!file.body.contains("<h1>, "));
    // Required fields are marked for the browser too.
    let form = send(
        &r,
        "GET",
        "/record/admission.record",
        Some(&cookie),
        None,
        Some("en"),
    )
    .await;
    // The next register number is suggested, and places are offered from the register.
    assert!(
        form.body
            .contains("Register number SYN-9000002 is suggested")
    );
    assert!(
        form.body
            .contains("name=\"facility\" value=\"\" list=\"dl-facilities\"")
    );
    assert!(form.body.contains("<option value=\"CEN\">"));
    let placement = send(
        &r,
        "GET",
        "/record/placement.record",
        Some(&cookie),
        None,
        Some("en"),
    )
    .await;
    assert!(
        placement
            .body
            .contains("name=\"cell\" value=\"\" list=\"dl-cells\"")
    );
    assert!(placement.body.contains("<option value=\"CEN/P1/C01\">"));
    assert!(
        form.body.contains(
            "id=\"f-register_no\" name=\"register_no\" value=\"SYN-9000002\" required aria-required=\"true\""
        ),
        "{}",
        form.body
    );
}
