//! Classification and assessment of SDPs captured from baresip and linphone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sipwarden_sdp::{
    assess, classify, CryptoSuite, Direction, Finding, HashFunction, Keying, MediaKind, MediaLevel,
    Methods, Profile, Protection, Sdp, SdpSecurity, Setup,
};

macro_rules! vector {
    ($path:literal) => {
        include_bytes!(concat!("vectors/", $path)).as_slice()
    };
}

/// name, offer, answer, INVITE, 200 OK.
type Pair = (
    &'static str,
    &'static [u8],
    &'static [u8],
    &'static [u8],
    &'static [u8],
);

/// Every captured call.
const PAIRS: &[Pair] = &[
    (
        "baresip-none",
        vector!("baresip/baresip-none-offer.sdp"),
        vector!("baresip/baresip-none-answer.sdp"),
        vector!("baresip/baresip-none-invite.sip"),
        vector!("baresip/baresip-none-200ok.sip"),
    ),
    (
        "baresip-srtp",
        vector!("baresip/baresip-srtp-offer.sdp"),
        vector!("baresip/baresip-srtp-answer.sdp"),
        vector!("baresip/baresip-srtp-invite.sip"),
        vector!("baresip/baresip-srtp-200ok.sip"),
    ),
    (
        "baresip-srtp-mand",
        vector!("baresip/baresip-srtp-mand-offer.sdp"),
        vector!("baresip/baresip-srtp-mand-answer.sdp"),
        vector!("baresip/baresip-srtp-mand-invite.sip"),
        vector!("baresip/baresip-srtp-mand-200ok.sip"),
    ),
    (
        "baresip-srtp-mandf",
        vector!("baresip/baresip-srtp-mandf-offer.sdp"),
        vector!("baresip/baresip-srtp-mandf-answer.sdp"),
        vector!("baresip/baresip-srtp-mandf-invite.sip"),
        vector!("baresip/baresip-srtp-mandf-200ok.sip"),
    ),
    (
        "baresip-dtls_srtp",
        vector!("baresip/baresip-dtls_srtp-offer.sdp"),
        vector!("baresip/baresip-dtls_srtp-answer.sdp"),
        vector!("baresip/baresip-dtls_srtp-invite.sip"),
        vector!("baresip/baresip-dtls_srtp-200ok.sip"),
    ),
    (
        "linphone-none",
        vector!("linphone/linphone-none-offer.sdp"),
        vector!("linphone/linphone-none-answer.sdp"),
        vector!("linphone/linphone-none-invite.sip"),
        vector!("linphone/linphone-none-200ok.sip"),
    ),
    (
        "linphone-srtp",
        vector!("linphone/linphone-srtp-offer.sdp"),
        vector!("linphone/linphone-srtp-answer.sdp"),
        vector!("linphone/linphone-srtp-invite.sip"),
        vector!("linphone/linphone-srtp-200ok.sip"),
    ),
    (
        "linphone-dtls",
        vector!("linphone/linphone-dtls-offer.sdp"),
        vector!("linphone/linphone-dtls-answer.sdp"),
        vector!("linphone/linphone-dtls-invite.sip"),
        vector!("linphone/linphone-dtls-200ok.sip"),
    ),
    (
        "linphone-zrtp",
        vector!("linphone/linphone-zrtp-offer.sdp"),
        vector!("linphone/linphone-zrtp-answer.sdp"),
        vector!("linphone/linphone-zrtp-invite.sip"),
        vector!("linphone/linphone-zrtp-200ok.sip"),
    ),
];

fn pair(name: &str) -> (SdpSecurity, SdpSecurity) {
    let (_, offer, answer, _, _) = PAIRS.iter().find(|p| p.0 == name).unwrap();
    (classify(offer).unwrap(), classify(answer).unwrap())
}

fn body(message: &[u8]) -> &[u8] {
    let at = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    &message[at + 4..]
}

