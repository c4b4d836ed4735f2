//! GCRA (generic cell rate algorithm) limits and a bounded keyed rate limiter.
//!
//! GCRA keeps one number per key, the theoretical arrival time (TAT) of the next
//! conforming request: a request at `t` conforms when `max(TAT, t) - t` is within the
//! burst tolerance, and then pushes TAT one emission interval further. That is the same
//! decision as a token bucket refilled continuously, without a separate token count.

use core::hash::Hash;
use std::time::Duration;

use crate::error::ConfigError;
use crate::key::MethodClass;
use crate::store::{BoundedMap, TableKey};
use crate::time::{duration_nanos, UnixTime};

/// A rate: `count` requests per `period`, with bursts of up to `burst` back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests per period.
    pub count: u32,
    /// The period.
    pub period: Duration,
    /// Requests that may arrive back to back after a quiet spell.
    pub burst: u32,
}

impl Quota {
    /// `count` per second, burst `count`.
    pub const fn per_second(count: u32) -> Self {
        Self {
            count,
            period: Duration::from_secs(1),
            burst: count,
        }
    }

    /// `count` per minute, burst `count`.
    pub const fn per_minute(count: u32) -> Self {
        Self {
            count,
            period: Duration::from_secs(60),
            burst: count,
        }
    }

    /// The same rate with another burst.
    #[must_use]
    pub const fn with_burst(self, burst: u32) -> Self {
        Self { burst, ..self }
    }

    /// Checks that count, period and burst are non-zero.
    pub fn validate(&self, field: &'static str) -> Result<(), ConfigError> {
        if self.count == 0 {
            return Err(ConfigError::new(field, "count must be at least 1"));
        }
        if self.burst == 0 {
            return Err(ConfigError::new(field, "burst must be at least 1"));
        }
        if self.period.is_zero() {
            return Err(ConfigError::new(field, "period must be non-zero"));
        }
        Ok(())
    }

    pub(crate) fn gcra(&self) -> Gcra {
        let interval = (duration_nanos(self.period) / u64::from(self.count.max(1))).max(1);
        Gcra {
            interval,
            tolerance: interval.saturating_mul(u64::from(self.burst.max(1) - 1)),
        }
    }
}

/// One [`Quota`] per [`MethodClass`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassQuotas {
    /// REGISTER.
    pub register: Quota,
    /// INVITE.
    pub invite: Quota,
    /// OPTIONS.
    pub options: Quota,
    /// Every other method.
    pub other: Quota,
}

impl ClassQuotas {
    /// The quota for `class`.
    pub const fn get(&self, class: MethodClass) -> Quota {
        match class {
            MethodClass::Register => self.register,
            MethodClass::Invite => self.invite,
            MethodClass::Options => self.options,
            MethodClass::Other => self.other,
        }
    }

    /// Validates every quota; `field` prefixes the error's field path.
    pub fn validate(&self, fields: [&'static str; 4]) -> Result<(), ConfigError> {
        let [r, i, o, x] = fields;
        self.register.validate(r)?;
        self.invite.validate(i)?;
        self.options.validate(o)?;
        self.other.validate(x)
    }

    fn gcras(&self) -> [Gcra; 4] {
        MethodClass::ALL.map(|c| self.get(c).gcra())
    }
}

/// A GCRA limit in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// Emission interval: period / count.
    interval: u64,
    /// How far TAT may run ahead of now: interval × (burst − 1).
    tolerance: u64,
}

impl Gcra {
    /// Admits one request at `now` against `tat`, or says how long until one would be.
    pub(crate) fn admit(&self, tat: &mut u64, now: u64) -> Result<(), u64> {
        let start = (*tat).max(now);
        let ahead = start - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        *tat = start.saturating_add(self.interval);
        Ok(())
    }
}

/// A count that leaks one unit per `decay`, kept as a single time value like a GCRA TAT:
/// the level is how many decay intervals the stored time lies ahead of now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Leaky(u64);

impl Leaky {
    /// Adds one unit at `now` and returns the new level.
    pub(crate) fn add(&mut self, now: UnixTime, decay: Duration) -> u32 {
        let d = duration_nanos(decay).max(1);
        let now = now.unix_nanos();
        self.0 = self.0.max(now).saturating_add(d);
        level(self.0 - now, d)
    }

    /// Empties it.
    pub(crate) fn reset(&mut self) {
        self.0 = 0;
    }

