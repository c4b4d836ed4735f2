use std::time::{Duration, Instant};

use crate::deadline::{Expiry, ReadClock};
use crate::limits::TransportLimits;

fn limits() -> TransportLimits {
    TransportLimits {
        message_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(300),
        ..TransportLimits::default()
    }
}

#[test]
fn idle_connection_waits_for_the_idle_timeout() {
    let t0 = Instant::now();
    let clock = ReadClock::new(t0);
    assert_eq!(
        clock.deadline(&limits()),
        (t0 + Duration::from_secs(300), Expiry::Idle)
    );
}

#[test]
fn a_started_message_must_finish_within_the_message_timeout_from_its_first_byte() {
    let t0 = Instant::now();
    let mut clock = ReadClock::new(t0);
    clock.on_read(t0 + Duration::from_secs(1), false, true);
    // Trickling more bytes does not extend the deadline.
    clock.on_read(t0 + Duration::from_secs(8), false, true);
    assert_eq!(
        clock.deadline(&limits()),
        (t0 + Duration::from_secs(11), Expiry::SlowSender)
    );
    // Completing the message clears it.
    clock.on_read(t0 + Duration::from_secs(9), true, false);
    assert_eq!(
        clock.deadline(&limits()),
        (t0 + Duration::from_secs(309), Expiry::Idle)
    );
}

#[test]
fn a_pipelined_message_starts_its_own_clock() {
    let t0 = Instant::now();
    let mut clock = ReadClock::new(t0);
    clock.on_read(t0, false, true);
    clock.on_read(t0 + Duration::from_secs(5), true, true);
    assert_eq!(
        clock.deadline(&limits()),
        (t0 + Duration::from_secs(15), Expiry::SlowSender)
    );
}

#[test]
fn the_earlier_deadline_wins() {
    let t0 = Instant::now();
    let l = TransportLimits {
        message_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(30),
        ..TransportLimits::default()
    };
    let mut clock = ReadClock::new(t0);
    clock.on_read(t0, false, true);
    assert_eq!(
        clock.deadline(&l),
        (t0 + Duration::from_secs(30), Expiry::Idle)
    );
}