/// (keying, best_effort, sdes_keys, profile) of the single audio line.
fn summary(s: &SdpSecurity) -> (Keying, bool, bool, Profile) {
    assert_eq!(s.media.len(), 1);
    let m = &s.media[0];
    assert_eq!(m.kind, MediaKind::Audio);
    assert!(m.active);
    assert_eq!(m.direction, Direction::SendRecv);
    assert_eq!(s.keying, m.keying, "overall follows the only line");
    (s.keying, s.best_effort, s.sdes_keys, m.profile)
}

#[test]
fn every_vector_parses_and_sip_bodies_match() {
    for (name, offer, answer, invite, ok) in PAIRS {
        assert_eq!(body(invite), *offer, "{name} offer");
        assert_eq!(body(ok), *answer, "{name} answer");
        Sdp::parse(offer).unwrap_or_else(|e| panic!("{name} offer: {e}"));
        Sdp::parse(answer).unwrap_or_else(|e| panic!("{name} answer: {e}"));
    }
}

#[test]
fn plain_rtp() {
    for name in ["baresip-none", "linphone-none"] {
        let (o, a) = pair(name);
        assert_eq!(
            summary(&o),
            (Keying::NoSrtp, false, false, Profile::Rtp),
            "{name}"
        );
        assert_eq!(
            summary(&a),
            (Keying::NoSrtp, false, false, Profile::Rtp),
            "{name}"
        );
        assert!(o.crypto_suites().is_empty() && o.fingerprint_hashes().is_empty());
    }
}

#[test]
fn baresip_srtp_is_best_effort_sdes() {
    // `srtp` mode: RTP/AVP with a=crypto, SRTP optional on both sides.
    let (o, a) = pair("baresip-srtp");
    assert_eq!(summary(&o), (Keying::Sdes, true, true, Profile::Rtp));
    assert_eq!(summary(&a), (Keying::Sdes, true, true, Profile::Rtp));
    assert_eq!(
        o.crypto_suites().as_slice(),
        [CryptoSuite::AesCm128HmacSha1_80]
    );
    assert_eq!(
        a.crypto_suites().as_slice(),
        [CryptoSuite::AesCm128HmacSha1_80]
    );
}

#[test]
fn baresip_srtp_mand_and_mandf_are_mandatory_sdes() {
    for name in ["baresip-srtp-mand", "baresip-srtp-mandf"] {
        let (o, a) = pair(name);
        assert_eq!(
            summary(&o),
            (Keying::Sdes, false, true, Profile::Srtp),
            "{name}"
        );
        assert_eq!(
            summary(&a),
            (Keying::Sdes, false, true, Profile::Srtp),
            "{name}"
        );
        let feedback = name.ends_with('f');
        assert_eq!(
            Sdp::parse(PAIRS.iter().find(|p| p.0 == name).unwrap().1)
                .unwrap()
                .media[0]
                .proto
                .feedback,
            feedback
        );
    }
}

#[test]
fn linphone_srtp_offers_four_suites() {
    let (o, a) = pair("linphone-srtp");
    assert_eq!(summary(&o), (Keying::Sdes, false, true, Profile::Srtp));
    assert_eq!(
        o.crypto_suites().as_slice(),
        [
            CryptoSuite::AesCm128HmacSha1_80,
            CryptoSuite::AesCm128HmacSha1_32,
            CryptoSuite::Aes256CmHmacSha1_80,
            CryptoSuite::Aes256CmHmacSha1_32,
        ]
    );
    assert_eq!(summary(&a), (Keying::Sdes, false, true, Profile::Srtp));
    assert_eq!(
        a.crypto_suites().as_slice(),
        [CryptoSuite::AesCm128HmacSha1_80]
    );
}

