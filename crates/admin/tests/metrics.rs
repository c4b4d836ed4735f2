//! The metrics endpoint's text, read back by a Prometheus text parser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, UNIX_EPOCH};

use prometheus_parse::{Scrape, Value};
use sipwarden_admin::*;
use sipwarden_events::{
    AuthFailureReason, BanReason, Detail, EventSink, FanOut, Kind, MemorySink, SecurityEvent,
    Timestamp, TlsFailure, Transport,
};

const FAMILIES: &[&str] = &[
    "sipwarden_requests_total",
    "sipwarden_responses_total",
    "sipwarden_transactions",
    "sipwarden_registrations",
    "sipwarden_calls_active",
    "sipwarden_calls_total",
    "sipwarden_auth_failures_total",
    "sipwarden_bans_total",
    "sipwarden_bans_active",
    "sipwarden_tls_handshakes_total",
    "sipwarden_connections",
    "sipwarden_request_duration_seconds",
    "sipwarden_security_events_total",
];

fn scrape(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = s
        .samples
        .iter()
        .find(|x| {
            x.metric == metric
                && x.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no sample {metric} {labels:?}"));
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("{metric} is {other:?}"),
    }
}

fn src() -> SocketAddr {
    "198.51.100.9:5060".parse().unwrap()
}

#[test]
fn every_family_is_exposed_and_parses() {
    let m = Metrics::new();
    // The one family with open-ended (though bounded) labels starts empty.
    assert!(!m.encode().unwrap().contains("sipwarden_responses_total{"));
    m.response(200, Method::Options);
    let text = m.encode().unwrap();
    assert!(text.ends_with("# EOF\n"));
    // Every line is metadata or a well-formed sample: the parser skips what it cannot read,
    // so count what it read against what is there.
    let sample_lines = text.lines().filter(|l| !l.starts_with('#')).count();
    let s = scrape(&text);
    let parsed: usize = s
        .samples
        .iter()
        .map(|x| match &x.value {
            // Buckets, plus the _sum and _count lines the parser reads as samples of their own.
            Value::Histogram(b) => b.len(),
            _ => 1,
        })
        .sum();
    assert_eq!(parsed, sample_lines, "{text}");

    let names: BTreeSet<&str> = s.samples.iter().map(|x| x.metric.as_str()).collect();
    for f in FAMILIES {
        assert!(names.contains(f), "missing {f} in {names:?}");
        let base = f.trim_end_matches("_total");
        assert!(text.contains(&format!("# HELP {base} ")), "no HELP for {f}");
    }
    // Bounded label sets are there at zero from the start.
    assert_eq!(
        value(
            &s,
            "sipwarden_requests_total",
            &[("method", "INVITE"), ("transport", "udp")]
        ),
        0.0
    );
    assert_eq!(
        value(&s, "sipwarden_security_events_total", &[("kind", "ban")]),
        0.0
    );
}

#[test]
fn recorded_values_come_out() {
    let m = Metrics::new();
    m.request(Method::Invite, Transport::Udp);
    m.request(Method::Invite, Transport::Udp);
    m.request(Method::from_wire(b"FOO"), Transport::Tls);
    m.response(401, Method::Register);
    m.response(499, Method::Register);
    m.set_transactions(TransactionKind::InviteServer, 3);
    m.set_registrations(42);
    m.call_started();
    m.call_started();
    m.call_ended(SecurityLevel::EndToEnd);
    m.set_bans_active(5);
    m.tls_handshake(TlsResult::Success);
    m.tls_handshake(TlsResult::Failure(TlsFailure::ProtocolVersion));
    m.connection_opened(Transport::Tls);
    m.connection_opened(Transport::Tls);
    m.connection_closed(Transport::Tls);
    m.set_connections(Transport::Tcp, 7);
    m.request_duration(Duration::from_micros(300));
    m.request_duration(Duration::from_secs(5));

    let s = scrape(&m.encode().unwrap());
    let v = |metric, labels: &[(&str, &str)]| value(&s, metric, labels);
    assert_eq!(
        v(
            "sipwarden_requests_total",
            &[("method", "INVITE"), ("transport", "udp")]
        ),
        2.0
    );
    assert_eq!(
        v(
            "sipwarden_requests_total",
            &[("method", "other"), ("transport", "tls")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "sipwarden_responses_total",
            &[("status", "401"), ("method", "REGISTER")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "sipwarden_responses_total",
            &[("status", "4xx"), ("method", "REGISTER")]
        ),
        1.0
    );
    assert_eq!(
        v("sipwarden_transactions", &[("kind", "invite_server")]),
        3.0
    );
    assert_eq!(v("sipwarden_registrations", &[]), 42.0);
    assert_eq!(v("sipwarden_calls_active", &[]), 1.0);
    assert_eq!(
        v("sipwarden_calls_total", &[("security_level", "end_to_end")]),
        1.0
    );
    assert_eq!(v("sipwarden_bans_active", &[]), 5.0);
    assert_eq!(
        v("sipwarden_tls_handshakes_total", &[("result", "success")]),
        1.0
    );
    assert_eq!(
        v(
            "sipwarden_tls_handshakes_total",
            &[("result", "protocol_version")]
        ),
        1.0
    );
    assert_eq!(v("sipwarden_connections", &[("transport", "tls")]), 1.0);
    assert_eq!(v("sipwarden_connections", &[("transport", "tcp")]), 7.0);

    let h = s
        .samples
        .iter()
        .find(|x| x.metric == "sipwarden_request_duration_seconds")
        .unwrap();
    let Value::Histogram(buckets) = &h.value else {
        panic!("not a histogram")
    };
    let inf = buckets.iter().find(|b| b.less_than.is_infinite()).unwrap();
    assert_eq!(inf.count, 2.0);
    let ms = buckets
        .iter()
        .find(|b| (b.less_than - 0.0004).abs() < 1e-9)
        .unwrap();
    assert_eq!(ms.count, 1.0);
}

#[test]
fn events_are_counted_through_a_fan_out() {
    let metrics = std::sync::Arc::new(Metrics::new());
    let log = std::sync::Arc::new(MemorySink::default());
    let fan = FanOut::new().with(log.clone()).with(metrics.clone());
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let failure = SecurityEvent::new(
        at,
        Transport::Udp,
        src(),
        Detail::AuthFailure {
            method: "REGISTER".into(),
            realm: "example.com".into(),
            reason: AuthFailureReason::BadCredentials,
        },
    )
    // A hostile user name goes to the log, never into a label.
    .with_account("x\"} 1\nsipwarden_bans_total{reason=\"flood\"} 99\n#");
    fan.emit(&failure).unwrap();
    fan.emit(&failure).unwrap();
    fan.emit(&SecurityEvent::new(
        at,
        Transport::Udp,
        src(),
        Detail::Ban {
            banned: "198.51.100.9".into(),
            reason: BanReason::PasswordGuessing,
            until: Timestamp(at + Duration::from_secs(60)),
            strikes: 1,
        },
    ))
    .unwrap();
    assert_eq!(log.len(), 3);

    let text = metrics.encode().unwrap();
    assert!(
        !text.contains("example.com") && !text.contains("99"),
        "{text}"
    );
    let s = scrape(&text);
    assert_eq!(
        value(
            &s,
            "sipwarden_auth_failures_total",
            &[("reason", "bad_credentials")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &s,
            "sipwarden_security_events_total",
            &[("kind", "auth_failure")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &s,
            "sipwarden_bans_total",
            &[("reason", "password_guessing")]
        ),
        1.0
    );
    assert_eq!(
        value(&s, "sipwarden_bans_total", &[("reason", "flood")]),
        0.0
    );
    assert_eq!(
        value(&s, "sipwarden_security_events_total", &[("kind", "ban")]),
        1.0
    );
}

#[test]
fn series_stay_bounded_whatever_is_recorded() {
    let m = Metrics::new();
    for code in 0..=u16::MAX {
        for method in Method::ALL {
            m.response(code, *method);
        }
    }
    for name in [&b"INVITE"[..], b"X-EVIL-1", b"X-EVIL-2", &[0xff; 1024]] {
        m.request(Method::from_wire(name), Transport::Wss);
    }
    let s = scrape(&m.encode().unwrap());
    let responses = s
        .samples
        .iter()
        .filter(|x| x.metric == "sipwarden_responses_total")
        .count();
    assert!(
        responses <= 60 * Method::ALL.len(),
        "{responses} response series"
    );
    let requests = s
        .samples
        .iter()
        .filter(|x| x.metric == "sipwarden_requests_total")
        .count();
    assert_eq!(requests, Method::ALL.len() * Transport::ALL.len());
    let kinds = s
        .samples
        .iter()
        .filter(|x| x.metric == "sipwarden_security_events_total")
        .count();
    assert_eq!(kinds, Kind::ALL.len());
}
