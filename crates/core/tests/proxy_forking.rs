#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The response context (RFC 3261 §16.7–§16.10): parallel forking in q-value order,
//! the choice of the final response (6xx, 2xx races, 401/407 aggregation, 503→500),
//! provisional responses, CANCEL races and Timer C, all in virtual time.

mod proxy_support;

use std::time::Instant;

use proxy_support::*;
use sipwarden_core::proxy::{Action, BranchFailure, Event, ResponseContext};
use sipwarden_wire::{HeaderName, Message};

/// Bob with three contacts of different q.
fn bob_forked() -> Users {
    let mut u = Users::new();
    u.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 500, "udp", None),
    );
    u.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.22:5060", 1000, "udp", None),
    );
    u.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.23:5060", 800, "udp", None),
    );
    u
}

struct Call {
    ctx: Box<ResponseContext>,
    out: Vec<Message>,
    t0: Instant,
}

fn call(users: &Users) -> Call {
    call_with(proxy(), users, "INVITE")
}

fn call_with(p: sipwarden_core::proxy::Proxy, users: &Users, method: &str) -> Call {
    let t0 = Instant::now();
    let msg = request(
        method,
        "sip:bob@example.com",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>",
        &[],
        None,
    );
    let mut ctx = context(decide(&p, &msg, &Origin::udp(t0), users));
    let out = forwards(&drain(&mut ctx))
        .into_iter()
        .map(|(_, m, _)| m)
        .collect();
    Call { ctx, out, t0 }
}

fn cancel_msg() -> Message {
    request(
        "CANCEL",
        "sip:bob@example.com",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>",
        &[],
        None,
    )
}

#[test]
fn forks_in_parallel_in_q_order() {
    let c = call(&bob_forked());
    let uris: Vec<_> = c
        .out
        .iter()
        .map(|m| String::from_utf8(m.request_uri_bytes().to_vec()).unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "sip:bob@198.51.100.22:5060",
            "sip:bob@198.51.100.23:5060",
            "sip:bob@198.51.100.21:5060"
        ]
    );
    // Each branch has its own branch parameter.
    let b: Vec<_> = c
        .out
        .iter()
        .map(|m| m.top_via().unwrap().branch.unwrap().to_owned())
        .collect();
    assert!(b[0].ends_with(".0") && b[1].ends_with(".1") && b[2].ends_with(".2"));
}

#[test]
fn provisionals_are_forwarded_without_our_via_but_not_100() {
    let mut c = call(&bob_forked());
    c.ctx.on_response(0, &answer(&c.out[0], 100, "", &[]), c.t0);
    assert!(responds(&drain(&mut c.ctx)).is_empty());
    c.ctx
        .on_response(0, &answer(&c.out[0], 180, "b0", &[]), c.t0);
    let r = responds(&drain(&mut c.ctx));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, 180);
    assert_eq!(r[0].1.vias().count(), 1);
    assert_eq!(r[0].1.top_via().unwrap().branch, Some("z9hG4bKclient1"));
}

#[test]
fn six_xx_cancels_the_others_and_wins() {
    let mut c = call(&bob_forked());
    c.ctx
        .on_response(0, &answer(&c.out[0], 180, "b0", &[]), c.t0);
    c.ctx
        .on_response(1, &answer(&c.out[1], 486, "b1", &[]), c.t0);
    drain(&mut c.ctx);
    c.ctx
        .on_response(2, &answer(&c.out[2], 603, "b2", &[]), c.t0);
    let acts = drain(&mut c.ctx);
    assert_eq!(cancels(&acts), vec![0], "{acts:?}");
    assert!(
        responds(&acts).is_empty(),
        "6xx waits for the cancelled branches"
    );
    let Action::Cancel { request, .. } = acts
        .iter()
        .find(|a| matches!(a, Action::Cancel { .. }))
        .unwrap()
    else {
        unreachable!()
    };
    let cancel = Message::parse(request.clone()).unwrap();
    assert_eq!(cancel.method(), Some(sipwarden_wire::Method::Cancel));
    assert_eq!(
        cancel.top_via().unwrap().branch,
        c.out[0].top_via().unwrap().branch
    );

    c.ctx
        .on_response(0, &answer(&c.out[0], 487, "b0", &[]), c.t0);
    let r = responds(&drain(&mut c.ctx));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, 603);
    assert_eq!(r[0].1.vias().count(), 1);
    assert!(c.ctx.is_done());
}

