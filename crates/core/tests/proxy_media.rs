#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! "sips means every hop", the SDES key policy on requests and answers, redaction in
//! everything the proxy emits, and the assessment of real calls (SDPs captured from
//! baresip and linphone).

mod proxy_support;

use std::time::Instant;

use proxy_support::*;
use sipwarden_core::assessment::SecurityLevel;
use sipwarden_core::proxy::{Action, BranchFailure, Cause, Decision, Event, RequestOutcome};
use sipwarden_sdp::Refusal;
use sipwarden_wire::{HeaderName, Message, Method, Transport};

macro_rules! sdp {
    ($path:literal) => {
        include_bytes!(concat!("../../sdp/tests/vectors/", $path)).as_slice()
    };
}

const SDES_OFFER: &[u8] = sdp!("baresip/baresip-srtp-mand-offer.sdp");
const SDES_ANSWER: &[u8] = sdp!("baresip/baresip-srtp-mand-answer.sdp");
const DTLS_OFFER: &[u8] = sdp!("baresip/baresip-dtls_srtp-offer.sdp");
const DTLS_ANSWER: &[u8] = sdp!("baresip/baresip-dtls_srtp-answer.sdp");
const PLAIN_OFFER: &[u8] = sdp!("baresip/baresip-none-offer.sdp");
const PLAIN_ANSWER: &[u8] = sdp!("baresip/baresip-none-answer.sdp");
const ZRTP_OFFER: &[u8] = sdp!("linphone/linphone-zrtp-offer.sdp");
const ZRTP_ANSWER: &[u8] = sdp!("linphone/linphone-zrtp-answer.sdp");
const OFFER_KEY: &str = "NSPYulwdwtsf8qY+Grh0MFcRv1JAFaNcdQOMoGAa";
const ANSWER_KEY: &str = "b7BBEWjlBpyNKLZQH2rDazpwvqePLT8MlnuTauH8";

fn bob(transport: &str, flow: Option<&str>) -> Users {
    let mut u = Users::new();
    let contact = if transport == "tls" {
        "sip:bob@198.51.100.20:5071;transport=tls"
    } else {
        "sip:bob@198.51.100.20:5070"
    };
    u.bind("bob", binding("bob", contact, 1000, transport, flow));
    u
}

fn invite(ruri: &str, body: Option<&[u8]>) -> Message {
    request(
        "INVITE",
        ruri,
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>",
        &[],
        body,
    )
}

fn warning(m: &Message) -> String {
    values(m, HeaderName::Warning).join(" | ")
}

#[test]
fn sips_is_never_downgraded() {
    let p = proxy();
    let now = Instant::now();
    let msg = invite("sips:bob@example.com", None);
    let d = decide(&p, &msg, &Origin::tls(now, "f1"), &bob("udp", None));
    let (code, resp) = reply(&d);
    assert_eq!(code, 480);
    assert!(
        warning(&resp).contains("no TLS next hop"),
        "{}",
        warning(&resp)
    );
    assert!(values(&resp, HeaderName::Reason)[0].contains("no secure next hop"));
    assert!(d.events.iter().any(|e| matches!(
        e,
        Event::BranchFailed {
            cause: Cause::NoSecureHop,
            ..
        }
    )));

    // Over TLS it goes through, record-routed with sips URIs.
    let mut ctx = context(decide(
        &p,
        &msg,
        &Origin::tls(now, "f1"),
        &bob("tls", Some("f2")),
    ));
    let f = forwards(&drain(&mut ctx));
    assert_eq!(f[0].2.transport, Some(Transport::Tls));
    let rr = values(&f[0].1, HeaderName::RecordRoute);
    assert!(
        rr.iter().all(|r| r.starts_with("<sips:192.0.2.10:5061;lr")),
        "{rr:?}"
    );
}

