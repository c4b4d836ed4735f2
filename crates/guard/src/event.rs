//! Typed security events and counters for the event log and metrics.
//!
//! Field names are stable: the event log and metrics use them as they are. Per-request
//! refusals (rate limits, policy refusals, bad tokens) are coalesced per key: at most one
//! event per notice interval, carrying the number of refusals folded into it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::anonymous::AnonymousForm;
use crate::ban::BanReason;
use crate::key::{AccountKey, MethodClass, SourceKey};
use crate::policy::PolicyRule;
use crate::time::UnixTime;
use crate::token::TokenError;

/// What a rate limit was keyed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitScope {
    /// The transport source.
    Source(SourceKey),
    /// The authenticated account.
    Account(AccountKey),
}

/// A behaviour that marks a source as a scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScannerSignal {
    /// Many distinct users or extensions tried within the window.
    DistinctUsers,
    /// Many OPTIONS within the window.
    OptionsSweep,
    /// Repeated requests for domains that are not ours.
    UnknownDomains,
}

impl ScannerSignal {
    /// Stable lower-case label for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DistinctUsers => "distinct_users",
            Self::OptionsSweep => "options_sweep",
            Self::UnknownDomains => "unknown_domains",
        }
    }
}

/// What the `[policy] anonymous` setting did with an anonymous caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnonymousAction {
    /// Let through (`allow`, or `challenge` over a connection, which proves the source).
    Allowed,
    /// Sent through the return-routability check (`challenge`).
    Challenged,
    /// Refused (`reject`).
    Rejected,
}

impl AnonymousAction {
    /// Every action, in declaration order.
    pub const ALL: [AnonymousAction; 3] = [Self::Allowed, Self::Challenged, Self::Rejected];

    /// Stable lower-case label for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Challenged => "challenged",
            Self::Rejected => "rejected",
        }
    }
}

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityEvent {
    /// A source was banned.
    Banned {
        /// When.
        at: UnixTime,
        /// The source.
        source: SourceKey,
        /// Why.
        reason: BanReason,
        /// When the ban ends.
        until: UnixTime,
        /// Consecutive bans including this one.
        strikes: u32,
    },
    /// An operator lifted a ban.
    BanLifted {
        /// When.
        at: UnixTime,
        /// The source.
        source: SourceKey,
    },
    /// An account was locked after failed authentication attempts.
    AccountLocked {
        /// When.
        at: UnixTime,
        /// The account.
        account: AccountKey,
        /// When the lock ends.
        until: UnixTime,
        /// Consecutive locks including this one.
        lockouts: u32,
        /// The source whose failure tipped it over.
        source: SourceKey,
    },
    /// An operator unlocked an account.
    AccountUnlocked {
        /// When.
        at: UnixTime,
        /// The account.
        account: AccountKey,
    },
    /// Requests were refused for exceeding a rate limit.
    RateLimited {
        /// When.
        at: UnixTime,
        /// Source or account.
        scope: LimitScope,
        /// Method class.
        class: MethodClass,
        /// When a request would next be admitted.
        retry_after: Duration,
        /// Refusals folded into this event since the previous one for the same key.
        suppressed: u32,
    },
    /// A source behaved like a scanner.
    ScannerDetected {
        /// When.
        at: UnixTime,
        /// The source.
        source: SourceKey,
        /// Which behaviour.
        signal: ScannerSignal,
        /// The count that crossed the threshold.
        count: u32,
    },
    /// A request was refused by policy.
    PolicyRefused {
        /// When.
        at: UnixTime,
        /// The source.
        source: SourceKey,
        /// The rule.
        rule: PolicyRule,
        /// Refusals folded into this event.
        suppressed: u32,
    },
    /// A return-routability token was refused.
    TokenRefused {
        /// When.
        at: UnixTime,
        /// The source.
        source: SourceKey,
        /// Why.
        reason: TokenError,
        /// Refusals folded into this event.
        suppressed: u32,
    },
    /// An anonymous (null-authenticated) caller, and what policy did with it. Coalesced
    /// per source like refusals.
    AnonymousCaller {
        /// When.
        at: UnixTime,
        /// The source.
        source: SourceKey,
        /// How the request marked itself anonymous.
        form: AnonymousForm,
        /// What the anonymous policy did.
        action: AnonymousAction,
        /// Anonymous requests from this source folded into this event.
        suppressed: u32,
    },
}

