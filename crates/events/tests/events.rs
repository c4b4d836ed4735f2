//! Event serialisation, hostile input and sinks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sipwarden_events::*;

const ENVELOPE: &[&str] = &[
    "timestamp",
    "kind",
    "transport",
    "source",
    "account",
    "aor",
    "call_id",
];

fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_366_555_123)
}

fn src() -> SocketAddr {
    "192.0.2.10:5060".parse().unwrap()
}

fn net(detail: Detail) -> SecurityEvent {
    SecurityEvent::new(at(), Transport::Udp, src(), detail)
}

/// One event of every kind, with the fields each kind must carry.
fn every_kind() -> Vec<(SecurityEvent, &'static [&'static str])> {
    let until = Timestamp(at() + Duration::from_secs(600));
    vec![
        (
            net(Detail::AuthSuccess {
                method: "REGISTER".into(),
                realm: "example.com".into(),
                algorithm: "SHA-256".into(),
            })
            .with_account("alice@example.com")
            .with_aor("sip:alice@example.com"),
            &["method", "realm", "algorithm"],
        ),
        (
            net(Detail::AuthFailure {
                method: "REGISTER".into(),
                realm: "example.com".into(),
                reason: AuthFailureReason::BadCredentials,
            })
            .with_account("alice@example.com"),
            &["method", "realm", "reason"],
        ),
        (
            net(Detail::Challenge {
                method: "INVITE".into(),
                realm: "example.com".into(),
                status: 407,
            })
            .with_call_id("abc@host"),
            &["method", "realm", "status"],
        ),
        (
            net(Detail::Lockout {
                scope: Scope::Account,
                until,
                lockouts: 2,
            })
            .with_account("alice@example.com"),
            &["scope", "until", "lockouts"],
        ),
        (
            SecurityEvent::internal(
                at(),
                Detail::LockoutLifted {
                    scope: Scope::Account,
                    by: LiftedBy::Operator,
                },
            )
            .with_account("alice@example.com"),
            &["scope", "by"],
        ),
        (
            net(Detail::Ban {
                banned: "192.0.2.10".into(),
                reason: BanReason::PasswordGuessing,
                until,
                strikes: 1,
            }),
            &["banned", "reason", "until", "strikes"],
        ),
        (
            SecurityEvent::internal(
                at(),
                Detail::BanLifted {
                    banned: "2001:db8:1:2::/64".into(),
                    by: LiftedBy::Expiry,
                },
            ),
            &["banned", "by"],
        ),
        (
            net(Detail::RateLimited {
                scope: Scope::Source,
                method_class: "register".into(),
                retry_after_ms: 250,
                suppressed: 17,
            }),
            &["scope", "method_class", "retry_after_ms", "suppressed"],
        ),
        (
            net(Detail::ScannerDetected {
                signal: ScannerSignal::DistinctUsers,
                count: 50,
                user_agent: Some("friendly-scanner".into()),
            }),
            &["signal", "count", "user_agent"],
        ),
        (
            SecurityEvent::new(
                at(),
                Transport::Tls,
                src(),
                Detail::TlsHandshakeFailed {
                    reason: TlsFailure::ProtocolVersion,
                    sni: Some("sip.example.com".into()),
                    detail: None,
                },
            ),
            &["reason", "sni", "detail"],
        ),
        (
            SecurityEvent::new(
                at(),
                Transport::Tls,
                src(),
                Detail::CertificateRefused {
                    reason: CertificateReason::Expired,
                    direction: Direction::Outbound,
                    peer: Some("example.net".into()),
                    detail: Some("certificate expired".into()),
                },
            ),
            &["reason", "direction", "peer", "detail"],
        ),
        (
            net(Detail::DowngradeRefused {
                uri: "sips:bob@example.net".into(),
                next_hop_transport: Transport::Udp,
            }),
            &["uri", "next_hop_transport"],
        ),
        (
            net(Detail::SdesRefused {
                reason: SdesReason::InsecureHop,
                next_hop_transport: Some(Transport::Tcp),
            })
            .with_call_id("c1@host"),
            &["reason", "next_hop_transport"],
        ),
        (
            net(Detail::PolicyRefused {
                rule: "deny_cidr 192.0.2.0/24".into(),
                suppressed: 0,
            }),
            &["rule", "suppressed"],
        ),
        (
            net(Detail::AnonymousCaller {
                form: AnonymousForm::Privacy,
                action: AnonymousAction::Challenged,
                suppressed: 0,
            }),
            &["form", "action", "suppressed"],
        ),
        (
            net(Detail::TokenRefused {
                reason: "expired".into(),
                suppressed: 3,
            }),
            &["reason", "suppressed"],
        ),
        (
            net(Detail::ReplayRefused {
                method: "INVITE".into(),
            })
            .with_account("alice@example.com"),
            &["method"],
        ),
        (
            net(Detail::StaleNonce {
                method: "REGISTER".into(),
            }),
            &["method"],
        ),
        (
            net(Detail::RegistrationAdded {
                contact: "sip:alice@192.0.2.10:5060".into(),
                expires_s: 3600,
                user_agent: None,
            })
            .with_aor("sip:alice@example.com"),
            &["contact", "expires_s", "user_agent"],
        ),
        (
            SecurityEvent::internal(
                at(),
                Detail::RegistrationRemoved {
                    contact: "sip:alice@192.0.2.10:5060".into(),
                    reason: RemovalReason::Expired,
                },
            )
            .with_aor("sip:alice@example.com"),
            &["contact", "reason"],
        ),
        (
            net(Detail::CallEnded {
                status: 200,
                duration_ms: 61_000,
                assessment: json!({
                    "level": "end_to_end",
                    "signalling": [{"hop": 1, "transport": "tls", "certificate": "verified"}],
                    "media": {"keying": "dtls-srtp"},
                    "reasons": []
                }),
            })
            .with_call_id("c2@host")
            .with_account("alice@example.com"),
            &["status", "duration_ms", "assessment"],
        ),
    ]
}

