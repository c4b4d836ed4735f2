//! INVITE and non-INVITE client transactions: every state and timer, exact deadlines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use common::*;
use sipwarden_txn::{
    Action, InviteClient, NonInviteClient, Reliability, State, Timer, TimerConfig,
};
use sipwarden_wire::{HeaderName, Message};

const BRANCH: &str = "z9hG4bK776asdhds";

fn invite_client(c: &Clock, reliability: Reliability) -> (InviteClient, Vec<A>) {
    let mut out = Vec::new();
    let m = InviteClient::start(
        c.at(0),
        request("INVITE", BRANCH),
        reliability,
        TimerConfig::default(),
        &mut out,
    );
    (m, view(&mut out))
}

fn non_invite_client(c: &Clock, reliability: Reliability) -> (NonInviteClient, Vec<A>) {
    let mut out = Vec::new();
    let m = NonInviteClient::start(
        c.at(0),
        request("OPTIONS", BRANCH),
        reliability,
        TimerConfig::default(),
        &mut out,
    );
    (m, view(&mut out))
}

#[test]
fn invite_calling_timer_a_doubles_without_cap_until_timer_b() {
    let c = Clock::new();
    let (mut m, first) = invite_client(&c, Reliability::Unreliable);
    assert_eq!(first, vec![tx(INVITE_LINE)]);
    assert_eq!(m.state(), State::Calling);
    assert_eq!(c.ms_opt(m.timer(Timer::A)), Some(500));
    assert_eq!(c.ms_opt(m.timer(Timer::B)), Some(32_000));
    assert_eq!(c.ms_opt(m.poll_timeout()), Some(500));

    let mut out = Vec::new();
    // Nothing fires a nanosecond early.
    m.handle_timeout(c.at(500) - Duration::from_nanos(1), &mut out);
    assert!(out.is_empty());

    // A: 500ms, then 1s, 2s, 4s, 8s, 16s intervals (INVITE requests are not capped at T2).
    let mut fired_at = Vec::new();
    while let Some(next) = m.poll_timeout() {
        m.handle_timeout(next, &mut out);
        let v = view(&mut out);
        fired_at.push((c.ms(next), v));
    }
    let expected: Vec<(u64, Vec<A>)> = vec![
        (500, vec![tx(INVITE_LINE)]),
        (1_500, vec![tx(INVITE_LINE)]),
        (3_500, vec![tx(INVITE_LINE)]),
        (7_500, vec![tx(INVITE_LINE)]),
        (15_500, vec![tx(INVITE_LINE)]),
        (31_500, vec![tx(INVITE_LINE)]),
        (32_000, vec![A::Timeout(Timer::B), A::Terminated]),
    ];
    assert_eq!(fired_at, expected);
    assert_eq!(m.state(), State::Terminated);
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn invite_timer_a_follows_configured_t1() {
    let c = Clock::new();
    let mut out = Vec::new();
    let config = TimerConfig {
        t1: Duration::from_millis(100),
        ..TimerConfig::default()
    };
    let mut m = InviteClient::start(
        c.at(0),
        request("INVITE", BRANCH),
        Reliability::Unreliable,
        config,
        &mut out,
    );
    assert_eq!(c.ms_opt(m.timer(Timer::A)), Some(100));
    assert_eq!(c.ms_opt(m.timer(Timer::B)), Some(6_400));
    m.handle_timeout(c.at(100), &mut out);
    assert_eq!(c.ms_opt(m.timer(Timer::A)), Some(300));
}

#[test]
fn invite_reliable_has_no_timer_a() {
    let c = Clock::new();
    let (mut m, first) = invite_client(&c, Reliability::Reliable);
    assert_eq!(first, vec![tx(INVITE_LINE)]);
    assert_eq!(m.timer(Timer::A), None);
    assert_eq!(c.ms_opt(m.poll_timeout()), Some(32_000));
    let mut out = Vec::new();
    m.handle_timeout(c.at(32_000), &mut out);
    assert_eq!(view(&mut out), vec![A::Timeout(Timer::B), A::Terminated]);
}

#[test]
fn invite_provisional_moves_to_proceeding_and_stops_retransmissions() {
    let c = Clock::new();
    let (mut m, _) = invite_client(&c, Reliability::Unreliable);
    let req = m.request().clone();
    let mut out = Vec::new();
    m.handle_response(c.at(200), response(&req, 100, ""), &mut out);
    assert_eq!(view(&mut out), vec![A::Resp(100)]);
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.poll_timeout(), None, "Timers A and B stop in Proceeding");
    m.handle_response(c.at(300), response(&req, 180, "t1"), &mut out);
    m.handle_response(c.at(400), response(&req, 183, "t1"), &mut out);
    assert_eq!(view(&mut out), vec![A::Resp(180), A::Resp(183)]);
    assert_eq!(m.state(), State::Proceeding);
}