    /// True while anything is left at `now`.
    pub(crate) fn is_empty_at(&self, now: UnixTime) -> bool {
        self.0 <= now.unix_nanos()
    }
}

fn level(ahead: u64, d: u64) -> u32 {
    u32::try_from(ahead.div_ceil(d)).unwrap_or(u32::MAX)
}

/// What a rate limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the limit.
    Allowed,
    /// Over the limit.
    Limited {
        /// When a request of this class would next be admitted.
        retry_after: Duration,
        /// Refused requests for this key, leaking at the configured violation decay: a
        /// key far over its limit for long shows a high, growing count.
        violations: u32,
        /// True at most once per notice interval per key, so a flood yields one event
        /// per interval rather than one per packet; `suppressed` counts those in between.
        notify: bool,
        /// Refusals since the previous notice.
        suppressed: u32,
    },
}

#[derive(Debug, Clone, Copy, Default)]
struct LimiterEntry {
    tat: [u64; 4],
    violations: Leaky,
    last_notice: Option<UnixTime>,
    suppressed: u32,
}

/// Settings for a [`RateLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Most keys tracked at once.
    pub capacity: usize,
    /// Quotas for ordinary keys.
    pub quotas: ClassQuotas,
    /// Quotas for keys the caller vouches for (see [`RateLimiter::check`]).
    pub relaxed: ClassQuotas,
    /// One recorded violation is forgotten per this interval.
    pub violation_decay: Duration,
    /// Least time between two notices for one key.
    pub notice_interval: Duration,
}

/// A GCRA rate limiter per key and [`MethodClass`] over a [`BoundedMap`]: memory stays at
/// its capacity however many distinct keys it sees. An evicted key starts afresh, which
/// only ever lets in a burst from a key that had been quiet longer than every other.
pub struct RateLimiter<K> {
    store: BoundedMap<K, LimiterEntry>,
    quotas: [Gcra; 4],
    relaxed: [Gcra; 4],
    violation_decay: Duration,
    notice_interval: Duration,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter hashing keys under `key`.
    pub fn new(config: &LimiterConfig, key: TableKey) -> Self {
        Self {
            store: BoundedMap::new(config.capacity, key),
            quotas: config.quotas.gcras(),
            relaxed: config.relaxed.gcras(),
            violation_decay: config.violation_decay,
            notice_interval: config.notice_interval,
        }
    }

    /// Counts one request of `class` from `key` at `now`. `relaxed` selects the relaxed
    /// quotas (a source that recently authenticated, say).
    pub fn check(
        &mut self,
        key: &K,
        class: MethodClass,
        relaxed: bool,
        now: UnixTime,
    ) -> RateDecision {
        let gcra = if relaxed { &self.relaxed } else { &self.quotas };
        let Some(gcra) = gcra.get(class.index()).copied() else {
            return RateDecision::Allowed;
        };
        let Some(entry) = self.store.get_or_insert_with(key, LimiterEntry::default) else {
            return RateDecision::Allowed;
        };
        let Some(tat) = entry.tat.get_mut(class.index()) else {
            return RateDecision::Allowed;
        };
        match gcra.admit(tat, now.unix_nanos()) {
            Ok(()) => RateDecision::Allowed,
            Err(wait) => {
                let violations = entry.violations.add(now, self.violation_decay);
                let notify = entry
                    .last_notice
                    .is_none_or(|t| now.since(t) >= self.notice_interval);
                let suppressed = entry.suppressed;
                if notify {
                    entry.last_notice = Some(now);
                    entry.suppressed = 0;
                } else {
                    entry.suppressed = entry.suppressed.saturating_add(1);
                }
                RateDecision::Limited {
                    retry_after: Duration::from_nanos(wait),
                    violations,
                    notify,
                    suppressed,
                }
            }
        }
    }

    /// Forgets `key` (after a ban, say, so the ban is not followed by a stale limit).
    pub fn forget(&mut self, key: &K) {
        self.store.remove(key);
    }

    /// Keys tracked.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Most keys tracked at once.
    pub fn capacity(&self) -> usize {
        self.store.capacity()
    }

    /// Whether the limiter's allocations are still those made at creation.
    pub fn allocation_unchanged(&self) -> bool {
        self.store.allocation_unchanged()
    }

    /// Keys evicted to make room so far.
    pub fn evictions(&self) -> u64 {
        self.store.evictions()
    }
}
