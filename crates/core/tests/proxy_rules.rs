#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! RFC 3261 §16.3–§16.6 rules one by one: validation (416, 483, 482, 420), Route
//! pre-processing (loose, strict, maddr), Record-Route (one or two entries), Via and
//! branch, Path, in-dialog routing, stateless ACK, and the authentication and relay
//! policies.

mod proxy_support;

use std::time::Instant;

use proxy_support::*;
use sipwarden_core::proxy::{Action, Cause, Event, OutsidePolicy, RequestOutcome};
use sipwarden_wire::{HeaderName, Message, Transport};

fn forwarded_once(
    msg: &Message,
    from: &Origin,
    users: &Users,
) -> (Message, sipwarden_core::proxy::NextHop) {
    let p = proxy();
    let mut ctx = context(decide(&p, msg, from, users));
    let acts = drain(&mut ctx);
    let mut f = forwards(&acts);
    assert_eq!(f.len(), 1, "{acts:?}");
    let (_, m, hop) = f.remove(0);
    (m, hop)
}

fn bob_on_udp() -> Users {
    let mut u = Users::new();
    u.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.20:5070", 1000, "udp", None),
    );
    u
}

#[test]
fn unsupported_scheme_is_416() {
    let p = proxy();
    let msg = request(
        "INVITE",
        "http://example.com/x",
        "<sip:carol@elsewhere.test>;tag=1",
        "<sip:bob@example.com>",
        &[],
        None,
    );
    let d = decide(&p, &msg, &Origin::udp(Instant::now()), &Users::new());
    assert_eq!(reply(&d).0, 416);
    assert!(d.events.contains(&Event::Refused {
        code: 416,
        cause: Cause::UnsupportedScheme
    }));
}

#[test]
fn max_forwards_zero_is_483_but_options_to_us_is_answered() {
    let p = proxy();
    let users = bob_on_udp();
    let from = Origin::udp(Instant::now());
    let text = String::from_utf8(invite_to_bob(None).as_bytes().to_vec()).unwrap();
    let msg = Message::parse(
        text.replace("Max-Forwards: 70", "Max-Forwards: 0")
            .into_bytes(),
    )
    .unwrap();
    assert_eq!(reply(&decide(&p, &msg, &from, &users)).0, 483);

    let opt = request(
        "OPTIONS",
        "sip:example.com",
        "<sip:carol@elsewhere.test>;tag=1",
        "<sip:example.com>",
        &["Max-Forwards: 0"],
        None,
    );
    let text = String::from_utf8(opt.as_bytes().to_vec())
        .unwrap()
        .replacen("Max-Forwards: 70\r\n", "", 1);
    let opt = Message::parse(text.into_bytes()).unwrap();
    let (code, resp) = reply(&decide(&p, &opt, &from, &users));
    assert_eq!(code, 200);
    assert!(resp.header(HeaderName::Allow).is_some());
}

#[test]
fn max_forwards_is_decremented_or_added() {
    let users = bob_on_udp();
    let from = Origin::udp(Instant::now());
    let (fwd, _) = forwarded_once(&invite_to_bob(None), &from, &users);
    assert_eq!(fwd.max_forwards().unwrap(), Some(69));

    let text = String::from_utf8(invite_to_bob(None).as_bytes().to_vec())
        .unwrap()
        .replace("Max-Forwards: 70\r\n", "");
    let (fwd, _) = forwarded_once(&Message::parse(text.into_bytes()).unwrap(), &from, &users);
    assert_eq!(fwd.max_forwards().unwrap(), Some(70));
}

#[test]
fn our_via_carries_a_deterministic_branch() {
    let users = bob_on_udp();
    let from = Origin::udp(Instant::now());
    let (a, hop) = forwarded_once(&invite_to_bob(None), &from, &users);
    let (b, _) = forwarded_once(&invite_to_bob(None), &from, &users);
    let via = a.top_via().unwrap();
    assert_eq!(via.transport, Transport::Udp);
    assert_eq!(via.host_raw, "192.0.2.10");
    assert_eq!(via.port, Some(5060));
    let branch = via.branch.unwrap();
    assert!(branch.starts_with("z9hG4bKsw"), "{branch}");
    assert!(branch.ends_with(".0"));
    assert_eq!(Some(branch), b.top_via().unwrap().branch);
    // The original Via is kept below ours.
    assert_eq!(a.vias().count(), 2);
    assert_eq!(a.request_uri_bytes(), b"sip:bob@198.51.100.20:5070");
    assert_eq!(hop.uri, "sip:bob@198.51.100.20:5070");
    assert_eq!(hop.transport, Some(Transport::Udp));

    let other = request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:carol@elsewhere.test>;tag=c2",
        "<sip:bob@example.com>",
        &[],
        None,
    );
    let (c, _) = forwarded_once(&other, &from, &users);
    assert_ne!(c.top_via().unwrap().branch, Some(branch));
}

