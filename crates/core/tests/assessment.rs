#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The call security assessment on its own: levels and reasons for insecure, hop-by-hop
//! and end-to-end calls built from real SDPs, the JSON shape, and the header form.

use sipwarden_core::assessment::{
    CallFacts, CallerAuth, DialogId, HopRole, HopSource, IdentityCheck, Party, PeerVerification,
    SecurityLevel, SignallingHop, TlsFacts,
};
use sipwarden_sdp::classify;
use sipwarden_wire::Transport;

macro_rules! sdp {
    ($path:literal) => {
        classify(include_bytes!(concat!("../../sdp/tests/vectors/", $path))).unwrap()
    };
}

fn tls_hop(role: HopRole, peer: PeerVerification) -> SignallingHop {
    let mut h = SignallingHop::new(role, HopSource::Observed, Transport::Tls);
    h.tls = Some(TlsFacts::new(peer).with_session("TLSv1.3", Some("TLS_AES_256_GCM_SHA384")));
    h
}

fn facts(hops: Vec<SignallingHop>, offer: &str) -> CallFacts {
    let (o, a) = match offer {
        "sdes" => (
            sdp!("baresip/baresip-srtp-mand-offer.sdp"),
            sdp!("baresip/baresip-srtp-mand-answer.sdp"),
        ),
        "dtls" => (
            sdp!("baresip/baresip-dtls_srtp-offer.sdp"),
            sdp!("baresip/baresip-dtls_srtp-answer.sdp"),
        ),
        "zrtp" => (
            sdp!("linphone/linphone-zrtp-offer.sdp"),
            sdp!("linphone/linphone-zrtp-answer.sdp"),
        ),
        _ => (
            sdp!("baresip/baresip-none-offer.sdp"),
            sdp!("baresip/baresip-none-answer.sdp"),
        ),
    };
    CallFacts {
        dialog: DialogId {
            call_id: "c@x".to_owned(),
            caller_tag: "a".to_owned(),
            callee_tag: "b".to_owned(),
        },
        hops,
        caller_auth: CallerAuth::Digest {
            algorithm: "SHA-256".to_owned(),
            account: "alice@example.com".to_owned(),
        },
        identity: IdentityCheck::NotChecked,
        offerer: Party::Caller,
        offer: Some(o),
        answer: Some(a),
    }
}

fn all_tls() -> Vec<SignallingHop> {
    vec![
        tls_hop(HopRole::CallerSide, PeerVerification::NoClientCertificate),
        tls_hop(
            HopRole::CalleeSide,
            PeerVerification::ChainAndName {
                name: "b.example.net".to_owned(),
            },
        ),
    ]
}

#[test]
fn end_to_end_media_over_tls() {
    let a = facts(all_tls(), "dtls").assess();
    assert_eq!(a.level, SecurityLevel::EndToEndMedia);
    assert!(a.reasons[0].starts_with("level end-to-end-media"));
    assert!(a
        .reasons
        .iter()
        .any(|r| r.contains("chain and name (b.example.net)")));
    assert!(a.reasons.iter().any(|r| r.contains("Digest SHA-256")));
    assert!(a.reasons.iter().any(|r| r.contains("STIR")));
    assert_eq!(a.media.caller_to_callee.as_deref(), Some("dtls-srtp"));
    assert_eq!(a.media.callee_to_caller.as_deref(), Some("dtls-srtp"));
    assert_eq!(
        a.header_value(),
        "end-to-end-media;signalling=tls;caller=digest-sha-256;identity=not-checked;media=dtls-srtp"
    );
}

#[test]
fn sdes_over_tls_is_hop_by_hop() {
    let a = facts(all_tls(), "sdes").assess();
    assert_eq!(a.level, SecurityLevel::HopByHop);
    assert!(a.reasons[0].contains("every proxy"));
    assert_eq!(a.media.level, "hop-by-hop");
}

