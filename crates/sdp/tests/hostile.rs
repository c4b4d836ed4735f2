//! Malformed and hostile input: typed errors, never a panic, bounded work.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use sipwarden_sdp::{contains_sdes_keys, redact_keys, Limits, Sdp, SdpError, REDACTED};

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";

fn err(input: &[u8]) -> SdpError {
    Sdp::parse(input).unwrap_err()
}

fn with_head(rest: &str) -> Vec<u8> {
    format!("{HEAD}{rest}").into_bytes()
}

#[test]
fn sizes_and_counts_are_bounded() {
    assert_eq!(err(b""), SdpError::Empty);
    assert_eq!(err(b" \r\n\r\n\t"), SdpError::Empty);
    let huge = vec![b'a'; 70_000];
    assert_eq!(err(&huge), SdpError::TooLarge { limit: 65536 });

    let mut many = HEAD.to_owned();
    many.push_str(&"a=x\n".repeat(3000));
    assert_eq!(err(many.as_bytes()), SdpError::TooManyLines { limit: 2048 });

    let long = with_head(&format!("a=tool:{}\r\n", "x".repeat(5000)));
    assert_eq!(
        err(&long),
        SdpError::LineTooLong {
            line: 5,
            limit: 4096
        }
    );

    let media = with_head(&"m=audio 1 RTP/AVP 0\r\n".repeat(65));
    assert_eq!(err(&media), SdpError::TooManyMedia { limit: 64 });

    let tight = Limits {
        max_lines: 5,
        ..Limits::default()
    };
    let six = with_head("a=x\r\na=y\r\n");
    assert_eq!(
        Sdp::parse_with(&six, &tight).unwrap_err(),
        SdpError::TooManyLines { limit: 5 }
    );
}

#[test]
fn line_structure_errors() {
    assert_eq!(
        err(&with_head("a=tool:x\0y\r\n")),
        SdpError::ControlCharacter { line: 5 }
    );
    assert_eq!(
        err(&with_head("a=tool:x\ry\r\n")),
        SdpError::ControlCharacter { line: 5 }
    );
    assert_eq!(
        err(&with_head("a=tool:\x1b[2J\r\n")),
        SdpError::ControlCharacter { line: 5 }
    );
    for bad in [
        "hello\r\n",
        "A=crypto:1 S inline:k\r\n",
        "=x\r\n",
        "a\r\n",
        "ab=c\r\n",
        "1=x\r\n",
    ] {
        assert_eq!(
            err(&with_head(bad)),
            SdpError::BadLine { line: 5 },
            "{bad:?}"
        );
    }
    assert_eq!(
        err(&with_head("\r\na=crypto:1 S inline:k\r\n")),
        SdpError::BlankLine { line: 5 }
    );
    assert_eq!(err(b"\r\nv=0\r\n"), SdpError::BlankLine { line: 1 });
    assert_eq!(
        err(b"v=1\r\no=- 1 1 IN IP4 a\r\ns=-\r\n"),
        SdpError::BadVersion
    );
    assert_eq!(
        err(b"o=- 1 1 IN IP4 a\r\nv=0\r\ns=-\r\n"),
        SdpError::BadVersion
    );
    assert_eq!(err(b"v=0\r\ns=-\r\n"), SdpError::Missing('o'));
    assert_eq!(err(b"v=0\r\no=- 1 1 IN IP4 a\r\n"), SdpError::Missing('s'));
    assert_eq!(
        err(&with_head("o=- 2 2 IN IP4 b\r\n")),
        SdpError::Duplicate { kind: 'o', line: 5 }
    );
    assert_eq!(
        err(&with_head("v=0\r\n")),
        SdpError::Duplicate { kind: 'v', line: 5 }
    );
    assert_eq!(
        err(&with_head("m=audio 1 RTP/AVP 0\r\nt=0 0\r\n")),
        SdpError::Misplaced { kind: 't', line: 6 }
    );
}