/// A request the proxy forwards unchanged (local caller without authentication, to an
/// address elsewhere): when it comes back, its branch hash matches and it is a loop.
#[test]
fn a_request_that_comes_back_is_a_loop_but_a_spiral_is_not() {
    let mut cfg = config();
    cfg.authenticate_local_callers = false;
    let p = proxy_with(cfg);
    let users = Users::new();
    let from = Origin::udp(Instant::now());
    let msg = request(
        "MESSAGE",
        "sip:dave@198.51.100.7",
        "<sip:alice@example.com>;tag=a1",
        "<sip:dave@198.51.100.7>",
        &[],
        None,
    );
    let mut ctx = context(decide(&p, &msg, &from, &users));
    let f = forwards(&drain(&mut ctx));
    let out = String::from_utf8(f[0].1.as_bytes().to_vec()).unwrap();
    // The next hop sends it straight back, adding its own Via.
    let back = out.replacen(
        "Via: ",
        "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKnext\r\nVia: ",
        1,
    );
    let back = Message::parse(back.into_bytes()).unwrap();
    let d = decide(&p, &back, &from, &users);
    assert_eq!(reply(&d).0, 482);
    assert!(d.events.contains(&Event::Refused {
        code: 482,
        cause: Cause::Loop
    }));

    // Same request with another Request-URI: a spiral, forwarded again.
    let spiral = String::from_utf8(back.as_bytes().to_vec())
        .unwrap()
        .replacen(
            "sip:dave@198.51.100.7 SIP/2.0",
            "sip:dave2@198.51.100.7 SIP/2.0",
            1,
        );
    let d = decide(
        &p,
        &Message::parse(spiral.into_bytes()).unwrap(),
        &from,
        &users,
    );
    assert!(matches!(d.outcome, RequestOutcome::Proxy(_)));
}

#[test]
fn unknown_proxy_require_is_420_with_unsupported() {
    let p = proxy();
    let msg = request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:carol@elsewhere.test>;tag=1",
        "<sip:bob@example.com>",
        &["Proxy-Require: foo, bar"],
        None,
    );
    let (code, resp) = reply(&decide(
        &p,
        &msg,
        &Origin::udp(Instant::now()),
        &bob_on_udp(),
    ));
    assert_eq!(code, 420);
    assert_eq!(values(&resp, HeaderName::Unsupported), vec!["foo, bar"]);
}

#[test]
fn loose_route_naming_us_is_popped() {
    let mut cfg = config();
    cfg.authenticate_local_callers = false;
    let p = proxy_with(cfg);
    let msg = request(
        "INVITE",
        "sip:dave@far.example.net",
        "<sip:alice@example.com>;tag=a1",
        "<sip:dave@far.example.net>",
        &["Route: <sip:192.0.2.10;lr>, <sip:next.example.net;lr>"],
        None,
    );
    let mut ctx = context(decide(
        &p,
        &msg,
        &Origin::udp(Instant::now()),
        &Users::new(),
    ));
    let acts = drain(&mut ctx);
    // next.example.net has no port or transport: NAPTR decides.
    let Action::Resolve { branch: 0, hop } = &acts[0] else {
        panic!("{acts:?}")
    };
    assert_eq!(hop.uri, "sip:next.example.net;lr");
    assert_eq!(hop.transport, None);
    ctx.on_resolved(0, Transport::Tcp, Instant::now());
    let f = forwards(&drain(&mut ctx));
    let fwd = &f[0].1;
    assert_eq!(
        values(fwd, HeaderName::Route),
        vec!["<sip:next.example.net;lr>"]
    );
    assert_eq!(fwd.request_uri_bytes(), b"sip:dave@far.example.net");
    assert_eq!(fwd.top_via().unwrap().transport, Transport::Tcp);
}