#[test]
fn dtls_srtp_with_session_level_and_media_level_fingerprints() {
    // baresip's offer has fingerprint and setup at session level only.
    let (o, a) = pair("baresip-dtls_srtp");
    assert_eq!(summary(&o), (Keying::DtlsSrtp, false, false, Profile::Dtls));
    assert_eq!(o.media[0].setup, Some(Setup::ActPass));
    assert_eq!(o.fingerprint_hashes().as_slice(), [HashFunction::Sha256]);
    assert_eq!(summary(&a), (Keying::DtlsSrtp, false, false, Profile::Dtls));
    assert_eq!(a.media[0].setup, Some(Setup::Active));
    assert_eq!(
        o.media[0].methods,
        Methods {
            dtls_srtp: true,
            ..Methods::default()
        }
    );
    let sdp = Sdp::parse(PAIRS[4].1).unwrap();
    assert_eq!(sdp.media[0].proto.name, "UDP/TLS/RTP/SAVPF");
    assert!(sdp.media[0].proto.feedback);
    assert!(
        sdp.media[0].keying.fingerprints.is_empty(),
        "session level only"
    );
    assert_eq!(sdp.keying.fingerprints.len(), 1);

    // linphone's offer has them at media level, on UDP/TLS/RTP/SAVP.
    let (o, a) = pair("linphone-dtls");
    assert_eq!(summary(&o), (Keying::DtlsSrtp, false, false, Profile::Dtls));
    assert_eq!(o.media[0].setup, Some(Setup::ActPass));
    assert_eq!(o.fingerprint_hashes().as_slice(), [HashFunction::Sha256]);
    assert_eq!(summary(&a), (Keying::DtlsSrtp, false, false, Profile::Dtls));
}

#[test]
fn linphone_zrtp_offer_and_plain_answer() {
    let (o, a) = pair("linphone-zrtp");
    // ZRTP rides on RTP/AVP: optional by nature.
    assert_eq!(summary(&o), (Keying::Zrtp, true, false, Profile::Rtp));
    assert!(o.media[0].methods.zrtp);
    // baresip has no ZRTP and answers plain RTP.
    assert_eq!(summary(&a), (Keying::NoSrtp, false, false, Profile::Rtp));
    let sdp = Sdp::parse(PAIRS[8].1).unwrap();
    let z = sdp.media[0].keying.zrtp_hash.unwrap();
    assert_eq!(z.version, "1.10");
    assert_eq!(z.hash.len(), 64);
}

#[test]
fn assessments_of_the_captured_calls() {
    let expect = [
        ("baresip-none", Protection::Clear, MediaLevel::Clear),
        ("baresip-srtp", Protection::Sdes, MediaLevel::HopByHop),
        ("baresip-srtp-mand", Protection::Sdes, MediaLevel::HopByHop),
        ("baresip-srtp-mandf", Protection::Sdes, MediaLevel::HopByHop),
        (
            "baresip-dtls_srtp",
            Protection::DtlsSrtp,
            MediaLevel::EndToEnd,
        ),
        ("linphone-none", Protection::Clear, MediaLevel::Clear),
        ("linphone-srtp", Protection::Sdes, MediaLevel::HopByHop),
        ("linphone-dtls", Protection::DtlsSrtp, MediaLevel::EndToEnd),
        ("linphone-zrtp", Protection::Clear, MediaLevel::Clear),
    ];
    for (name, protection, level) in expect {
        let (o, a) = pair(name);
        let r = assess(&o, &a);
        assert_eq!(r.offerer_to_answerer, Some(protection), "{name}");
        assert_eq!(r.answerer_to_offerer, Some(protection), "{name}");
        assert_eq!(r.level, level, "{name}");
        assert_eq!(r.streams.len(), 1, "{name}");
        assert!(!r.notes.is_empty(), "{name}: every verdict has a reason");
    }
    let (o, a) = pair("linphone-zrtp");
    let r = assess(&o, &a);
    assert_eq!(r.notes[0].finding, Finding::ZrtpNotConfirmed);
    assert!(r.reasons()[0].starts_with("audio stream 0: ZRTP was offered"));

    let (o, a) = pair("baresip-srtp");
    let r = assess(&o, &a);
    assert_eq!(
        r.notes[0].finding,
        Finding::Sdes(CryptoSuite::AesCm128HmacSha1_80)
    );
    assert!(r.reasons()[0].contains("readable by every signalling hop"));

    let (o, a) = pair("linphone-dtls");
    let r = assess(&o, &a);
    assert_eq!(
        r.notes[0].finding,
        Finding::DtlsSrtp(Some(HashFunction::Sha256))
    );
}
