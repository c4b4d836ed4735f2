//! The admin HTTP API, driven in process through `tower::ServiceExt::oneshot`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method as HttpMethod, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sipwarden_admin::*;
use sipwarden_events::{BanReason, Timestamp, Transport};
use tower::ServiceExt;

const TOKEN: &str = "s3cr3t-admin-token-0123456789";

fn ts(secs: u64) -> Timestamp {
    Timestamp(UNIX_EPOCH + Duration::from_secs(secs))
}

fn binding(id: &str, contact: &str) -> Binding {
    Binding {
        id: id.to_owned(),
        contact: contact.to_owned(),
        expires: ts(1_800_003_600),
        transport: Transport::Tls,
        source: "192.0.2.10:40000".parse().unwrap(),
        user_agent: Some("baresip".to_owned()),
        instance: None,
    }
}

fn seeded() -> Arc<MemoryBackend> {
    let b = Arc::new(MemoryBackend::new());
    b.add_binding(
        "sip:alice@example.com",
        binding("b1", "sip:alice@192.0.2.10:40000;transport=tls"),
    );
    b.add_binding(
        "sip:alice@example.com",
        binding("b2", "sip:alice@192.0.2.11:5061;transport=tls"),
    );
    b.add_binding(
        "sip:bob@example.com",
        binding("b1", "sip:bob@192.0.2.20:5060"),
    );
    b.add_call(Call {
        id: "c1".to_owned(),
        call_id: "a84b4c76e66710@pc33.example.com".to_owned(),
        from: "sip:alice@example.com".to_owned(),
        to: "sip:bob@example.com".to_owned(),
        caller_account: Some("alice@example.com".to_owned()),
        state: CallState::Active,
        started: ts(1_800_000_000),
        answered: Some(ts(1_800_000_004)),
        security_level: SecurityLevel::HopByHop,
        assessment: json!({
            "level": "hop_by_hop",
            "signalling": [{"hop": "caller", "transport": "tls", "certificate": "verified"}],
            "media": {
                "keying": "sdes",
                "key": "must-not-leave",
                "offer": "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1ldGhpbmdfc2VjcmV0X19rZXlfXzEy"
            },
            "reasons": ["media keys visible to every signalling hop (SDES)"]
        }),
    });
    b.add_ban(
        "198.51.100.7".parse().unwrap(),
        Ban {
            source: "198.51.100.7".to_owned(),
            reason: BanReason::PasswordGuessing,
            until: ts(1_800_000_600),
            strikes: 2,
        },
    );
    b.add_ban(
        "2001:db8:1:2::".parse().unwrap(),
        Ban {
            source: "2001:db8:1:2::/64".to_owned(),
            reason: BanReason::Scanner,
            until: ts(1_800_000_600),
            strikes: 1,
        },
    );
    b
}

fn app_with(backend: Arc<dyn AdminBackend>, access: MetricsAccess) -> Router {
    let mut config = AdminConfig::new(ApiToken::new(TOKEN).unwrap());
    config.metrics_access = access;
    router(backend, Arc::new(Metrics::new()), config)
}

fn app() -> (Router, Arc<MemoryBackend>) {
    let b = seeded();
    (app_with(b.clone(), MetricsAccess::Open), b)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn call(app: &Router, method: HttpMethod, uri: &str, auth: Option<&str>) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

async fn get(app: &Router, uri: &str) -> Reply {
    call(app, HttpMethod::GET, uri, Some(&bearer())).await
}

async fn delete(app: &Router, uri: &str) -> Reply {
    call(app, HttpMethod::DELETE, uri, Some(&bearer())).await
}

fn assert_unauthorized(r: &Reply, invalid: bool) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let challenge = r.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert_eq!(challenge.contains("invalid_token"), invalid, "{challenge}");
    assert!(r.json()["error"].is_string());
    assert!(!String::from_utf8_lossy(&r.body).contains("alice"));
}

