//! Randomness for SRV weighted selection, injected so tests are deterministic.

use std::hash::{BuildHasher, RandomState};

/// Source of the uniform numbers RFC 2782 weighted selection draws.
pub trait WeightRandom {
    /// A number uniformly drawn from `0..=total`. Values above `total` are
    /// clamped by the caller.
    fn pick(&mut self, total: u32) -> u32;
}

impl<F: FnMut(u32) -> u32> WeightRandom for F {
    fn pick(&mut self, total: u32) -> u32 {
        self(total)
    }
}

/// Unpredictable but not cryptographic randomness from the standard library's
/// randomly keyed hasher. SRV weights balance load; they protect nothing.
#[derive(Debug, Clone, Default)]
pub struct StdWeightRandom {
    keys: RandomState,
    counter: u64,
}

impl StdWeightRandom {
    /// A generator with fresh random keys.
    pub fn new() -> Self {
        Self::default()
    }
}

impl WeightRandom for StdWeightRandom {
    fn pick(&mut self, total: u32) -> u32 {
        self.counter = self.counter.wrapping_add(1);
        let draw = self.keys.hash_one(self.counter);
        let bound = u64::from(total) + 1;
        // The result is below `bound`, which is at most u32::MAX + 1.
        u32::try_from(draw % bound).unwrap_or(total)
    }
}
