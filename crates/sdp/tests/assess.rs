//! Call media assessment beyond the captured calls.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sipwarden_sdp::{
    assess, classify, Finding, HashFunction, MediaKind, MediaLevel, Protection, SdpSecurity,
};

fn sdp(media: &str) -> SdpSecurity {
    classify(format!("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n{media}").as_bytes()).unwrap()
}

const SDES: &str = "m=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD\r\n";
const DTLS_VIDEO: &str = "m=video 2 UDP/TLS/RTP/SAVPF 96\r\na=fingerprint:sha-256 AB:CD\r\n";
const PLAIN: &str = "m=audio 1 RTP/AVP 0\r\n";

fn findings(r: &sipwarden_sdp::MediaAssessment) -> Vec<Finding> {
    r.notes.iter().map(|n| n.finding).collect()
}

#[test]
fn weakest_stream_decides_each_direction() {
    let offer = sdp(&format!("{SDES}{DTLS_VIDEO}"));
    let answer = sdp(&format!("{SDES}{DTLS_VIDEO}"));
    let r = assess(&offer, &answer);
    assert_eq!(r.streams.len(), 2);
    assert_eq!(r.streams[0].protection, Protection::Sdes);
    assert_eq!(r.streams[1].protection, Protection::DtlsSrtp);
    assert_eq!(r.streams[1].kind, MediaKind::Video);
    assert_eq!(r.offerer_to_answerer, Some(Protection::Sdes));
    assert_eq!(r.level, MediaLevel::HopByHop);
    assert!(r.reasons()[1].starts_with("video stream 1: SRTP keyed by DTLS"));
}

#[test]
fn one_way_media() {
    // Offerer sends only, and in clear; answerer's direction is secured but silent.
    let offer = sdp(&format!("{PLAIN}a=sendonly\r\n{DTLS_VIDEO}a=recvonly\r\n"));
    let answer = sdp(&format!("{PLAIN}a=recvonly\r\n{DTLS_VIDEO}a=sendonly\r\n"));
    let r = assess(&offer, &answer);
    assert_eq!(r.offerer_to_answerer, Some(Protection::Clear));
    assert_eq!(r.answerer_to_offerer, Some(Protection::DtlsSrtp));
    assert_eq!(r.level, MediaLevel::Clear);
    assert!(r.streams[0].offerer_sends && !r.streams[0].answerer_sends);
}

#[test]
fn rejected_inactive_and_missing_streams() {
    let offer = sdp(&format!("{SDES}{DTLS_VIDEO}"));
    // Video rejected with port 0: only audio counts.
    let answer = sdp(&format!("{SDES}m=video 0 UDP/TLS/RTP/SAVPF 96\r\n"));
    let r = assess(&offer, &answer);
    assert_eq!(r.streams.len(), 1);
    assert_eq!(r.level, MediaLevel::HopByHop);
    // All on hold.
    let hold = sdp(&format!("{SDES}a=inactive\r\n"));
    let r = assess(&hold, &hold);
    assert_eq!(r.level, MediaLevel::NoMedia);
    assert_eq!((r.offerer_to_answerer, r.answerer_to_offerer), (None, None));
    assert_eq!(findings(&r), [Finding::NoActiveMedia]);
    // An answer that drops a line.
    let r = assess(&offer, &sdp(SDES));
    assert_eq!(findings(&r)[1], Finding::AnswerMissingStream);
}

#[test]
fn conservative_verdicts() {
    // Mixed offer, DTLS chosen: end to end, but the offered keys were exposed.
    let offer = sdp("m=audio 1 RTP/SAVPF 0\r\na=fingerprint:sha-256 AB:CD\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD\r\n");
    let answer = sdp("m=audio 1 RTP/SAVPF 0\r\na=fingerprint:sha-256 EF:01\r\n");
    let r = assess(&offer, &answer);
    assert_eq!(r.level, MediaLevel::EndToEnd);
    assert_eq!(
        findings(&r),
        [
            Finding::DtlsSrtp(Some(HashFunction::Sha256)),
            Finding::SdesOfferedUnused
        ]
    );

    // An answer with both: the weaker is assumed.
    let r = assess(&offer, &offer);
    assert_eq!(r.level, MediaLevel::HopByHop);
    assert_eq!(findings(&r)[0], Finding::SeveralMethodsInAnswer);

    // Best-effort SDES declined.
    let offer = sdp("m=audio 1 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD\r\n");
    let r = assess(&offer, &sdp(PLAIN));
    assert_eq!(r.level, MediaLevel::Clear);
    assert_eq!(
        findings(&r),
        [Finding::SrtpDeclined, Finding::SdesOfferedUnused]
    );

    // The answer picks a method nobody offered.
    let r = assess(
        &sdp(SDES),
        &sdp(DTLS_VIDEO.replace("video", "audio").as_str()),
    );
    assert_eq!(findings(&r), [Finding::MethodMismatch]);
    assert_eq!(r.level, MediaLevel::Clear);

    // SRTP profile with nothing to key it.
    let r = assess(&sdp("m=audio 1 RTP/SAVP 0\r\n"), &sdp(SDES));
    assert!(matches!(findings(&r)[0], Finding::Unusable(_)));
    assert_eq!(r.level, MediaLevel::Clear);

    // SDES without encryption.
    let unenc = sdp("m=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD UNENCRYPTED_SRTP\r\n");
    let r = assess(&sdp(SDES), &unenc);
    assert_eq!(findings(&r), [Finding::UnencryptedSrtp]);
    assert_eq!(r.level, MediaLevel::Clear);

    // Weak fingerprint hash: still end to end, but said.
    let weak = sdp("m=audio 1 UDP/TLS/RTP/SAVP 0\r\na=fingerprint:md5 AB:CD\r\n");
    let r = assess(&weak, &weak);
    assert_eq!(r.level, MediaLevel::EndToEnd);
    assert_eq!(
        findings(&r),
        [
            Finding::DtlsSrtp(Some(HashFunction::Md5)),
            Finding::WeakFingerprintHash(HashFunction::Md5)
        ]
    );
}

#[test]
fn zrtp_confirmed_by_the_answer() {
    let z = "m=audio 1 RTP/AVP 0\r\na=zrtp-hash:1.10 71937398019555a3d952fdce8228ca6d4225f2ebe0ce889fa8771104ff325397\r\n";
    let r = assess(&sdp(z), &sdp(z));
    assert_eq!(r.level, MediaLevel::EndToEnd);
    assert_eq!(r.offerer_to_answerer, Some(Protection::Zrtp));
    assert_eq!(findings(&r), [Finding::Zrtp]);
    assert!(r.reasons()[0].contains("short authentication string"));
}

#[test]
fn labels_are_stable() {
    assert_eq!(MediaLevel::Clear.to_string(), "none");
    assert_eq!(MediaLevel::HopByHop.to_string(), "hop-by-hop");
    assert_eq!(MediaLevel::EndToEnd.to_string(), "end-to-end");
    assert_eq!(MediaLevel::NoMedia.to_string(), "no-media");
    assert_eq!(Protection::DtlsSrtp.to_string(), "dtls-srtp");
    assert_eq!(sipwarden_sdp::Keying::Sdes.to_string(), "sdes");
}
