//! Read deadlines of a stream connection: idle timeout and slow-sender protection.

use std::time::Instant;

use crate::limits::TransportLimits;

/// Which deadline a connection's next read runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No traffic at all for the idle timeout.
    Idle,
    /// A message was started but not finished in time.
    SlowSender,
}

/// Tracks when a connection last saw traffic and when the message being received
/// began, and says until when the next read may wait.
#[derive(Debug, Clone, Copy)]
pub struct ReadClock {
    last_activity: Instant,
    partial_since: Option<Instant>,
}

impl ReadClock {
    /// A clock for a connection opened at `now`.
    pub fn new(now: Instant) -> ReadClock {
        ReadClock {
            last_activity: now,
            partial_since: None,
        }
    }

    /// Records bytes received at `now`. `completed` says whether they finished at least
    /// one message (or keep-alive); `partial` whether an unfinished one is buffered
    /// afterwards. The slow-sender clock starts with the first byte of a message (for a
    /// pipelined message: when the one before it completed) and stops when nothing
    /// unfinished is buffered.
    pub fn on_read(&mut self, now: Instant, completed: bool, partial: bool) {
        self.last_activity = now;
        self.partial_since = match (partial, completed, self.partial_since) {
            (false, _, _) => None,
            (true, true, _) | (true, false, None) => Some(now),
            (true, false, Some(since)) => Some(since),
        };
    }

    /// Sets when the message being received began (for transports that learn it
    /// separately from their reads, such as WebSocket).
    pub fn started_at(&mut self, since: Instant) {
        self.partial_since = Some(since);
    }

    /// The deadline of the next read and what it means when it passes.
    pub fn deadline(&self, limits: &TransportLimits) -> (Instant, Expiry) {
        let idle = self
            .last_activity
            .checked_add(limits.idle_timeout)
            .unwrap_or(self.last_activity);
        match self.partial_since {
            Some(since) => {
                let slow = since.checked_add(limits.message_timeout).unwrap_or(since);
                if slow <= idle {
                    (slow, Expiry::SlowSender)
                } else {
                    (idle, Expiry::Idle)
                }
            }
            None => (idle, Expiry::Idle),
        }
    }
}
