//! Every page type of the web interface on the national register (issue 21, item 1).
//!
//! `cargo bench -p habeas --bench pages` — the register is `$HABEAS_PAGES_BENCH_DB` (default
//! target/bench-cache/pages-national.db), built once if missing by `habeas generate --scale
//! national --seed 1 --recurring-days 60 --register` (the demo's register: 110,000 held at the
//! end, daily life in the last 60 days). The register is served in process as `habeas serve`
//! serves it (same router, same wait for the figures about now) on a loopback socket; the
//! bench signs in as an admin and, after the first figures are computed (the time is printed),
//! requests each page type in English and Spanish `$HABEAS_PAGES_BENCH_N` times (default 15),
//! printing the median and p95 of the time to the last byte and the page's size. Baseline in
//! the same run: `GET /log/checkpoint`, the cheapest answer of the same server, so each page
//! is also given as a ratio to it. `$HABEAS_BIN` overrides the binary that builds the register.

#![allow(clippy::unwrap_used)] // a benchmark fails loudly

#[allow(dead_code)] // this bench uses only the median of the shared helpers
mod common;
use common::median;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-password-not-secret";

/// One request over a fresh connection: status, headers, body size, time to the last byte.
fn get(addr: SocketAddr, uri: &str, cookie: &str, lang: &str) -> (u16, String, usize, Duration) {
    request(addr, "GET", uri, cookie, lang, None)
}

fn request(
    addr: SocketAddr,
    method: &str,
    uri: &str,
    cookie: &str,
    lang: &str,
    form: Option<&str>,
) -> (u16, String, usize, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {uri} HTTP/1.1\r\nHost: {addr}\r\nAccept-Language: {lang}\r\nConnection: close\r\n"
    );
    if !cookie.is_empty() {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    match form {
        Some(body) => req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => req.push_str("\r\n"),
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let took = start.elapsed();
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.len(), took)
}

fn main() {
    let db = PathBuf::from(
        std::env::var("HABEAS_PAGES_BENCH_DB")
            .unwrap_or_else(|_| "target/bench-cache/pages-national.db".into()),
    );
    let n: usize = std::env::var("HABEAS_PAGES_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let bin = std::env::var("HABEAS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_habeas").into());
    if !db.exists() {
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        let o = Command::new(&bin)
            .args([
                "generate",
                "--scale",
                "national",
                "--seed",
                "1",
                "--recurring-days",
                "60",
                "--json",
                "--register",
            ])
            .arg(&db)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        println!(
            "built {}: {}",
            db.display(),
            String::from_utf8_lossy(&o.stdout).trim()
        );
    }

    // The register as `habeas serve` serves it, with an admin to sign in as.
    let mut store = habeas_store::Store::open(&db).unwrap();
    if !store
        .list_users()
        .unwrap()
        .iter()
        .any(|u| u.name == "bench.admin")
    {
        store
            .add_user(
                "bench.admin",
                habeas_domain::authz::Role::Admin,
                &[],
                Some(PASSWORD),
            )
            .unwrap();
    }
    // Places and a person to ask for.
    let state = store.state();
    let facility = state
        .facilities
        .values()
        .max_by_key(|f| f.official_capacity)
        .unwrap()
        .facility
        .to_string();
    let cell = state
        .cells
        .values()
        .find(|c| c.cell.to_string().starts_with(&format!("{facility}/")))
        .unwrap()
        .cell
        .to_string();
    let person = store
        .persons_in_cell(&cell, 1)
        .unwrap()
        .first()
        .map(|p| p.register_no.to_string())
        .unwrap_or_else(|| "SYN-000001".into());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = habeas_web::AppState::new(store)
        .unwrap()
        .with_overview_wait(habeas_web::SERVE_OVERVIEW_WAIT);
    runtime.spawn(habeas_web::serve_on(listener, app, std::future::pending()));

    let (status, head, _, _) = request(
        addr,
        "POST",
        "/sign-in",
        "",
        "en",
        Some(&format!("name=bench.admin&password={PASSWORD}&next=%2F")),
    );
    assert_eq!(status, 303, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();

    // The first figures about now, computed off the request path after start-up.
    let start = Instant::now();
    loop {
        let (status, _, _, _) = get(addr, "/", &cookie, "en");
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "the dashboard before its figures");
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "first figures about now ready {:.1} s after start-up (the dashboard answers 503 with a page saying so until then)",
        start.elapsed().as_secs_f64()
    );

    let pages: Vec<(&str, String)> = vec![
        ("baseline: /log/checkpoint", "/log/checkpoint".into()),
        ("dashboard", "/".into()),
        ("facility (largest)", format!("/facilities/{facility}")),
        ("cell", format!("/cells?path={cell}")),
        ("person", format!("/people/{person}")),
        ("search", "/search?q=Ejemplo".into()),
        ("findings", "/findings".into()),
        ("findings, page 200", "/findings?page=200".into()),
        (
            "findings, filtered",
            format!("/findings?check=bed-shortage&facility={facility}"),
        ),
        ("statistics", "/statistics".into()),
        ("access log", "/access-log".into()),
        ("transparency", "/transparency".into()),
        ("form index", "/record".into()),
        ("form: admission", "/record/admission.record".into()),
        ("form: transfer", "/record/transfer.order".into()),
    ];
    println!(
        "\n{:<28} {:>4} {:>10} {:>10} {:>9} {:>10}",
        "page", "lang", "median ms", "p95 ms", "× base", "size KB"
    );
    let mut base = 0.0;
    for (name, uri) in &pages {
        for lang in ["en", "es"] {
            let mut times = Vec::new();
            let mut size = 0;
            for _ in 0..n {
                let (status, head, bytes, took) = get(addr, uri, &cookie, lang);
                assert!(status == 200, "{uri}: {status} {head}");
                times.push(took.as_secs_f64() * 1000.0);
                size = bytes;
            }
            let med = median(times.clone());
            times.sort_by(f64::total_cmp);
            let p95 = times[((times.len() as f64 * 0.95).ceil() as usize).saturating_sub(1)];
            if base == 0.0 {
                base = med;
            }
            println!(
                "{name:<28} {lang:>4} {med:>10.1} {p95:>10.1} {:>9.1} {:>10.1}",
                med / base,
                size as f64 / 1024.0
            );
        }
    }
}
