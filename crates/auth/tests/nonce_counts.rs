//! The nonce-count window and the bounded tracker.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sipwarden_auth::{
    NcVerdict, NonceCountStore, NonceCounts, NonceId, NonceInfo, Timestamp, NC_WINDOW,
};

const T0: Timestamp = Timestamp::from_unix_secs(1_000_000);
const EXP: Timestamp = Timestamp::from_unix_secs(1_000_300);

/// Nonce `n`, issued at `T0 + n / 100` (100 nonces a second) and valid until `EXP`.
fn id(n: u64) -> NonceInfo {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    NonceInfo {
        id: NonceId(b),
        issued: T0.plus_secs(n / 100),
        expires: EXP,
        expired: false,
    }
}

#[test]
fn first_use_must_be_one() {
    let mut s = NonceCounts::default();
    assert_eq!(s.check_and_record(&id(1), 2, T0), NcVerdict::Unknown);
    assert_eq!(s.check_and_record(&id(1), 0, T0), NcVerdict::Unknown);
    assert!(s.is_empty());
    assert_eq!(s.check_and_record(&id(1), 1, T0), NcVerdict::Fresh);
    assert_eq!(s.check_and_record(&id(1), 1, T0), NcVerdict::Replay);
    assert_eq!(s.len(), 1);
}

#[test]
fn window_accepts_each_count_once_in_any_order() {
    let mut s = NonceCounts::default();
    assert_eq!(s.check_and_record(&id(1), 1, T0), NcVerdict::Fresh);
    let order = [10u32, 3, 7, 2, 9, 4, 8, 6, 5];
    for nc in order {
        assert_eq!(
            s.check_and_record(&id(1), nc, T0),
            NcVerdict::Fresh,
            "nc={nc}"
        );
    }
    for nc in 1..=10 {
        assert_eq!(
            s.check_and_record(&id(1), nc, T0),
            NcVerdict::Replay,
            "nc={nc}"
        );
    }
}

#[test]
fn counts_below_the_window_are_never_accepted() {
    let mut s = NonceCounts::default();
    assert_eq!(s.check_and_record(&id(1), 1, T0), NcVerdict::Fresh);
    let top = 1 + NC_WINDOW + 5;
    assert_eq!(s.check_and_record(&id(1), top, T0), NcVerdict::Fresh);
    // Still inside the window: unused, so accepted once.
    assert_eq!(
        s.check_and_record(&id(1), top - NC_WINDOW + 1, T0),
        NcVerdict::Fresh
    );
    // Fell off the window: cannot be proven unused.
    assert_eq!(
        s.check_and_record(&id(1), top - NC_WINDOW, T0),
        NcVerdict::Unknown
    );
    assert_eq!(s.check_and_record(&id(1), 2, T0), NcVerdict::Unknown);
    // A jump far ahead clears the window rather than misreading old bits.
    assert_eq!(s.check_and_record(&id(1), top + 1000, T0), NcVerdict::Fresh);
    assert_eq!(s.check_and_record(&id(1), top + 999, T0), NcVerdict::Fresh);
    assert_eq!(
        s.check_and_record(&id(1), top + 1000, T0),
        NcVerdict::Replay
    );
    assert_eq!(s.check_and_record(&id(1), u32::MAX, T0), NcVerdict::Fresh);
    assert_eq!(s.check_and_record(&id(1), u32::MAX, T0), NcVerdict::Replay);
}

#[test]
fn nonces_are_independent() {
    let mut s = NonceCounts::default();
    assert_eq!(s.check_and_record(&id(1), 1, T0), NcVerdict::Fresh);
    assert_eq!(s.check_and_record(&id(2), 1, T0), NcVerdict::Fresh);
    assert_eq!(s.check_and_record(&id(2), 2, T0), NcVerdict::Fresh);
    assert_eq!(s.check_and_record(&id(1), 2, T0), NcVerdict::Fresh);
}

#[test]
fn bounded_under_many_nonces() {
    let cap = 1000;
    let mut s = NonceCounts::with_capacity(cap);
    for n in 0..50_000u64 {
        assert_eq!(s.check_and_record(&id(n), 1, T0), NcVerdict::Fresh);
        assert!(s.len() <= cap);
    }
    assert_eq!(s.len(), cap);
    // The newest are still tracked: their replays are caught.
    for n in 49_000..50_000u64 {
        assert_eq!(s.check_and_record(&id(n), 1, T0), NcVerdict::Replay);
    }
    // An evicted nonce is forgotten; with nc > 1 that means stale, never acceptance.
    assert_eq!(s.check_and_record(&id(0), 2, T0), NcVerdict::Unknown);
    assert_eq!(s.check_and_record(&id(10), 7, T0), NcVerdict::Unknown);
    // Replaying an evicted nonce's first request (nc = 1) is refused too: it was issued no
    // later than the newest evicted nonce.
    for n in [0, 1, 500, 48_999] {
        assert_eq!(
            s.check_and_record(&id(n), 1, T0),
            NcVerdict::Unknown,
            "nonce {n}"
        );
    }
    // So is an unused nonce issued that early (the client just gets a fresh challenge)...
    let early = NonceInfo {
        id: NonceId([0xee; 16]),
        ..id(48_999)
    };
    assert_eq!(s.check_and_record(&early, 1, T0), NcVerdict::Unknown);
    // ...while nonces issued later are accepted.
    assert_eq!(s.check_and_record(&id(50_000), 1, T0), NcVerdict::Fresh);
    assert_eq!(s.len(), cap);
}

#[test]
fn expired_entries_are_dropped_and_refused() {
    let mut s = NonceCounts::with_capacity(100);
    for n in 0..50u64 {
        assert_eq!(s.check_and_record(&id(n), 1, T0), NcVerdict::Fresh);
    }
    let later = EXP.plus_secs(1);
    // Expired entries answer Unknown (stale) even for a count never used.
    assert_eq!(s.check_and_record(&id(3), 2, later), NcVerdict::Unknown);
    s.purge_expired(later);
    assert!(s.is_empty());
    // A new insertion purges what has expired.
    for n in 0..50u64 {
        s.check_and_record(&id(n), 1, T0);
    }
    let new = NonceInfo {
        issued: later,
        expires: later.plus_secs(300),
        ..id(999)
    };
    assert_eq!(s.check_and_record(&new, 1, later), NcVerdict::Fresh);
    assert_eq!(s.len(), 1);
    assert_eq!(s.capacity(), 100);
}

#[test]
fn usable_as_trait_object() {
    let mut s = NonceCounts::with_capacity(0);
    let store: &mut dyn NonceCountStore = &mut s;
    assert_eq!(store.check_and_record(&id(1), 1, T0), NcVerdict::Fresh);
    assert_eq!(store.check_and_record(&id(2), 1, T0), NcVerdict::Fresh);
    assert_eq!(store.check_and_record(&id(1), 2, T0), NcVerdict::Unknown);
}
