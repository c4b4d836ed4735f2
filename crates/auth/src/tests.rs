//! Unit tests of the private encoders.

use crate::encoding::{base64url_decode, base64url_encode, hex_nibble, push_quoted};

#[test]
fn hex_nibbles() {
    let all: Vec<u8> = (0..16).map(hex_nibble).collect();
    assert_eq!(all, b"0123456789abcdef");
}

#[test]
fn base64url_known_values() {
    // RFC 4648 §10 vectors, unpadded, in the URL alphabet.
    for (raw, enc) in [
        (&b"f"[..], "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (b"fooba", "Zm9vYmE"),
        (b"foobar", "Zm9vYmFy"),
        (&[0xfb, 0xff], "-_8"),
    ] {
        let mut s = String::new();
        base64url_encode(raw, &mut s);
        assert_eq!(s, enc);
    }
    assert_eq!(base64url_decode::<6>(b"Zm9vYmFy"), Some(*b"foobar"));
    assert_eq!(base64url_decode::<2>(b"-_8"), Some([0xfb, 0xff]));
    // Non-canonical trailing bits, wrong length, padding, wrong alphabet.
    assert_eq!(base64url_decode::<2>(b"-_9"), None);
    assert_eq!(base64url_decode::<6>(b"Zm9vYmF"), None);
    assert_eq!(base64url_decode::<1>(b"Zg=="), None);
    assert_eq!(base64url_decode::<2>(b"+/8"), None);
}

#[test]
fn base64url_round_trip_32() {
    for seed in 0u8..=255 {
        let raw: [u8; 32] =
            core::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 7));
        let mut s = String::new();
        base64url_encode(&raw, &mut s);
        assert_eq!(s.len(), 43);
        assert_eq!(base64url_decode::<32>(s.as_bytes()), Some(raw));
    }
}

#[test]
fn quoting() {
    let mut s = String::new();
    push_quoted(&mut s, "a\"b\\c\r\nd\te");
    assert_eq!(s, "\"a\\\"b\\\\cd\te\"");
}