#[test]
fn invite_2xx_enters_accepted_for_timer_m_and_passes_every_2xx() {
    let c = Clock::new();
    let (mut m, _) = invite_client(&c, Reliability::Unreliable);
    let req = m.request().clone();
    let mut out = Vec::new();
    m.handle_response(c.at(1_000), response(&req, 200, "a"), &mut out);
    assert_eq!(view(&mut out), vec![A::Resp(200)]);
    assert_eq!(m.state(), State::Accepted);
    assert_eq!(m.timer(Timer::A), None);
    assert_eq!(m.timer(Timer::B), None);
    assert_eq!(c.ms_opt(m.timer(Timer::M)), Some(33_000));
    // Retransmissions and 2xx from other forks still reach the TU; others do not.
    m.handle_response(c.at(1_500), response(&req, 200, "a"), &mut out);
    m.handle_response(c.at(1_600), response(&req, 200, "b"), &mut out);
    m.handle_response(c.at(1_700), response(&req, 180, "c"), &mut out);
    m.handle_response(c.at(1_800), response(&req, 486, "d"), &mut out);
    assert_eq!(view(&mut out), vec![A::Resp(200), A::Resp(200)]);
    m.handle_timeout(c.at(32_999), &mut out);
    assert!(out.is_empty());
    m.handle_timeout(c.at(33_000), &mut out);
    assert_eq!(view(&mut out), vec![A::Terminated]);
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_failure_sends_ack_and_waits_timer_d_absorbing_retransmissions() {
    let c = Clock::new();
    let (mut m, _) = invite_client(&c, Reliability::Unreliable);
    let req = m.request().clone();
    let mut out = Vec::new();
    m.handle_response(c.at(100), response(&req, 180, "x"), &mut out);
    view(&mut out);
    m.handle_response(c.at(2_000), response(&req, 486, "x"), &mut out);
    let acts: Vec<Action> = std::mem::take(&mut out);
    assert_eq!(acts.len(), 2);
    let Action::Transmit(ack) = &acts[0] else {
        panic!("ACK first, got {acts:?}")
    };
    let ack = Message::parse(ack.clone()).unwrap();
    assert_eq!(start_line(ack.as_bytes()), ACK_LINE);
    // §17.1.1.3: CSeq number of the INVITE with method ACK, only the top Via, To from the
    // response, the INVITE's Route set, same Call-ID and From.
    assert_eq!(ack.header(HeaderName::CSeq).unwrap(), b"314159 ACK");
    assert_eq!(ack.count(HeaderName::Via), 1);
    assert_eq!(
        ack.header(HeaderName::Via).unwrap(),
        req.header(HeaderName::Via).unwrap()
    );
    assert_eq!(
        ack.header(HeaderName::To).unwrap(),
        b"Bob <sip:bob@example.com>;tag=x"
    );
    assert_eq!(
        ack.header(HeaderName::Route).unwrap(),
        b"<sip:proxy.example.com;lr>"
    );
    assert_eq!(
        ack.header(HeaderName::CallId).unwrap(),
        req.header(HeaderName::CallId).unwrap()
    );
    assert_eq!(
        ack.header(HeaderName::From).unwrap(),
        req.header(HeaderName::From).unwrap()
    );
    assert!(matches!(&acts[1], Action::Response(r) if r.status_code() == Some(486)));

    assert_eq!(m.state(), State::Completed);
    assert_eq!(c.ms_opt(m.timer(Timer::D)), Some(34_000));
    // A retransmitted final response re-sends the ACK and is not passed up.
    m.handle_response(c.at(2_500), response(&req, 486, "x"), &mut out);
    assert_eq!(view(&mut out), vec![tx(ACK_LINE)]);
    // Provisionals in Completed are ignored.
    m.handle_response(c.at(2_600), response(&req, 180, "x"), &mut out);
    assert!(out.is_empty());
    m.handle_timeout(c.at(34_000), &mut out);
    assert_eq!(view(&mut out), vec![A::Terminated]);
}

#[test]
fn invite_failure_in_calling_goes_straight_to_completed() {
    let c = Clock::new();
    let (mut m, _) = invite_client(&c, Reliability::Unreliable);
    let req = m.request().clone();
    let mut out = Vec::new();
    m.handle_response(c.at(700), response(&req, 603, "x"), &mut out);
    assert_eq!(view(&mut out), vec![tx(ACK_LINE), A::Resp(603)]);
    assert_eq!(m.state(), State::Completed);
    assert_eq!(m.timer(Timer::A), None);
    assert_eq!(m.timer(Timer::B), None);
    assert_eq!(c.ms_opt(m.timer(Timer::D)), Some(32_700));
}

#[test]
fn invite_timer_d_is_configurable_and_zero_when_reliable() {
    let c = Clock::new();
    let mut out = Vec::new();
    let config = TimerConfig {
        timer_d: Duration::from_secs(40),
        ..TimerConfig::default()
    };
    let mut m = InviteClient::start(
        c.at(0),
        request("INVITE", BRANCH),
        Reliability::Unreliable,
        config,
        &mut out,
    );
    let req = m.request().clone();
    m.handle_response(c.at(10), response(&req, 404, "x"), &mut out);
    assert_eq!(c.ms_opt(m.timer(Timer::D)), Some(40_010));

    view(&mut out);
    let (mut m, _) = invite_client(&c, Reliability::Reliable);
    m.handle_response(c.at(10), response(&req, 404, "x"), &mut out);
    assert_eq!(
        view(&mut out),
        vec![tx(ACK_LINE), A::Resp(404), A::Terminated]
    );
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_transport_error_informs_tu_and_terminates() {
    let c = Clock::new();
    let (mut m, _) = invite_client(&c, Reliability::Unreliable);
    let mut out = Vec::new();
    m.handle_transport_error(&mut out);
    assert_eq!(view(&mut out), vec![A::TransportError, A::Terminated]);
    assert_eq!(m.state(), State::Terminated);
    assert_eq!(m.poll_timeout(), None);
    // Terminated ignores everything.
    m.handle_transport_error(&mut out);
    let req = m.request().clone();
    m.handle_response(c.at(1), response(&req, 200, "x"), &mut out);
    assert!(out.is_empty());
}

#[test]
fn non_invite_timer_e_doubles_capped_at_t2_until_timer_f() {
    let c = Clock::new();
    let (mut m, first) = non_invite_client(&c, Reliability::Unreliable);
    assert_eq!(first, vec![tx(OPTIONS_LINE)]);
    assert_eq!(m.state(), State::Trying);
    assert_eq!(c.ms_opt(m.timer(Timer::E)), Some(500));
    assert_eq!(c.ms_opt(m.timer(Timer::F)), Some(32_000));
    let mut out = Vec::new();
    let mut fired = Vec::new();
    while let Some(next) = m.poll_timeout() {
        m.handle_timeout(next, &mut out);
        fired.push((c.ms(next), view(&mut out)));
    }
    // Intervals 0.5, 1, 2, 4, 4, 4, ... (min(2E, T2)).
    let mut expected: Vec<(u64, Vec<A>)> = [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500]
        .into_iter()
        .chain([23_500, 27_500, 31_500])
        .map(|t| (t, vec![tx(OPTIONS_LINE)]))
        .collect();
    expected.push((32_000, vec![A::Timeout(Timer::F), A::Terminated]));
    assert_eq!(fired, expected);
}

#[test]
fn non_invite_proceeding_retransmits_every_t2() {
    let c = Clock::new();
    let (mut m, _) = non_invite_client(&c, Reliability::Unreliable);
    let req = m.request().clone();
    let mut out = Vec::new();
    m.handle_timeout(c.at(500), &mut out); // E: next at 1.5s
    view(&mut out);
    m.handle_response(c.at(1_000), response(&req, 100, ""), &mut out);
    assert_eq!(view(&mut out), vec![A::Resp(100)]);
    assert_eq!(m.state(), State::Proceeding);
    // Timers E and F keep running in Proceeding.
    assert_eq!(c.ms_opt(m.timer(Timer::E)), Some(1_500));
    assert_eq!(c.ms_opt(m.timer(Timer::F)), Some(32_000));
    m.handle_timeout(c.at(1_500), &mut out);
    assert_eq!(view(&mut out), vec![tx(OPTIONS_LINE)]);
    assert_eq!(c.ms_opt(m.timer(Timer::E)), Some(5_500));
    m.handle_timeout(c.at(5_500), &mut out);
    assert_eq!(c.ms_opt(m.timer(Timer::E)), Some(9_500));
    view(&mut out);
    // More provisionals are passed up.
    m.handle_response(c.at(6_000), response(&req, 180, "x"), &mut out);
    assert_eq!(view(&mut out), vec![A::Resp(180)]);
    // Retransmissions every T2 until Timer F.
    let mut fired = Vec::new();
    while let Some(next) = m.poll_timeout() {
        m.handle_timeout(next, &mut out);
        fired.push((c.ms(next), view(&mut out)));
    }
    let mut expected: Vec<(u64, Vec<A>)> = [9_500, 13_500, 17_500, 21_500, 25_500, 29_500]
        .into_iter()
        .map(|t| (t, vec![tx(OPTIONS_LINE)]))
        .collect();
    expected.push((32_000, vec![A::Timeout(Timer::F), A::Terminated]));
    assert_eq!(fired, expected);
}

#[test]
fn non_invite_final_waits_timer_k_and_absorbs() {
    let c = Clock::new();
    let (mut m, _) = non_invite_client(&c, Reliability::Unreliable);
    let req = m.request().clone();
    let mut out = Vec::new();
    m.handle_response(c.at(300), response(&req, 200, "x"), &mut out);
    assert_eq!(view(&mut out), vec![A::Resp(200)]);
    assert_eq!(m.state(), State::Completed);
    assert_eq!(m.timer(Timer::E), None);
    assert_eq!(m.timer(Timer::F), None);
    assert_eq!(c.ms_opt(m.timer(Timer::K)), Some(5_300));
    m.handle_response(c.at(800), response(&req, 200, "x"), &mut out);
    m.handle_response(c.at(900), response(&req, 100, ""), &mut out);
    assert!(out.is_empty());
    m.handle_timeout(c.at(5_299), &mut out);
    assert!(out.is_empty());
    m.handle_timeout(c.at(5_300), &mut out);
    assert_eq!(view(&mut out), vec![A::Terminated]);
}

#[test]
fn non_invite_failure_from_proceeding_and_t4_configurable() {
    let c = Clock::new();
    let mut out = Vec::new();
    let config = TimerConfig {
        t4: Duration::from_secs(2),
        ..TimerConfig::default()
    };
    let mut m = NonInviteClient::start(
        c.at(0),
        request("REGISTER", BRANCH),
        Reliability::Unreliable,
        config,
        &mut out,
    );
    let req = m.request().clone();
    m.handle_response(c.at(100), response(&req, 100, ""), &mut out);
    m.handle_response(c.at(200), response(&req, 401, "x"), &mut out);
    assert_eq!(view(&mut out)[1..], [A::Resp(100), A::Resp(401)]);
    assert_eq!(c.ms_opt(m.timer(Timer::K)), Some(2_200));
}

#[test]
fn non_invite_reliable_no_timer_e_and_k_zero() {
    let c = Clock::new();
    let (mut m, _) = non_invite_client(&c, Reliability::Reliable);
    assert_eq!(m.timer(Timer::E), None);
    assert_eq!(c.ms_opt(m.poll_timeout()), Some(32_000));
    let req = m.request().clone();
    let mut out = Vec::new();
    m.handle_response(c.at(300), response(&req, 200, "x"), &mut out);
    assert_eq!(view(&mut out), vec![A::Resp(200), A::Terminated]);
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn non_invite_transport_error() {
    let c = Clock::new();
    let (mut m, _) = non_invite_client(&c, Reliability::Unreliable);
    let mut out = Vec::new();
    m.handle_transport_error(&mut out);
    assert_eq!(view(&mut out), vec![A::TransportError, A::Terminated]);
}

#[test]
fn late_driver_fires_each_due_timer_once_in_deadline_order() {
    let c = Clock::new();
    let (mut m, _) = invite_client(&c, Reliability::Unreliable);
    let mut out = Vec::new();
    // Woken far too late: A (due 0.5 s) fires first, then B terminates.
    m.handle_timeout(c.at(40_000), &mut out);
    assert_eq!(
        view(&mut out),
        vec![tx(INVITE_LINE), A::Timeout(Timer::B), A::Terminated]
    );
}