#[test]
fn plaintext_anywhere_is_none() {
    // Media in clear.
    let a = facts(all_tls(), "none").assess();
    assert_eq!(a.level, SecurityLevel::None);
    assert!(a.reasons[0].contains("media of this call flows in clear"));

    // A UDP hop.
    let mut hops = all_tls();
    hops[1] = SignallingHop::new(HopRole::CalleeSide, HopSource::Observed, Transport::Udp);
    let a = facts(hops, "dtls").assess();
    assert_eq!(a.level, SecurityLevel::None);
    assert!(a
        .reasons
        .iter()
        .any(|r| r.contains("callee-side signalling hop uses UDP without TLS")));
    assert!(a.header_value().contains("signalling=plain"));

    // An earlier hop reported by Via.
    let mut hops = all_tls();
    hops.insert(
        0,
        SignallingHop::new(HopRole::Earlier, HopSource::ReportedByVia, Transport::Tcp),
    );
    assert_eq!(facts(hops, "dtls").assess().level, SecurityLevel::None);

    // TLS whose peer was not verified.
    let mut hops = all_tls();
    hops[1] = tls_hop(HopRole::CalleeSide, PeerVerification::NotVerified);
    let a = facts(hops, "dtls").assess();
    assert_eq!(a.level, SecurityLevel::None);
    assert!(a.header_value().contains("signalling=tls-unverified"));

    // No hop known.
    assert_eq!(
        facts(Vec::new(), "dtls").assess().level,
        SecurityLevel::None
    );
}

#[test]
fn unconfirmed_zrtp_is_counted_as_clear() {
    let a = facts(all_tls(), "zrtp").assess();
    assert_eq!(a.level, SecurityLevel::None);
    assert!(a.reasons.iter().any(|r| r.contains("ZRTP")));
}

#[test]
fn without_an_answer_media_is_unconfirmed() {
    let mut f = facts(all_tls(), "dtls");
    f.answer = None;
    let a = f.assess();
    assert_eq!(a.level, SecurityLevel::HopByHop);
    assert_eq!(a.media.level, "unknown");
    assert!(a.header_value().ends_with("media=offered-dtls-srtp"));
}

#[test]
fn mutual_tls_caller_is_reported() {
    let mut f = facts(all_tls(), "dtls");
    f.caller_auth = CallerAuth::TlsClientCertificate {
        identity: "a.example.org".to_owned(),
    };
    f.hops[0] = tls_hop(
        HopRole::CallerSide,
        PeerVerification::MutualTls {
            identity: "a.example.org".to_owned(),
        },
    );
    let a = f.assess();
    assert!(a
        .reasons
        .iter()
        .any(|r| r.contains("client certificate (a.example.org)")));
    assert!(a.header_value().contains("caller=tls-client-certificate"));
}

#[test]
fn json_has_stable_field_names_and_no_keys() {
    let a = facts(all_tls(), "sdes").assess();
    let v = serde_json::to_value(&a).unwrap();
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "caller_auth",
            "dialog",
            "identity",
            "level",
            "media",
            "reasons",
            "signalling"
        ]
    );
    assert_eq!(v["level"], "hop-by-hop");
    assert_eq!(v["dialog"]["call_id"], "c@x");
    assert_eq!(v["caller_auth"]["method"], "digest");
    assert_eq!(v["caller_auth"]["algorithm"], "SHA-256");
    assert_eq!(v["identity"], "not-checked");
    assert_eq!(v["signalling"][0]["role"], "caller-side");
    assert_eq!(v["signalling"][0]["source"], "observed");
    assert_eq!(v["signalling"][0]["transport"], "tls");
    assert_eq!(v["signalling"][0]["tls"]["version"], "TLSv1.3");
    assert_eq!(
        v["signalling"][0]["tls"]["cipher_suite"],
        "TLS_AES_256_GCM_SHA384"
    );
    // The reasons say which TLS each hop negotiated.
    assert!(
        a.reasons.iter().any(|r| r.contains(
            "caller-side signalling hop uses TLSv1.3 (TLS_AES_256_GCM_SHA384)"
        )),
        "{:?}",
        a.reasons
    );
    assert_eq!(
        v["signalling"][0]["tls"]["peer"]["kind"],
        "no-client-certificate"
    );
    assert_eq!(v["signalling"][1]["tls"]["peer"]["name"], "b.example.net");
    assert_eq!(v["media"]["offer"], "sdes");
    assert_eq!(v["media"]["offerer"], "caller");
    let text = v.to_string();
    assert!(!text.contains("NSPYulwdwtsf8qY+Grh0MFcRv1JAFaNcdQOMoGAa"));
    assert!(!text.contains("b7BBEWjlBpyNKLZQH2rDazpwvqePLT8MlnuTauH8"));
    assert!(!text.contains("inline:"));
    // It reads back.
    let back: sipwarden_core::assessment::CallAssessment = serde_json::from_value(v).unwrap();
    assert_eq!(back, a);
}