#[tokio::test]
async fn api_needs_the_right_bearer_token() {
    let (app, _) = app();
    let paths = [
        (HttpMethod::GET, "/api/v1/registrations"),
        (
            HttpMethod::DELETE,
            "/api/v1/registrations/sip:alice@example.com",
        ),
        (HttpMethod::GET, "/api/v1/calls"),
        (HttpMethod::GET, "/api/v1/calls/c1"),
        (HttpMethod::GET, "/api/v1/bans"),
        (HttpMethod::DELETE, "/api/v1/bans/198.51.100.7"),
        (HttpMethod::GET, "/api/v1/no-such-thing"),
    ];
    for (m, p) in paths {
        assert_unauthorized(&call(&app, m.clone(), p, None).await, false);
        let wrong = format!("Bearer {TOKEN}x");
        assert_unauthorized(&call(&app, m.clone(), p, Some(&wrong)).await, true);
        assert_unauthorized(&call(&app, m.clone(), p, Some("Bearer nope")).await, true);
        assert_unauthorized(
            &call(&app, m.clone(), p, Some(&format!("Basic {TOKEN}"))).await,
            false,
        );
        assert_unauthorized(&call(&app, m.clone(), p, Some(TOKEN)).await, false);
    }
    // Nothing was removed by the refused requests.
    assert_eq!(
        get(&app, "/api/v1/registrations").await.json()["registrations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        get(&app, "/api/v1/bans").await.json()["bans"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let (app, _) = app();
    let req = Request::get("/api/v1/bans")
        .header(header::AUTHORIZATION, bearer())
        .header(header::AUTHORIZATION, "Bearer other")
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let (app, _) = app();
    let r = call(
        &app,
        HttpMethod::GET,
        "/api/v1/bans",
        Some(&format!("bearer {TOKEN}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn health_needs_no_token() {
    let (app, backend) = app();
    let r = call(&app, HttpMethod::GET, "/health", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "ok");
    assert!(r.json()["version"].is_string());

    let mut h = Health::ok();
    h.status = HealthStatus::Degraded;
    h.checks
        .insert("store".to_owned(), "unreachable".to_owned());
    backend.set_health(h);
    let r = call(&app, HttpMethod::GET, "/health", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["checks"]["store"], "unreachable");
}

#[tokio::test]
async fn registrations_list_and_remove() {
    let (app, _) = app();
    let r = get(&app, "/api/v1/registrations").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let regs = r.json();
    let alice = &regs["registrations"][0];
    assert_eq!(alice["aor"], "sip:alice@example.com");
    assert_eq!(alice["bindings"].as_array().unwrap().len(), 2);
    assert_eq!(alice["bindings"][0]["id"], "b1");
    assert_eq!(alice["bindings"][0]["transport"], "tls");
    assert_eq!(alice["bindings"][0]["source"], "192.0.2.10:40000");
    assert_eq!(alice["bindings"][0]["expires"], "2027-01-15T09:00:00.000Z");

    // One binding, the AOR percent-encoded.
    let r = delete(
        &app,
        "/api/v1/registrations/sip%3Aalice%40example.com/bindings/b2",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"aor": "sip:alice@example.com", "binding": "b2", "removed": 1})
    );
    let r = delete(
        &app,
        "/api/v1/registrations/sip:alice@example.com/bindings/b2",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].is_string());

    // The whole AOR.
    let r = delete(&app, "/api/v1/registrations/sip:bob@example.com").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["removed"], 1);
    let r = delete(&app, "/api/v1/registrations/sip:bob@example.com").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let regs = get(&app, "/api/v1/registrations").await.json();
    assert_eq!(regs["registrations"].as_array().unwrap().len(), 1);
    assert_eq!(
        regs["registrations"][0]["bindings"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn calls_carry_their_assessment_without_keys() {
    let (app, _) = app();
    let r = get(&app, "/api/v1/calls").await;
    assert_eq!(r.status, StatusCode::OK);
    let text = String::from_utf8(r.body.clone()).unwrap();
    assert!(!text.contains("must-not-leave"), "{text}");
    assert!(!text.contains("WVNfX19zZW1ldGhpbmdfc2VjcmV0"), "{text}");
    let calls = r.json();
    let c = &calls["calls"][0];
    assert_eq!(c["id"], "c1");
    assert_eq!(c["security_level"], "hop_by_hop");
    assert_eq!(c["state"], "active");
    assert_eq!(c["assessment"]["media"]["keying"], "sdes");
    assert!(c["assessment"]["media"].get("key").is_none());

    let r = get(&app, "/api/v1/calls/c1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["call_id"], "a84b4c76e66710@pc33.example.com");
    let r = get(&app, "/api/v1/calls/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"error": "no such call"}));
}

#[tokio::test]
async fn bans_list_and_lift() {
    let (app, backend) = app();
    let bans = get(&app, "/api/v1/bans").await.json();
    assert_eq!(bans["bans"][0]["source"], "198.51.100.7");
    assert_eq!(bans["bans"][0]["reason"], "password_guessing");
    assert_eq!(bans["bans"][0]["strikes"], 2);

    let r = delete(&app, "/api/v1/bans/198.51.100.7").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"lifted": "198.51.100.7"}));
    assert_eq!(
        delete(&app, "/api/v1/bans/198.51.100.7").await.status,
        StatusCode::NOT_FOUND
    );

    // An IPv6 /64, its slash percent-encoded.
    let r = delete(&app, "/api/v1/bans/2001:db8:1:2::%2F64").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(backend.bans().unwrap().len(), 0);

    for bad in [
        "/api/v1/bans/not-an-address",
        "/api/v1/bans/10.0.0.0%2F8",
        "/api/v1/bans/%ff",
    ] {
        let r = delete(&app, bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.json()["error"].is_string());
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let (app, _) = app();
    let r = get(&app, "/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"error": "not found"}));
    let r = call(&app, HttpMethod::GET, "/nothing", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].is_string());
    let r = call(
        &app,
        HttpMethod::POST,
        "/api/v1/registrations",
        Some(&bearer()),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.json()["error"].is_string());
}

#[tokio::test]
async fn metrics_are_open_by_default_and_can_need_the_token() {
    let (app, _) = app();
    let r = call(&app, HttpMethod::GET, "/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], OPENMETRICS_CONTENT_TYPE);
    let text = String::from_utf8(r.body).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "sipwarden_requests_total"));

    let locked = app_with(seeded(), MetricsAccess::Token);
    assert_unauthorized(
        &call(&locked, HttpMethod::GET, "/metrics", None).await,
        false,
    );
    let r = call(&locked, HttpMethod::GET, "/metrics", Some(&bearer())).await;
    assert_eq!(r.status, StatusCode::OK);
    // Health stays open either way.
    assert_eq!(
        call(&locked, HttpMethod::GET, "/health", None).await.status,
        StatusCode::OK
    );
}

struct Down;

impl AdminBackend for Down {
    fn registrations(&self) -> Result<Vec<Registration>, BackendError> {
        Err(BackendError::Unavailable("store unreachable".to_owned()))
    }
    fn remove_registration(&self, _: &str) -> Result<usize, BackendError> {
        Err(BackendError::Invalid("not a SIP URI".to_owned()))
    }
    fn remove_binding(&self, _: &str, _: &str) -> Result<bool, BackendError> {
        Ok(false)
    }
    fn calls(&self) -> Result<Vec<Call>, BackendError> {
        Ok(Vec::new())
    }
    fn call(&self, _: &str) -> Result<Option<Call>, BackendError> {
        Ok(None)
    }
    fn bans(&self) -> Result<Vec<Ban>, BackendError> {
        Ok(Vec::new())
    }
    fn lift_ban(&self, _: IpAddr) -> Result<bool, BackendError> {
        Ok(false)
    }
}

#[tokio::test]
async fn backend_errors_map_to_statuses() {
    let app = app_with(Arc::new(Down), MetricsAccess::Open);
    let r = get(&app, "/api/v1/registrations").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json(), json!({"error": "store unreachable"}));
    let r = delete(&app, "/api/v1/registrations/garbage").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        get(&app, "/api/v1/calls").await.json(),
        json!({"calls": []})
    );
}

#[tokio::test]
async fn serves_on_a_loopback_listener_and_shuts_down() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (app, _) = app();
    let server = tokio::spawn(serve_admin_with_shutdown(listener, app, async {
        let _ = rx.await;
    }));
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
