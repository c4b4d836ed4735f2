//! A fixed-capacity keyed store that evicts the least-recently-seen key.
//!
//! Every defence keeps per-key state, and an attacker controls how many distinct keys
//! exist (each IPv6 /64, each spoofed IPv4 address). This store caps both the number of
//! entries and the memory behind them: the entry slab and the hash index are sized once,
//! from the capacity, when the store is created and never grow. A full store recycles the
//! slot of the key seen least recently, so sources that keep sending (the ones worth
//! limiting) stay while one-off keys fall out.
//!
//! The index is a fixed open-addressing table (linear probing, at most half full,
//! backward-shift deletion so no tombstones build up) keyed with SipHash-1-3 under a
//! caller-supplied key, so an attacker who picks source addresses cannot aim them at one
//! probe sequence.

use core::hash::{BuildHasher, Hash};

use siphasher::sip::SipHasher13;

/// Largest capacity a store accepts (16 Mi entries); its index is allocated up front.
pub const MAX_CAPACITY: usize = 1 << 24;

const NIL: u32 = u32::MAX;

/// A 128-bit key for the hash index, supplied by the caller (drawn at random at startup).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TableKey(pub [u8; 16]);

impl core::fmt::Debug for TableKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TableKey(..)")
    }
}

/// Keyed SipHash-1-3 for the store's index.
#[derive(Clone, Copy)]
pub(crate) struct SipBuild {
    k0: u64,
    k1: u64,
}

impl SipBuild {
    pub(crate) fn new(key: TableKey) -> Self {
        let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7] = key.0;
        Self {
            k0: u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
            k1: u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
        }
    }

    /// A 32-bit keyed fingerprint of `value` (for small membership sketches).
    pub(crate) fn fingerprint<T: Hash + ?Sized>(&self, value: &T) -> u32 {
        let h = self.hash_one(value);
        // Fold the halves so every input bit can reach the result.
        u32::try_from((h ^ (h >> 32)) & u64::from(u32::MAX)).unwrap_or(0)
    }
}

impl BuildHasher for SipBuild {
    type Hasher = SipHasher13;

    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }
}

struct Slot<K, V> {
    key: K,
    value: V,
    /// The key's hash, kept so deletion can move entries without rehashing.
    hash: u64,
    /// Towards the most recently seen end.
    prev: u32,
    /// Towards the least recently seen end.
    next: u32,
}

/// Open-addressing table of slot numbers; `NIL` marks an empty bucket.
struct Index {
    buckets: Box<[u32]>,
    mask: usize,
}

impl Index {
    fn new(capacity: usize) -> Self {
        // At most half full: probe sequences stay short.
        let size = capacity.saturating_mul(2).next_power_of_two().max(2);
        Self {
            buckets: vec![NIL; size].into_boxed_slice(),
            mask: size - 1,
        }
    }

    fn home(&self, hash: u64) -> usize {
        // Truncation is intended: only the low bits select a bucket.
        (hash as usize) & self.mask
    }

    fn get(&self, pos: usize) -> u32 {
        self.buckets.get(pos).copied().unwrap_or(NIL)
    }

    fn set(&mut self, pos: usize, slot: u32) {
        if let Some(b) = self.buckets.get_mut(pos) {
            *b = slot;
        }
    }

    /// Position of the bucket holding the slot that satisfies `is_it`, probing from the
    /// home bucket of `hash`.
    fn find(&self, hash: u64, mut is_it: impl FnMut(u32) -> bool) -> Option<usize> {
        let mut pos = self.home(hash);
        for _ in 0..self.buckets.len() {
            let slot = self.get(pos);
            if slot == NIL {
                return None;
            }
            if is_it(slot) {
                return Some(pos);
            }
            pos = (pos + 1) & self.mask;
        }
        None
    }

