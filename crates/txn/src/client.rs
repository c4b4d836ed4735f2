//! Client transactions: INVITE (RFC 3261 §17.1.1 with RFC 6026's Accepted state) and
//! non-INVITE (§17.1.2).
//!
//! A machine is created when the transaction user hands it a request, which it sends at
//! once. It is then driven by the responses matched to it, by its timers and by transport
//! errors; every step pushes [`Action`]s for the driver.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwarden_wire::Message;

use crate::machine::{Action, Class, State};
use crate::timer::{deadline, Reliability, Slots, Timer, TimerConfig};

/// An INVITE client transaction.
#[derive(Debug, Clone)]
pub struct InviteClient {
    state: State,
    request: Message,
    reliability: Reliability,
    config: TimerConfig,
    timers: Slots,
    /// The interval Timer A was last started with.
    interval: Duration,
    /// The ACK sent for the non-2xx final response, resent for each retransmission.
    ack: Option<Bytes>,
}

impl InviteClient {
    /// Starts the transaction: the INVITE is sent, Timer A starts (unreliable transports
    /// only) at T1 and Timer B at 64·T1. State: Calling.
    pub fn start(
        now: Instant,
        request: Message,
        reliability: Reliability,
        config: TimerConfig,
        out: &mut Vec<Action>,
    ) -> InviteClient {
        out.push(Action::Transmit(request.buffer().clone()));
        let mut timers = Slots::default();
        if !reliability.is_reliable() {
            timers.set(Timer::A, deadline(now, config.t1));
        }
        timers.set(Timer::B, deadline(now, config.t1_x64()));
        InviteClient {
            state: State::Calling,
            request,
            reliability,
            config,
            timers,
            interval: config.t1,
            ack: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The INVITE this transaction sends.
    pub fn request(&self) -> &Message {
        &self.request
    }

    /// The transport reliability this transaction runs over.
    pub fn reliability(&self) -> Reliability {
        self.reliability
    }

    /// The deadline of `timer`, if it is running.
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// The earliest running timer's deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub(crate) fn timers(&self) -> &Slots {
        &self.timers
    }

    /// Feeds a response matched to this transaction (§17.1.3).
    ///
    /// 1xx: to the TU, Calling → Proceeding (retransmissions stop). 2xx: to the TU,
    /// → Accepted with Timer M (RFC 6026), where every further 2xx (retransmissions, other
    /// forks) also goes to the TU. 300–699: ACK sent, to the TU, → Completed with Timer D;
    /// retransmissions of it there resend the ACK and are not passed up.
    pub fn handle_response(&mut self, now: Instant, response: Message, out: &mut Vec<Action>) {
        let Some(class) = response.status_code().and_then(Class::of) else {
            return;
        };
        match (self.state, class) {
            (State::Calling | State::Proceeding, Class::Provisional) => {
                self.state = State::Proceeding;
                self.timers.clear_all();
                out.push(Action::Response(Box::new(response)));
            }
            (State::Calling | State::Proceeding, Class::Success) => {
                self.state = State::Accepted;
                self.timers.clear_all();
                self.timers
                    .set(Timer::M, deadline(now, self.config.t1_x64()));
                out.push(Action::Response(Box::new(response)));
            }
            (State::Calling | State::Proceeding, Class::Failure) => {
                self.state = State::Completed;
                self.timers.clear_all();
                self.ack = crate::ack::ack_for(&self.request, &response);
                if let Some(ack) = &self.ack {
                    out.push(Action::Transmit(ack.clone()));
                }
                out.push(Action::Response(Box::new(response)));
                let wait = self.config.timer_d_for(self.reliability);
                if wait.is_zero() {
                    self.terminate(out);
                } else {
                    self.timers.set(Timer::D, deadline(now, wait));
                }
            }
            (State::Completed, Class::Failure) => {
                if let Some(ack) = &self.ack {
                    out.push(Action::Transmit(ack.clone()));
                }
            }
            // A 2xx after a non-2xx can only come from a downstream fork; it creates a
            // dialog the TU must see (and end), so it is passed up rather than lost.
            (State::Accepted | State::Completed, Class::Success) => {
                out.push(Action::Response(Box::new(response)));
            }
            _ => {}
        }
    }

    /// Fires every timer due at `now` (each at most once per call).
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        for timer in self.timers.due(now).into_iter().flatten() {
            self.fire(now, timer, out);
        }
    }

