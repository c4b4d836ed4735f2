use crate::ws::{check_handshake, HandshakeRefusal, WsPolicy};

#[test]
fn the_sip_subprotocol_is_required() {
    let p = WsPolicy::default();
    assert_eq!(check_handshake([&b"sip"[..]], None, &p), Ok(()));
    assert_eq!(check_handshake([&b"chat, SIP"[..]], None, &p), Ok(()));
    assert_eq!(
        check_handshake([&b"chat"[..], &b" sip "[..]], None, &p),
        Ok(())
    );
    assert_eq!(
        check_handshake([&b"sips"[..]], None, &p),
        Err(HandshakeRefusal::NoSipSubprotocol)
    );
    assert_eq!(
        check_handshake(Vec::<&[u8]>::new(), None, &p),
        Err(HandshakeRefusal::NoSipSubprotocol)
    );
}

#[test]
fn origins_are_checked_when_a_list_is_configured() {
    let open = WsPolicy::default();
    assert_eq!(
        check_handshake([&b"sip"[..]], Some(b"https://evil.example"), &open),
        Ok(())
    );
    let strict = WsPolicy {
        allowed_origins: Some(vec!["https://phone.example.com".into()]),
    };
    assert_eq!(
        check_handshake([&b"sip"[..]], Some(b"https://PHONE.example.com"), &strict),
        Ok(())
    );
    assert_eq!(
        check_handshake([&b"sip"[..]], Some(b"https://evil.example"), &strict),
        Err(HandshakeRefusal::OriginNotAllowed)
    );
    // Non-browser clients send no Origin.
    assert_eq!(check_handshake([&b"sip"[..]], None, &strict), Ok(()));
}
