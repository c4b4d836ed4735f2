//! A UAC and a UAS transaction table wired together through a simulated network with
//! latency and deterministic loss, run in virtual time. Every assertion is an exact
//! time: no sleeps, no randomness.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use sipwarden_txn::{
    Config, Event, Reliability, RequestOutcome, ResponseOutcome, State, Transactions, TxnId,
};
use sipwarden_wire::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Uac,
    Uas,
}

/// What the network did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wire {
    sent_ms: u64,
    from: Side,
    line: String,
    dropped: bool,
}

/// How the UAS transaction user answers a new request: `(delay after arrival, code)`.
type Script = Vec<(u64, u16)>;

struct Harness {
    clock: Clock,
    now: Instant,
    latency: Duration,
    reliability: Reliability,
    /// Decides loss: (sender, index of the message among that sender's messages).
    drop: Box<dyn Fn(Side, usize) -> bool>,
    sent: [usize; 2],
    in_flight: Vec<(Instant, Side, Bytes)>,
    log: Vec<Wire>,
    uac: Transactions<Side>,
    uas: Transactions<Side>,
    /// UAS TU: pending answers (when, transaction, request, code).
    answers: Vec<(Instant, TxnId, Message, u16)>,
    script: Script,
    /// UAC TU: everything it learned, with the time.
    uac_events: Vec<(u64, String)>,
    uas_events: Vec<(u64, String)>,
    uas_outcomes: Vec<(u64, RequestOutcome)>,
}

impl Harness {
    fn new(latency_ms: u64, reliability: Reliability, script: Script) -> Harness {
        let clock = Clock::new();
        Harness {
            clock,
            now: clock.at(0),
            latency: Duration::from_millis(latency_ms),
            reliability,
            drop: Box::new(|_, _| false),
            sent: [0, 0],
            in_flight: Vec::new(),
            log: Vec::new(),
            uac: Transactions::new(Config::default()).unwrap(),
            uas: Transactions::new(Config::default()).unwrap(),
            answers: Vec::new(),
            script,
            uac_events: Vec::new(),
            uas_events: Vec::new(),
            uas_outcomes: Vec::new(),
        }
    }

    fn lose(mut self, f: impl Fn(Side, usize) -> bool + 'static) -> Harness {
        self.drop = Box::new(f);
        self
    }

    fn ms(&self) -> u64 {
        self.clock.ms(self.now)
    }

    fn send(&mut self, from: Side, bytes: Bytes) {
        let idx = match from {
            Side::Uac => 0,
            Side::Uas => 1,
        };
        let n = self.sent[idx];
        self.sent[idx] += 1;
        let dropped = (self.drop)(from, n);
        self.log.push(Wire {
            sent_ms: self.ms(),
            from,
            line: start_line(&bytes),
            dropped,
        });
        if !dropped {
            self.in_flight.push((self.now + self.latency, from, bytes));
        }
    }