fn parse(event: &SecurityEvent) -> serde_json::Map<String, Value> {
    let mut buf = Vec::new();
    event.write_json_line(&mut buf).unwrap();
    let line = String::from_utf8(buf).unwrap();
    assert!(line.ends_with('\n'));
    assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
    match serde_json::from_str::<Value>(line.trim_end()).unwrap() {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn every_kind_is_covered() {
    let kinds: BTreeSet<Kind> = every_kind().iter().map(|(e, _)| e.kind()).collect();
    let all: BTreeSet<Kind> = Kind::ALL.iter().copied().collect();
    assert_eq!(kinds, all);
}

#[test]
fn every_kind_serialises_with_stable_fields() {
    for (event, fields) in every_kind() {
        let obj = parse(&event);
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = ENVELOPE.to_vec();
        expected.extend_from_slice(fields);
        let mut got = keys.clone();
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected, "fields of {}", event.kind());
        assert_eq!(obj["kind"], event.kind().as_str());
        assert_eq!(obj["timestamp"], "2026-11-22T16:55:55.123Z");
        // The envelope comes first, in a fixed order.
        let line = event.to_json().unwrap();
        assert!(line.starts_with(r#"{"timestamp":"2026-11-22T16:55:55.123Z","kind":""#));
        if event.source.is_some() {
            assert_eq!(obj["source"], "192.0.2.10:5060");
            assert!(obj["transport"].is_string());
        } else {
            assert!(obj["source"].is_null());
            assert!(obj["transport"].is_null());
        }
    }
}

#[test]
fn kind_labels_are_snake_case_and_unique() {
    let mut seen = BTreeSet::new();
    for k in Kind::ALL {
        let s = k.as_str();
        assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
        assert!(seen.insert(s));
    }
}

fn field_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.to_ascii_lowercase());
                field_names(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| field_names(v, out)),
        _ => {}
    }
}

