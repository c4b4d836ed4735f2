//! Property tests: nonce round trips and tamper detection, the replay window against a model.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use sipwarden_auth::{
    NcVerdict, NonceCountStore, NonceCounts, NonceError, NonceId, NonceInfo, NonceKeys, Timestamp,
    NC_WINDOW,
};

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn nonce_round_trips(
        realm in "[ -~]{0,40}",
        source in ip(),
        ts in 0u64..(1 << 40),
        salt in any::<[u8; 8]>(),
        age in 0u64..600,
    ) {
        let keys = NonceKeys::new(&[42; 32]).unwrap();
        let nonce = keys.issue(&realm, source, Timestamp::from_unix_secs(ts), salt);
        prop_assert_eq!(nonce.len(), 43);
        prop_assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let now = Timestamp::from_unix_secs(ts + age);
        let info = keys.check(&nonce, &realm, source, now, 300, 30).unwrap();
        prop_assert_eq!(info.issued.unix_secs(), ts);
        prop_assert_eq!(info.expired, age > 300);
        let other_realm = format!("{realm}x");
        prop_assert_eq!(keys.check(&nonce, &other_realm, source, now, 300, 30), Err(NonceError::BadMac));
    }

    #[test]
    fn mutated_nonce_never_verifies(
        salt in any::<[u8; 8]>(),
        pos in 0usize..43,
        replacement in "[A-Za-z0-9_-]",
    ) {
        let keys = NonceKeys::new(&[42; 32]).unwrap();
        let src = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let t = Timestamp::from_unix_secs(1_700_000_000);
        let nonce = keys.issue("r", src, t, salt);
        let mut bytes = nonce.clone().into_bytes();
        bytes[pos] = replacement.as_bytes()[0];
        let mutated = String::from_utf8(bytes).unwrap();
        prop_assume!(mutated != nonce);
        prop_assert!(keys.check(&mutated, "r", src, t, 300, 30).is_err());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,64}") {
        let keys = NonceKeys::new(&[42; 32]).unwrap();
        let _ = keys.check(&text, "r", IpAddr::V4(Ipv4Addr::LOCALHOST), Timestamp::default(), 300, 30);
    }

    /// Against a model that remembers everything: the window never accepts a count twice,
    /// and accepts every unused count within the window.
    #[test]
    fn window_matches_model(ops in proptest::collection::vec(1u32..200, 1..300)) {
        let t = Timestamp::from_unix_secs(10);
        let id = NonceInfo { id: NonceId([1; 16]), issued: t, expires: t.plus_secs(300), expired: false };
        let mut store = NonceCounts::default();
        let mut used = HashSet::new();
        let mut max = 0u32;
        prop_assert_eq!(store.check_and_record(&id, 1, t), NcVerdict::Fresh);
        used.insert(1u32);
        max = max.max(1);
        for nc in ops {
            let verdict = store.check_and_record(&id, nc, t);
            if nc + NC_WINDOW <= max {
                // Below the window: refused whether used or not.
                prop_assert_eq!(verdict, NcVerdict::Unknown);
            } else if used.contains(&nc) {
                prop_assert_eq!(verdict, NcVerdict::Replay);
            } else {
                prop_assert_eq!(verdict, NcVerdict::Fresh);
                used.insert(nc);
                max = max.max(nc);
            }
        }
    }
}
