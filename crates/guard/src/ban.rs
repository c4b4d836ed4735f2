//! Temporary source bans with escalation.
//!
//! A banned source gets no answer at all: scanners move on after a few seconds of silence,
//! while an error response tells them a server is there and invites a flood. Each new ban
//! of a source remembered from an earlier one lasts twice as long, up to a maximum, and
//! the memory of past bans fades after a quiet period.

use core::fmt;
use std::time::Duration;

use crate::error::ConfigError;
use crate::key::SourceKey;
use crate::store::{BoundedMap, TableKey};
use crate::time::UnixTime;

/// Why a source was banned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BanReason {
    /// Kept sending far over its rate limit.
    Flood,
    /// Too many failed authentication attempts.
    PasswordGuessing,
    /// Behaved like a scanner (see [`ScannerSignal`](crate::ScannerSignal)).
    Scanner,
    /// Banned by an operator.
    Manual,
}

impl BanReason {
    /// Stable lower-case label for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Flood => "flood",
            Self::PasswordGuessing => "password_guessing",
            Self::Scanner => "scanner",
            Self::Manual => "manual",
        }
    }
}

impl fmt::Display for BanReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ban durations and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanConfig {
    /// Most sources remembered (banned, or recently banned for escalation).
    pub capacity: usize,
    /// Length of a first ban.
    pub base: Duration,
    /// Longest automatic ban.
    pub max: Duration,
    /// A source whose last ban ended this long ago starts again at `base`.
    pub forget_after: Duration,
}

impl Default for BanConfig {
    fn default() -> Self {
        Self {
            capacity: 65_536,
            base: Duration::from_secs(60),
            max: Duration::from_secs(24 * 3600),
            forget_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl BanConfig {
    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.capacity == 0 {
            return Err(ConfigError::new("bans.capacity", "must be at least 1"));
        }
        if self.base.is_zero() {
            return Err(ConfigError::new("bans.base", "must be non-zero"));
        }
        if self.max < self.base {
            return Err(ConfigError::new(
                "bans.max",
                "must not be shorter than bans.base",
            ));
        }
        Ok(())
    }

    /// Length of ban number `strike` (1-based): base × 2^(strike−1), at most `max`.
    pub fn duration(&self, strike: u32) -> Duration {
        let shift = strike.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << shift).min(self.max)
    }
}

/// A ban as shown to an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanInfo {
    /// The banned source.
    pub source: SourceKey,
    /// Why.
    pub reason: BanReason,
    /// When this ban started.
    pub since: UnixTime,
    /// When it ends.
    pub until: UnixTime,
    /// How many bans in a row this source has earned (1 for a first ban).
    pub strikes: u32,
    /// Requests dropped under this ban.
    pub dropped: u64,
}

#[derive(Debug, Clone, Copy)]
struct BanEntry {
    reason: BanReason,
    since: UnixTime,
    until: UnixTime,
    strikes: u32,
    dropped: u64,
}

impl BanEntry {
    fn info(&self, source: SourceKey) -> BanInfo {
        BanInfo {
            source,
            reason: self.reason,
            since: self.since,
            until: self.until,
            strikes: self.strikes,
            dropped: self.dropped,
        }
    }
}

/// Whether a call to [`BanList::ban`] started a ban or found one running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanOutcome {
    /// A new ban starts now.
    Started(BanInfo),
    /// The source was already banned; nothing changed.
    AlreadyBanned(BanInfo),
}

impl BanOutcome {
    /// The ban in force.
    pub const fn info(&self) -> &BanInfo {
        match self {
            Self::Started(i) | Self::AlreadyBanned(i) => i,
        }
    }
}

/// The bounded list of banned sources.
pub struct BanList {
    store: BoundedMap<SourceKey, BanEntry>,
    config: BanConfig,
}

impl BanList {
    /// An empty list (call [`BanConfig::validate`] first).
    pub fn new(config: BanConfig, key: TableKey) -> Self {
        Self {
            store: BoundedMap::new(config.capacity, key),
            config,
        }
    }

