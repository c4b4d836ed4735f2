use crate::spec::{ListenSpec, SpecError, Transport};

#[test]
fn listen_specs_parse_and_print_back() {
    for text in [
        "udp:127.0.0.1:5060",
        "tcp:[::1]:5060",
        "tls:0.0.0.0:5061",
        "ws:127.0.0.1:0",
        "wss:[2001:db8::1]:443",
    ] {
        let spec: ListenSpec = text.parse().unwrap();
        assert_eq!(spec.to_string(), text);
    }
    let spec: ListenSpec = "TLS:127.0.0.1:5061".parse().unwrap();
    assert_eq!(spec.transport, Transport::Tls);
}

#[test]
fn bad_listen_specs_are_refused_with_a_reason() {
    assert!(matches!(
        "127.0.0.1:5060".parse::<ListenSpec>(),
        Err(SpecError::UnknownTransport(_))
    ));
    assert!(matches!(
        "udp".parse::<ListenSpec>(),
        Err(SpecError::MissingTransport(_))
    ));
    assert!(matches!(
        "sctp:127.0.0.1:5060".parse::<ListenSpec>(),
        Err(SpecError::UnknownTransport(_))
    ));
    assert!(matches!(
        "udp:localhost:5060".parse::<ListenSpec>(),
        Err(SpecError::BadAddress(_))
    ));
    assert!(matches!(
        "udp:::1:5060".parse::<ListenSpec>(),
        Err(SpecError::BadAddress(_))
    ));
}

#[test]
fn transport_properties() {
    assert!(!Transport::Udp.is_reliable());
    assert!(Transport::Ws.is_reliable() && Transport::Ws.is_websocket());
    assert!(Transport::Wss.is_secure() && Transport::Tls.is_secure());
    assert_eq!(Transport::Tls.default_port(), 5061);
    assert_eq!(Transport::from_via_token(b"wss"), Some(Transport::Wss));
    assert_eq!(Transport::from_via_token(b"SCTP"), None);
}
