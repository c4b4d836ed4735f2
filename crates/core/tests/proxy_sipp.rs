#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The benchmark call flow (SIPp uac_call.xml through the proxy to uas.xml) in memory,
//! with everyone on 127.0.0.1: 407, authenticated INVITE, 180/200 with the echoed
//! Record-Route, ACK and BYE routed back to the UAS.

mod proxy_support;

use std::time::Instant;

use proxy_support::*;
use sipwarden_auth::{DigestAuth, DigestConfig, NonceKeys};
use sipwarden_core::proxy::{Interface, Proxy, RequestOutcome};
use sipwarden_core::Domains;
use sipwarden_wire::{HeaderName, Message, Transport};

fn local_proxy() -> Proxy {
    let cfg = sipwarden_core::proxy::ProxyConfig::new(
        vec![Interface::new(Transport::Udp, "127.0.0.1", 5060)],
        *b"sixteen byte key",
    );
    Proxy::new(
        cfg,
        Domains::new(DOMAIN, &[], &["127.0.0.1".to_owned()]),
        DigestAuth::new(DigestConfig::default(), NonceKeys::new(&[9u8; 32]).unwrap()).unwrap(),
    )
    .unwrap()
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

fn uac_invite(cseq: u32, auth: Option<&str>) -> Message {
    let mut s = format!(
        "INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-uac-{cseq}\r\n\
         From: <sip:alice@127.0.0.1>;tag=1C1\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: 1-uac@127.0.0.1\r\n\
         CSeq: {cseq} INVITE\r\n\
         Contact: <sip:alice@127.0.0.1:5080;transport=UDP>\r\n"
    );
    if let Some(a) = auth {
        s.push_str(&format!("Proxy-Authorization: {a}\r\n"));
    }
    s.push_str(&format!(
        "Max-Forwards: 70\r\nUser-Agent: sipp-bench\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    ));
    Message::parse(s.into_bytes()).unwrap()
}

fn in_dialog(method: &str, cseq: u32, routes: &str) -> Message {
    Message::parse(
        format!(
            "{method} sip:127.0.0.1:5070;transport=UDP SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-uac-{method}\r\n\
             From: <sip:alice@127.0.0.1>;tag=1C1\r\n\
             To: <sip:bob@127.0.0.1>;tag=1U1\r\n\
             Call-ID: 1-uac@127.0.0.1\r\n\
             CSeq: {cseq} {method}\r\n\
             Route: {routes}\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        )
        .into_bytes(),
    )
    .unwrap()
}

#[test]
fn uac_call_through_the_proxy() {
    let p = local_proxy();
    let now = Instant::now();
    let mut users = Users::new();
    users.bind(
        "bob",
        binding("bob", "sip:bob@127.0.0.1:5070", 1000, "udp", None),
    );

    // 407, MD5 first for SIPp.
    let first = uac_invite(1, None);
    let d = decide(&p, &first, &Origin::udp(now), &users);
    let (code, challenge) = reply(&d);
    assert_eq!(code, 407);
    let first_challenge = values(&challenge, HeaderName::ProxyAuthenticate).remove(0);
    assert!(
        first_challenge.contains("algorithm=MD5"),
        "{first_challenge}"
    );

    let auth = authorize(&challenge, "alice", "Alice-Pw-1", &first);
    let second = uac_invite(2, Some(&auth));
    let mut ctx = context(decide(&p, &second, &Origin::udp(now), &users));
    let (_, out, hop) = forwards(&drain(&mut ctx)).remove(0);
    assert_eq!(hop.uri, "sip:bob@127.0.0.1:5070");
    assert_eq!(hop.transport, Some(Transport::Udp));

    // The UAS rings and answers, echoing Record-Route.
    let rr = values(&out, HeaderName::RecordRoute).join(", ");
    let ringing = answer(
        &out,
        180,
        "1U1",
        &[
            ("Record-Route", &rr),
            ("Contact", "<sip:127.0.0.1:5070;transport=UDP>"),
        ],
    );
    let ok = answer(
        &out,
        200,
        "1U1",
        &[
            ("Record-Route", &rr),
            ("Contact", "<sip:127.0.0.1:5070;transport=UDP>"),
        ],
    );
    ctx.on_response(0, &ringing, now);
    ctx.on_response(0, &ok, now);
    let r = responds(&drain(&mut ctx));
    assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), vec![180, 200]);
    assert!(ctx.is_done());

    // ACK and BYE along the route set, to the UAS's contact (same host as the proxy,
    // another port: not a lookup).
    let routes = values(&r[1].1, HeaderName::RecordRoute).join(", ");
    let d = decide(&p, &in_dialog("ACK", 2, &routes), &Origin::udp(now), &users);
    let RequestOutcome::Stateless(ack) = d.outcome else {
        panic!("{:?}", d.outcome)
    };
    assert_eq!(ack.hop.uri, "sip:127.0.0.1:5070;transport=UDP");
    let bytes = Message::parse(ack.request(Transport::Udp).unwrap()).unwrap();
    assert_eq!(
        bytes.request_uri_bytes(),
        b"sip:127.0.0.1:5070;transport=UDP"
    );

    let mut bye = context(decide(
        &p,
        &in_dialog("BYE", 3, &routes),
        &Origin::udp(now),
        &users,
    ));
    let (_, out, hop) = forwards(&drain(&mut bye)).remove(0);
    assert_eq!(hop.uri, "sip:127.0.0.1:5070;transport=UDP");
    assert!(out.header(HeaderName::Route).is_none());
    bye.on_response(0, &answer(&out, 200, "1U1", &[]), now);
    assert_eq!(responds(&drain(&mut bye))[0].0, 200);
}