    /// Moves queued transmissions onto the network and runs both TUs.
    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.uac.poll_transmit() {
                assert_eq!(t.dest, Side::Uas);
                self.send(Side::Uac, t.bytes);
                progressed = true;
            }
            while let Some(t) = self.uas.poll_transmit() {
                assert_eq!(t.dest, Side::Uac);
                self.send(Side::Uas, t.bytes);
                progressed = true;
            }
            while let Some(e) = self.uac.poll_event() {
                progressed = true;
                let ms = self.ms();
                match e {
                    Event::Response { response, .. } => {
                        let code = response.status_code().unwrap();
                        self.uac_events.push((ms, format!("response {code}")));
                        let invite = response
                            .header(sipwarden_wire::HeaderName::CSeq)
                            .is_some_and(|v| v.ends_with(b"INVITE"));
                        if invite && (200..300).contains(&code) {
                            // The UAC core acknowledges a 2xx itself, outside the
                            // transaction, with a new branch.
                            self.send(Side::Uac, ack_for_2xx(&response));
                        }
                    }
                    other => self.uac_events.push((ms, describe(&other))),
                }
            }
            while let Some(e) = self.uas.poll_event() {
                progressed = true;
                let ms = self.ms();
                self.uas_events.push((ms, describe(&e)));
            }
            let due: Vec<_> = self
                .answers
                .iter()
                .filter(|a| a.0 <= self.now)
                .cloned()
                .collect();
            self.answers.retain(|a| a.0 > self.now);
            for (_, txn, req, code) in due {
                progressed = true;
                let bytes = response_bytes(&req, code, "uas-tag");
                self.uas.send_response(self.now, txn, code, bytes).unwrap();
            }
            if !progressed {
                break;
            }
        }
    }

    fn deliver(&mut self, from: Side, bytes: Bytes) {
        let msg = Message::parse(bytes).unwrap();
        let ms = self.ms();
        match from {
            Side::Uac => {
                let outcome = self
                    .uas
                    .handle_request(self.now, &msg, self.reliability, Side::Uac)
                    .unwrap();
                self.uas_outcomes.push((ms, outcome));
                if let RequestOutcome::New { txn, .. } = outcome {
                    for &(delay, code) in &self.script {
                        let at = self.now + Duration::from_millis(delay);
                        self.answers.push((at, txn, msg.clone(), code));
                    }
                }
            }
            Side::Uas => match self.uac.handle_response(self.now, msg).unwrap() {
                ResponseOutcome::Stray(r) => panic!("stray response {r:?}"),
                ResponseOutcome::Delivered { .. } | ResponseOutcome::Absorbed { .. } => {}
            },
        }
    }

    /// Runs until nothing is pending anywhere or `limit_ms` passes.
    fn run(&mut self, limit_ms: u64) {
        self.pump();
        loop {
            let next = [
                self.in_flight.iter().map(|m| m.0).min(),
                self.uac.poll_timeout(),
                self.uas.poll_timeout(),
                self.answers.iter().map(|a| a.0).min(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else { break };
            if self.clock.ms(next) > limit_ms {
                break;
            }
            assert!(next >= self.now, "time never goes back");
            self.now = next;
            let arrived: Vec<_> = self
                .in_flight
                .iter()
                .filter(|m| m.0 <= self.now)
                .cloned()
                .collect();
            self.in_flight.retain(|m| m.0 > self.now);
            for (_, from, bytes) in arrived {
                self.deliver(from, bytes);
                self.pump();
            }
            self.uac.handle_timeout(self.now);
            self.uas.handle_timeout(self.now);
            self.pump();
        }
    }

    fn start(&mut self, request: Message) -> TxnId {
        let txn = self
            .uac
            .send_request(self.now, request, self.reliability, Side::Uas)
            .unwrap();
        self.pump();
        txn
    }

    fn wire(&self) -> Vec<(u64, Side, &str, bool)> {
        self.log
            .iter()
            .map(|w| (w.sent_ms, w.from, w.line.as_str(), w.dropped))
            .collect()
    }
}

fn describe(e: &Event) -> String {
    match e {
        Event::Response { response, .. } => {
            format!("response {}", response.status_code().unwrap())
        }
        Event::Timeout { timer, .. } => format!("timeout {timer:?}"),
        Event::TransportError { .. } => "transport error".to_owned(),
        Event::Terminated { .. } => "terminated".to_owned(),
    }
}

fn ack_for_2xx(response: &Message) -> Bytes {
    // Enough of a 2xx ACK for the UAS transaction layer: a new branch, CSeq method ACK.
    let req = request_with(
        "ACK",
        "z9hG4bKack2xx",
        "pc33.example.com:5060",
        314159,
        "uas-tag",
    );
    assert_eq!(response.status_code().map(|c| c / 100), Some(2));
    req.buffer().clone()
}

const U: Reliability = Reliability::Unreliable;
const R: Reliability = Reliability::Reliable;
const UAC: Side = Side::Uac;
const UAS: Side = Side::Uas;

fn ev(ms: u64, s: &str) -> (u64, String) {
    (ms, s.to_owned())
}

#[test]
fn options_over_udp_without_loss() {
    let mut h = Harness::new(50, U, vec![(0, 200)]);
    let txn = h.start(request("OPTIONS", "z9hG4bKo1"));
    h.run(5_099);
    assert_eq!(h.uac.state(txn), Some(State::Completed));
    h.run(100_000);
    assert_eq!(
        h.wire(),
        vec![
            (0, UAC, OPTIONS_LINE, false),
            (50, UAS, "SIP/2.0 200 Reason", false),
        ]
    );
    // UAC: response at 100 ms, Timer K (T4) ends it at 5.1 s.
    assert_eq!(
        h.uac_events,
        vec![ev(100, "response 200"), ev(5_100, "terminated")]
    );
    // UAS: Timer J (64·T1) after sending at 50 ms.
    assert_eq!(h.uas_events, vec![ev(32_050, "terminated")]);
    assert!(h.uac.is_empty() && h.uas.is_empty());
}

#[test]
fn options_first_request_lost_timer_e_recovers() {
    let mut h = Harness::new(50, U, vec![(0, 200)]).lose(|side, n| side == UAC && n == 0);
    h.start(request("OPTIONS", "z9hG4bKo2"));
    h.run(100_000);
    assert_eq!(
        h.wire(),
        vec![
            (0, UAC, OPTIONS_LINE, true),
            (500, UAC, OPTIONS_LINE, false),
            (550, UAS, "SIP/2.0 200 Reason", false),
        ]
    );
    assert_eq!(h.uac_events[0], ev(600, "response 200"));
    assert_eq!(h.uac_events[1], ev(5_600, "terminated"));
    assert_eq!(h.uas_events, vec![ev(32_550, "terminated")]);
}

#[test]
fn options_response_lost_retransmission_answered_from_server_transaction() {
    let mut h = Harness::new(50, U, vec![(0, 200)]).lose(|side, n| side == UAS && n == 0);
    h.start(request("OPTIONS", "z9hG4bKo3"));
    h.run(100_000);
    assert_eq!(
        h.wire(),
        vec![
            (0, UAC, OPTIONS_LINE, false),
            (50, UAS, "SIP/2.0 200 Reason", true),
            (500, UAC, OPTIONS_LINE, false),
            // Absorbed by the server transaction, which resends its response.
            (550, UAS, "SIP/2.0 200 Reason", false),
        ]
    );
    assert_eq!(h.uas_outcomes.len(), 2);
    assert!(matches!(
        h.uas_outcomes[1],
        (550, RequestOutcome::Retransmission { .. })
    ));
    assert_eq!(h.uac_events[0], ev(600, "response 200"));
    // The UAS TU answered once only.
    assert_eq!(h.uas_events, vec![ev(32_050, "terminated")]);
}

#[test]
fn options_total_loss_times_out_with_timer_f() {
    let mut h = Harness::new(50, U, vec![(0, 200)]).lose(|side, _| side == UAC);
    h.start(request("OPTIONS", "z9hG4bKo4"));
    h.run(100_000);
    let times: Vec<u64> = h.log.iter().map(|w| w.sent_ms).collect();
    assert_eq!(
        times,
        vec![0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert_eq!(
        h.uac_events,
        vec![ev(32_000, "timeout F"), ev(32_000, "terminated")]
    );
}

#[test]
fn slow_non_invite_answer_switches_to_t2_retransmissions() {
    // The UAS sends 100 at once and the final answer after 6 s.
    let mut h = Harness::new(50, U, vec![(0, 100), (6_000, 200)]);
    h.start(request("REGISTER", "z9hG4bKr1"));
    h.run(100_000);
    let uac: Vec<u64> = h
        .log
        .iter()
        .filter(|w| w.from == UAC)
        .map(|w| w.sent_ms)
        .collect();
    // The 100 arrives at 100 ms (Proceeding): E fires at 0.5 s, then every T2.
    assert_eq!(uac, vec![0, 500, 4_500]);
    let uas: Vec<(u64, &str)> = h
        .log
        .iter()
        .filter(|w| w.from == UAS)
        .map(|w| (w.sent_ms, w.line.as_str()))
        .collect();
    assert_eq!(
        uas,
        vec![
            (50, "SIP/2.0 100 Reason"),
            (550, "SIP/2.0 100 Reason"),
            (4_550, "SIP/2.0 100 Reason"),
            (6_050, "SIP/2.0 200 Reason"),
        ]
    );
    assert_eq!(
        h.uac_events,
        [
            ev(100, "response 100"),
            ev(600, "response 100"),
            ev(4_600, "response 100"),
            ev(6_100, "response 200"),
            ev(11_100, "terminated"),
        ]
    );
}

#[test]
fn invite_rejected_with_lost_final_and_lost_ack() {
    // UAS: 100 Trying from the transaction, 486 from the TU after 1 s.
    // Loss: the first 486 (UAS message #1) and the first ACK (UAC message #1).
    let mut h = Harness::new(50, U, vec![(1_000, 486)]).lose(|_, n| n == 1);
    let txn = h.start(request("INVITE", "z9hG4bKi1"));
    h.run(1_599);
    assert_eq!(h.uac.state(txn), Some(State::Proceeding));
    h.run(100_000);
    assert_eq!(
        h.wire(),
        vec![
            (0, UAC, INVITE_LINE, false),
            (50, UAS, "SIP/2.0 100 Trying", false),
            (1_050, UAS, "SIP/2.0 486 Reason", true),
            // Timer G (T1) retransmits the final response.
            (1_550, UAS, "SIP/2.0 486 Reason", false),
            (1_600, UAC, ACK_LINE, true),
            // Timer G again (2·T1); the UAC re-sends its ACK for the retransmission.
            (2_550, UAS, "SIP/2.0 486 Reason", false),
            (2_600, UAC, ACK_LINE, false),
        ]
    );
    assert_eq!(
        h.uac_events,
        vec![
            ev(100, "response 100"),
            ev(1_600, "response 486"),
            // Timer D: 32 s after entering Completed.
            ev(33_600, "terminated"),
        ]
    );
    // The ACK reached the UAS at 2.65 s: Confirmed, Timer I (T4) ends it.
    assert!(matches!(
        h.uas_outcomes.last(),
        Some((2_650, RequestOutcome::AckAbsorbed { .. }))
    ));
    assert_eq!(h.uas_events, vec![ev(7_650, "terminated")]);
}

#[test]
fn invite_accepted_on_both_sides() {
    let mut h = Harness::new(50, U, vec![(0, 180), (2_000, 200)]);
    let txn = h.start(request("INVITE", "z9hG4bKi2"));
    h.run(2_100);
    assert_eq!(h.uac.state(txn), Some(State::Accepted));
    h.run(100_000);
    assert_eq!(
        h.wire(),
        vec![
            (0, UAC, INVITE_LINE, false),
            (50, UAS, "SIP/2.0 100 Trying", false),
            (50, UAS, "SIP/2.0 180 Reason", false),
            (2_050, UAS, "SIP/2.0 200 Reason", false),
            (2_100, UAC, ACK_LINE, false),
        ]
    );
    assert_eq!(
        h.uac_events,
        vec![
            ev(100, "response 100"),
            ev(100, "response 180"),
            ev(2_100, "response 200"),
            // Timer M (64·T1) after the 2xx.
            ev(34_100, "terminated"),
        ]
    );
    // The 2xx ACK is not the transaction's: handed to the core.
    assert_eq!(
        h.uas_outcomes.last(),
        Some(&(2_150, RequestOutcome::NotOurs { matched: None }))
    );
    // Timer L (64·T1) after sending the 2xx.
    assert_eq!(h.uas_events, vec![ev(34_050, "terminated")]);
}

#[test]
fn invite_retransmitted_before_trying_arrives() {
    // Latency 300 ms: the 100 Trying arrives after Timer A fired once; the retransmitted
    // INVITE is absorbed by the server transaction, which resends the 100.
    let mut h = Harness::new(300, U, vec![(5_000, 603)]);
    h.start(request("INVITE", "z9hG4bKi3"));
    h.run(100_000);
    let wire = h.wire();
    assert_eq!(
        wire[..4],
        [
            (0, UAC, INVITE_LINE, false),
            (300, UAS, "SIP/2.0 100 Trying", false),
            (500, UAC, INVITE_LINE, false),
            (800, UAS, "SIP/2.0 100 Trying", false),
        ]
    );
    assert_eq!(h.uac_events[0], ev(600, "response 100"));
    assert_eq!(h.uac_events[1], ev(1_100, "response 100"));
    assert!(matches!(
        h.uas_outcomes[1],
        (800, RequestOutcome::Retransmission { .. })
    ));
    // The 603 leaves at 5.3 s; its ACK would arrive at 5.9 s, but Timer G fires at
    // 5.8 s first, so the 603 goes twice and the UAC acknowledges both.
    assert_eq!(
        wire[4..],
        [
            (5_300, UAS, "SIP/2.0 603 Reason", false),
            (5_600, UAC, ACK_LINE, false),
            (5_800, UAS, "SIP/2.0 603 Reason", false),
            (6_100, UAC, ACK_LINE, false),
        ]
    );
    assert_eq!(h.uas_events, vec![ev(10_900, "terminated")]);
}

#[test]
fn invite_total_loss_times_out_with_timer_b() {
    let mut h = Harness::new(50, U, vec![]).lose(|side, _| side == UAC);
    h.start(request("INVITE", "z9hG4bKi4"));
    h.run(100_000);
    let times: Vec<u64> = h.log.iter().map(|w| w.sent_ms).collect();
    assert_eq!(times, vec![0, 500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    assert_eq!(
        h.uac_events,
        vec![ev(32_000, "timeout B"), ev(32_000, "terminated")]
    );
}

#[test]
fn uas_never_gets_ack_timer_h() {
    // Every UAC message after the INVITE is lost: the ACK never arrives.
    let mut h = Harness::new(50, U, vec![(0, 480)]).lose(|side, n| side == UAC && n > 0);
    h.start(request("INVITE", "z9hG4bKi5"));
    h.run(100_000);
    let finals: Vec<u64> = h
        .log
        .iter()
        .filter(|w| w.line == "SIP/2.0 480 Reason")
        .map(|w| w.sent_ms)
        .collect();
    // Sent at 50 ms, then Timer G: +0.5, +1, +2, +4, +4, ... until Timer H at 32.05 s.
    assert_eq!(
        finals,
        vec![50, 550, 1_550, 3_550, 7_550, 11_550, 15_550, 19_550, 23_550, 27_550, 31_550]
    );
    assert_eq!(
        h.uas_events,
        vec![ev(32_050, "timeout H"), ev(32_050, "terminated")]
    );
}

#[test]
fn reliable_transport_no_retransmissions_and_zero_wait_timers() {
    let mut h = Harness::new(50, R, vec![(0, 404)]);
    let txn = h.start(request("INVITE", "z9hG4bKi6"));
    h.run(100_000);
    assert_eq!(
        h.wire(),
        vec![
            (0, UAC, INVITE_LINE, false),
            (50, UAS, "SIP/2.0 100 Trying", false),
            (50, UAS, "SIP/2.0 404 Reason", false),
            (100, UAC, ACK_LINE, false),
        ]
    );
    // Timer D = 0: terminated with the final response.
    assert_eq!(
        h.uac_events,
        vec![
            ev(100, "response 100"),
            ev(100, "response 404"),
            ev(100, "terminated")
        ]
    );
    assert_eq!(h.uac.state(txn), None);
    // Timer I = 0: terminated with the ACK.
    assert_eq!(h.uas_events, vec![ev(150, "terminated")]);

    let mut h = Harness::new(50, R, vec![(0, 200)]);
    h.start(request("OPTIONS", "z9hG4bKo5"));
    h.run(100_000);
    assert_eq!(h.log.len(), 2);
    // Timer K = 0 and Timer J = 0.
    assert_eq!(
        h.uac_events,
        vec![ev(100, "response 200"), ev(100, "terminated")]
    );
    assert_eq!(h.uas_events, vec![ev(50, "terminated")]);
}

/// Every loss pattern over the first three messages in each direction: the exchange
/// always ends cleanly (both tables empty), the UAS TU sees the request once, and the
/// UAC TU gets exactly one final response or a Timer B/F timeout.
#[test]
fn every_loss_pattern_ends_cleanly() {
    for (method, script, code) in [
        ("INVITE", vec![(0, 486)], 486),
        // The UAS core retransmits its 2xx itself (§13.3.1.4), through the Accepted
        // transaction; an INVITE client in Proceeding has no timer of its own.
        (
            "INVITE",
            vec![(100, 180), (300, 200), (800, 200), (1_800, 200)],
            200,
        ),
        ("OPTIONS", vec![(0, 200)], 200),
    ] {
        for mask in 0u32..64 {
            let lost = move |side: Side, n: usize| {
                let bit = match side {
                    Side::Uac => n,
                    Side::Uas => n + 3,
                };
                n < 3 && mask & (1 << bit) != 0
            };
            let mut h = Harness::new(50, U, script.clone()).lose(lost);
            h.start(request(method, "z9hG4bKsweep"));
            h.run(200_000);
            let ctx = format!("{method} {code} mask {mask:06b}");
            assert!(h.uac.is_empty() && h.uas.is_empty(), "{ctx}");
            let new = h
                .uas_outcomes
                .iter()
                .filter(|(_, o)| matches!(o, RequestOutcome::New { .. }))
                .count();
            let finals: Vec<&(u64, String)> = h
                .uac_events
                .iter()
                .filter(|(_, e)| *e == format!("response {code}"))
                .collect();
            let timed_out = h.uac_events.iter().any(|(_, e)| e.starts_with("timeout"));
            if timed_out {
                assert!(finals.is_empty(), "{ctx}");
            } else {
                assert_eq!(new, 1, "{ctx}");
                assert!(!finals.is_empty(), "{ctx}");
                // Only 2xx to INVITE may reach the TU more than once (RFC 6026).
                if code != 200 || method != "INVITE" {
                    assert_eq!(finals.len(), 1, "{ctx}");
                }
            }
            assert!(new <= 1, "{ctx}");
            assert_eq!(
                h.uac_events.last().map(|(_, e)| e.as_str()),
                Some("terminated"),
                "{ctx}"
            );
        }
    }
}