#[test]
fn sips_toward_another_domain_must_resolve_to_tls() {
    let mut cfg = config();
    cfg.authenticate_local_callers = false;
    let p = proxy_with(cfg);
    let now = Instant::now();
    let msg = request(
        "INVITE",
        "sips:dave@far.example.net",
        "<sip:alice@example.com>;tag=a1",
        "<sips:dave@far.example.net>",
        &[],
        None,
    );
    let mut ctx = context(decide(&p, &msg, &Origin::tls(now, "f1"), &Users::new()));
    let acts = drain(&mut ctx);
    let f = forwards(&acts);
    // sips: the transport is TLS, the address is for the caller to resolve.
    assert_eq!(f[0].2.transport, Some(Transport::Tls));
    assert!(f[0].2.secure_only);

    // A next hop reachable only over UDP is refused, not used.
    let msg = request(
        "INVITE",
        "sip:dave@far.example.net",
        "<sip:alice@example.com>;tag=a1",
        "<sip:dave@far.example.net>",
        &["Route: <sips:next.example.net;lr>"],
        None,
    );
    let mut ctx = context(decide(&p, &msg, &Origin::tls(now, "f1"), &Users::new()));
    let acts = drain(&mut ctx);
    assert!(
        matches!(&acts[0], Action::Forward { hop, .. } if hop.transport == Some(Transport::Tls) && hop.secure_only)
    );

    let msg = request(
        "INVITE",
        "sips:dave@far.example.net",
        "<sip:alice@example.com>;tag=a1",
        "<sips:dave@far.example.net>",
        &["Route: <sip:next.example.net;lr>"],
        None,
    );
    let mut ctx = context(decide(&p, &msg, &Origin::tls(now, "f1"), &Users::new()));
    let acts = drain(&mut ctx);
    let Action::Resolve { branch, hop } = &acts[0] else {
        panic!("{acts:?}")
    };
    assert!(hop.secure_only);
    ctx.on_branch_failure(*branch, BranchFailure::NoSecureHop, now);
    let r = responds(&drain(&mut ctx));
    assert_eq!(r[0].0, 480);
    assert!(warning(&r[0].1).contains("not downgraded"));
}

#[test]
fn sdes_keys_never_cross_a_hop_without_tls() {
    let p = proxy();
    let now = Instant::now();
    // TLS in, UDP out.
    let d = decide(
        &p,
        &invite("sip:bob@example.com", Some(SDES_OFFER)),
        &Origin::tls(now, "f1"),
        &bob("udp", None),
    );
    let (code, resp) = reply(&d);
    assert_eq!(code, 488);
    assert!(
        warning(&resp).contains("SDES media keys would cross a signalling hop without TLS"),
        "{}",
        warning(&resp)
    );
    assert!(d.events.iter().any(|e| matches!(
        e,
        Event::BranchFailed {
            cause: Cause::Media(Refusal::KeysOverPlainHop),
            ..
        }
    )));

    // UDP in, TLS out: the answer's keys would come back over UDP.
    let d = decide(
        &p,
        &invite("sip:bob@example.com", Some(SDES_OFFER)),
        &Origin::udp(now),
        &bob("tls", Some("f2")),
    );
    assert_eq!(reply(&d).0, 488);

    // TLS on both sides: forwarded.
    let mut ctx = context(decide(
        &p,
        &invite("sip:bob@example.com", Some(SDES_OFFER)),
        &Origin::tls(now, "f1"),
        &bob("tls", Some("f2")),
    ));
    assert_eq!(forwards(&drain(&mut ctx)).len(), 1);

    // DTLS-SRTP keys are not in the SDP: UDP is fine.
    let mut ctx = context(decide(
        &p,
        &invite("sip:bob@example.com", Some(DTLS_OFFER)),
        &Origin::udp(now),
        &bob("udp", None),
    ));
    assert_eq!(forwards(&drain(&mut ctx)).len(), 1);
}

#[test]
fn a_fork_skips_only_the_plain_branches() {
    let p = proxy();
    let now = Instant::now();
    let mut users = bob("tls", Some("f2"));
    users.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.30:5060", 900, "udp", None),
    );
    let mut ctx = context(decide(
        &p,
        &invite("sip:bob@example.com", Some(SDES_OFFER)),
        &Origin::tls(now, "f1"),
        &users,
    ));
    let acts = drain(&mut ctx);
    let f = forwards(&acts);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].2.transport, Some(Transport::Tls));
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Event(Event::BranchFailed {
            branch: 1,
            code: 488,
            ..
        })
    )));
}

