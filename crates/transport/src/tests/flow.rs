use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::flow::{canonical_ip, AdmitError, ConnectionTable, TlsSession, MAX_ALIASES_PER_FLOW};
use crate::spec::Transport;

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)), port)
}

fn local() -> SocketAddr {
    "127.0.0.1:5060".parse().unwrap()
}

#[test]
fn per_source_limit_counts_every_transport_and_frees_on_remove() {
    let mut t = ConnectionTable::new(2, 100);
    let a = t
        .admit(Transport::Tcp, local(), addr(1, 1000), "a")
        .unwrap();
    t.admit(Transport::Tls, local(), addr(1, 1001), "b")
        .unwrap();
    assert_eq!(
        t.admit(Transport::Ws, local(), addr(1, 1002), "c"),
        Err(AdmitError::PerSourceLimit(addr(1, 0).ip()))
    );
    // Another source is not affected.
    t.admit(Transport::Tcp, local(), addr(2, 1000), "d")
        .unwrap();
    assert_eq!(t.remove(a.id.unwrap()), Some("a"));
    assert_eq!(t.connections_from(addr(1, 0).ip()), 1);
    t.admit(Transport::Tcp, local(), addr(1, 1003), "e")
        .unwrap();
}

#[test]
fn total_limit() {
    let mut t = ConnectionTable::new(10, 2);
    t.admit(Transport::Tcp, local(), addr(1, 1), ()).unwrap();
    t.admit(Transport::Tcp, local(), addr(2, 1), ()).unwrap();
    assert_eq!(t.check(&addr(3, 1)), Err(AdmitError::TableFull));
}

#[test]
fn ipv4_mapped_sources_share_the_ipv4_budget() {
    let mut t = ConnectionTable::new(1, 10);
    t.admit(Transport::Tcp, local(), addr(1, 1), ()).unwrap();
    let mapped = SocketAddr::new(IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()), 2);
    assert!(matches!(
        t.check(&mapped),
        Err(AdmitError::PerSourceLimit(_))
    ));
    assert_eq!(canonical_ip(mapped.ip()), addr(1, 0).ip());
    assert_eq!(
        canonical_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    );
}

#[test]
fn find_prefers_the_newest_connection_and_ids_are_never_reused() {
    let mut t = ConnectionTable::new(10, 10);
    let first = t.admit(Transport::Tcp, local(), addr(1, 1), "old").unwrap();
    let second = t.admit(Transport::Tcp, local(), addr(1, 1), "new").unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(
        t.find(Transport::Tcp, addr(1, 1)).map(|(_, h)| *h),
        Some("new")
    );
    assert!(t.find(Transport::Tls, addr(1, 1)).is_none());
    t.remove(second.id.unwrap());
    assert_eq!(
        t.find(Transport::Tcp, addr(1, 1)).map(|(_, h)| *h),
        Some("old")
    );
    let third = t
        .admit(Transport::Tcp, local(), addr(1, 1), "third")
        .unwrap();
    assert!(third.id > second.id);
}

#[test]
fn aliases_route_to_the_flow_and_vanish_with_it() {
    let mut t = ConnectionTable::new(10, 10);
    let flow = t
        .admit(Transport::Tls, local(), addr(1, 40000), "conn")
        .unwrap();
    let id = flow.id.unwrap();
    // The client's advertised listening address (unreachable in practice).
    assert!(t.add_alias(id, addr(1, 5061)));
    assert_eq!(
        t.find(Transport::Tls, addr(1, 5061)).map(|(f, _)| f.id),
        Some(Some(id))
    );
    assert!(t.find(Transport::Tcp, addr(1, 5061)).is_none());
    for port in 1..=10 {
        t.add_alias(id, addr(1, 6000 + port));
    }
    assert!(!t.add_alias(id, addr(1, 7000)), "alias count is bounded");
    const { assert!(MAX_ALIASES_PER_FLOW < 10) };
    t.remove(id);
    assert!(t.find(Transport::Tls, addr(1, 5061)).is_none());
    assert!(t.is_empty());
}

#[test]
fn drain_empties_everything() {
    let mut t = ConnectionTable::new(10, 10);
    t.admit(Transport::Tcp, local(), addr(1, 1), 1).unwrap();
    t.admit(Transport::Tcp, local(), addr(2, 1), 2).unwrap();
    let mut handles = t.drain();
    handles.sort();
    assert_eq!(handles, vec![1, 2]);
    assert_eq!(t.connections_from(addr(1, 1).ip()), 0);
    assert!(t.find(Transport::Tcp, addr(1, 1)).is_none());
}

#[test]
fn a_connection_keeps_its_tls_session_until_removed() {
    let mut t = ConnectionTable::new(10, 10);
    let f = t.admit(Transport::Tls, local(), addr(1, 1), ()).unwrap();
    let id = f.id.unwrap();
    // Before the handshake completes nothing is known.
    assert_eq!(t.tls(id), None);
    let session = TlsSession {
        version: "TLSv1.2".to_owned(),
        cipher_suite: Some("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".to_owned()),
    };
    assert!(t.set_tls(id, session.clone()));
    assert_eq!(t.tls(id), Some(&session));
    t.remove(id);
    assert_eq!(t.tls(id), None);
    assert!(!t.set_tls(id, session));
}