impl SecurityEvent {
    /// Stable lower-case event name.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Banned { .. } => "ban",
            Self::BanLifted { .. } => "ban_lifted",
            Self::AccountLocked { .. } => "lockout",
            Self::AccountUnlocked { .. } => "unlock",
            Self::RateLimited { .. } => "rate_limit",
            Self::ScannerDetected { .. } => "scanner",
            Self::PolicyRefused { .. } => "policy_refusal",
            Self::TokenRefused { .. } => "token_refused",
            Self::AnonymousCaller { .. } => "anonymous_caller",
        }
    }

    /// When it happened.
    pub const fn at(&self) -> UnixTime {
        match self {
            Self::Banned { at, .. }
            | Self::BanLifted { at, .. }
            | Self::AccountLocked { at, .. }
            | Self::AccountUnlocked { at, .. }
            | Self::RateLimited { at, .. }
            | Self::ScannerDetected { at, .. }
            | Self::PolicyRefused { at, .. }
            | Self::TokenRefused { at, .. }
            | Self::AnonymousCaller { at, .. } => *at,
        }
    }

    /// The source involved, if the event names one.
    pub fn source(&self) -> Option<SourceKey> {
        match self {
            Self::Banned { source, .. }
            | Self::BanLifted { source, .. }
            | Self::AccountLocked { source, .. }
            | Self::ScannerDetected { source, .. }
            | Self::PolicyRefused { source, .. }
            | Self::TokenRefused { source, .. }
            | Self::AnonymousCaller { source, .. } => Some(*source),
            Self::RateLimited {
                scope: LimitScope::Source(s),
                ..
            } => Some(*s),
            Self::RateLimited { .. } | Self::AccountUnlocked { .. } => None,
        }
    }
}

/// A bounded event queue: when full, new events are counted and dropped.
#[derive(Debug)]
pub(crate) struct EventQueue {
    events: VecDeque<SecurityEvent>,
    capacity: usize,
    dropped: u64,
}

impl EventQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            events: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, event: SecurityEvent) {
        if self.events.len() < self.capacity {
            self.events.push_back(event);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    pub(crate) fn drain(&mut self) -> std::collections::vec_deque::Drain<'_, SecurityEvent> {
        self.events.drain(..)
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Monotonic counters for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GuardStats {
    /// Requests [`check`](crate::Guard::check) allowed.
    pub allowed: u64,
    /// Requests dropped because the source was banned (including each that earned a ban).
    pub dropped_banned: u64,
    /// Requests dropped because the source is in `deny_cidrs`.
    pub dropped_denied: u64,
    /// Requests refused by a caller policy (deny lists, anonymous reject).
    pub rejected_policy: u64,
    /// Requests refused by a rate limit.
    pub rate_limited: u64,
    /// Requests sent to the return-routability check.
    pub challenged: u64,
    /// Bans started automatically or by an operator.
    pub bans: u64,
    /// Account locks.
    pub lockouts: u64,
    /// Scanner detections.
    pub scanners: u64,
    /// Failed authentication attempts reported.
    pub auth_failures: u64,
    /// Authentication attempts refused because the account was locked.
    pub auth_locked: u64,
    /// Return-routability redirects issued.
    pub tokens_minted: u64,
    /// Return-routability tokens accepted.
    pub tokens_accepted: u64,
    /// Return-routability tokens refused.
    pub tokens_refused: u64,
    /// Requests from anonymous callers (whatever policy did with them).
    pub anonymous: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
}
