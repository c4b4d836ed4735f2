//! Redaction: keys never survive, every other byte does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::borrow::Cow;

use sipwarden_sdp::{contains_sdes_keys, redact_keys, redact_str, Sdp, REDACTED};

macro_rules! vector {
    ($path:literal) => {
        ($path, include_bytes!(concat!("vectors/", $path)).as_slice())
    };
}

const WITH_KEYS: &[(&str, &[u8])] = &[
    vector!("baresip/baresip-srtp-offer.sdp"),
    vector!("baresip/baresip-srtp-answer.sdp"),
    vector!("baresip/baresip-srtp-invite.sip"),
    vector!("baresip/baresip-srtp-200ok.sip"),
    vector!("baresip/baresip-srtp-mand-offer.sdp"),
    vector!("baresip/baresip-srtp-mand-answer.sdp"),
    vector!("baresip/baresip-srtp-mand-invite.sip"),
    vector!("baresip/baresip-srtp-mand-200ok.sip"),
    vector!("baresip/baresip-srtp-mandf-offer.sdp"),
    vector!("baresip/baresip-srtp-mandf-answer.sdp"),
    vector!("baresip/baresip-srtp-mandf-invite.sip"),
    vector!("baresip/baresip-srtp-mandf-200ok.sip"),
    vector!("linphone/linphone-srtp-offer.sdp"),
    vector!("linphone/linphone-srtp-answer.sdp"),
    vector!("linphone/linphone-srtp-invite.sip"),
    vector!("linphone/linphone-srtp-200ok.sip"),
];

const WITHOUT_KEYS: &[(&str, &[u8])] = &[
    vector!("baresip/baresip-none-offer.sdp"),
    vector!("baresip/baresip-none-invite.sip"),
    vector!("baresip/baresip-dtls_srtp-offer.sdp"),
    vector!("baresip/baresip-dtls_srtp-200ok.sip"),
    vector!("linphone/linphone-none-invite.sip"),
    vector!("linphone/linphone-dtls-invite.sip"),
    vector!("linphone/linphone-zrtp-invite.sip"),
    vector!("linphone/linphone-zrtp-offer.sdp"),
];

/// The base64 key||salt of every `inline:` in `input`, found independently of the
/// library: after `inline:`, up to `|` or end of line.
fn keys_in(input: &[u8]) -> Vec<Vec<u8>> {
    let text = std::str::from_utf8(input).unwrap();
    text.split("inline:")
        .skip(1)
        .map(|rest| {
            rest.split(['|', '\r', '\n', ' ', ';'])
                .next()
                .unwrap()
                .as_bytes()
                .to_vec()
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// What the redacted form must be: each key replaced by the marker, nothing else.
fn expected(input: &[u8], keys: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for key in keys {
        let at = out
            .windows(key.len())
            .position(|w| w == key.as_slice())
            .unwrap();
        out.splice(at..at + key.len(), REDACTED.bytes());
    }
    out
}

#[test]
fn vectors_with_keys_lose_exactly_their_keys() {
    for (name, input) in WITH_KEYS {
        assert!(contains_sdes_keys(input), "{name}");
        let keys = keys_in(input);
        assert!(!keys.is_empty(), "{name}");
        let out = redact_keys(input);
        assert!(matches!(out, Cow::Owned(_)), "{name}");
        for key in &keys {
            assert!(key.len() >= 40, "{name}: a real key");
            assert!(!contains(&out, key), "{name}: key survived");
        }
        assert_eq!(out.as_ref(), expected(input, &keys).as_slice(), "{name}");
        // Idempotent, and the redacted SDP still parses (for display tools).
        assert_eq!(redact_keys(&out).as_ref(), out.as_ref(), "{name}");
    }
}

#[test]
fn linphone_offer_loses_all_four_keys() {
    let input = WITH_KEYS[12].1;
    let out = redact_keys(input);
    let text = std::str::from_utf8(&out).unwrap();
    assert_eq!(text.matches("inline:[redacted]").count(), 4);
    assert!(text.contains("a=crypto:3 AES_256_CM_HMAC_SHA1_80 inline:[redacted]\r\n"));
}

#[test]
fn vectors_without_keys_are_borrowed_unchanged() {
    for (name, input) in WITHOUT_KEYS {
        assert!(!contains_sdes_keys(input), "{name}");
        assert!(
            matches!(redact_keys(input), Cow::Borrowed(b) if b == *input),
            "{name}"
        );
    }
}

#[test]
fn lifetime_mki_and_session_parameters_stay() {
    let line = b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo1|2^20|1:4;inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw|2^20|2:4 KDR=1 FEC_KEY=inline:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0|2^20 UNENCRYPTED_SRTCP\r\n";
    let out = redact_keys(line);
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]|2^20|1:4;inline:[redacted]|2^20|2:4 KDR=1 FEC_KEY=inline:[redacted]|2^20 UNENCRYPTED_SRTCP\r\n"
    );
}

#[test]
fn case_spacing_and_line_endings_do_not_hide_keys() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"A=CRYPTO:1 AES_CM_128_HMAC_SHA1_80 INLINE:S3kR3t",
            "A=CRYPTO:1 AES_CM_128_HMAC_SHA1_80 INLINE:[redacted]",
        ),
        (
            b"a=crypto:1\tAES_CM_128_HMAC_SHA1_80\t\tinline:S3kR3t\n",
            "a=crypto:1\tAES_CM_128_HMAC_SHA1_80\t\tinline:[redacted]\n",
        ),
        (
            b"x\ra=crypto:1 S inline:S3kR3t\ry",
            "x\ra=crypto:1 S inline:[redacted]\ry",
        ),
        // Malformed: too few fields to place the key, so the whole value goes.
        (b"a=crypto:inline:S3kR3t\r\n", "a=crypto:[redacted]\r\n"),
        (b"a=crypto:1 inline:S3kR3t\r\n", "a=crypto:[redacted]\r\n"),
        // A key method other than inline.
        (
            b"a=crypto:1 S other:S3kR3t|2^31\r\n",
            "a=crypto:1 S other:[redacted]|2^31\r\n",
        ),
        // At the very end of the input, no line ending.
        (
            b"a=crypto:1 S inline:S3kR3t",
            "a=crypto:1 S inline:[redacted]",
        ),
        // In a header of a whole message.
        (
            b"Subject: a=crypto:1 S inline:S3kR3t\r\n",
            "Subject: a=crypto:1 S inline:[redacted]\r\n",
        ),
    ];
    for (input, want) in cases {
        assert!(contains_sdes_keys(input));
        let out = redact_keys(input);
        assert_eq!(std::str::from_utf8(&out).unwrap(), *want);
        assert!(!contains(&out, b"S3kR3t"));
    }
}