#[test]
fn no_event_has_a_field_for_a_secret() {
    const EXACT: &[&str] = &["password", "ha1", "key", "secret", "nonce_key", "crypto"];
    const SUBSTR: &[&str] = &["password", "passwd", "ha1", "secret", "nonce_key", "crypto"];
    for (event, _) in every_kind() {
        let mut names = Vec::new();
        field_names(&Value::Object(parse(&event)), &mut names);
        for n in &names {
            assert!(!EXACT.contains(&n.as_str()), "{} has {n}", event.kind());
            for s in SUBSTR {
                assert!(!n.contains(s), "{} has {n}", event.kind());
            }
        }
    }
}

#[test]
fn assessment_members_named_like_secrets_are_dropped() {
    let event = net(Detail::CallEnded {
        status: 200,
        duration_ms: 1,
        assessment: json!({
            "level": "hop_by_hop",
            "key": "c2VjcmV0c2VjcmV0c2VjcmV0",
            "media": [{"crypto": "inline:abc", "Password": "x", "keying": "sdes"}],
        }),
    });
    let obj = parse(&event);
    let a = &obj["assessment"];
    assert!(a.get("key").is_none());
    assert_eq!(a["media"][0], json!({"keying": "sdes"}));
    assert!(!event.to_json().unwrap().contains("c2VjcmV0"));
}

#[test]
fn hostile_values_are_escaped_capped_and_redacted() {
    let huge = "A".repeat(10 * 1024);
    let event = net(Detail::ScannerDetected {
        signal: ScannerSignal::UserAgent,
        count: 1,
        user_agent: Some("evil\r\nkind: forged\x1b[31mRED\x1b[0m\u{202e}gpj.exe".into()),
    })
    .with_account(huge.as_str())
    .with_call_id("id\0with\x07bell\x7f\u{85}");
    let mut buf = Vec::new();
    event.write_json_line(&mut buf).unwrap();
    let line = String::from_utf8(buf).unwrap();

    // One line, and not one raw or JSON-escaped control character.
    assert_eq!(line.matches('\n').count(), 1);
    assert!(!line.trim_end().chars().any(char::is_control));
    assert!(!line.contains("\\u001b") && !line.contains("\\r") && !line.contains("\\n"));
    assert!(!line.contains('\u{202e}'));

    let obj = parse(&event);
    let ua = obj["user_agent"].as_str().unwrap();
    assert_eq!(
        ua,
        "evil\\x0d\\x0akind: forged\\x1b[31mRED\\x1b[0m\\u{202e}gpj.exe"
    );
    let account = obj["account"].as_str().unwrap();
    assert_eq!(account.chars().count(), MAX_TEXT_CHARS);
    assert!(account.ends_with('…'));
    assert_eq!(
        obj["call_id"].as_str().unwrap(),
        "id\\x00with\\x07bell\\x7f\\x85"
    );
    assert!(line.len() < 2048, "capped line is {} bytes", line.len());
}

#[test]
fn huge_control_runs_stay_capped() {
    let t = Text::new(&"\x1b".repeat(10_000));
    assert_eq!(t.as_str().chars().count(), MAX_TEXT_CHARS - 3);
    assert!(t.as_str().ends_with('…'));
    let multibyte = Text::new(&"é".repeat(10_000));
    assert_eq!(multibyte.as_str().chars().count(), MAX_TEXT_CHARS);
}

