use super::msg;
use crate::basic::{answer, Answer, ACCEPT, ALLOW};

fn request(method: &str, extra: &str) -> sipwarden_wire::Message {
    msg(&format!(
        "{method} sip:example.com SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\nFrom: <sip:a@example.com>;tag=1\nTo: <sip:example.com>\nCall-ID: c1\nCSeq: 1 {method}\nMax-Forwards: 70\n{extra}Content-Length: 0\n\n"
    ))
}

fn code(a: &Answer) -> Option<u16> {
    match a {
        Answer::Final { code, .. } => Some(*code),
        Answer::Nothing => None,
    }
}

fn header<'a>(a: &'a Answer, name: &str) -> Option<&'a str> {
    match a {
        Answer::Final { headers, .. } => headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str()),
        Answer::Nothing => None,
    }
}

#[test]
fn options_gets_200_with_capabilities() {
    let a = answer(&request("OPTIONS", ""));
    assert_eq!(code(&a), Some(200));
    assert_eq!(header(&a, "Allow"), Some(ALLOW));
    assert_eq!(header(&a, "Accept"), Some(ACCEPT));
    assert_eq!(header(&a, "Supported"), Some(""));
}

#[test]
fn other_methods_get_the_rfc_status() {
    for m in ["INVITE", "REGISTER", "BYE", "SUBSCRIBE", "MESSAGE"] {
        let a = answer(&request(m, ""));
        assert_eq!(code(&a), Some(405), "{m}");
        assert_eq!(header(&a, "Allow"), Some(ALLOW));
    }
    assert_eq!(code(&answer(&request("FROBNICATE", ""))), Some(501));
    assert_eq!(answer(&request("ACK", "")), Answer::Nothing);
    assert_eq!(code(&answer(&request("CANCEL", ""))), Some(481));
}

#[test]
fn unsupported_extensions_are_named_in_a_420() {
    let a = answer(&request("OPTIONS", "Require: 100rel, foo\nRequire: bar\n"));
    assert_eq!(code(&a), Some(420));
    assert_eq!(header(&a, "Unsupported"), Some("100rel, foo, bar"));
    // A Require that is not a list of tokens is malformed.
    let a = answer(&request("OPTIONS", "Require: ok, \"bad\"\n"));
    assert_eq!(code(&a), Some(400));
}