#[test]
fn an_sdes_answer_toward_a_plain_hop_ends_the_call_instead() {
    let p = proxy();
    let now = Instant::now();
    // Late offer over UDP; the callee (on TLS) puts SDES keys in its 200.
    let mut ctx = context(decide(
        &p,
        &invite("sip:bob@example.com", None),
        &Origin::udp(now),
        &bob("tls", Some("f2")),
    ));
    let out = forwards(&drain(&mut ctx)).remove(0).1;
    let ok = answer_with_body(
        &out,
        200,
        "b1",
        &[("Contact", "<sip:bob@198.51.100.20:5071;transport=tls>")],
        Some(SDES_OFFER),
    );
    ctx.on_response(0, &ok, now);
    let acts = drain(&mut ctx);
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Event(Event::Withheld {
            code: 200,
            cause: Cause::Media(Refusal::KeysOverPlainHop)
        })
    )));
    let ack = acts
        .iter()
        .find_map(|a| match a {
            Action::SendStateless { request, hop } => {
                Some((Message::parse(request.clone()).unwrap(), hop.clone()))
            }
            _ => None,
        })
        .unwrap();
    let bye = acts
        .iter()
        .find_map(|a| match a {
            Action::SendRequest { request, hop } => {
                Some((Message::parse(request.clone()).unwrap(), hop.clone()))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(ack.0.method(), Some(Method::Ack));
    assert_eq!(
        ack.0.request_uri_bytes(),
        b"sip:bob@198.51.100.20:5071;transport=tls"
    );
    assert_eq!(ack.0.cseq().unwrap().seq, 1);
    assert_eq!(ack.1.flow.as_deref(), Some("f2"));
    assert_eq!(bye.0.method(), Some(Method::Bye));
    assert_eq!(bye.0.cseq().unwrap().seq, 2);
    assert_eq!(bye.0.to().unwrap().tag, Some("b1"));
    assert!(bye.0.header(HeaderName::Reason).is_some());
    let r = responds(&acts);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, 488);
    assert!(!String::from_utf8_lossy(r[0].1.as_bytes()).contains(OFFER_KEY));
    assert!(warning(&r[0].1).contains("SDES"));

    // The callee retransmits its 200 (our ACK was lost): ACK again, no second BYE.
    ctx.on_response(0, &ok, now);
    let acts = drain(&mut ctx);
    assert_eq!(
        acts.iter()
            .filter(|a| matches!(a, Action::SendStateless { .. }))
            .count(),
        1
    );
    assert!(!acts
        .iter()
        .any(|a| matches!(a, Action::SendRequest { .. } | Action::Respond { .. })));
}

#[test]
fn an_sdes_early_answer_toward_a_plain_hop_is_withheld() {
    let p = proxy();
    let now = Instant::now();
    let mut ctx = context(decide(
        &p,
        &invite("sip:bob@example.com", None),
        &Origin::udp(now),
        &bob("tls", Some("f2")),
    ));
    let out = forwards(&drain(&mut ctx)).remove(0).1;
    ctx.on_response(
        0,
        &answer_with_body(&out, 183, "b1", &[], Some(SDES_OFFER)),
        now,
    );
    let acts = drain(&mut ctx);
    assert!(responds(&acts).is_empty());
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Event(Event::Withheld { code: 183, .. }))));
    // Without keys it goes through.
    ctx.on_response(0, &answer(&out, 180, "b1", &[]), now);
    assert_eq!(responds(&drain(&mut ctx))[0].0, 180);
}

/// Runs a call TLS to TLS with these SDPs; returns every action and the decision's events.
fn tls_call(
    offer: &'static [u8],
    answer_sdp: &'static [u8],
    header: bool,
) -> (Vec<Action>, Vec<Event>, Message) {
    let mut cfg = config();
    cfg.assessment_header = header;
    let p = proxy_with(cfg);
    let now = Instant::now();
    let msg = invite("sip:bob@example.com", Some(offer));
    let d: Decision = decide(&p, &msg, &Origin::tls(now, "f1"), &bob("tls", Some("f2")));
    let events = d.events.clone();
    let mut ctx = context(d);
    let mut acts = drain(&mut ctx);
    let out = forwards(&acts).remove(0).1;
    ctx.on_response(
        0,
        &answer_with_body(&out, 183, "b1", &[], Some(answer_sdp)),
        now,
    );
    ctx.on_response(
        0,
        &answer_with_body(
            &out,
            200,
            "b1",
            &[("Contact", "<sip:bob@198.51.100.20:5071;transport=tls>")],
            Some(answer_sdp),
        ),
        now,
    );
    acts.extend(drain(&mut ctx));
    (acts, events, out)
}