#[test]
fn sdes_keys_in_free_text_are_redacted() {
    let key = "WVNfX19zZW1ldGhpbmdfc2VjcmV0X19rZXlfXzEyMzQ1Njc4";
    let sdp = format!("v=0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|1:4\r\n");
    let event = SecurityEvent::new(
        at(),
        Transport::Tls,
        src(),
        Detail::CertificateRefused {
            reason: CertificateReason::Other,
            direction: Direction::Inbound,
            peer: None,
            detail: Some(sdp.as_str().into()),
        },
    );
    let line = event.to_json().unwrap();
    assert!(!line.contains(key), "{line}");
    assert!(line.contains("[redacted]"), "{line}");

    // Also inside a caller-supplied assessment, and when the key sits past the cap.
    let late = format!(
        "{}a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}",
        "x".repeat(200)
    );
    let event = net(Detail::CallEnded {
        status: 200,
        duration_ms: 0,
        assessment: json!({ "note": sdp, "late": late }),
    });
    let line = event.to_json().unwrap();
    assert!(!line.contains(key), "{line}");
    assert!(!line.contains(&key[..20]), "{line}");
}

#[test]
fn deep_assessment_is_bounded() {
    let mut v = json!("leaf");
    for _ in 0..100 {
        v = json!({ "n": v });
    }
    let line = net(Detail::CallEnded {
        status: 487,
        duration_ms: 0,
        assessment: v,
    })
    .to_json()
    .unwrap();
    assert!(line.contains("[too deep]"));
    assert!(!line.contains("leaf"));
}

#[test]
fn file_writer_appends_flushes_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("security.log");
    let writer = JsonLinesWriter::open(&path).unwrap();
    let events = every_kind();
    writer.emit(&events[0].0).unwrap();
    writer.emit(&events[1].0).unwrap();
    // Flushed per line: readable without dropping the writer.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2);
    for l in text.lines() {
        serde_json::from_str::<Value>(l).unwrap();
    }

    // Rotation: move the file away, reopen, write on.
    let rotated = dir.path().join("security.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    writer.emit(&events[2].0).unwrap(); // still goes to the rotated file
    writer.reopen().unwrap();
    writer.emit(&events[3].0).unwrap();
    assert_eq!(
        std::fs::read_to_string(&rotated).unwrap().lines().count(),
        3
    );
    let fresh = std::fs::read_to_string(&path).unwrap();
    assert_eq!(fresh.lines().count(), 1);
    assert!(fresh.contains(r#""kind":"lockout""#));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "log readable by others: {mode:o}");
    }

    // Appends to an existing file instead of truncating it.
    drop(writer);
    let again = JsonLinesWriter::open(&path).unwrap();
    again.emit(&events[4].0).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn writer_lines_do_not_interleave() {
    let buf = Shared::default();
    let writer = Arc::new(JsonLinesWriter::from_writer(buf.clone()));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let w = Arc::clone(&writer);
            std::thread::spawn(move || {
                for (e, _) in every_kind() {
                    w.emit(&e).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.lines().count(), 4 * Kind::ALL.len());
    for l in text.lines() {
        serde_json::from_str::<Value>(l).unwrap();
    }
}

struct Failing;

impl EventSink for Failing {
    fn emit(&self, _: &SecurityEvent) -> Result<(), EventError> {
        Err(std::io::Error::other("disk full").into())
    }
}

#[test]
fn fan_out_reaches_every_sink_despite_errors() {
    let a = Arc::new(MemorySink::default());
    let b = Arc::new(MemorySink::default());
    let fan = FanOut::new()
        .with(a.clone())
        .with(Arc::new(Failing))
        .with(b.clone());
    let (event, _) = every_kind().remove(0);
    assert!(fan.emit(&event).is_err());
    assert_eq!(a.len(), 1);
    assert_eq!(b.len(), 1);
    assert_eq!(b.events()[0], event);
    assert_eq!(b.lines().unwrap().len(), 1);
}

#[test]
fn memory_sink_is_bounded() {
    let sink = MemorySink::new(2);
    for (e, _) in every_kind().into_iter().take(5) {
        sink.emit(&e).unwrap();
    }
    assert_eq!(sink.len(), 2);
    assert_eq!(sink.dropped(), 3);
    assert_eq!(sink.take().len(), 2);
    assert!(sink.is_empty());
}