#[test]
fn strict_router_upstream_is_undone() {
    let mut cfg = config();
    cfg.authenticate_local_callers = false;
    let p = proxy_with(cfg);
    // The previous hop was a strict router: our Record-Route URI is the Request-URI and
    // the real target is the last Route.
    let msg = request(
        "BYE",
        "sip:192.0.2.10:5060;lr",
        "<sip:alice@example.com>;tag=a1",
        "<sip:dave@198.51.100.7>",
        &["Route: <sip:dave@198.51.100.7:5090>"],
        None,
    );
    let text = String::from_utf8(msg.as_bytes().to_vec()).unwrap().replace(
        "To: <sip:dave@198.51.100.7>",
        "To: <sip:dave@198.51.100.7>;tag=d1",
    );
    let msg = Message::parse(text.into_bytes()).unwrap();
    // Without a MAC in our URI this is not a dialog we routed; but the target is elsewhere
    // only through an unverified route: refused.
    let d = decide(&p, &msg, &Origin::udp(Instant::now()), &Users::new());
    assert_eq!(reply(&d).0, 403);

    // An initial request through a strict router, from a local caller: forwarded to the
    // last route, which became the Request-URI.
    let msg = request(
        "INVITE",
        "sip:192.0.2.10:5060;lr",
        "<sip:alice@example.com>;tag=a1",
        "<sip:dave@198.51.100.7>",
        &["Route: <sip:dave@198.51.100.7:5090>"],
        None,
    );
    let mut ctx = context(decide(
        &p,
        &msg,
        &Origin::udp(Instant::now()),
        &Users::new(),
    ));
    let f = forwards(&drain(&mut ctx));
    assert_eq!(f[0].1.request_uri_bytes(), b"sip:dave@198.51.100.7:5090");
    assert!(f[0].1.header(HeaderName::Route).is_none());
    assert_eq!(f[0].2.uri, "sip:dave@198.51.100.7:5090");
}

#[test]
fn strict_next_hop_gets_the_request_uri_as_last_route() {
    let mut cfg = config();
    cfg.authenticate_local_callers = false;
    let p = proxy_with(cfg);
    let msg = request(
        "INVITE",
        "sip:dave@far.example.net",
        "<sip:alice@example.com>;tag=a1",
        "<sip:dave@far.example.net>",
        &["Route: <sip:198.51.100.9:5060>"],
        None,
    );
    let mut ctx = context(decide(
        &p,
        &msg,
        &Origin::udp(Instant::now()),
        &Users::new(),
    ));
    let f = forwards(&drain(&mut ctx));
    let fwd = &f[0].1;
    assert_eq!(fwd.request_uri_bytes(), b"sip:198.51.100.9:5060");
    assert_eq!(
        values(fwd, HeaderName::Route),
        vec!["<sip:dave@far.example.net>"]
    );
    assert_eq!(f[0].2.uri, "sip:198.51.100.9:5060");
}

#[test]
fn maddr_naming_us_is_stripped() {
    let msg = request(
        "INVITE",
        "sip:bob@example.com;maddr=192.0.2.10;transport=udp",
        "<sip:carol@elsewhere.test>;tag=1",
        "<sip:bob@example.com>",
        &[],
        None,
    );
    let (fwd, _) = forwarded_once(&msg, &Origin::udp(Instant::now()), &bob_on_udp());
    assert_eq!(fwd.request_uri_bytes(), b"sip:bob@198.51.100.20:5070");
}

#[test]
fn one_record_route_when_the_transport_stays() {
    let (fwd, _) = forwarded_once(
        &invite_to_bob(None),
        &Origin::udp(Instant::now()),
        &bob_on_udp(),
    );
    let rr = values(&fwd, HeaderName::RecordRoute);
    assert_eq!(rr.len(), 1, "{rr:?}");
    assert!(rr[0].starts_with("<sip:192.0.2.10:5060;lr;swm="), "{rr:?}");
}

