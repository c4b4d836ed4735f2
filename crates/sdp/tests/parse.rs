//! The reader: fields, tolerance, attribute iteration, protocol classes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sipwarden_sdp::{classify, Direction, Keying, Profile, Proto, Sdp, Setup};

const LINPHONE_OFFER: &[u8] = include_bytes!("vectors/linphone/linphone-srtp-offer.sdp");

#[test]
fn fields_of_a_real_offer() {
    let sdp = Sdp::parse(LINPHONE_OFFER).unwrap();
    assert_eq!(sdp.origin.username, "linphone");
    assert_eq!(sdp.origin.session_id, "2135");
    assert_eq!(sdp.origin.session_version, "1879");
    assert_eq!(sdp.origin.address, "198.18.0.1");
    assert_eq!(sdp.session_name.0, b"Talk");
    let c = sdp.connection.unwrap();
    assert_eq!(
        (c.net_type, c.addr_type, c.address),
        ("IN", "IP4", "198.18.0.1")
    );
    assert_eq!(sdp.media.len(), 1);
    let m = &sdp.media[0];
    assert_eq!(
        (m.media, m.port, m.port_count, m.line),
        ("audio", 35210, None, 7)
    );
    assert_eq!(m.proto.name, "RTP/SAVP");
    assert_eq!(
        m.formats().collect::<Vec<_>>(),
        ["96", "97", "98", "0", "8", "18", "99", "100", "101"]
    );
    let crypto = &m.keying.crypto;
    assert_eq!(
        crypto.iter().map(|c| c.tag).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(crypto[2].suite_name, "AES_256_CM_HMAC_SHA1_80");
    let names: Vec<_> = m.attributes().map(|a| a.name).collect();
    assert_eq!(names.len(), 16);
    assert_eq!(names[0], "rtpmap");
    assert_eq!(names[10], "crypto");
    assert_eq!(names[15], "rtcp-fb");
    assert_eq!(
        m.attributes().next().unwrap().value,
        Some(&b"96 opus/48000/2"[..])
    );
    let session: Vec<_> = sdp.attributes().map(|a| a.name).collect();
    assert_eq!(session, ["rtcp-xr"]);
}

#[test]
fn lf_only_and_trailing_blank_lines_are_tolerated() {
    let crlf = Sdp::parse(LINPHONE_OFFER).unwrap();
    let lf: Vec<u8> = LINPHONE_OFFER
        .iter()
        .copied()
        .filter(|&b| b != b'\r')
        .collect();
    let lf_sdp = Sdp::parse(&lf).unwrap();
    assert_eq!(lf_sdp.security(), crlf.security());
    let mut trailing = LINPHONE_OFFER.to_vec();
    trailing.extend_from_slice(b"\r\n\r\n");
    assert_eq!(Sdp::parse(&trailing).unwrap().security(), crlf.security());
    // No final line ending at all.
    let cut = &LINPHONE_OFFER[..LINPHONE_OFFER.len() - 2];
    assert_eq!(Sdp::parse(cut).unwrap().security(), crlf.security());
}

#[test]
fn tolerant_of_what_does_not_change_meaning() {
    let sdp = Sdp::parse(
        b"v=0\r\no=- 1 1 IN IP4 a \r\ns= \r\nx=unknown type\r\nm=audio  5004/2   RTP/AVP\t0   8 \r\ni=info\r\nb=AS:64\r\na=x-vendor\r\nm=video 0 RTP/AVP\r\n",
    )
    .unwrap();
    assert_eq!(sdp.origin.address, "a");
    assert_eq!(sdp.media[0].port_count, Some(2));
    assert_eq!(sdp.media[0].formats().collect::<Vec<_>>(), ["0", "8"]);
    // A rejected stream without formats.
    assert_eq!((sdp.media[1].port, sdp.media[1].format_list), (0, ""));
    // Missing t= is accepted.
    let s = sdp.security();
    assert_eq!(s.keying, Keying::NoSrtp);
    assert!(!s.media[1].active);
}

#[test]
fn protocol_classes() {
    let cases = [
        ("RTP/AVP", Profile::Rtp, false),
        ("RTP/AVPF", Profile::Rtp, true),
        ("rtp/avp", Profile::Rtp, false),
        ("RTP/SAVP", Profile::Srtp, false),
        ("RTP/SAVPF", Profile::Srtp, true),
        ("UDP/TLS/RTP/SAVP", Profile::Dtls, false),
        ("UDP/TLS/RTP/SAVPF", Profile::Dtls, true),
        ("TCP/DTLS/RTP/SAVPF", Profile::Dtls, true),
        ("TCP/TLS/RTP/SAVP", Profile::Dtls, false),
        ("UDP/DTLS/SCTP", Profile::Dtls, false),
        ("TCP/RTP/AVP", Profile::Rtp, false),
        ("udptl", Profile::Other, false),
        ("TCP/MSRP", Profile::Other, false),
        ("TCP/TLS/MSRP", Profile::Other, false),
    ];
    for (name, profile, feedback) in cases {
        let p = Proto::new(name);
        assert_eq!((p.profile, p.feedback), (profile, feedback), "{name}");
    }
}

#[test]
fn session_level_values_apply_unless_overridden() {
    let sdp = Sdp::parse(
        b"v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\na=sendonly\r\na=setup:actpass\r\na=fingerprint:sha-1 AA:BB\r\n\
m=audio 1 UDP/TLS/RTP/SAVP 0\r\n\
m=video 2 UDP/TLS/RTP/SAVP 96\r\na=recvonly\r\na=setup:passive\r\na=fingerprint:SHA-512 CC:DD\r\n",
    )
    .unwrap();
    let s = sdp.security();
    assert_eq!(s.keying, Keying::DtlsSrtp);
    assert_eq!(s.media[0].direction, Direction::SendOnly);
    assert_eq!(s.media[0].setup, Some(Setup::ActPass));
    assert_eq!(
        s.media[0].fingerprint_hashes.as_slice(),
        [sipwarden_sdp::HashFunction::Sha1]
    );
    assert_eq!(s.media[1].direction, Direction::RecvOnly);
    assert_eq!(s.media[1].setup, Some(Setup::Passive));
    assert_eq!(
        s.media[1].fingerprint_hashes.as_slice(),
        [sipwarden_sdp::HashFunction::Sha512]
    );
}

fn keying_of(media: &str) -> (Keying, bool, Option<&'static str>) {
    let text = format!("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n{media}");
    let s = classify(text.as_bytes()).unwrap();
    let m = &s.media[0];
    (m.keying, m.best_effort, m.problem)
}

const FP: &str = "a=fingerprint:sha-256 AB:CD\r\n";
const CRYPTO: &str = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD\r\n";
const ZRTP: &str =
    "a=zrtp-hash:1.10 71937398019555a3d952fdce8228ca6d4225f2ebe0ce889fa8771104ff325397\r\n";

#[test]
fn classification_rules() {
    let m = |proto: &str, attrs: &[&str]| format!("m=audio 1 {proto} 0\r\n{}", attrs.concat());
    assert_eq!(keying_of(&m("RTP/AVP", &[])), (Keying::NoSrtp, false, None));
    assert_eq!(
        keying_of(&m("RTP/AVP", &[CRYPTO])),
        (Keying::Sdes, true, None)
    );
    assert_eq!(
        keying_of(&m("RTP/SAVP", &[CRYPTO])),
        (Keying::Sdes, false, None)
    );
    assert_eq!(
        keying_of(&m("UDP/TLS/RTP/SAVPF", &[FP])),
        (Keying::DtlsSrtp, false, None)
    );
    // Legacy DTLS on RTP/SAVPF, and a WebRTC-gateway offer of both.
    assert_eq!(
        keying_of(&m("RTP/SAVPF", &[FP])),
        (Keying::DtlsSrtp, false, None)
    );
    assert_eq!(
        keying_of(&m("RTP/SAVPF", &[FP, CRYPTO])),
        (Keying::Mixed, false, None)
    );
    assert_eq!(
        keying_of(&m("RTP/AVP", &[ZRTP])),
        (Keying::Zrtp, true, None)
    );
    assert_eq!(
        keying_of(&m("RTP/AVP", &[ZRTP, CRYPTO])),
        (Keying::Mixed, true, None)
    );
    // A fingerprint on plain RTP is not DTLS-SRTP.
    assert_eq!(
        keying_of(&m("RTP/AVP", &[FP])),
        (Keying::NoSrtp, false, None)
    );
    // a=crypto on a DTLS profile is not a method there (but its keys still count).
    assert_eq!(
        keying_of(&m("UDP/TLS/RTP/SAVP", &[FP, CRYPTO])),
        (Keying::DtlsSrtp, false, None)
    );
    assert_eq!(
        keying_of(&m("UDP/TLS/RTP/SAVP", &[])),
        (
            Keying::Unusable,
            false,
            Some("DTLS profile without a=fingerprint")
        )
    );
    assert_eq!(keying_of(&m("RTP/SAVP", &[])).0, Keying::Unusable);
    assert_eq!(
        keying_of(&m("RTP/SAVP", &["a=key-mgmt:mikey AQAB\r\n"])).2,
        Some("SRTP keyed by MIKEY (a=key-mgmt), which is not inspected")
    );
    assert_eq!(
        keying_of("m=image 1 udptl t38\r\n"),
        (Keying::NoSrtp, false, None)
    );
}

#[test]
fn overall_keying_over_active_lines() {
    let head = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n";
    let overall = |media: &str| classify(format!("{head}{media}").as_bytes()).unwrap();

    let s = overall(&format!(
        "m=audio 1 RTP/SAVP 0\r\n{CRYPTO}m=video 2 UDP/TLS/RTP/SAVP 96\r\n{FP}"
    ));
    assert_eq!(s.keying, Keying::Mixed);
    // Disabled and inactive lines do not count, but their keys do.
    let s = overall(&format!(
        "m=audio 1 UDP/TLS/RTP/SAVP 0\r\n{FP}m=video 0 RTP/SAVP 96\r\n{CRYPTO}m=text 3 RTP/AVP 98\r\na=inactive\r\n"
    ));
    assert_eq!(s.keying, Keying::DtlsSrtp);
    assert!(s.sdes_keys && s.exposes_keys());
    let s = overall("m=audio 1 RTP/AVP 0\r\na=inactive\r\n");
    assert_eq!(s.keying, Keying::NoMedia);
    let s = overall("m=audio 1 RTP/AVP 0\r\nm=video 2 RTP/SAVP 0\r\n");
    assert_eq!(s.keying, Keying::Unusable);
    let s = overall("k=clear:secret\r\nm=audio 1 RTP/AVP 0\r\n");
    assert!(!s.sdes_keys && s.key_field && s.exposes_keys());
    let s = overall(&format!("{CRYPTO}m=audio 1 RTP/AVP 0\r\n"));
    assert!(
        s.sdes_keys,
        "session-level a=crypto is not RFC 4568, but its keys are exposed"
    );
    assert_eq!(s.keying, Keying::NoSrtp);
    let s = overall(
        "m=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD UNENCRYPTED_SRTP UNAUTHENTICATED_SRTP\r\n",
    );
    assert!(s.media[0].unencrypted_srtp && s.media[0].unauthenticated_srtp);
}