#[test]
fn every_2xx_is_forwarded_and_the_rest_cancelled() {
    let mut c = call(&bob_forked());
    c.ctx
        .on_response(2, &answer(&c.out[2], 180, "b2", &[]), c.t0);
    drain(&mut c.ctx);
    c.ctx
        .on_response(0, &answer(&c.out[0], 200, "b0", &[]), c.t0);
    let acts = drain(&mut c.ctx);
    assert_eq!(
        responds(&acts).iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![200]
    );
    // Branch 2 rang: CANCEL now. Branch 1 never answered: CANCEL once it does.
    assert_eq!(cancels(&acts), vec![2]);
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Event(Event::CallAnswered(_)))));

    c.ctx
        .on_response(1, &answer(&c.out[1], 200, "b1", &[]), c.t0);
    let acts = drain(&mut c.ctx);
    assert_eq!(
        responds(&acts).iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![200]
    );
    c.ctx
        .on_response(2, &answer(&c.out[2], 487, "b2", &[]), c.t0);
    assert!(responds(&drain(&mut c.ctx)).is_empty());
    assert_eq!(c.ctx.final_status(), Some(200));
    assert!(c.ctx.is_done());
}

#[test]
fn challenges_of_all_branches_are_aggregated() {
    let mut c = call(&bob_forked());
    c.ctx.on_response(
        0,
        &answer(
            &c.out[0],
            401,
            "b0",
            &[(
                "WWW-Authenticate",
                "Digest realm=\"a.example\", nonce=\"1\"",
            )],
        ),
        c.t0,
    );
    c.ctx.on_response(
        1,
        &answer(
            &c.out[1],
            407,
            "b1",
            &[(
                "Proxy-Authenticate",
                "Digest realm=\"b.example\", nonce=\"2\"",
            )],
        ),
        c.t0,
    );
    c.ctx
        .on_response(2, &answer(&c.out[2], 486, "b2", &[]), c.t0);
    let r = responds(&drain(&mut c.ctx));
    assert_eq!(r.len(), 1);
    let (code, m) = &r[0];
    assert_eq!(*code, 407);
    assert_eq!(
        values(m, HeaderName::WwwAuthenticate),
        vec!["Digest realm=\"a.example\", nonce=\"1\""]
    );
    assert_eq!(
        values(m, HeaderName::ProxyAuthenticate),
        vec!["Digest realm=\"b.example\", nonce=\"2\""]
    );
    assert_eq!(m.vias().count(), 1);
}

#[test]
fn lowest_class_wins_and_503_becomes_500() {
    let mut c = call(&bob_forked());
    c.ctx
        .on_response(0, &answer(&c.out[0], 503, "b0", &[]), c.t0);
    c.ctx.on_branch_failure(1, BranchFailure::Timeout, c.t0);
    c.ctx
        .on_response(2, &answer(&c.out[2], 486, "b2", &[]), c.t0);
    let r = responds(&drain(&mut c.ctx));
    assert_eq!(r[0].0, 486);

    let mut one = Users::new();
    one.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 1000, "udp", None),
    );
    let mut c = call(&one);
    c.ctx
        .on_response(0, &answer(&c.out[0], 503, "b0", &[]), c.t0);
    let r = responds(&drain(&mut c.ctx));
    assert_eq!(r[0].0, 500);
    assert_eq!(r[0].1.vias().count(), 1);
}

