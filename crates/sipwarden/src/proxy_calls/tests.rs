use std::time::Duration;

use sipwarden_core::assessment::{
    CallAssessment, CallerAuth, DialogId, HopRole, HopSource, IdentityCheck, MediaSummary, Party,
    PeerVerification, SecurityLevel, SignallingHop, TlsFacts,
};
use sipwarden_wire::Transport;

use super::*;

fn tls_hop(role: HopRole, version: &str) -> SignallingHop {
    let mut hop = SignallingHop::new(role, HopSource::Observed, Transport::Tls);
    hop.tls =
        Some(TlsFacts::new(PeerVerification::NoClientCertificate).with_session(version, None));
    hop
}

fn assessment(call_id: &str) -> CallAssessment {
    CallAssessment {
        dialog: DialogId {
            call_id: call_id.to_owned(),
            caller_tag: "a".to_owned(),
            callee_tag: "b".to_owned(),
        },
        level: SecurityLevel::HopByHop,
        reasons: vec!["level hop-by-hop".to_owned()],
        signalling: vec![
            tls_hop(HopRole::CallerSide, "TLSv1.2"),
            tls_hop(HopRole::CalleeSide, "TLSv1.3"),
        ],
        caller_auth: CallerAuth::None,
        identity: IdentityCheck::NotChecked,
        media: MediaSummary {
            offerer: Party::Caller,
            offer: Some("sdes".to_owned()),
            answer: Some("sdes".to_owned()),
            caller_to_callee: Some("sdes".to_owned()),
            callee_to_caller: Some("sdes".to_owned()),
            level: "hop-by-hop".to_owned(),
        },
    }
}

#[test]
fn a_bye_from_either_side_ends_the_call_and_writes_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let book = CallBook::new(Some(dir.path()), Duration::from_secs(3600)).unwrap();
    book.answered(assessment("c1"));
    book.answered(assessment("c2"));
    assert_eq!(book.view().active.len(), 2);
    // The callee hangs up: tags swapped.
    book.ended(
        &DialogId {
            call_id: "c1".to_owned(),
            caller_tag: "b".to_owned(),
            callee_tag: "a".to_owned(),
        },
        200,
    );
    let view = book.view();
    assert_eq!(view.active.len(), 1);
    assert_eq!(view.recent.len(), 1);
    assert_eq!(view.recent[0].ended_by.as_deref(), Some("bye"));
    let log = std::fs::read_to_string(dir.path().join(CALLS_LOG)).unwrap();
    assert_eq!(log.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(log.trim()).unwrap();
    assert_eq!(line["event"], "call_ended");
    assert_eq!(line["assessment"]["level"], "hop-by-hop");
    book.flush();
    let mut out = Vec::new();
    print(dir.path(), false, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("1 active, 1 recent"), "{text}");
    assert!(text.contains("call-id=c1"), "{text}");
    // Each hop with the TLS version it negotiated.
    assert!(
        text.contains("signalling=tls(TLSv1.2),tls(TLSv1.3)"),
        "{text}"
    );
}

#[test]
fn calls_without_bye_time_out() {
    let book = CallBook::new(None, Duration::ZERO).unwrap();
    book.answered(assessment("c1"));
    std::thread::sleep(Duration::from_millis(5));
    book.sweep();
    let view = book.view();
    assert!(view.active.is_empty());
    assert_eq!(view.recent[0].ended_by.as_deref(), Some("timeout"));
}