    /// Whether `source` is banned at `now` (does not count as activity).
    pub fn is_banned(&self, source: SourceKey, now: UnixTime) -> bool {
        self.store.peek(&source).is_some_and(|e| e.until > now)
    }

    /// For the request path: whether `source` is banned, and if so counts a dropped
    /// request and marks the entry as seen so an active attacker's ban is the last to be
    /// evicted.
    pub fn hit(&mut self, source: SourceKey, now: UnixTime) -> bool {
        let active = self.store.peek(&source).is_some_and(|e| e.until > now);
        if !active {
            return false;
        }
        if let Some(entry) = self.store.get(&source) {
            entry.dropped = entry.dropped.saturating_add(1);
        }
        true
    }

    /// The ban on `source`, if one is in force.
    pub fn get(&self, source: SourceKey, now: UnixTime) -> Option<BanInfo> {
        self.store
            .peek(&source)
            .filter(|e| e.until > now)
            .map(|e| e.info(source))
    }

    /// Bans `source` automatically: one step longer than its previous ban if that ended
    /// less than `forget_after` ago, else `base`. A running ban is left as it is.
    pub fn ban(&mut self, source: SourceKey, reason: BanReason, now: UnixTime) -> BanOutcome {
        let previous = self.store.peek(&source).copied();
        if let Some(p) = previous.filter(|p| p.until > now) {
            return BanOutcome::AlreadyBanned(p.info(source));
        }
        let strikes = match previous {
            Some(p) if now.since(p.until) < self.config.forget_after => p.strikes.saturating_add(1),
            _ => 1,
        };
        let until = now.plus(self.config.duration(strikes));
        BanOutcome::Started(self.put(source, reason, now, until, strikes))
    }

    /// Bans `source` for exactly `duration` (an operator's ban), replacing any running
    /// ban; the strike count is kept so later automatic bans still escalate.
    pub fn ban_for(
        &mut self,
        source: SourceKey,
        duration: Duration,
        reason: BanReason,
        now: UnixTime,
    ) -> BanInfo {
        let strikes = self.store.peek(&source).map_or(1, |p| p.strikes.max(1));
        self.put(source, reason, now, now.plus(duration), strikes)
    }

    fn put(
        &mut self,
        source: SourceKey,
        reason: BanReason,
        since: UnixTime,
        until: UnixTime,
        strikes: u32,
    ) -> BanInfo {
        let entry = BanEntry {
            reason,
            since,
            until,
            strikes,
            dropped: 0,
        };
        self.store.insert(source, entry);
        entry.info(source)
    }

    /// Lifts the ban on `source` and forgets its history; true if it was banned.
    pub fn lift(&mut self, source: SourceKey, now: UnixTime) -> bool {
        self.store.remove(&source).is_some_and(|e| e.until > now)
    }

    /// Bans in force at `now`, soonest to end first.
    pub fn list(&self, now: UnixTime) -> Vec<BanInfo> {
        let mut out: Vec<BanInfo> = self
            .store
            .iter()
            .filter(|(_, e)| e.until > now)
            .map(|(k, e)| e.info(*k))
            .collect();
        out.sort_by_key(|b| (b.until, b.source));
        out
    }

    /// Drops entries whose ban ended more than `forget_after` ago (optional upkeep; the
    /// list stays bounded without it).
    pub fn purge(&mut self, now: UnixTime) {
        let forget = self.config.forget_after;
        self.store
            .retain(|_, e| e.until > now || now.since(e.until) < forget);
    }

    /// Sources remembered (active bans and recent history).
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Most sources remembered.
    pub fn capacity(&self) -> usize {
        self.store.capacity()
    }

    /// Whether the list's allocations are still those made at creation.
    pub fn allocation_unchanged(&self) -> bool {
        self.store.allocation_unchanged()
    }

    /// The configuration in force.
    pub fn config(&self) -> &BanConfig {
        &self.config
    }
}
