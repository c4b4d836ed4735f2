//! Nonce-count replay protection.
//!
//! Each use of a nonce carries a nonce count (`nc`). A verified request is accepted only if
//! its `nc` was never seen for that nonce. Per nonce the store keeps the highest `nc` seen
//! and a bitmap of the [`NC_WINDOW`] counts below it, so requests sent with increasing `nc`
//! but delivered out of order (UDP, retransmissions, pipelined requests) are each accepted
//! once.
//!
//! Memory is bounded: entries are dropped once their nonce has expired (an expired nonce is
//! answered `stale` before the store is consulted) and, past a hard cap, the oldest entry is
//! evicted. Forgetting a nonce early never allows a replay, it only costs the client a
//! re-challenge:
//!
//! - a nonce the store does not know is accepted only with `nc` = 1, otherwise it is
//!   [`NcVerdict::Unknown`], which the verifier answers with `stale=true`;
//! - a replay of an evicted nonce's `nc` = 1 would look like a first use, so the store keeps
//!   a watermark, the latest issue time of any evicted nonce, and treats every unknown nonce
//!   issued at or before it as [`NcVerdict::Unknown`] too.
//!
//! Only verified responses reach the store, so filling it takes authenticated traffic. Size
//! the cap for the nonces in use within one lifetime (the default holds 65,536): a cap
//! smaller than one second's worth of new nonces would answer fresh nonces `stale`.

use std::collections::{HashMap, VecDeque};

use crate::nonce::{NonceId, NonceInfo, Timestamp};

/// How many counts below the highest seen are remembered per nonce.
pub const NC_WINDOW: u32 = 64;

/// Default hard cap on tracked nonces for [`NonceCounts::default`].
const DEFAULT_CAPACITY: usize = 65_536;

/// Answer of a [`NonceCountStore`] for one `(nonce, nc)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NcVerdict {
    /// Never seen: now recorded.
    Fresh,
    /// Already used: a replay.
    Replay,
    /// Cannot be proven unused, so never accepted (the verifier answers `stale`): the nonce
    /// is not tracked and `nc` is not 1, or it was issued no later than an evicted nonce, or
    /// its entry expired, or `nc` lies below the remembered window.
    Unknown,
}

/// Remembers which nonce counts were used. Implementations must be atomic per call (a
/// shared store checks and records in one step) so two copies of a request racing to
/// different instances cannot both get [`NcVerdict::Fresh`].
pub trait NonceCountStore {
    /// Checks `nc` for the verified `nonce` and records it if fresh. The entry may be
    /// dropped once `nonce.expires` has passed. `nc` is at least 1.
    fn check_and_record(&mut self, nonce: &NonceInfo, nc: u32, now: Timestamp) -> NcVerdict;
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    issued: Timestamp,
    expires: Timestamp,
    /// Highest nc seen.
    max: u32,
    /// Bit `i` set: `max - i` was used.
    seen: u64,
}

/// In-memory [`NonceCountStore`] for a single instance, bounded by a hard cap.
#[derive(Debug)]
pub struct NonceCounts {
    entries: HashMap<NonceId, Entry>,
    /// Insertion order; holds exactly the keys of `entries`.
    order: VecDeque<NonceId>,
    capacity: usize,
    /// Latest issue time of an entry evicted before it expired.
    evicted_through: Option<Timestamp>,
}

impl Default for NonceCounts {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl NonceCounts {
    /// A tracker holding at most `capacity` nonces (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity,
            evicted_through: None,
        }
    }

    /// Number of tracked nonces.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The hard cap.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops entries whose nonce has expired, oldest first, stopping at the first live one.
    pub fn purge_expired(&mut self, now: Timestamp) {
        while let Some(front) = self.order.front().copied() {
            match self.entries.get(&front) {
                Some(entry) if entry.expires >= now => break,
                _ => {
                    self.order.pop_front();
                    self.entries.remove(&front);
                }
            }
        }
    }

    fn insert(&mut self, nonce: NonceId, entry: Entry, now: Timestamp) {
        self.purge_expired(now);
        while self.entries.len() >= self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(evicted) = self.entries.remove(&oldest) {
                self.evicted_through = self.evicted_through.max(Some(evicted.issued));
            }
        }
        self.entries.insert(nonce, entry);
        self.order.push_back(nonce);
    }
}

impl NonceCountStore for NonceCounts {
    fn check_and_record(&mut self, nonce: &NonceInfo, nc: u32, now: Timestamp) -> NcVerdict {
        if nc == 0 {
            return NcVerdict::Unknown;
        }
        let Some(entry) = self.entries.get_mut(&nonce.id) else {
            if nc != 1 || self.evicted_through >= Some(nonce.issued) {
                return NcVerdict::Unknown;
            }
            let entry = Entry {
                issued: nonce.issued,
                expires: nonce.expires,
                max: 1,
                seen: 1,
            };
            self.insert(nonce.id, entry, now);
            return NcVerdict::Fresh;
        };
        if now > entry.expires {
            // Left in place; the order queue drops it.
            return NcVerdict::Unknown;
        }
        if nc > entry.max {
            let shift = nc - entry.max;
            entry.seen = if shift >= 64 { 0 } else { entry.seen << shift };
            entry.seen |= 1;
            entry.max = nc;
            return NcVerdict::Fresh;
        }
        let back = entry.max - nc;
        if back >= NC_WINDOW {
            return NcVerdict::Unknown;
        }
        let bit = 1u64 << back;
        if entry.seen & bit != 0 {
            NcVerdict::Replay
        } else {
            entry.seen |= bit;
            NcVerdict::Fresh
        }
    }
}
