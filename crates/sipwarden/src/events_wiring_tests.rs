use std::sync::Arc;

use bytes::Bytes;
use sipwarden_admin::Metrics;
use sipwarden_core::{AuthEvent, ServiceReply};
use sipwarden_events::{EventSink, MemorySink};
use sipwarden_store::{Binding, LocationStore, MemoryStore};
use sipwarden_transport::tu::IncomingRequest;
use sipwarden_transport::{Flow, Transport};
use sipwarden_wire::Message;

use super::*;
use crate::ops::Ops;

const REGISTER: &str = "REGISTER sip:localhost SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\nFrom: <sip:alice@localhost>;tag=1\r\nTo: <sip:alice@localhost>\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\nAuthorization: Digest username=\"alice\", realm=\"localhost\", nonce=\"n\", uri=\"sip:localhost\", response=\"0000000000000000000000000000000000000000000000000000000000000000\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"x\"\r\nContent-Length: 0\r\n\r\n";

fn ops() -> (Arc<Ops>, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::default());
    let ops = Ops::with_sink(
        Arc::clone(&sink) as Arc<dyn EventSink>,
        None,
        Arc::new(Metrics::new()),
    );
    (Arc::new(ops), sink)
}

fn request() -> IncomingRequest {
    IncomingRequest {
        message: Message::parse(Bytes::from_static(REGISTER.as_bytes())).unwrap(),
        flow: Flow {
            transport: Transport::Udp,
            local: "192.0.2.9:5060".parse().unwrap(),
            remote: "192.0.2.1:5060".parse().unwrap(),
            id: None,
        },
        peer_certificates: None,
    }
}

fn reply(code: u16, auth: AuthEvent) -> ServiceReply {
    ServiceReply {
        response: Bytes::from(format!("SIP/2.0 {code} Whatever\r\n\r\n")),
        code,
        auth,
        aor: None,
    }
}

fn kinds_after(auth: AuthEvent, code: u16) -> Vec<String> {
    let (ops, sink) = ops();
    registrar_events(&ops, &request(), &reply(code, auth));
    sink.events()
        .iter()
        .map(|e| e.kind().as_str().to_owned())
        .collect()
}

#[test]
fn every_auth_outcome_has_its_event() {
    assert!(kinds_after(AuthEvent::NotAttempted, 400).is_empty());
    assert_eq!(kinds_after(AuthEvent::Challenged, 401), ["challenge"]);
    assert_eq!(kinds_after(AuthEvent::Stale, 401), ["stale_nonce"]);
    assert_eq!(
        kinds_after(
            AuthEvent::Replay {
                claimed_user: "alice".into()
            },
            401
        ),
        ["replay_refused"]
    );
    assert_eq!(
        kinds_after(
            AuthEvent::Failed {
                claimed_user: "alice".into(),
                reason: "response does not match".into()
            },
            401
        ),
        ["auth_failure"]
    );
    assert_eq!(
        kinds_after(
            AuthEvent::Succeeded {
                account: "alice@localhost".into()
            },
            200
        ),
        ["auth_success"]
    );
}

#[test]
fn a_success_refused_for_someone_elses_aor_is_an_identity_failure() {
    let (ops, sink) = ops();
    let mut r = reply(
        403,
        AuthEvent::Succeeded {
            account: "mallory@localhost".into(),
        },
    );
    r.response = Bytes::from_static(b"SIP/2.0 403 Forbidden (not your address-of-record)\r\n\r\n");
    registrar_events(&ops, &request(), &r);
    let lines = sink.lines().unwrap();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].contains("\"algorithm\":\"SHA-256\""),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("identity_mismatch"), "{}", lines[1]);
}

#[test]
fn failure_reasons_map_to_the_closed_set() {
    assert_eq!(
        failure_reason("response does not match"),
        AuthFailureReason::BadCredentials
    );
    assert_eq!(failure_reason("wrong realm"), AuthFailureReason::WrongRealm);
    assert_eq!(
        failure_reason("digest algorithm not allowed"),
        AuthFailureReason::AlgorithmRefused
    );
    assert_eq!(
        failure_reason("nonce is malformed"),
        AuthFailureReason::Malformed
    );
    assert_eq!(failure_reason("something new"), AuthFailureReason::Other);
}

fn binding(key: &str, expires_at: u64) -> Binding {
    Binding {
        aor: "sip:alice@localhost".into(),
        key: key.into(),
        contact: key.into(),
        expires_at,
        q: 1000,
        call_id: "c1".into(),
        cseq: 1,
        path: Vec::new(),
        instance: None,
        reg_id: None,
        source: "192.0.2.1:5060".into(),
        transport: "udp".into(),
        flow: None,
        user_agent: Some("phone\u{1b}[31m".into()),
    }
}

#[test]
fn the_observed_store_reports_added_removed_and_operator_removals() {
    let (ops, sink) = ops();
    let store = ObservedLocation::new(Arc::new(MemoryStore::new()), Arc::clone(&ops));
    let later = unix_now() + 600;
    let aor = "sip:alice@localhost";
    store
        .apply(
            aor,
            &[
                binding("sip:a@192.0.2.1", later),
                binding("sip:b@192.0.2.1", later),
            ],
            &[],
        )
        .unwrap();
    // A refresh is not an addition.
    store
        .apply(aor, &[binding("sip:a@192.0.2.1", later)], &[])
        .unwrap();
    store
        .apply(aor, &[], &["sip:a@192.0.2.1".to_owned()])
        .unwrap();
    assert_eq!(store.remove_by_operator(aor, None).unwrap(), 1);
    let lines = sink.lines().unwrap();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.contains("registration_added") {
                "added"
            } else if l.contains("\"operator\"") {
                "operator"
            } else {
                "removed"
            }
        })
        .collect();
    assert_eq!(kinds, ["added", "added", "removed", "operator"]);
    // The User-Agent's escape character never reaches the line raw.
    assert!(!lines[0].contains('\u{1b}'), "{}", lines[0]);
    assert!(
        lines[0].contains("\"source\":\"192.0.2.1:5060\""),
        "{}",
        lines[0]
    );
}
