use std::time::{Duration, UNIX_EPOCH};

use crate::Timestamp;

fn ts(secs: u64, millis: u64) -> String {
    Timestamp(UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis)).to_string()
}

#[test]
fn rfc3339_known_instants() {
    assert_eq!(ts(0, 0), "1970-01-01T00:00:00.000Z");
    assert_eq!(ts(951_782_400, 5), "2000-02-29T00:00:00.005Z");
    assert_eq!(ts(1_709_164_799, 999), "2024-02-28T23:59:59.999Z");
    assert_eq!(ts(1_709_251_200, 0), "2024-03-01T00:00:00.000Z");
    assert_eq!(ts(4_102_444_800, 0), "2100-01-01T00:00:00.000Z");
    assert_eq!(ts(1_795_366_555, 123), "2026-11-22T16:55:55.123Z");
}

#[test]
fn before_epoch_is_epoch() {
    let t = Timestamp(UNIX_EPOCH - Duration::from_secs(10));
    assert_eq!(t.to_string(), "1970-01-01T00:00:00.000Z");
}
