use super::msg;
use crate::reply::{has_tag, random_hex, response, TagMaker};

#[test]
fn tag_detection() {
    assert!(has_tag(b"<sip:a@b>;tag=1"));
    assert!(has_tag(b"sip:a@b ; TAG = 1"));
    assert!(
        !has_tag(b"<sip:a@b;tag=1>"),
        "a URI parameter is not the header's tag"
    );
    assert!(!has_tag(b"\"x\" <sip:a@b>;tagx=1"));
    assert!(!has_tag(b"sip:a@b"));
}

#[test]
fn responses_copy_the_five_headers_in_order() {
    let req = msg("INVITE sip:b@x SIP/2.0\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\nv: SIP/2.0/UDP b;branch=z9hG4bK2\nf: <sip:a@x>;tag=9\nt: <sip:b@x>\ni: call\nCSeq: 4 INVITE\nSubject: hi\nContent-Length: 0\n\n");
    let out = response(&req, 486, "Busy Here", Some("t1"), &[("Retry-After", "5")]);
    assert_eq!(
        String::from_utf8(out.to_vec()).unwrap(),
        "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK2\r\nFrom: <sip:a@x>;tag=9\r\nTo: <sip:b@x>;tag=t1\r\nCall-ID: call\r\nCSeq: 4 INVITE\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n"
    );
    // 100 Trying never gets a tag.
    let trying = response(&req, 100, "Trying", Some("t1"), &[]);
    assert!(String::from_utf8(trying.to_vec())
        .unwrap()
        .contains("To: <sip:b@x>\r\n"));
}

#[test]
fn cancel_and_invite_share_a_tag() {
    let tags = TagMaker::new();
    let invite = msg("INVITE sip:b@x SIP/2.0\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=9\nTo: <sip:b@x>\nCall-ID: call\nCSeq: 4 INVITE\nContent-Length: 0\n\n");
    let cancel = msg("CANCEL sip:b@x SIP/2.0\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=9\nTo: <sip:b@x>\nCall-ID: call\nCSeq: 4 CANCEL\nContent-Length: 0\n\n");
    assert_eq!(tags.tag_for(&invite), tags.tag_for(&cancel));
}

#[test]
fn random_tokens_are_hex_and_differ() {
    let a = random_hex(8);
    assert_eq!(a.len(), 16);
    assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(a, random_hex(8));
}

#[test]
fn random_bytes_from_the_pool_are_never_repeated_across_refills() {
    use std::collections::HashSet;
    let mut seen = HashSet::new();
    // 3,000 draws of 8 bytes cross many 512-byte refills of the per-thread pool.
    for _ in 0..3_000 {
        let mut b = [0u8; 8];
        crate::reply::random_bytes(&mut b);
        assert!(seen.insert(b), "repeated random bytes");
    }
    // A draw larger than the pool still gets fresh bytes.
    let mut big = [0u8; 600];
    crate::reply::random_bytes(&mut big);
    assert!(big.iter().any(|&b| b != 0));
    let tag = random_hex(20);
    assert_eq!(tag.len(), 40);
    assert!(tag
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
}