#[test]
fn three_xx_is_forwarded_not_recursed() {
    let mut one = Users::new();
    one.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 1000, "udp", None),
    );
    let mut c = call(&one);
    c.ctx.on_response(
        0,
        &answer(
            &c.out[0],
            302,
            "b0",
            &[("Contact", "<sip:bob@elsewhere.test>")],
        ),
        c.t0,
    );
    let acts = drain(&mut c.ctx);
    assert!(forwards(&acts).is_empty());
    assert_eq!(responds(&acts)[0].0, 302);
}

#[test]
fn cancel_before_any_response_waits_for_a_provisional() {
    let mut c = call(&bob_forked());
    let ok = c.ctx.on_cancel(&cancel_msg(), c.t0).unwrap();
    let ok = Message::parse(ok).unwrap();
    assert_eq!(ok.status_code(), Some(200));
    let acts = drain(&mut c.ctx);
    assert!(
        cancels(&acts).is_empty(),
        "no CANCEL before a provisional (RFC 3261 §9.1)"
    );

    for i in 0..3 {
        c.ctx
            .on_response(i, &answer(&c.out[i], 180, &format!("b{i}"), &[]), c.t0);
    }
    let acts = drain(&mut c.ctx);
    let mut sent = cancels(&acts);
    sent.sort_unstable();
    assert_eq!(sent, vec![0, 1, 2]);
    assert!(
        responds(&acts).is_empty(),
        "nothing goes upstream once cancelled"
    );

    c.ctx
        .on_response(0, &answer(&c.out[0], 487, "b0", &[]), c.t0);
    c.ctx
        .on_response(1, &answer(&c.out[1], 487, "b1", &[]), c.t0);
    assert!(responds(&drain(&mut c.ctx)).is_empty());
    c.ctx
        .on_response(2, &answer(&c.out[2], 487, "b2", &[]), c.t0);
    let r = responds(&drain(&mut c.ctx));
    assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), vec![487]);
    assert!(c.ctx.is_done());
}

#[test]
fn cancel_after_2xx_changes_nothing() {
    let mut one = Users::new();
    one.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 1000, "udp", None),
    );
    let mut c = call(&one);
    c.ctx
        .on_response(0, &answer(&c.out[0], 200, "b0", &[]), c.t0);
    assert_eq!(responds(&drain(&mut c.ctx))[0].0, 200);
    let ok = c.ctx.on_cancel(&cancel_msg(), c.t0).unwrap();
    assert_eq!(Message::parse(ok).unwrap().status_code(), Some(200));
    let acts = drain(&mut c.ctx);
    assert!(cancels(&acts).is_empty());
    assert!(responds(&acts).is_empty());
    assert_eq!(c.ctx.final_status(), Some(200));
}

#[test]
fn a_2xx_racing_a_cancel_still_goes_upstream() {
    let mut one = Users::new();
    one.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 1000, "udp", None),
    );
    let mut c = call(&one);
    c.ctx
        .on_response(0, &answer(&c.out[0], 180, "b0", &[]), c.t0);
    drain(&mut c.ctx);
    c.ctx.on_cancel(&cancel_msg(), c.t0).unwrap();
    assert_eq!(cancels(&drain(&mut c.ctx)), vec![0]);
    c.ctx
        .on_response(0, &answer(&c.out[0], 200, "b0", &[]), c.t0);
    let r = responds(&drain(&mut c.ctx));
    assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), vec![200]);
}

