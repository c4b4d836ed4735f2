use bytes::Bytes;

use super::{fit, strip_param};

fn response(challenges: &[&str]) -> Bytes {
    let mut text = String::from(
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nServer: sipwarden\r\n",
    );
    for c in challenges {
        text.push_str(&format!(
            "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n\", algorithm={c}, qop=\"auth\"\r\n"
        ));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    Bytes::from(text)
}

#[test]
fn a_response_that_fits_is_left_alone() {
    let r = response(&["SHA-256", "MD5"]);
    assert_eq!(fit(r.clone(), r.len()), Some(r));
}

#[test]
fn optional_fields_go_first_then_the_strongest_challenges() {
    let full = response(&["SHA-512-256", "SHA-256", "MD5"]);
    // Just without Server.
    let cut = fit(full.clone(), full.len() - 10).unwrap();
    assert!(!String::from_utf8_lossy(&cut).contains("Server:"));
    assert_eq!(
        String::from_utf8_lossy(&cut)
            .matches("WWW-Authenticate")
            .count(),
        3
    );
    // Room for one challenge: the last (most widely supported) stays.
    let one = response(&["MD5"]);
    let cut = fit(full.clone(), one.len()).unwrap();
    let text = String::from_utf8_lossy(&cut);
    assert!(cut.len() <= one.len());
    assert_eq!(text.matches("WWW-Authenticate").count(), 1);
    assert!(text.contains("algorithm=MD5"));
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
}

#[test]
fn a_response_that_cannot_fit_is_not_sent() {
    let full = response(&["SHA-256", "MD5"]);
    assert_eq!(fit(full, 100), None);
}

#[test]
fn a_stale_token_is_replaced_not_repeated() {
    assert_eq!(
        strip_param("sip:bob@example.com;sw-rr=old;transport=udp", "sw-rr"),
        "sip:bob@example.com;transport=udp"
    );
    assert_eq!(
        strip_param("sip:bob@example.com", "sw-rr"),
        "sip:bob@example.com"
    );
}
