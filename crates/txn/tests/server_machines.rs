//! INVITE and non-INVITE server transactions: every state and timer, exact deadlines.
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
    AckDisposition, InviteServer, NonInviteServer, Reliability, State, Timer, TimerConfig, TxnError,
};

const BRANCH: &str = "z9hG4bK776asdhds";

fn send(
    m: &mut InviteServer,
    c: &Clock,
    at: u64,
    code: u16,
    out: &mut Vec<sipwarden_txn::Action>,
) -> Result<(), TxnError> {
    let req = request("INVITE", BRANCH);
    m.send_response(c.at(at), code, response_bytes(&req, code, "srv"), out)
}

fn line(code: u16) -> A {
    tx(&format!("SIP/2.0 {code} Reason"))
}

#[test]
fn invite_proceeding_resends_last_provisional_for_retransmissions() {
    let c = Clock::new();
    let mut m = InviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let mut out = Vec::new();
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.poll_timeout(), None);
    // Before any response, a retransmission is simply absorbed.
    m.handle_retransmission(&mut out);
    assert!(out.is_empty());
    send(&mut m, &c, 0, 100, &mut out).unwrap();
    m.handle_retransmission(&mut out);
    send(&mut m, &c, 10, 180, &mut out).unwrap();
    m.handle_retransmission(&mut out);
    assert_eq!(
        view(&mut out),
        vec![line(100), line(100), line(180), line(180)]
    );
    assert_eq!(m.state(), State::Proceeding);
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn invite_failure_timer_g_doubles_capped_at_t2_until_timer_h() {
    let c = Clock::new();
    let mut m = InviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let mut out = Vec::new();
    send(&mut m, &c, 1_000, 486, &mut out).unwrap();
    assert_eq!(view(&mut out), vec![line(486)]);
    assert_eq!(m.state(), State::Completed);
    assert_eq!(c.ms_opt(m.timer(Timer::G)), Some(1_500));
    assert_eq!(c.ms_opt(m.timer(Timer::H)), Some(33_000));
    let mut fired = Vec::new();
    while let Some(next) = m.poll_timeout() {
        m.handle_timeout(next, &mut out);
        fired.push((c.ms(next), view(&mut out)));
    }
    // G: 0.5, 1, 2, 4, 4, ... after the response; H at 64·T1.
    let mut expected: Vec<(u64, Vec<A>)> = [1_500, 2_500, 4_500, 8_500, 12_500, 16_500]
        .into_iter()
        .chain([20_500, 24_500, 28_500, 32_500])
        .map(|t| (t, vec![line(486)]))
        .collect();
    expected.push((33_000, vec![A::Timeout(Timer::H), A::Terminated]));
    assert_eq!(fired, expected);
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_completed_resends_final_and_ack_confirms_for_timer_i() {
    let c = Clock::new();
    let mut m = InviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let mut out = Vec::new();
    send(&mut m, &c, 0, 180, &mut out).unwrap();
    send(&mut m, &c, 100, 404, &mut out).unwrap();
    m.handle_retransmission(&mut out);
    assert_eq!(view(&mut out), vec![line(180), line(404), line(404)]);
    // Responses after the final are refused (§17.2.1).
    assert_eq!(
        send(&mut m, &c, 150, 500, &mut out),
        Err(TxnError::ResponseNotAllowed {
            code: 500,
            state: State::Completed
        })
    );
    assert_eq!(
        send(&mut m, &c, 150, 200, &mut out),
        Err(TxnError::ResponseNotAllowed {
            code: 200,
            state: State::Completed
        })
    );
    assert_eq!(m.handle_ack(c.at(700), &mut out), AckDisposition::Absorbed);
    assert!(out.is_empty());
    assert_eq!(m.state(), State::Confirmed);
    assert_eq!(m.timer(Timer::G), None);
    assert_eq!(m.timer(Timer::H), None);
    assert_eq!(c.ms_opt(m.timer(Timer::I)), Some(5_700));
    // Confirmed absorbs ACK and INVITE retransmissions silently.
    assert_eq!(m.handle_ack(c.at(800), &mut out), AckDisposition::Absorbed);
    m.handle_retransmission(&mut out);
    assert!(out.is_empty());
    assert_eq!(c.ms_opt(m.timer(Timer::I)), Some(5_700));
    m.handle_timeout(c.at(5_699), &mut out);
    assert!(out.is_empty());
    m.handle_timeout(c.at(5_700), &mut out);
    assert_eq!(view(&mut out), vec![A::Terminated]);
}

#[test]
fn invite_reliable_no_timer_g_and_timer_i_zero() {
    let c = Clock::new();
    let mut m = InviteServer::new(Reliability::Reliable, TimerConfig::default());
    let mut out = Vec::new();
    send(&mut m, &c, 0, 503, &mut out).unwrap();
    assert_eq!(m.timer(Timer::G), None);
    assert_eq!(c.ms_opt(m.timer(Timer::H)), Some(32_000));
    assert_eq!(m.handle_ack(c.at(50), &mut out), AckDisposition::Absorbed);
    assert_eq!(view(&mut out), vec![line(503), A::Terminated]);
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn invite_reliable_timer_h_without_ack() {
    let c = Clock::new();
    let mut m = InviteServer::new(Reliability::Reliable, TimerConfig::default());
    let mut out = Vec::new();
    send(&mut m, &c, 0, 503, &mut out).unwrap();
    view(&mut out);
    m.handle_timeout(c.at(32_000), &mut out);
    assert_eq!(view(&mut out), vec![A::Timeout(Timer::H), A::Terminated]);
}

#[test]
fn invite_2xx_accepted_absorbs_invites_passes_ack_until_timer_l() {
    let c = Clock::new();
    let mut m = InviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let mut out = Vec::new();
    send(&mut m, &c, 0, 100, &mut out).unwrap();
    send(&mut m, &c, 2_000, 200, &mut out).unwrap();
    assert_eq!(view(&mut out), vec![line(100), line(200)]);
    assert_eq!(m.state(), State::Accepted);
    assert_eq!(c.ms_opt(m.timer(Timer::L)), Some(34_000));
    assert_eq!(
        m.timer(Timer::G),
        None,
        "the TU retransmits 2xx, not the transaction"
    );
    // RFC 6026: INVITE retransmissions are absorbed without a response.
    m.handle_retransmission(&mut out);
    assert!(out.is_empty());
    // The TU's own 2xx retransmissions pass through.
    send(&mut m, &c, 2_500, 200, &mut out).unwrap();
    assert_eq!(view(&mut out), vec![line(200)]);
    // Other responses are refused.
    assert_eq!(
        send(&mut m, &c, 2_600, 180, &mut out),
        Err(TxnError::ResponseNotAllowed {
            code: 180,
            state: State::Accepted
        })
    );
    assert_eq!(
        send(&mut m, &c, 2_600, 486, &mut out),
        Err(TxnError::ResponseNotAllowed {
            code: 486,
            state: State::Accepted
        })
    );
    // The ACK for a 2xx belongs to the TU.
    assert_eq!(
        m.handle_ack(c.at(2_700), &mut out),
        AckDisposition::PassToTu
    );
    assert_eq!(m.state(), State::Accepted);
    // A transport error is reported but the transaction stays to absorb retransmissions.
    m.handle_transport_error(&mut out);
    assert_eq!(view(&mut out), vec![A::TransportError]);
    assert_eq!(m.state(), State::Accepted);
    m.handle_timeout(c.at(34_000), &mut out);
    assert_eq!(view(&mut out), vec![A::Terminated]);
}

#[test]
fn invite_transport_error_in_proceeding_and_completed() {
    let c = Clock::new();
    let mut out = Vec::new();
    let mut m = InviteServer::new(Reliability::Unreliable, TimerConfig::default());
    m.handle_transport_error(&mut out);
    assert_eq!(view(&mut out), vec![A::TransportError, A::Terminated]);

    let mut m = InviteServer::new(Reliability::Unreliable, TimerConfig::default());
    send(&mut m, &c, 0, 480, &mut out).unwrap();
    view(&mut out);
    m.handle_transport_error(&mut out);
    assert_eq!(view(&mut out), vec![A::TransportError, A::Terminated]);
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn invite_ack_before_final_response_is_absorbed() {
    let c = Clock::new();
    let mut m = InviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let mut out = Vec::new();
    assert_eq!(m.handle_ack(c.at(0), &mut out), AckDisposition::Absorbed);
    assert_eq!(m.state(), State::Proceeding);
}

#[test]
fn invalid_status_codes_are_refused() {
    let c = Clock::new();
    let mut m = InviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let mut out = Vec::new();
    assert_eq!(
        send(&mut m, &c, 0, 99, &mut out),
        Err(TxnError::BadStatusCode(99))
    );
    assert_eq!(
        send(&mut m, &c, 0, 700, &mut out),
        Err(TxnError::BadStatusCode(700))
    );
    let mut n = NonInviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let req = request("OPTIONS", BRANCH);
    assert_eq!(
        n.send_response(c.at(0), 0, response_bytes(&req, 200, ""), &mut out),
        Err(TxnError::BadStatusCode(0))
    );
    assert!(out.is_empty());
}

#[test]
fn non_invite_trying_proceeding_completed_timer_j() {
    let c = Clock::new();
    let req = request("OPTIONS", BRANCH);
    let mut m = NonInviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let mut out = Vec::new();
    assert_eq!(m.state(), State::Trying);
    // Trying: retransmissions are discarded.
    m.handle_retransmission(&mut out);
    assert!(out.is_empty());
    m.send_response(c.at(10), 100, response_bytes(&req, 100, ""), &mut out)
        .unwrap();
    assert_eq!(m.state(), State::Proceeding);
    m.handle_retransmission(&mut out);
    assert_eq!(view(&mut out), vec![line(100), line(100)]);
    m.send_response(c.at(20), 200, response_bytes(&req, 200, "t"), &mut out)
        .unwrap();
    assert_eq!(m.state(), State::Completed);
    assert_eq!(c.ms_opt(m.timer(Timer::J)), Some(32_020));
    m.handle_retransmission(&mut out);
    assert_eq!(view(&mut out), vec![line(200), line(200)]);
    assert_eq!(
        m.send_response(c.at(30), 500, response_bytes(&req, 500, "t"), &mut out),
        Err(TxnError::ResponseNotAllowed {
            code: 500,
            state: State::Completed
        })
    );
    m.handle_timeout(c.at(32_019), &mut out);
    assert!(out.is_empty());
    m.handle_timeout(c.at(32_020), &mut out);
    assert_eq!(view(&mut out), vec![A::Terminated]);
}

#[test]
fn non_invite_final_from_trying_and_t1_scales_timer_j() {
    let c = Clock::new();
    let req = request("BYE", BRANCH);
    let config = TimerConfig {
        t1: Duration::from_millis(250),
        ..TimerConfig::default()
    };
    let mut m = NonInviteServer::new(Reliability::Unreliable, config);
    let mut out = Vec::new();
    m.send_response(c.at(5), 481, response_bytes(&req, 481, "t"), &mut out)
        .unwrap();
    assert_eq!(c.ms_opt(m.timer(Timer::J)), Some(16_005));
}

#[test]
fn non_invite_reliable_timer_j_zero() {
    let c = Clock::new();
    let req = request("OPTIONS", BRANCH);
    let mut m = NonInviteServer::new(Reliability::Reliable, TimerConfig::default());
    let mut out = Vec::new();
    m.send_response(c.at(5), 200, response_bytes(&req, 200, "t"), &mut out)
        .unwrap();
    assert_eq!(view(&mut out), vec![line(200), A::Terminated]);
    assert_eq!(m.state(), State::Terminated);
}

#[test]
fn non_invite_transport_error() {
    let c = Clock::new();
    let req = request("OPTIONS", BRANCH);
    let mut m = NonInviteServer::new(Reliability::Unreliable, TimerConfig::default());
    let mut out = Vec::new();
    m.send_response(c.at(5), 180, response_bytes(&req, 180, "t"), &mut out)
        .unwrap();
    view(&mut out);
    m.handle_transport_error(&mut out);
    assert_eq!(view(&mut out), vec![A::TransportError, A::Terminated]);
}

#[test]
fn timer_config_validation() {
    assert!(TimerConfig::default().validate().is_ok());
    let zero = TimerConfig {
        t1: Duration::ZERO,
        ..TimerConfig::default()
    };
    assert_eq!(zero.validate(), Err(sipwarden_txn::ConfigError::ZeroT1));
    let inverted = TimerConfig {
        t2: Duration::from_millis(100),
        ..TimerConfig::default()
    };
    assert_eq!(
        inverted.validate(),
        Err(sipwarden_txn::ConfigError::T2BelowT1)
    );
}