fn malformed(input: &[u8]) -> (&'static str, &'static str) {
    match err(input) {
        SdpError::Malformed { field, reason, .. } => (field, reason),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn field_grammar_errors() {
    let cases: &[(&str, &str)] = &[
        ("m=audio\r\n", "m="),
        ("m=audio x RTP/AVP 0\r\n", "m="),
        ("m=audio 70000 RTP/AVP 0\r\n", "m="),
        ("m=audio -1 RTP/AVP 0\r\n", "m="),
        ("m=audio 1/0 RTP/AVP 0\r\n", "m="),
        ("m=audio 1 RTP/AVP\r\n", "m="),
        ("m=audio 1 RTP//AVP 0\r\n", "m="),
        ("m=aud\"io 1 RTP/AVP 0\r\n", "m="),
        ("c=IN IP4\r\n", "c="),
        ("c=IN IP4 a b\r\n", "c="),
        ("m=audio 1 RTP/SAVP 0\r\na=crypto\r\n", "a=crypto"),
        (
            "m=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80\r\n",
            "a=crypto",
        ),
        (
            "m=audio 1 RTP/SAVP 0\r\na=crypto:x AES_CM_128_HMAC_SHA1_80 inline:k\r\n",
            "a=crypto",
        ),
        (
            "m=audio 1 RTP/SAVP 0\r\na=crypto:1234567890 S inline:k\r\n",
            "a=crypto",
        ),
        (
            "m=audio 1 RTP/SAVP 0\r\na=crypto:1 S inline\r\n",
            "a=crypto",
        ),
        (
            "m=audio 1 RTP/SAVP 0\r\na=crypto:1 S inline:\r\n",
            "a=crypto",
        ),
        ("a=fingerprint:sha-256\r\n", "a=fingerprint"),
        ("a=fingerprint:sha-256 AB:CD:G0\r\n", "a=fingerprint"),
        ("a=fingerprint:sha-256 ABC:D\r\n", "a=fingerprint"),
        ("a=fingerprint:sha-256 AB:CD extra\r\n", "a=fingerprint"),
        ("a=setup:sideways\r\n", "a=setup"),
        ("a=zrtp-hash:1.10 abcd\r\n", "a=zrtp-hash"),
        ("a=zrtp-hash:1.10\r\n", "a=zrtp-hash"),
        ("a=cry(pto:1\r\n", "a="),
        ("a=:x\r\n", "a="),
    ];
    for (rest, field) in cases {
        assert_eq!(malformed(&with_head(rest)).0, *field, "{rest:?}");
    }
    assert_eq!(malformed(b"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n").0, "o=");
    assert_eq!(malformed(b"v=0\r\no=- 1 1 IN IP4 a b\r\ns=-\r\n").0, "o=");
}

#[test]
fn contradictions_are_refused() {
    assert_eq!(
        err(&with_head("a=setup:active\r\na=setup:passive\r\n")),
        SdpError::Conflict {
            attribute: "setup",
            line: 6
        }
    );
    assert_eq!(
        err(&with_head(
            "m=audio 1 RTP/AVP 0\r\na=sendonly\r\na=inactive\r\n"
        )),
        SdpError::Conflict {
            attribute: "direction",
            line: 7
        }
    );
    // Repeating the same value is harmless.
    Sdp::parse(&with_head(
        "a=sendrecv\r\na=sendrecv\r\na=setup:active\r\na=setup:active\r\n",
    ))
    .unwrap();
}

#[test]
fn errors_carry_no_input() {
    // Every variant is Copy with static strings only; Display stays short.
    let e = err(&with_head(&format!(
        "m=audio {} RTP/AVP 0\r\n",
        "9".repeat(3000)
    )));
    assert!(e.to_string().len() < 80);
}

const VECTORS: &[&[u8]] = &[
    include_bytes!("vectors/baresip/baresip-srtp-offer.sdp"),
    include_bytes!("vectors/baresip/baresip-dtls_srtp-answer.sdp"),
    include_bytes!("vectors/linphone/linphone-srtp-offer.sdp"),
    include_bytes!("vectors/linphone/linphone-zrtp-offer.sdp"),
    include_bytes!("vectors/linphone/linphone-dtls-invite.sip"),
];

/// The raw check and the classification agree on whether SDES keys are present.
fn consistent(input: &[u8]) {
    if let Ok(sdp) = Sdp::parse(input) {
        let security = sdp.security();
        // The raw scan never misses keys the reader found (it may see more: it is
        // deliberately looser).
        assert!(!security.sdes_keys || contains_sdes_keys(input));
        assert_eq!(security.media.len(), sdp.media.len());
    }
    let once = redact_keys(input);
    assert_eq!(redact_keys(&once).as_ref(), once.as_ref(), "idempotent");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        consistent(&input);
    }

    #[test]
    fn sdp_shaped_lines_never_panic(
        lines in proptest::collection::vec(
            (prop::sample::select(vec!["v", "o", "s", "c", "m", "a", "k", "t", "A", ""]),
             "[ -~\t]{0,40}"),
            0..40,
        ),
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::from("v=0");
        text.push_str(eol);
        for (kind, value) in lines {
            text.push_str(&format!("{kind}={value}{eol}"));
        }
        consistent(text.as_bytes());
    }

    #[test]
    fn mutated_vectors_never_panic(
        which in 0..VECTORS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut input = VECTORS[which].to_vec();
        for (at, byte, op) in edits {
            let i = at.index(input.len() + 1);
            match op {
                0 if i < input.len() => input[i] = byte,
                1 => input.insert(i, byte),
                _ if i < input.len() => { input.remove(i); }
                _ => {}
            }
        }
        consistent(&input);
    }

    #[test]
    fn generated_keys_never_survive_redaction(
        key in "[A-Za-z0-9+/]{24,60}={0,2}",
        upper in any::<bool>(),
        sep in prop::sample::select(vec![" ", "\t", "  "]),
        tail in prop::sample::select(vec!["", "|2^20", "|2^20|1:4", ";inline:QUJD", " KDR=1"]),
        eol in prop::sample::select(vec!["\r\n", "\n", "\r", ""]),
    ) {
        let attr = if upper { "A=CRYPTO" } else { "a=crypto" };
        let text = format!("{HEAD}m=audio 1 RTP/SAVP 0{eol}{attr}:1{sep}AES_CM_128_HMAC_SHA1_80{sep}inline:{key}{tail}{eol}a=ptime:20{eol}");
        let out = redact_keys(text.as_bytes());
        let out = std::str::from_utf8(&out).unwrap();
        prop_assert!(!out.contains(&key));
        prop_assert!(out.contains(REDACTED));
        prop_assert!(contains_sdes_keys(text.as_bytes()));
    }
}