#[test]
fn key_field_and_mikey_are_hidden_too() {
    let input = b"v=0\r\nk=clear:S3kR3t\r\nm=audio 1 RTP/SAVP 0\r\nK=base64:S3kR3t\r\nk=prompt\r\na=key-mgmt:mikey S3kR3tMikeyData==\r\n";
    let out = redact_keys(input);
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        "v=0\r\nk=clear:[redacted]\r\nm=audio 1 RTP/SAVP 0\r\nK=base64:[redacted]\r\nk=prompt\r\na=key-mgmt:mikey [redacted]\r\n"
    );
    assert!(!contains_sdes_keys(input), "only a=crypto is SDES");
    // `k=` inside a line is not the key field.
    assert!(matches!(
        redact_keys(b"Foo: bk=clear:x\r\n"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn text_redaction_keeps_utf8() {
    let s = "s=Gespräch ☎\r\na=crypto:1 S inline:S3kR3t|2^20\r\n";
    assert_eq!(
        redact_str(s),
        "s=Gespräch ☎\r\na=crypto:1 S inline:[redacted]|2^20\r\n"
    );
    assert!(matches!(
        redact_str("nothing here"),
        Cow::Borrowed("nothing here")
    ));
}

#[test]
fn parsed_values_never_print_keys() {
    for (name, input) in WITH_KEYS.iter().filter(|(n, _)| n.ends_with(".sdp")) {
        let sdp = Sdp::parse(input).unwrap();
        let mut dump = format!("{sdp:?}{:?}", sdp.security());
        for m in &sdp.media {
            for a in m.attributes() {
                dump.push_str(&format!("{a:?}"));
            }
        }
        for key in keys_in(input) {
            assert!(
                !contains(dump.as_bytes(), &key),
                "{name}: key in Debug output"
            );
        }
        assert!(
            dump.contains("AES_CM_128_HMAC_SHA1_80"),
            "{name}: suites are shown"
        );
        assert!(
            dump.contains(REDACTED),
            "{name}: crypto attribute value hidden"
        );
    }
}

#[test]
fn errors_never_print_input() {
    // A crypto line that breaks the grammar after its key.
    let input =
        b"v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nm=audio 1 RTP/SAVP 0\r\na=crypto:x S inline:S3kR3t\r\n";
    let err = Sdp::parse(input).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("S3kR3t"));
}