    /// Fires one timer if it is running and due.
    pub(crate) fn fire(&mut self, now: Instant, timer: Timer, out: &mut Vec<Action>) {
        if self.timers.get(timer).is_none_or(|at| at > now) {
            return;
        }
        match timer {
            Timer::A => {
                out.push(Action::Transmit(self.request.buffer().clone()));
                self.interval = self.interval.saturating_mul(2);
                self.timers.set(Timer::A, deadline(now, self.interval));
            }
            Timer::B => {
                out.push(Action::Timeout(Timer::B));
                self.terminate(out);
            }
            Timer::D | Timer::M => self.terminate(out),
            _ => self.timers.clear(timer),
        }
    }

    /// The transport could not send (or lost the connection): the TU is told and the
    /// transaction terminates.
    pub fn handle_transport_error(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Terminated {
            return;
        }
        out.push(Action::TransportError);
        self.terminate(out);
    }

    fn terminate(&mut self, out: &mut Vec<Action>) {
        self.state = State::Terminated;
        self.timers.clear_all();
        out.push(Action::Terminated);
    }
}

/// A non-INVITE client transaction.
#[derive(Debug, Clone)]
pub struct NonInviteClient {
    state: State,
    request: Message,
    reliability: Reliability,
    config: TimerConfig,
    timers: Slots,
    /// The interval Timer E was last started with.
    interval: Duration,
}

impl NonInviteClient {
    /// Starts the transaction: the request is sent, Timer E starts (unreliable transports
    /// only) at T1 and Timer F at 64·T1. State: Trying.
    pub fn start(
        now: Instant,
        request: Message,
        reliability: Reliability,
        config: TimerConfig,
        out: &mut Vec<Action>,
    ) -> NonInviteClient {
        out.push(Action::Transmit(request.buffer().clone()));
        let mut timers = Slots::default();
        if !reliability.is_reliable() {
            timers.set(Timer::E, deadline(now, config.t1));
        }
        timers.set(Timer::F, deadline(now, config.t1_x64()));
        NonInviteClient {
            state: State::Trying,
            request,
            reliability,
            config,
            timers,
            interval: config.t1,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The request this transaction sends.
    pub fn request(&self) -> &Message {
        &self.request
    }

    /// The transport reliability this transaction runs over.
    pub fn reliability(&self) -> Reliability {
        self.reliability
    }

    /// The deadline of `timer`, if it is running.
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// The earliest running timer's deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub(crate) fn timers(&self) -> &Slots {
        &self.timers
    }

    /// Feeds a response matched to this transaction (§17.1.3).
    ///
    /// 1xx: to the TU, → Proceeding (Timers E and F keep running). 200–699: to the TU,
    /// → Completed with Timer K; later responses are absorbed.
    pub fn handle_response(&mut self, now: Instant, response: Message, out: &mut Vec<Action>) {
        let Some(class) = response.status_code().and_then(Class::of) else {
            return;
        };
        match (self.state, class) {
            (State::Trying | State::Proceeding, Class::Provisional) => {
                self.state = State::Proceeding;
                out.push(Action::Response(Box::new(response)));
            }
            (State::Trying | State::Proceeding, Class::Success | Class::Failure) => {
                self.state = State::Completed;
                self.timers.clear_all();
                out.push(Action::Response(Box::new(response)));
                let wait = self.config.t4_for(self.reliability);
                if wait.is_zero() {
                    self.terminate(out);
                } else {
                    self.timers.set(Timer::K, deadline(now, wait));
                }
            }
            _ => {}
        }
    }

    /// Fires every timer due at `now` (each at most once per call).
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        for timer in self.timers.due(now).into_iter().flatten() {
            self.fire(now, timer, out);
        }
    }

    /// Fires one timer if it is running and due.
    pub(crate) fn fire(&mut self, now: Instant, timer: Timer, out: &mut Vec<Action>) {
        if self.timers.get(timer).is_none_or(|at| at > now) {
            return;
        }
        match timer {
            Timer::E => {
                out.push(Action::Transmit(self.request.buffer().clone()));
                // Trying doubles up to T2; Proceeding retransmits every T2 (§17.1.2.2).
                self.interval = if self.state == State::Proceeding {
                    self.config.t2
                } else {
                    self.interval.saturating_mul(2).min(self.config.t2)
                };
                self.timers.set(Timer::E, deadline(now, self.interval));
            }
            Timer::F => {
                out.push(Action::Timeout(Timer::F));
                self.terminate(out);
            }
            Timer::K => self.terminate(out),
            _ => self.timers.clear(timer),
        }
    }

    /// The transport could not send: the TU is told and the transaction terminates.
    pub fn handle_transport_error(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Terminated {
            return;
        }
        out.push(Action::TransportError);
        self.terminate(out);
    }

    fn terminate(&mut self, out: &mut Vec<Action>) {
        self.state = State::Terminated;
        self.timers.clear_all();
        out.push(Action::Terminated);
    }
}