fn answered(acts: &[Action]) -> sipwarden_core::assessment::CallAssessment {
    acts.iter()
        .find_map(|a| match a {
            Action::Event(Event::CallAnswered(x)) => Some((**x).clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn nothing_emitted_shows_a_key() {
    let (acts, events, _) = tls_call(SDES_OFFER, SDES_ANSWER, true);
    let mut text = String::new();
    for a in &acts {
        text.push_str(&format!("{a:?}\n"));
        if let Action::Event(Event::CallAnswered(x)) = a {
            text.push_str(&serde_json::to_string(x).unwrap());
        }
    }
    for e in &events {
        text.push_str(&format!("{e:?}\n"));
    }
    assert!(
        text.contains("a=crypto"),
        "the debug view still shows the SDP"
    );
    assert!(text.contains("[redacted]"));
    assert!(!text.contains(OFFER_KEY), "offer key leaked");
    assert!(!text.contains(ANSWER_KEY), "answer key leaked");
    // The bytes themselves (sent over TLS) are untouched.
    let fwd = acts
        .iter()
        .find_map(|a| match a {
            Action::Forward { request, .. } => Some(request.clone()),
            _ => None,
        })
        .unwrap();
    assert!(String::from_utf8_lossy(&fwd).contains(OFFER_KEY));
}

#[test]
fn calls_are_assessed_by_their_keying() {
    let (acts, _, _) = tls_call(SDES_OFFER, SDES_ANSWER, false);
    let a = answered(&acts);
    assert_eq!(a.level, SecurityLevel::HopByHop);
    assert_eq!(a.dialog.caller_tag, "c1");
    assert_eq!(a.dialog.callee_tag, "b1");
    assert!(
        a.reasons.iter().any(|r| r.contains("SDES")),
        "{:?}",
        a.reasons
    );

    let (acts, _, _) = tls_call(DTLS_OFFER, DTLS_ANSWER, false);
    assert_eq!(answered(&acts).level, SecurityLevel::EndToEndMedia);

    let (acts, _, _) = tls_call(PLAIN_OFFER, PLAIN_ANSWER, false);
    let a = answered(&acts);
    assert_eq!(a.level, SecurityLevel::None);
    assert!(a.reasons[0].contains("media"), "{:?}", a.reasons);

    let (acts, _, _) = tls_call(ZRTP_OFFER, ZRTP_ANSWER, false);
    // baresip answered linphone's ZRTP offer in plain RTP.
    assert_eq!(answered(&acts).level, SecurityLevel::None);

    // Over UDP, even DTLS-SRTP media leaves the call at none: the signalling is readable.
    let p = proxy();
    let now = Instant::now();
    let mut ctx = context(decide(
        &p,
        &invite("sip:bob@example.com", Some(DTLS_OFFER)),
        &Origin::udp(now),
        &bob("udp", None),
    ));
    let out = forwards(&drain(&mut ctx)).remove(0).1;
    ctx.on_response(
        0,
        &answer_with_body(
            &out,
            200,
            "b1",
            &[("Contact", "<sip:bob@198.51.100.20:5070>")],
            Some(DTLS_ANSWER),
        ),
        now,
    );
    let a = answered(&drain(&mut ctx));
    assert_eq!(a.level, SecurityLevel::None);
    assert!(
        a.reasons.iter().any(|r| r.contains("UDP without TLS")),
        "{:?}",
        a.reasons
    );
}

#[test]
fn the_assessment_header_is_off_by_default_and_documented_when_on() {
    let (_, _, out) = tls_call(DTLS_OFFER, DTLS_ANSWER, false);
    assert!(other(&out, "Security-Assessment").is_empty());
    let (_, _, out) = tls_call(DTLS_OFFER, DTLS_ANSWER, true);
    assert_eq!(
        other(&out, "Security-Assessment"),
        vec!["hop-by-hop;signalling=tls;caller=none;identity=not-checked;media=offered-dtls-srtp"]
    );
}

#[test]
fn an_ack_carrying_sdes_keys_over_udp_is_dropped() {
    let p = proxy();
    let now = Instant::now();
    let mut ctx = context(decide(
        &p,
        &invite("sip:bob@example.com", None),
        &Origin::udp(now),
        &bob("udp", None),
    ));
    let out = forwards(&drain(&mut ctx)).remove(0).1;
    let rr = values(&out, HeaderName::RecordRoute);
    let ack = request(
        "ACK",
        "sip:bob@198.51.100.20:5070",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>;tag=b1",
        &[&format!("Route: {}", rr[0])],
        Some(SDES_ANSWER),
    );
    let d = decide(&p, &ack, &Origin::udp(now), &Users::new());
    assert!(matches!(d.outcome, RequestOutcome::Discard));
    assert!(d.events.iter().any(|e| matches!(
        e,
        Event::Withheld {
            cause: Cause::Media(_),
            ..
        }
    )));
}
