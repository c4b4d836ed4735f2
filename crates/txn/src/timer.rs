//! Timer names, timer values (T1, T2, T4, Timer D) and the transport reliability that
//! decides which timers run at all (RFC 3261 §17, Table 4; RFC 6026 Timers L and M).

use std::time::{Duration, Instant};

use crate::error::ConfigError;

/// The RFC 3261 / RFC 6026 transaction timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// INVITE client: request retransmission (unreliable only), doubling from T1.
    A,
    /// INVITE client: transaction timeout, 64·T1.
    B,
    /// INVITE client: wait for response retransmissions in Completed.
    D,
    /// Non-INVITE client: request retransmission (unreliable only), doubling up to T2.
    E,
    /// Non-INVITE client: transaction timeout, 64·T1.
    F,
    /// INVITE server: final response retransmission (unreliable only), doubling up to T2.
    G,
    /// INVITE server: wait for ACK, 64·T1.
    H,
    /// INVITE server: wait for ACK retransmissions in Confirmed, T4 (unreliable only).
    I,
    /// Non-INVITE server: wait for request retransmissions in Completed, 64·T1
    /// (unreliable only).
    J,
    /// Non-INVITE client: wait for response retransmissions in Completed, T4
    /// (unreliable only).
    K,
    /// INVITE server (RFC 6026): linger in Accepted to absorb INVITE retransmissions, 64·T1.
    L,
    /// INVITE client (RFC 6026): linger in Accepted to pass 2xx retransmissions, 64·T1.
    M,
}

/// Whether the transport a transaction runs over delivers messages reliably.
///
/// Retransmission timers (A, E, G) run only over unreliable transports, and the
/// "wait for stragglers" timers (D, I, J, K) are zero over reliable ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reliability {
    /// TCP, TLS, WebSocket, SCTP.
    Reliable,
    /// UDP.
    Unreliable,
}

impl Reliability {
    /// True for [`Reliability::Reliable`].
    pub fn is_reliable(self) -> bool {
        self == Reliability::Reliable
    }
}

/// Timer values. Defaults are RFC 3261's: T1 = 500 ms, T2 = 4 s, T4 = 5 s, Timer D = 32 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// Round-trip time estimate; base of every retransmission interval and of 64·T1.
    pub t1: Duration,
    /// Largest retransmission interval for non-INVITE requests and INVITE responses.
    pub t2: Duration,
    /// Longest time a message stays in the network.
    pub t4: Duration,
    /// Timer D over unreliable transports (RFC 3261 requires at least 32 s).
    pub timer_d: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
        }
    }
}

impl TimerConfig {
    /// Checks the values make sense: T1 is not zero (a zero retransmission interval
    /// would retransmit without pause) and T2 is at least T1.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.t1.is_zero() {
            return Err(ConfigError::ZeroT1);
        }
        if self.t2 < self.t1 {
            return Err(ConfigError::T2BelowT1);
        }
        Ok(())
    }

    /// 64·T1: Timers B, F, H, J (unreliable), L and M.
    pub fn t1_x64(&self) -> Duration {
        self.t1.checked_mul(64).unwrap_or(Duration::MAX)
    }

    /// Timer D for this transport: [`TimerConfig::timer_d`] or zero when reliable.
    pub fn timer_d_for(&self, reliability: Reliability) -> Duration {
        if reliability.is_reliable() {
            Duration::ZERO
        } else {
            self.timer_d
        }
    }

    /// Timer I and Timer K for this transport: T4 or zero when reliable.
    pub fn t4_for(&self, reliability: Reliability) -> Duration {
        if reliability.is_reliable() {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer J for this transport: 64·T1 or zero when reliable.
    pub fn timer_j_for(&self, reliability: Reliability) -> Duration {
        if reliability.is_reliable() {
            Duration::ZERO
        } else {
            self.t1_x64()
        }
    }
}

/// `now + d`, or `None` when the sum does not fit an `Instant` (the timer never fires).
pub(crate) fn deadline(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

/// The running timers of one transaction. No machine runs more than two at once
/// (A+B, E+F, G+H), so they live inline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slots([Option<(Timer, Instant)>; 2]);

impl Slots {
    /// Starts (or restarts) `timer`. A deadline that does not fit an `Instant` leaves the
    /// timer stopped.
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.clear(timer);
        let Some(at) = at else { return };
        if let Some(slot) = self.0.iter_mut().find(|s| s.is_none()) {
            *slot = Some((timer, at));
        }
    }

    /// Stops `timer`.
    pub(crate) fn clear(&mut self, timer: Timer) {
        for slot in &mut self.0 {
            if matches!(slot, Some((t, _)) if *t == timer) {
                *slot = None;
            }
        }
    }

    /// Stops every timer.
    pub(crate) fn clear_all(&mut self) {
        self.0 = [None, None];
    }

    /// The deadline of `timer`, if running.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.0
            .iter()
            .flatten()
            .find(|(t, _)| *t == timer)
            .map(|&(_, at)| at)
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().map(|&(_, at)| at).min()
    }

    /// Every running timer.
    pub(crate) fn entries(&self) -> [Option<(Timer, Instant)>; 2] {
        self.0
    }

    /// The timers due at `now`, earliest first.
    pub(crate) fn due(&self, now: Instant) -> [Option<Timer>; 2] {
        let mut due: [Option<(Timer, Instant)>; 2] = self.0;
        for slot in &mut due {
            if matches!(slot, Some((_, at)) if *at > now) {
                *slot = None;
            }
        }
        if let [Some((_, a)), Some((_, b))] = due {
            if b < a {
                due.reverse();
            }
        }
        due.map(|slot| slot.map(|(t, _)| t))
    }
}