    /// Puts `slot` in the first empty bucket from `hash`'s home (the key must be absent).
    fn insert(&mut self, hash: u64, slot: u32) {
        let mut pos = self.home(hash);
        for _ in 0..self.buckets.len() {
            if self.get(pos) == NIL {
                self.set(pos, slot);
                return;
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// Empties the bucket at `pos`, shifting later members of its probe run back so that
    /// every entry stays reachable from its home bucket. `hash_of` gives a slot's hash.
    fn remove_at(&mut self, mut pos: usize, hash_of: impl Fn(u32) -> u64) {
        self.set(pos, NIL);
        let mut next = pos;
        for _ in 0..self.buckets.len() {
            next = (next + 1) & self.mask;
            let slot = self.get(next);
            if slot == NIL {
                return;
            }
            let home = self.home(hash_of(slot));
            // The entry may stay if its home lies cyclically in (pos, next].
            let stays = if pos <= next {
                pos < home && home <= next
            } else {
                pos < home || home <= next
            };
            if !stays {
                self.set(pos, slot);
                self.set(next, NIL);
                pos = next;
            }
        }
    }

    fn clear(&mut self) {
        self.buckets.fill(NIL);
    }

    fn len(&self) -> usize {
        self.buckets.len()
    }
}

/// A map holding at most `capacity` entries; inserting into a full map evicts the entry
/// seen least recently. Lookups through [`get`](Self::get) and
/// [`get_or_insert_with`](Self::get_or_insert_with) count as "seen"; [`peek`](Self::peek)
/// does not.
pub struct BoundedMap<K, V> {
    hasher: SipBuild,
    index: Index,
    slots: Vec<Slot<K, V>>,
    head: u32,
    tail: u32,
    capacity: usize,
    evictions: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// A store for at most `capacity` entries (clamped to `1..=MAX_CAPACITY`), hashing
    /// under `key`. Allocates its slab and index now, once; neither ever grows.
    pub fn new(capacity: usize, key: TableKey) -> Self {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        Self {
            hasher: SipBuild::new(key),
            index: Index::new(capacity),
            slots: Vec::with_capacity(capacity),
            head: NIL,
            tail: NIL,
            capacity,
            evictions: 0,
        }
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The most entries it will ever hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Buckets in the hash index: fixed at creation (twice the capacity, rounded up to a
    /// power of two).
    pub fn index_buckets(&self) -> usize {
        self.index.len()
    }

    /// How many entries the slab can hold without reallocating (at least `capacity`).
    pub fn slab_capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Whether the slab is still the allocation made at creation: it was reserved for
    /// `capacity` entries and never holds more, so it never reallocates.
    pub fn allocation_unchanged(&self) -> bool {
        self.slots.capacity() >= self.capacity && self.slots.len() <= self.capacity
    }

    /// Entries evicted to make room so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    fn locate(&self, key: &K) -> Option<(usize, u32)> {
        let hash = self.hasher.hash_one(key);
        let slots = &self.slots;
        let pos = self.index.find(hash, |i| {
            slots
                .get(i as usize)
                .is_some_and(|s| s.hash == hash && s.key == *key)
        })?;
        Some((pos, self.index.get(pos)))
    }

    /// The value for `key`, marking it as seen.
    pub fn get(&mut self, key: &K) -> Option<&mut V> {
        let (_, i) = self.locate(key)?;
        self.touch(i);
        self.slots.get_mut(i as usize).map(|s| &mut s.value)
    }

    /// The value for `key`, without marking it as seen.
    pub fn peek(&self, key: &K) -> Option<&V> {
        let (_, i) = self.locate(key)?;
        self.slots.get(i as usize).map(|s| &s.value)
    }

    /// The value for `key`, mutable, without marking it as seen.
    pub fn peek_mut(&mut self, key: &K) -> Option<&mut V> {
        let (_, i) = self.locate(key)?;
        self.slots.get_mut(i as usize).map(|s| &mut s.value)
    }

    /// The value for `key`, inserting `make()` first if absent (evicting the entry seen
    /// least recently when full), and marking it as seen. The key is cloned only when
    /// inserted. `None` only if the store's internal links were inconsistent, which the
    /// operations here never produce.
    pub fn get_or_insert_with(&mut self, key: &K, make: impl FnOnce() -> V) -> Option<&mut V> {
        if let Some((_, i)) = self.locate(key) {
            self.touch(i);
            return self.slots.get_mut(i as usize).map(|s| &mut s.value);
        }
        let hash = self.hasher.hash_one(key);
        let i = if self.slots.len() < self.capacity {
            let i = u32::try_from(self.slots.len()).ok()?;
            self.slots.push(Slot {
                key: key.clone(),
                value: make(),
                hash,
                prev: NIL,
                next: NIL,
            });
            i
        } else {
            // Recycle the least recently seen slot in place.
            let i = self.tail;
            let old_hash = self.slots.get(i as usize)?.hash;
            let pos = self.index.find(old_hash, |s| s == i)?;
            let slots = &self.slots;
            self.index
                .remove_at(pos, |s| slots.get(s as usize).map_or(0, |x| x.hash));
            self.unlink(i);
            let slot = self.slots.get_mut(i as usize)?;
            slot.key = key.clone();
            slot.value = make();
            slot.hash = hash;
            self.evictions = self.evictions.saturating_add(1);
            i
        };
        self.index.insert(hash, i);
        self.push_front(i);
        self.slots.get_mut(i as usize).map(|s| &mut s.value)
    }

    /// Inserts or replaces the value for `key`, marking it as seen.
    pub fn insert(&mut self, key: K, value: V) {
        match self.get(&key) {
            Some(slot) => *slot = value,
            None => {
                self.get_or_insert_with(&key, || value);
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (pos, i) = self.locate(key)?;
        let slots = &self.slots;
        self.index
            .remove_at(pos, |s| slots.get(s as usize).map_or(0, |x| x.hash));
        self.unlink(i);
        let last = u32::try_from(self.slots.len().checked_sub(1)?).ok()?;
        if i != last {
            // The last slot moves into `i`: repoint its bucket and list neighbours.
            let moved = self.slots.get(last as usize)?;
            let (hash, prev, next) = (moved.hash, moved.prev, moved.next);
            if let Some(p) = self.index.find(hash, |s| s == last) {
                self.index.set(p, i);
            }
            self.set_next(prev, i);
            self.set_prev(next, i);
        }
        if (i as usize) < self.slots.len() {
            Some(self.slots.swap_remove(i as usize).value)
        } else {
            None
        }
    }

    /// Removes every entry for which `keep` returns false.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let doomed: Vec<K> = self
            .slots
            .iter()
            .filter(|s| !keep(&s.key, &s.value))
            .map(|s| s.key.clone())
            .collect();
        for key in &doomed {
            self.remove(key);
        }
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.slots.iter().map(|s| (&s.key, &s.value))
    }

    /// Removes every entry, keeping the allocations.
    pub fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.head = NIL;
        self.tail = NIL;
    }

    /// The key seen least recently (the next to be evicted).
    pub fn oldest(&self) -> Option<&K> {
        self.slots.get(self.tail as usize).map(|s| &s.key)
    }

    fn touch(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    fn unlink(&mut self, i: u32) {
        let Some(slot) = self.slots.get(i as usize) else {
            return;
        };
        let (prev, next) = (slot.prev, slot.next);
        self.set_next(prev, next);
        self.set_prev(next, prev);
        if let Some(slot) = self.slots.get_mut(i as usize) {
            slot.prev = NIL;
            slot.next = NIL;
        }
    }

    fn push_front(&mut self, i: u32) {
        let old = self.head;
        if let Some(slot) = self.slots.get_mut(i as usize) {
            slot.prev = NIL;
            slot.next = old;
        }
        self.set_prev(old, i);
        self.head = i;
    }

    /// `slots[at].next = to`, or the head pointer when `at` is NIL.
    fn set_next(&mut self, at: u32, to: u32) {
        if at == NIL {
            self.head = to;
        } else if let Some(slot) = self.slots.get_mut(at as usize) {
            slot.next = to;
        }
    }

    /// `slots[at].prev = to`, or the tail pointer when `at` is NIL.
    fn set_prev(&mut self, at: u32, to: u32) {
        if at == NIL {
            self.tail = to;
        } else if let Some(slot) = self.slots.get_mut(at as usize) {
            slot.prev = to;
        }
    }
}