#[test]
fn two_record_routes_when_the_transport_changes() {
    let now = Instant::now();
    let msg = request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:carol@elsewhere.test>;tag=1",
        "<sip:bob@example.com>",
        &[],
        None,
    );
    let (fwd, _) = forwarded_once(&msg, &Origin::tls(now, "f1"), &bob_on_udp());
    let rr = values(&fwd, HeaderName::RecordRoute);
    assert_eq!(rr.len(), 2, "{rr:?}");
    // Top: the side facing the callee (UDP); below: the caller's side (TLS, its flow).
    assert!(rr[0].starts_with("<sip:192.0.2.10:5060;lr;swm="), "{rr:?}");
    assert!(
        rr[1].starts_with("<sip:192.0.2.10:5061;transport=tls;lr;swf=f1;swm="),
        "{rr:?}"
    );
}

#[test]
fn in_dialog_requests_follow_our_record_routes_and_flows() {
    let p = proxy();
    let now = Instant::now();
    let users = bob_on_udp();
    let msg = request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>",
        &[],
        None,
    );
    let mut ctx = context(decide(&p, &msg, &Origin::tls(now, "f1"), &users));
    let fwd = forwards(&drain(&mut ctx)).remove(0).1;
    let rr = values(&fwd, HeaderName::RecordRoute);

    // The callee hangs up: its route set is the Record-Route list in order.
    let bye = request(
        "BYE",
        "sip:caller@198.51.100.1:5060;transport=tls",
        "<sip:bob@example.com>;tag=b1",
        "<sip:carol@elsewhere.test>;tag=c1",
        &[&format!("Route: {}, {}", rr[0], rr[1])],
        None,
    );
    let mut ctx = context(decide(&p, &bye, &Origin::udp(now), &Users::new()));
    let f = forwards(&drain(&mut ctx));
    let (_, out, hop) = &f[0];
    assert_eq!(hop.transport, Some(Transport::Tls));
    assert_eq!(hop.flow.as_deref(), Some("f1"));
    assert!(out.header(HeaderName::Route).is_none());
    assert!(out.header(HeaderName::RecordRoute).is_none());
    assert_eq!(out.top_via().unwrap().transport, Transport::Tls);

    // The caller's re-INVITE over its flow: the reverse route set, toward the callee on UDP.
    let reinvite = request(
        "INVITE",
        "sip:bob@198.51.100.20:5070",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>;tag=b1",
        &[&format!("Route: {}, {}", rr[1], rr[0])],
        None,
    );
    let mut ctx = context(decide(
        &p,
        &reinvite,
        &Origin::tls(now, "f1"),
        &Users::new(),
    ));
    let f = forwards(&drain(&mut ctx));
    assert_eq!(f[0].2.transport, Some(Transport::Udp));
    assert_eq!(f[0].2.flow, None);
    assert_eq!(f[0].2.uri, "sip:bob@198.51.100.20:5070");

    // UPDATE, INFO and MESSAGE in the dialog route the same way.
    for m in ["UPDATE", "INFO", "MESSAGE"] {
        let r = request(
            m,
            "sip:bob@198.51.100.20:5070",
            "<sip:carol@elsewhere.test>;tag=c1",
            "<sip:bob@example.com>;tag=b1",
            &[&format!("Route: {}, {}", rr[1], rr[0])],
            None,
        );
        let mut ctx = context(decide(&p, &r, &Origin::tls(now, "f1"), &Users::new()));
        assert_eq!(forwards(&drain(&mut ctx)).len(), 1, "{m}");
    }
}

#[test]
fn ack_for_2xx_is_forwarded_statelessly() {
    let p = proxy();
    let now = Instant::now();
    let msg = invite_to_bob(None);
    let mut ctx = context(decide(&p, &msg, &Origin::udp(now), &bob_on_udp()));
    let fwd = forwards(&drain(&mut ctx)).remove(0).1;
    let rr = values(&fwd, HeaderName::RecordRoute);
    let ack = request(
        "ACK",
        "sip:bob@198.51.100.20:5070",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>;tag=b1",
        &[&format!("Route: {}", rr[0])],
        None,
    );
    let d = decide(&p, &ack, &Origin::udp(now), &Users::new());
    let RequestOutcome::Stateless(s) = d.outcome else {
        panic!("{:?}", d.outcome)
    };
    assert_eq!(s.hop.transport, Some(Transport::Udp));
    let a = Message::parse(s.request(Transport::Udp).unwrap()).unwrap();
    let b = Message::parse(s.request(Transport::Udp).unwrap()).unwrap();
    assert_eq!(a.top_via().unwrap().branch, b.top_via().unwrap().branch);
    assert!(a.header(HeaderName::Route).is_none());
    assert_eq!(a.max_forwards().unwrap(), Some(69));

    // An ACK with no dialog through us is dropped, never answered.
    let stray = request(
        "ACK",
        "sip:bob@198.51.100.20:5070",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>;tag=b1",
        &[],
        None,
    );
    assert!(matches!(
        decide(&p, &stray, &Origin::udp(now), &Users::new()).outcome,
        RequestOutcome::Discard
    ));
}