#[test]
fn timer_c_cancels_a_ringing_branch_then_gives_up() {
    let mut one = Users::new();
    one.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 1000, "udp", None),
    );
    let mut c = call(&one);
    assert_eq!(c.ctx.poll_timeout(), Some(c.t0 + secs(180)));
    let t1 = c.t0 + secs(10);
    c.ctx.on_response(0, &answer(&c.out[0], 180, "b0", &[]), t1);
    drain(&mut c.ctx);
    // A provisional response restarts Timer C.
    assert_eq!(c.ctx.poll_timeout(), Some(t1 + secs(180)));
    c.ctx.handle_timeout(t1 + secs(179));
    assert!(drain(&mut c.ctx).is_empty());
    c.ctx.handle_timeout(t1 + secs(180));
    assert_eq!(cancels(&drain(&mut c.ctx)), vec![0]);
    // The branch never answers the CANCEL: given up after 64·T1, answered 408.
    let t2 = t1 + secs(180);
    assert_eq!(c.ctx.poll_timeout(), Some(t2 + secs(32)));
    c.ctx.handle_timeout(t2 + secs(32));
    let acts = drain(&mut c.ctx);
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Abandon { branch: 0 })));
    assert_eq!(responds(&acts)[0].0, 408);
    assert!(c.ctx.is_done());
}

#[test]
fn timer_c_without_provisional_counts_as_408_and_is_configurable() {
    let mut cfg = config();
    cfg.timer_c = secs(60);
    let mut one = Users::new();
    one.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 1000, "udp", None),
    );
    let mut c = call_with(proxy_with(cfg), &one, "INVITE");
    assert_eq!(c.ctx.poll_timeout(), Some(c.t0 + secs(60)));
    c.ctx.handle_timeout(c.t0 + secs(60));
    let acts = drain(&mut c.ctx);
    assert!(cancels(&acts).is_empty());
    assert_eq!(responds(&acts)[0].0, 408);
}

#[test]
fn non_invite_forks_send_one_final() {
    let mut c = call_with(proxy(), &bob_forked(), "MESSAGE");
    assert_eq!(c.ctx.poll_timeout(), None, "no Timer C for non-INVITE");
    c.ctx
        .on_response(1, &answer(&c.out[1], 200, "b1", &[]), c.t0);
    c.ctx
        .on_response(0, &answer(&c.out[0], 200, "b0", &[]), c.t0);
    c.ctx
        .on_response(2, &answer(&c.out[2], 404, "b2", &[]), c.t0);
    let acts = drain(&mut c.ctx);
    assert_eq!(
        responds(&acts).iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![200]
    );
    assert!(cancels(&acts).is_empty());
    assert!(c.ctx.is_done());
}

#[test]
fn stray_2xx_retransmissions_go_upstream_statelessly() {
    let p = proxy();
    let mut one = Users::new();
    one.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 1000, "udp", None),
    );
    let c = call_with(proxy(), &one, "INVITE");
    let ok = answer(&c.out[0], 200, "b0", &[]);
    let up = Message::parse(p.on_stray_response(&ok).unwrap()).unwrap();
    assert_eq!(up.vias().count(), 1);
    // Not ours: dropped.
    let foreign = answer(&invite_to_bob(None), 200, "x", &[]);
    assert!(p.on_stray_response(&foreign).is_none());
}

#[test]
fn bye_final_reports_the_call_end() {
    let p = proxy();
    let t0 = Instant::now();
    let mut one = Users::new();
    one.bind(
        "bob",
        binding("bob", "sip:bob@198.51.100.21:5060", 1000, "udp", None),
    );
    let inv = invite_to_bob(None);
    let mut ctx = context(decide(&p, &inv, &Origin::udp(t0), &one));
    let fwd = forwards(&drain(&mut ctx)).remove(0).1;
    let rr = values(&fwd, HeaderName::RecordRoute);
    let bye = request(
        "BYE",
        "sip:bob@198.51.100.21:5060",
        "<sip:carol@elsewhere.test>;tag=c1",
        "<sip:bob@example.com>;tag=b0",
        &[&format!("Route: {}", rr[0])],
        None,
    );
    let mut ctx = context(decide(&p, &bye, &Origin::udp(t0), &one));
    let out = forwards(&drain(&mut ctx)).remove(0).1;
    ctx.on_response(0, &answer(&out, 200, "b0", &[]), t0);
    let acts = drain(&mut ctx);
    assert!(acts.iter().any(|a| matches!(a, Action::Event(Event::CallEnded { code: 200, dialog }) if dialog.call_id == "call-1@198.51.100.1")));
}
