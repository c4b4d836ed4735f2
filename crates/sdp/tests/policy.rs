//! Media key policy decisions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sipwarden_sdp::{classify, MediaPolicy, Refusal, SdpSecurity};

fn v(path: &str) -> SdpSecurity {
    let bytes: &[u8] = match path {
        "none" => include_bytes!("vectors/baresip/baresip-none-offer.sdp"),
        "srtp" => include_bytes!("vectors/baresip/baresip-srtp-offer.sdp"),
        "srtp-mand" => include_bytes!("vectors/baresip/baresip-srtp-mand-offer.sdp"),
        "dtls" => include_bytes!("vectors/baresip/baresip-dtls_srtp-offer.sdp"),
        "zrtp" => include_bytes!("vectors/linphone/linphone-zrtp-offer.sdp"),
        "zrtp-answer" => include_bytes!("vectors/linphone/linphone-zrtp-answer.sdp"),
        "linphone-srtp" => include_bytes!("vectors/linphone/linphone-srtp-offer.sdp"),
        _ => unreachable!(),
    };
    classify(bytes).unwrap()
}

fn synthetic(media: &str) -> SdpSecurity {
    classify(format!("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n{media}").as_bytes()).unwrap()
}

const UDP: bool = false;
const TLS: bool = true;

#[test]
fn default_refuses_sdes_over_a_plain_hop_only() {
    let p = MediaPolicy::default();
    assert!(p.sdes_requires_tls_hop && !p.require_srtp && !p.e2e_only);
    for name in ["srtp", "srtp-mand", "linphone-srtp"] {
        assert_eq!(
            p.check(&v(name), UDP),
            Err(Refusal::KeysOverPlainHop),
            "{name}"
        );
        assert_eq!(p.check(&v(name), TLS), Ok(()), "{name}");
    }
    for name in ["none", "dtls", "zrtp"] {
        assert_eq!(p.check(&v(name), UDP), Ok(()), "{name}");
    }
    // Keys on a disabled line, or in a k= line, are exposed just the same.
    let disabled = synthetic(
        "m=audio 1 RTP/AVP 0\r\nm=audio 0 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD\r\n",
    );
    assert_eq!(p.check(&disabled, UDP), Err(Refusal::KeysOverPlainHop));
    let k = synthetic("m=audio 1 RTP/AVP 0\r\nk=clear:secret\r\n");
    assert_eq!(p.check(&k, UDP), Err(Refusal::KeysOverPlainHop));

    let off = MediaPolicy {
        sdes_requires_tls_hop: false,
        ..MediaPolicy::default()
    };
    assert_eq!(off.check(&v("srtp"), UDP), Ok(()));
}

#[test]
fn require_srtp() {
    let p = MediaPolicy {
        require_srtp: true,
        ..MediaPolicy::default()
    };
    assert_eq!(p.check(&v("none"), TLS), Err(Refusal::SrtpRequired));
    // Best-effort offers carry SRTP; it is the answer that must keep it.
    assert_eq!(p.check(&v("srtp"), TLS), Ok(()));
    assert_eq!(p.check(&v("zrtp"), TLS), Ok(()));
    assert_eq!(p.check(&v("zrtp-answer"), TLS), Err(Refusal::SrtpRequired));
    assert_eq!(p.check(&v("dtls"), UDP), Ok(()));
    assert_eq!(
        p.check(&synthetic("m=audio 1 RTP/SAVP 0\r\n"), TLS),
        Err(Refusal::SrtpRequired)
    );
    assert_eq!(
        p.check(
            &synthetic("m=audio 1 RTP/SAVP 0\r\na=crypto:1 S inline:QUJD UNENCRYPTED_SRTP\r\n"),
            TLS
        ),
        Err(Refusal::SrtpRequired)
    );
    // Nothing flows: nothing to protect (a hold with a=inactive).
    assert_eq!(
        p.check(&synthetic("m=audio 1 RTP/AVP 0\r\na=inactive\r\n"), UDP),
        Ok(())
    );
    // The SDES rule comes first.
    assert_eq!(p.check(&v("srtp"), UDP), Err(Refusal::KeysOverPlainHop));
}

#[test]
fn end_to_end_only() {
    let p = MediaPolicy {
        e2e_only: true,
        ..MediaPolicy::default()
    };
    assert_eq!(p.check(&v("dtls"), UDP), Ok(()));
    assert_eq!(p.check(&v("zrtp"), UDP), Ok(()));
    assert_eq!(
        p.check(&v("srtp-mand"), TLS),
        Err(Refusal::EndToEndRequired)
    );
    assert_eq!(p.check(&v("none"), TLS), Err(Refusal::EndToEndRequired));
    // DTLS offered alongside SDES keys: the keys are visible anyway.
    let both = synthetic(
        "m=audio 1 RTP/SAVPF 0\r\na=fingerprint:sha-256 AB:CD\r\na=crypto:1 S inline:QUJD\r\n",
    );
    assert_eq!(p.check(&both, TLS), Err(Refusal::EndToEndRequired));
    // One clear line is enough to refuse.
    let half = synthetic(
        "m=audio 1 UDP/TLS/RTP/SAVP 0\r\na=fingerprint:sha-256 AB:CD\r\nm=video 2 RTP/AVP 96\r\n",
    );
    assert_eq!(p.check(&half, TLS), Err(Refusal::EndToEndRequired));
}

#[test]
fn unreadable_bodies() {
    let p = MediaPolicy::default();
    let junk = b"\x00\x01 a=crypto:1 S inline:QUJD";
    assert!(classify(junk).is_err());
    assert_eq!(p.check_unparsed(junk, UDP), Err(Refusal::KeysOverPlainHop));
    assert_eq!(p.check_unparsed(junk, TLS), Ok(()));
    assert_eq!(
        p.check_unparsed(b"garbage\nk=clear:x\n", UDP),
        Err(Refusal::KeysOverPlainHop)
    );
    assert_eq!(p.check_unparsed(b"garbage", UDP), Ok(()));
    let strict = MediaPolicy {
        require_srtp: true,
        ..p
    };
    assert_eq!(
        strict.check_unparsed(b"garbage", TLS),
        Err(Refusal::Unreadable)
    );
}

#[test]
fn warning_header() {
    let r = Refusal::KeysOverPlainHop;
    assert_eq!(
        (Refusal::STATUS, Refusal::REASON_PHRASE),
        (488, "Not Acceptable Here")
    );
    assert_eq!(
        r.warning_value("proxy.example.com"),
        "399 proxy.example.com \"SDES media keys would cross a signalling hop without TLS\""
    );
    // A hostile agent string cannot break the header.
    assert_eq!(
        Refusal::SrtpRequired.warning_value("a\r\nX: y \"z\""),
        "399 aX:yz \"policy requires SRTP on every media stream\""
    );
    assert_eq!(
        Refusal::Unreadable.warning_value("\r\n").split(' ').nth(1),
        Some("-")
    );
    for r in [
        Refusal::KeysOverPlainHop,
        Refusal::SrtpRequired,
        Refusal::EndToEndRequired,
        Refusal::Unreadable,
    ] {
        assert!(!r.warning_text().contains(['"', '\\']));
        assert_eq!(r.to_string(), r.warning_text());
        assert!(!r.as_str().is_empty());
    }
}
