#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Property tests: every decoder survives arbitrary input, and what it accepts is
//! self-consistent (a URI is equivalent to itself and re-parses identically; views
//! point inside the input).

use proptest::prelude::*;
use sipwarden_wire::headers::{
    parse_call_id, token_list, AuthInfo, CSeq, Challenge, Contacts, Credentials, Identity,
    MediaType, NameAddr, SecurityMechanism, Via,
};
use sipwarden_wire::lex::{parse_params, pct_decode, split_list};
use sipwarden_wire::{HeaderName, Uri};

/// Bytes biased towards SIP syntax so the decoders get past their first checks.
fn sipish() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop_oneof![
        Just(&b"sip:"[..]),
        Just(&b"sips:"[..]),
        Just(&b"tel:+1"[..]),
        Just(&b"SIP/2.0/UDP "[..]),
        Just(&b"user@"[..]),
        Just(&b"host.example.com"[..]),
        Just(&b"[2001:db8::1]"[..]),
        Just(&b"192.0.2.1"[..]),
        Just(&b":5060"[..]),
        Just(&b";branch=z9hG4bK1"[..]),
        Just(&b";tag=x"[..]),
        Just(&b";lr"[..]),
        Just(&b";q=0.5"[..]),
        Just(&b"?a=b&c=d"[..]),
        Just(&b"<"[..]),
        Just(&b">"[..]),
        Just(&b"\""[..]),
        Just(&b"\\"[..]),
        Just(&b","[..]),
        Just(&b" "[..]),
        Just(&b"\r\n "[..]),
        Just(&b"%41"[..]),
        Just(&b"%"[..]),
        Just(&b"Digest realm=\"r\""[..]),
        Just(&b"="[..]),
        Just(&b"("[..]),
        Just(&b")"[..]),
        Just(&b"*"[..]),
        Just(&b"1"[..]),
        Just(&b"\xc3\xbc"[..]),
        Just(&b"\xff"[..]),
    ];
    prop::collection::vec(atoms, 0..12).prop_map(|parts| parts.concat())
}

fn inside(outer: &[u8], inner: &str) -> bool {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn uris_are_self_consistent(input in sipish()) {
        if let Ok(u) = Uri::parse_bytes(&input) {
            prop_assert!(u.equivalent(&u));
            prop_assert_eq!(u.as_str().as_bytes(), &input[..]);
            let again = Uri::parse(u.as_str()).unwrap();
            prop_assert_eq!(&again, &u);
            if let Some(sip) = u.as_sip() {
                prop_assert!(inside(&input, sip.host_raw));
                let _ = sip.user_decoded();
                let _ = sip.transport();
                let _ = sip.maddr_host();
                prop_assert!(sip.params.iter().count() <= 64);
            }
        }
    }

    #[test]
    fn header_decoders_never_panic(input in sipish()) {
        for v in Via::parse_list(&input).flatten() {
            prop_assert!(inside(&input, v.raw));
            let _ = v.port_or_default();
        }
        let _ = Via::parse(&input);
        for h in [HeaderName::From, HeaderName::Route, HeaderName::Contact] {
            if let Ok(a) = NameAddr::parse(h, &input) {
                prop_assert!(inside(&input, a.raw));
                let _ = a.display_name.map(|d| d.text());
                prop_assert!(a.uri.equivalent(&a.uri));
            }
            for a in NameAddr::parse_list(h, &input).flatten() {
                prop_assert!(inside(&input, a.raw));
                let _ = a.params.iter().count();
            }
        }
        let _ = Contacts::parse(&input);
        let _ = parse_call_id(&input);
        let _ = CSeq::parse(&input);
        let _ = MediaType::parse(&input);
        if let Ok(c) = Credentials::parse(HeaderName::Authorization, &input) {
            for (name, value) in c.params.iter() {
                prop_assert!(c.param(name).is_some());
                let _ = value.text();
            }
        }
        let _ = Challenge::parse(HeaderName::WwwAuthenticate, &input);
        let _ = AuthInfo::parse(&input);
        let _ = Identity::parse(&input);
        let _: Vec<_> = SecurityMechanism::parse_list(HeaderName::SecurityClient, &input).collect();
        let _: Vec<_> = token_list(HeaderName::Require, &input).collect();
    }

    #[test]
    fn lex_helpers_never_panic(input in sipish()) {
        if let Ok(s) = std::str::from_utf8(&input) {
            for e in split_list(s).flatten() {
                prop_assert!(inside(&input, e));
                prop_assert!(!e.is_empty());
            }
            if let Ok(p) = parse_params(s) {
                for param in p.iter() {
                    prop_assert!(p.get(param.name).is_some());
                }
            }
            let _ = pct_decode(s);
        }
    }
}