#[test]
fn forged_or_missing_routes_do_not_open_a_relay() {
    let p = proxy();
    let now = Instant::now();
    let forged = request(
        "INVITE",
        "sip:dave@far.example.net",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:dave@far.example.net>;tag=x",
        &["Route: <sip:192.0.2.10:5060;lr;swm=0000000000000000>"],
        None,
    );
    let d = decide(&p, &forged, &Origin::udp(now), &Users::new());
    assert_eq!(reply(&d).0, 403);
    assert!(d.events.contains(&Event::Refused {
        code: 403,
        cause: Cause::ForgedRoute
    }));

    // A To tag alone does not make a dialog.
    let tagged = request(
        "INVITE",
        "sip:dave@far.example.net",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:dave@far.example.net>;tag=x",
        &["Route: <sip:example.com;lr>"],
        None,
    );
    let d = decide(&p, &tagged, &Origin::udp(now), &Users::new());
    assert_eq!(reply(&d).0, 403);
    assert!(d.events.contains(&Event::Refused {
        code: 403,
        cause: Cause::NotInDialog
    }));

    // Outside caller to another domain: relaying denied.
    let relay = request(
        "INVITE",
        "sip:dave@far.example.net",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:dave@far.example.net>",
        &[],
        None,
    );
    let d = decide(&p, &relay, &Origin::udp(now), &Users::new());
    assert_eq!(reply(&d).0, 403);
    assert!(d.events.contains(&Event::Refused {
        code: 403,
        cause: Cause::RelayDenied
    }));
}

#[test]
fn outside_callers_follow_the_policy() {
    let mut cfg = config();
    cfg.outside_callers = OutsidePolicy::Reject;
    let p = proxy_with(cfg);
    let d = decide(
        &p,
        &invite_to_bob(None),
        &Origin::udp(Instant::now()),
        &bob_on_udp(),
    );
    assert_eq!(reply(&d).0, 403);
    assert!(d.events.contains(&Event::Refused {
        code: 403,
        cause: Cause::OutsideRejected
    }));
}

#[test]
fn local_callers_are_challenged_then_forwarded_without_their_credentials() {
    let p = proxy();
    let now = Instant::now();
    let users = bob_on_udp();
    let msg = request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:alice@example.com>;tag=a1",
        "<sip:bob@example.com>",
        &[],
        None,
    );
    let d = decide(&p, &msg, &Origin::udp(now), &users);
    let (code, challenge) = reply(&d);
    assert_eq!(code, 407);
    assert!(challenge.header(HeaderName::ProxyAuthenticate).is_some());

    let auth = authorize(&challenge, "alice", "Alice-Pw-1", &msg);
    let with = request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:alice@example.com>;tag=a1",
        "<sip:bob@example.com>",
        &[&format!("Proxy-Authorization: {auth}")],
        None,
    );
    let d = decide(&p, &with, &Origin::udp(now), &users);
    assert!(d.events.iter().any(|e| matches!(e, Event::Auth(sipwarden_core::AuthEvent::Succeeded { account }) if account == "alice@example.com")));
    let mut ctx = context(d);
    let fwd = forwards(&drain(&mut ctx)).remove(0).1;
    assert!(fwd.header(HeaderName::ProxyAuthorization).is_none());

    // A replay of the same credentials is challenged again.
    let d = decide(&p, &with, &Origin::udp(now), &users);
    assert_eq!(reply(&d).0, 407);

    // Bob's password cannot send as Alice (nonce count 2: the nonce is the same).
    let auth = authorize_nc(&challenge, "bob", "Bob-Pw-2", &msg, 2);
    let spoof = request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:alice@example.com>;tag=a1",
        "<sip:bob@example.com>",
        &[&format!("Proxy-Authorization: {auth}")],
        None,
    );
    let d = decide(&p, &spoof, &Origin::udp(now), &users);
    assert_eq!(reply(&d).0, 403);
    assert!(d.events.contains(&Event::Refused {
        code: 403,
        cause: Cause::IdentityMismatch
    }));
}

#[test]
fn unregistered_users_get_480_and_cancel_without_context_481() {
    let p = proxy();
    let d = decide(
        &p,
        &invite_to_bob(None),
        &Origin::udp(Instant::now()),
        &Users::new(),
    );
    assert_eq!(reply(&d).0, 480);
    let cancel = request(
        "CANCEL",
        "sip:bob@example.com",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>",
        &[],
        None,
    );
    assert_eq!(
        reply(&decide(
            &p,
            &cancel,
            &Origin::udp(Instant::now()),
            &Users::new()
        ))
        .0,
        481
    );
}

#[test]
fn path_becomes_route_and_the_flow_is_used() {
    let mut users = Users::new();
    let mut b = binding(
        "bob",
        "sip:bob@10.0.0.5:5060;transport=tcp",
        1000,
        "tcp",
        Some("77"),
    );
    b.path = vec!["<sip:edge.example.net:5060;transport=tcp;lr>".to_owned()];
    users.bind("bob", b);
    let (fwd, hop) = forwarded_once(&invite_to_bob(None), &Origin::udp(Instant::now()), &users);
    assert_eq!(
        values(&fwd, HeaderName::Route),
        vec!["<sip:edge.example.net:5060;transport=tcp;lr>"]
    );
    assert_eq!(hop.uri, "sip:edge.example.net:5060;transport=tcp;lr");
    assert_eq!(hop.flow.as_deref(), Some("77"));
    assert_eq!(hop.transport, Some(Transport::Tcp));
    assert_eq!(
        fwd.request_uri_bytes(),
        b"sip:bob@10.0.0.5:5060;transport=tcp"
    );
}

#[test]
fn a_to_tag_alone_does_not_skip_authentication() {
    let p = proxy();
    let msg = request(
        "INVITE",
        "sip:bob@example.com",
        "<sip:alice@example.com>;tag=a1",
        "<sip:bob@example.com>;tag=fake",
        &[],
        None,
    );
    assert_eq!(
        reply(&decide(
            &p,
            &msg,
            &Origin::udp(Instant::now()),
            &bob_on_udp()
        ))
        .0,
        407
    );
}

#[test]
fn options_to_the_server_is_answered_without_a_challenge() {
    let p = proxy();
    let msg = request(
        "OPTIONS",
        "sip:192.0.2.10",
        "<sip:alice@example.com>;tag=a1",
        "<sip:192.0.2.10>",
        &[],
        None,
    );
    assert_eq!(
        reply(&decide(
            &p,
            &msg,
            &Origin::udp(Instant::now()),
            &Users::new()
        ))
        .0,
        200
    );
}

#[test]
fn a_security_assessment_from_the_caller_is_not_passed_on() {
    let msg = request("INVITE", "sip:bob@example.com", "<sip:carol@elsewhere.test>;tag=c1", "<sip:bob@example.com>",
        &["Security-Assessment: end-to-end-media;signalling=tls;caller=none;identity=not-checked;media=zrtp"], None);
    let (fwd, _) = forwarded_once(&msg, &Origin::udp(Instant::now()), &bob_on_udp());
    assert!(other(&fwd, "Security-Assessment").is_empty());
}

struct Blocklist;

impl sipwarden_core::proxy::Admission for Blocklist {
    fn admit(
        &self,
        r: &sipwarden_core::proxy::AdmissionRequest<'_>,
    ) -> sipwarden_core::proxy::Admit {
        match r.caller {
            sipwarden_core::proxy::CallerClass::Outside => sipwarden_core::proxy::Admit::Reject {
                code: 603,
                reason: "Decline",
            },
            _ => sipwarden_core::proxy::Admit::Accept,
        }
    }
}

#[test]
fn the_admission_hook_can_refuse() {
    let p = proxy().with_admission(std::sync::Arc::new(Blocklist));
    let d = decide(
        &p,
        &invite_to_bob(None),
        &Origin::udp(Instant::now()),
        &bob_on_udp(),
    );
    assert_eq!(reply(&d).0, 603);
    assert!(d.events.contains(&Event::Refused {
        code: 603,
        cause: Cause::Admission
    }));
}
