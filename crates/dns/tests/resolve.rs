//! The RFC 3263 algorithm against the in-memory fake: every branch, NAPTR
//! filtering, sips-only-TLS, failures and caps.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::{IpAddr, SocketAddr};

use sipwarden_dns::fake::{FakeDns, QueryKind};
use sipwarden_dns::{
    resolve, Host, Limits, LookupError, Naptr, NextHop, NextHopResolver, ResolveError,
    ResolveOptions, Scheme, Srv, Target, Transport, TransportSet,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn name(s: &str) -> Host {
    Host::parse(s).unwrap()
}

fn sip(host: &str) -> NextHop {
    NextHop::new(Scheme::Sip, Host::parse(host).unwrap())
}

fn sips(host: &str) -> NextHop {
    NextHop::new(Scheme::Sips, Host::parse(host).unwrap())
}

/// A random source that always draws 0: the first record (by running sum) wins.
fn first(_: u32) -> u32 {
    0
}

async fn run(dns: &FakeDns, hop: &NextHop) -> Result<Vec<Target>, ResolveError> {
    run_with(dns, hop, &ResolveOptions::default()).await
}

async fn run_with(
    dns: &FakeDns,
    hop: &NextHop,
    opts: &ResolveOptions,
) -> Result<Vec<Target>, ResolveError> {
    let mut rng = first;
    resolve(dns, hop, opts, &mut rng).await
}

fn summary(targets: &[Target]) -> Vec<(Transport, SocketAddr)> {
    targets.iter().map(|t| (t.transport, t.addr)).collect()
}

fn q(kind: QueryKind, name: &str) -> (QueryKind, String) {
    (kind, name.to_owned())
}

// ---- IP literals: no lookups ----

#[tokio::test]
async fn ipv4_literal_sip_defaults_to_udp_5060_without_lookups() {
    let dns = FakeDns::new();
    let t = run(&dns, &sip("192.0.2.1")).await.unwrap();
    assert_eq!(
        t,
        vec![Target {
            transport: Transport::Udp,
            addr: sa("192.0.2.1:5060"),
            tls_name: None,
            via_srv: false,
            srv_target: None,
        }]
    );
    assert!(dns.queries().is_empty());
}

#[tokio::test]
async fn ip_literal_sips_defaults_to_tls_5061() {
    let dns = FakeDns::new();
    let t = run(&dns, &sips("[2001:db8::1]")).await.unwrap();
    assert_eq!(
        summary(&t),
        vec![(Transport::Tls, sa("[2001:db8::1]:5061"))]
    );
    assert_eq!(t[0].tls_name, None);
    assert!(dns.queries().is_empty());
}

#[tokio::test]
async fn ipv6_literal_with_transport_and_port() {
    let dns = FakeDns::new();
    let hop = sip("[::1]").with_transport(Transport::Tcp).with_port(5070);
    let t = run(&dns, &hop).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Tcp, sa("[::1]:5070"))]);
}

#[tokio::test]
async fn ip_literal_with_transport_uses_that_transports_default_port() {
    let dns = FakeDns::new();
    let tls = run(&dns, &sip("192.0.2.1").with_transport(Transport::Tls))
        .await
        .unwrap();
    assert_eq!(summary(&tls), vec![(Transport::Tls, sa("192.0.2.1:5061"))]);
    let wss = run(&dns, &sips("192.0.2.1").with_transport(Transport::Ws))
        .await
        .unwrap();
    assert_eq!(summary(&wss), vec![(Transport::Wss, sa("192.0.2.1:443"))]);
}

#[tokio::test]
async fn forbidden_literals_are_refused() {
    let dns = FakeDns::new();
    for bad in [
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "[::]",
        "[ff02::1]",
        "[::ffff:0.0.0.0]",
    ] {
        let err = run(&dns, &sip(bad)).await.unwrap_err();
        assert!(
            matches!(err, ResolveError::ForbiddenAddress(_)),
            "{bad}: {err:?}"
        );
    }
}

#[tokio::test]
async fn disabled_family_literal_is_refused() {
    let dns = FakeDns::new();
    let opts = ResolveOptions {
        ipv6: false,
        ..ResolveOptions::default()
    };
    let err = run_with(&dns, &sip("[2001:db8::1]"), &opts)
        .await
        .unwrap_err();
    assert_eq!(err, ResolveError::FamilyDisabled(ip("2001:db8::1")));
}

#[tokio::test]
async fn port_zero_is_refused() {
    let dns = FakeDns::new();
    let err = run(&dns, &sip("example.com").with_port(0))
        .await
        .unwrap_err();
    assert_eq!(err, ResolveError::InvalidPort);
}

// ---- maddr ----

#[tokio::test]
async fn maddr_replaces_the_host_but_not_the_tls_name() {
    let dns = FakeDns::new();
    let hop = sips("example.com").with_maddr(Host::parse("192.0.2.7").unwrap());
    let t = run(&dns, &hop).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Tls, sa("192.0.2.7:5061"))]);
    assert_eq!(t[0].tls_name.as_deref(), Some("example.com"));
    assert!(dns.queries().is_empty());
}

#[tokio::test]
async fn maddr_name_is_what_gets_resolved() {
    let mut dns = FakeDns::new();
    dns.ip("relay.example.net", ip("192.0.2.8"));
    let hop = sip("example.com")
        .with_maddr(name("relay.example.net"))
        .with_port(5080);
    let t = run(&dns, &hop).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Udp, sa("192.0.2.8:5080"))]);
    assert_eq!(dns.queries(), vec![q(QueryKind::Ip, "relay.example.net")]);
}

// ---- explicit port: A/AAAA only ----

#[tokio::test]
async fn explicit_port_does_address_lookup_only() {
    let mut dns = FakeDns::new();
    dns.ip("example.com", ip("192.0.2.1"))
        .ip("example.com", ip("2001:db8::1"));
    let t = run(&dns, &sip("example.com").with_port(5080))
        .await
        .unwrap();
    assert_eq!(
        summary(&t),
        vec![
            (Transport::Udp, sa("192.0.2.1:5080")),
            (Transport::Udp, sa("[2001:db8::1]:5080")),
        ]
    );
    assert!(t.iter().all(|t| !t.via_srv && t.tls_name.is_none()));
    assert_eq!(dns.queries(), vec![q(QueryKind::Ip, "example.com")]);
}

#[tokio::test]
async fn explicit_port_on_sips_is_tls_with_the_domain_as_tls_name() {
    let mut dns = FakeDns::new();
    dns.ip("example.com", ip("192.0.2.1"));
    let t = run(&dns, &sips("example.com").with_port(5081))
        .await
        .unwrap();
    assert_eq!(summary(&t), vec![(Transport::Tls, sa("192.0.2.1:5081"))]);
    assert_eq!(t[0].tls_name.as_deref(), Some("example.com"));
}

// ---- explicit transport, no port: SRV for that transport ----

#[tokio::test]
async fn explicit_transport_queries_srv_for_that_transport_only() {
    let mut dns = FakeDns::new();
    dns.srv(
        "_sip._tcp.example.com",
        Srv::new(10, 0, 5070, "a.example.com."),
    )
    .ip("a.example.com", ip("192.0.2.10"));
    let t = run(&dns, &sip("example.com").with_transport(Transport::Tcp))
        .await
        .unwrap();
    assert_eq!(
        t,
        vec![Target {
            transport: Transport::Tcp,
            addr: sa("192.0.2.10:5070"),
            tls_name: None,
            via_srv: true,
            srv_target: Some("a.example.com".into()),
        }]
    );
    assert_eq!(
        dns.queries(),
        vec![
            q(QueryKind::Srv, "_sip._tcp.example.com"),
            q(QueryKind::Ip, "a.example.com")
        ]
    );
}

#[tokio::test]
async fn explicit_transport_without_srv_falls_back_to_default_port() {
    let mut dns = FakeDns::new();
    dns.ip("example.com", ip("192.0.2.1"));
    let t = run(&dns, &sip("example.com").with_transport(Transport::Tls))
        .await
        .unwrap();
    assert_eq!(summary(&t), vec![(Transport::Tls, sa("192.0.2.1:5061"))]);
    assert_eq!(t[0].tls_name.as_deref(), Some("example.com"));
    assert!(!t[0].via_srv);
    assert_eq!(
        dns.queries(),
        vec![
            q(QueryKind::Srv, "_sips._tcp.example.com"),
            q(QueryKind::Ip, "example.com")
        ]
    );
}

#[tokio::test]
async fn sips_transport_tcp_means_tls_and_ws_means_wss() {
    let mut dns = FakeDns::new();
    dns.srv(
        "_sips._tcp.example.com",
        Srv::new(0, 0, 5061, "tls.example.com"),
    )
    .srv(
        "_sips._ws.example.com",
        Srv::new(0, 0, 8443, "ws.example.com"),
    )
    .ip("tls.example.com", ip("192.0.2.1"))
    .ip("ws.example.com", ip("192.0.2.2"));
    let t = run(&dns, &sips("example.com").with_transport(Transport::Tcp))
        .await
        .unwrap();
    assert_eq!(summary(&t), vec![(Transport::Tls, sa("192.0.2.1:5061"))]);
    let t = run(&dns, &sips("example.com").with_transport(Transport::Ws))
        .await
        .unwrap();
    assert_eq!(summary(&t), vec![(Transport::Wss, sa("192.0.2.2:8443"))]);
    assert_eq!(t[0].tls_name.as_deref(), Some("example.com"));
}

#[tokio::test]
async fn sips_with_transport_udp_is_an_error() {
    let dns = FakeDns::new();
    let err = run(&dns, &sips("example.com").with_transport(Transport::Udp))
        .await
        .unwrap_err();
    assert_eq!(err, ResolveError::InsecureTransportForSips(Transport::Udp));
    let err = run(&dns, &sips("192.0.2.1").with_transport(Transport::Udp))
        .await
        .unwrap_err();
    assert_eq!(err, ResolveError::InsecureTransportForSips(Transport::Udp));
    assert!(dns.queries().is_empty());
}

#[tokio::test]
async fn requested_transport_must_be_enabled() {
    let dns = FakeDns::new();
    let opts = ResolveOptions {
        transports: TransportSet::from_slice(&[Transport::Udp, Transport::Tcp, Transport::Tls]),
        ..ResolveOptions::default()
    };
    let err = run_with(
        &dns,
        &sip("example.com").with_transport(Transport::Ws),
        &opts,
    )
    .await
    .unwrap_err();
    assert_eq!(err, ResolveError::TransportNotEnabled(Transport::Ws));
}

#[tokio::test]
async fn sips_without_secure_transports_enabled_is_an_error() {
    let dns = FakeDns::new();
    let opts = ResolveOptions {
        transports: TransportSet::from_slice(&[Transport::Udp, Transport::Tcp]),
        ..ResolveOptions::default()
    };
    let err = run_with(&dns, &sips("example.com"), &opts)
        .await
        .unwrap_err();
    assert_eq!(err, ResolveError::NoUsableTransport("sips:"));
    assert!(dns.queries().is_empty());
}

// ---- NAPTR → SRV → A/AAAA ----

fn full_zone() -> FakeDns {
    let mut dns = FakeDns::new();
    dns.naptr(
        "example.com",
        Naptr::new(10, 30, "SIP+D2U", "_sip._udp.example.com."),
    )
    .naptr(
        "example.com",
        Naptr::new(10, 10, "SIPS+D2T", "_sips._tcp.example.com."),
    )
    .naptr(
        "example.com",
        Naptr::new(10, 20, "SIP+D2T", "_sip._tcp.example.com."),
    )
    .srv(
        "_sips._tcp.example.com",
        Srv::new(0, 0, 5061, "tls.example.com."),
    )
    .srv(
        "_sip._tcp.example.com",
        Srv::new(0, 0, 5060, "tcp.example.com."),
    )
    .srv(
        "_sip._udp.example.com",
        Srv::new(0, 0, 5060, "udp.example.com."),
    )
    .ip("tls.example.com", ip("2001:db8::5"))
    .ip("tls.example.com", ip("192.0.2.5"))
    .ip("tcp.example.com", ip("192.0.2.6"))
    .ip("udp.example.com", ip("192.0.2.7"));
    dns
}

#[tokio::test]
async fn naptr_srv_address_chain_in_preference_order() {
    let dns = full_zone();
    let t = run(&dns, &sip("example.com")).await.unwrap();
    assert_eq!(
        summary(&t),
        vec![
            (Transport::Tls, sa("[2001:db8::5]:5061")),
            (Transport::Tls, sa("192.0.2.5:5061")),
            (Transport::Tcp, sa("192.0.2.6:5060")),
            (Transport::Udp, sa("192.0.2.7:5060")),
        ]
    );
    assert_eq!(t[0].tls_name.as_deref(), Some("example.com"));
    assert_eq!(t[0].srv_target.as_deref(), Some("tls.example.com"));
    assert!(t.iter().all(|t| t.via_srv));
    assert_eq!(t[2].tls_name, None);
    assert_eq!(t[2].srv_target.as_deref(), Some("tcp.example.com"));
    assert_eq!(
        dns.queries(),
        vec![
            q(QueryKind::Naptr, "example.com"),
            q(QueryKind::Srv, "_sips._tcp.example.com"),
            q(QueryKind::Ip, "tls.example.com"),
            q(QueryKind::Srv, "_sip._tcp.example.com"),
            q(QueryKind::Ip, "tcp.example.com"),
            q(QueryKind::Srv, "_sip._udp.example.com"),
            q(QueryKind::Ip, "udp.example.com"),
        ]
    );
}

#[tokio::test]
async fn sips_only_ever_yields_tls_even_when_naptr_offers_more() {
    let dns = full_zone();
    let t = run(&dns, &sips("example.com")).await.unwrap();
    assert_eq!(
        summary(&t),
        vec![
            (Transport::Tls, sa("[2001:db8::5]:5061")),
            (Transport::Tls, sa("192.0.2.5:5061")),
        ]
    );
    assert!(dns.queries().iter().all(|(_, n)| !n.starts_with("_sip._")
        && n != "tcp.example.com"
        && n != "udp.example.com"));
}

#[tokio::test]
async fn sips_with_only_plain_naptr_falls_back_to_secure_srv_then_tls_on_5061() {
    let mut dns = FakeDns::new();
    dns.naptr(
        "example.com",
        Naptr::new(10, 10, "SIP+D2U", "_sip._udp.example.com"),
    )
    .naptr(
        "example.com",
        Naptr::new(10, 20, "SIP+D2T", "_sip._tcp.example.com"),
    )
    .srv(
        "_sip._udp.example.com",
        Srv::new(0, 0, 5060, "udp.example.com"),
    )
    .srv(
        "_sip._tcp.example.com",
        Srv::new(0, 0, 5060, "tcp.example.com"),
    )
    .ip("udp.example.com", ip("192.0.2.7"))
    .ip("tcp.example.com", ip("192.0.2.6"))
    .ip("example.com", ip("192.0.2.1"));
    let t = run(&dns, &sips("example.com")).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Tls, sa("192.0.2.1:5061"))]);
    assert_eq!(t[0].tls_name.as_deref(), Some("example.com"));
    assert_eq!(
        dns.queries(),
        vec![
            q(QueryKind::Naptr, "example.com"),
            q(QueryKind::Srv, "_sips._tcp.example.com"),
            q(QueryKind::Srv, "_sips._ws.example.com"),
            q(QueryKind::Ip, "example.com"),
        ]
    );
}

#[tokio::test]
async fn sips_never_uses_plain_targets_even_if_srv_for_tls_points_there() {
    // A hostile zone cannot downgrade: the transport comes from the service,
    // and for sips only secure services are followed.
    let mut dns = FakeDns::new();
    dns.naptr(
        "example.com",
        Naptr::new(1, 1, "SIPS+D2W", "_sips._ws.example.com"),
    )
    .srv(
        "_sips._ws.example.com",
        Srv::new(0, 0, 80, "ws.example.com"),
    )
    .ip("ws.example.com", ip("192.0.2.9"));
    let t = run(&dns, &sips("example.com")).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Wss, sa("192.0.2.9:80"))]);
    assert!(t.iter().all(|t| t.transport.is_secure()));
}

#[tokio::test]
async fn naptr_filtering_flags_regexp_services_and_disabled_transports() {
    let mut dns = FakeDns::new();
    let mut a_flag = Naptr::new(1, 1, "SIP+D2T", "_sip._tcp.bad1.example.com");
    a_flag.flags = "A".into();
    let mut regexp = Naptr::new(1, 2, "SIP+D2T", "_sip._tcp.bad2.example.com");
    regexp.regexp = "!^.*$!sip:x@example.com!".into();
    let root = Naptr::new(1, 3, "SIP+D2T", ".");
    let sctp = Naptr::new(1, 4, "SIP+D2S", "_sip._sctp.example.com");
    let ws = Naptr::new(1, 5, "SIP+D2W", "_sip._ws.example.com");
    let good = Naptr::new(1, 6, "sip+d2t", "_sip._tcp.example.com");
    for r in [a_flag, regexp, root, sctp, ws, good] {
        dns.naptr("example.com", r);
    }
    dns.srv(
        "_sip._tcp.example.com",
        Srv::new(0, 0, 5060, "tcp.example.com"),
    )
    .ip("tcp.example.com", ip("192.0.2.6"));
    let opts = ResolveOptions {
        transports: TransportSet::all().without(Transport::Ws),
        ..ResolveOptions::default()
    };
    let t = run_with(&dns, &sip("example.com"), &opts).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Tcp, sa("192.0.2.6:5060"))]);
    let srv_queries: Vec<_> = dns
        .queries()
        .into_iter()
        .filter(|(k, _)| *k == QueryKind::Srv)
        .collect();
    assert_eq!(
        srv_queries,
        vec![q(QueryKind::Srv, "_sip._tcp.example.com")]
    );
}

#[tokio::test]
async fn only_the_lowest_usable_naptr_order_is_followed() {
    let mut dns = FakeDns::new();
    // Order 5 has only an unusable service, so order 10 is the first match;
    // order 20 must then not be considered (RFC 3403).
    dns.naptr(
        "example.com",
        Naptr::new(5, 1, "SIP+D2S", "_sip._sctp.example.com"),
    )
    .naptr(
        "example.com",
        Naptr::new(20, 1, "SIPS+D2T", "_sips._tcp.example.com"),
    )
    .naptr(
        "example.com",
        Naptr::new(10, 1, "SIP+D2U", "_sip._udp.example.com"),
    )
    .srv(
        "_sips._tcp.example.com",
        Srv::new(0, 0, 5061, "tls.example.com"),
    )
    .srv(
        "_sip._udp.example.com",
        Srv::new(0, 0, 5060, "udp.example.com"),
    )
    .ip("tls.example.com", ip("192.0.2.5"))
    .ip("udp.example.com", ip("192.0.2.7"));
    let t = run(&dns, &sip("example.com")).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Udp, sa("192.0.2.7:5060"))]);
}

#[tokio::test]
async fn no_naptr_queries_srv_per_enabled_transport_in_preference_order() {
    let mut dns = FakeDns::new();
    dns.srv(
        "_sip._udp.example.com",
        Srv::new(0, 0, 5060, "udp.example.com"),
    )
    .srv(
        "_sips._tcp.example.com",
        Srv::new(0, 0, 5061, "tls.example.com"),
    )
    .ip("udp.example.com", ip("192.0.2.7"))
    .ip("tls.example.com", ip("192.0.2.5"));
    let t = run(&dns, &sip("example.com")).await.unwrap();
    assert_eq!(
        summary(&t),
        vec![
            (Transport::Tls, sa("192.0.2.5:5061")),
            (Transport::Udp, sa("192.0.2.7:5060")),
        ]
    );
    let srv: Vec<String> = dns
        .queries()
        .into_iter()
        .filter(|(k, _)| *k == QueryKind::Srv)
        .map(|(_, n)| n)
        .collect();
    assert_eq!(
        srv,
        [
            "_sips._tcp.example.com",
            "_sip._tcp.example.com",
            "_sip._udp.example.com",
            "_sips._ws.example.com",
            "_sip._ws.example.com",
        ]
    );
}

#[tokio::test]
async fn no_naptr_no_srv_uses_addresses_with_udp_on_5060() {
    let mut dns = FakeDns::new();
    dns.ip("example.com", ip("2001:db8::1"))
        .ip("example.com", ip("192.0.2.1"));
    let t = run(&dns, &sip("example.com")).await.unwrap();
    assert_eq!(
        summary(&t),
        vec![
            (Transport::Udp, sa("[2001:db8::1]:5060")),
            (Transport::Udp, sa("192.0.2.1:5060")),
        ]
    );
    assert!(t.iter().all(|t| !t.via_srv && t.srv_target.is_none()));
}

#[tokio::test]
async fn no_naptr_no_srv_without_udp_uses_tcp() {
    let mut dns = FakeDns::new();
    dns.ip("example.com", ip("192.0.2.1"));
    let opts = ResolveOptions {
        transports: TransportSet::from_slice(&[Transport::Tcp, Transport::Tls]),
        ..ResolveOptions::default()
    };
    let t = run_with(&dns, &sip("example.com"), &opts).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Tcp, sa("192.0.2.1:5060"))]);
}

#[tokio::test]
async fn srv_root_target_means_no_service_and_no_address_fallback() {
    let mut dns = FakeDns::new();
    dns.srv("_sip._udp.example.com", Srv::new(0, 0, 0, "."))
        .ip("example.com", ip("192.0.2.1"));
    let err = run(&dns, &sip("example.com").with_transport(Transport::Udp))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ResolveError::NotFound {
            host: "example.com".into()
        }
    );
}

#[tokio::test]
async fn nothing_at_all_is_not_found() {
    let dns = FakeDns::new();
    let err = run(&dns, &sip("nowhere.example")).await.unwrap_err();
    assert_eq!(
        err,
        ResolveError::NotFound {
            host: "nowhere.example".into()
        }
    );
}

#[tokio::test]
async fn duplicate_targets_are_dropped() {
    let mut dns = FakeDns::new();
    dns.srv(
        "_sip._tcp.example.com",
        Srv::new(0, 0, 5060, "a.example.com"),
    )
    .srv(
        "_sip._tcp.example.com",
        Srv::new(1, 0, 5060, "b.example.com"),
    )
    .ip("a.example.com", ip("192.0.2.1"))
    .ip("b.example.com", ip("192.0.2.1"))
    .ip("b.example.com", ip("192.0.2.2"));
    let t = run(&dns, &sip("example.com").with_transport(Transport::Tcp))
        .await
        .unwrap();
    assert_eq!(
        summary(&t),
        vec![
            (Transport::Tcp, sa("192.0.2.1:5060")),
            (Transport::Tcp, sa("192.0.2.2:5060")),
        ]
    );
}

#[tokio::test]
async fn forbidden_and_disabled_addresses_from_dns_are_dropped() {
    let mut dns = FakeDns::new();
    for a in [
        "0.0.0.0",
        "224.0.0.5",
        "255.255.255.255",
        "::",
        "ff05::2",
        "2001:db8::1",
        "192.0.2.1",
    ] {
        dns.ip("example.com", ip(a));
    }
    let opts = ResolveOptions {
        ipv6: false,
        ..ResolveOptions::default()
    };
    let t = run_with(&dns, &sip("example.com").with_port(5060), &opts)
        .await
        .unwrap();
    assert_eq!(summary(&t), vec![(Transport::Udp, sa("192.0.2.1:5060"))]);
}

// ---- failures ----

#[tokio::test]
async fn failed_naptr_lookup_falls_back_to_srv() {
    let mut dns = full_zone();
    dns.fail(
        QueryKind::Naptr,
        "example.com",
        LookupError::Timeout {
            name: "example.com".into(),
        },
    );
    let t = run(&dns, &sips("example.com")).await.unwrap();
    assert_eq!(summary(&t)[0], (Transport::Tls, sa("[2001:db8::5]:5061")));
}

#[tokio::test]
async fn when_everything_fails_the_lookup_error_is_reported() {
    let mut dns = FakeDns::new();
    let boom = LookupError::Failed {
        name: "example.com".into(),
        reason: "SERVFAIL".into(),
    };
    dns.fail(QueryKind::Ip, "example.com", boom.clone());
    let err = run(&dns, &sip("example.com").with_port(5060))
        .await
        .unwrap_err();
    assert_eq!(err, ResolveError::Lookup(boom));
}

#[tokio::test]
async fn bogus_dnssec_answer_stops_resolution_without_fallback() {
    let mut dns = full_zone();
    let bogus = LookupError::Bogus {
        name: "_sips._tcp.example.com".into(),
    };
    dns.fail(QueryKind::Srv, "_sips._tcp.example.com", bogus.clone());
    let err = run(&dns, &sip("example.com")).await.unwrap_err();
    assert_eq!(err, ResolveError::Lookup(bogus));
}

// ---- caps ----

#[tokio::test]
async fn lookup_budget_bounds_work_on_hostile_zones() {
    let mut dns = FakeDns::new();
    for i in 0..50u16 {
        let srv_name = format!("_sip._udp.s{i}.example.com");
        dns.naptr("example.com", Naptr::new(1, i, "SIP+D2U", &srv_name));
        for j in 0..50u16 {
            let host = format!("h{i}-{j}.example.com");
            dns.srv(&srv_name, Srv::new(0, 0, 5060, &host));
            dns.ip(&host, ip(&format!("10.0.{i}.{j}")));
        }
    }
    let opts = ResolveOptions {
        limits: Limits {
            max_lookups: 5,
            max_targets: 100,
            ..Limits::default()
        },
        ..ResolveOptions::default()
    };
    let t = run_with(&dns, &sip("example.com"), &opts).await.unwrap();
    assert_eq!(dns.queries().len(), 5);
    // NAPTR + SRV + 3 address lookups.
    assert_eq!(t.len(), 3);
}

#[tokio::test]
async fn target_cap_stops_output_and_lookups() {
    let mut dns = FakeDns::new();
    for j in 0..10u16 {
        let host = format!("h{j}.example.com");
        dns.srv("_sip._tcp.example.com", Srv::new(0, 0, 5060, &host));
        dns.ip(&host, ip(&format!("192.0.2.{j}")))
            .ip(&host, ip(&format!("2001:db8::{j}")));
    }
    let opts = ResolveOptions {
        limits: Limits {
            max_targets: 3,
            ..Limits::default()
        },
        ..ResolveOptions::default()
    };
    let t = run_with(
        &dns,
        &sip("example.com").with_transport(Transport::Tcp),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(t.len(), 3);
    // One SRV query and two address lookups were enough for three targets.
    assert_eq!(dns.queries().len(), 3);
}

#[tokio::test]
async fn per_name_address_and_srv_record_caps() {
    let mut dns = FakeDns::new();
    for j in 0..20u16 {
        let host = format!("h{j}.example.com");
        dns.srv("_sip._tcp.example.com", Srv::new(j, 0, 5060, &host));
        for k in 0..20u8 {
            dns.ip(&host, ip(&format!("10.{j}.0.{k}")));
        }
    }
    let opts = ResolveOptions {
        limits: Limits {
            max_srv: 2,
            max_addrs_per_name: 3,
            max_targets: 100,
            max_lookups: 100,
            ..Limits::default()
        },
        ..ResolveOptions::default()
    };
    let t = run_with(
        &dns,
        &sip("example.com").with_transport(Transport::Tcp),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(t.len(), 6);
    assert_eq!(t[0].srv_target.as_deref(), Some("h0.example.com"));
    assert_eq!(t[3].srv_target.as_deref(), Some("h1.example.com"));
}

#[tokio::test]
async fn naptr_cap_limits_followed_records() {
    let mut dns = FakeDns::new();
    for i in 0..10u16 {
        dns.naptr(
            "example.com",
            Naptr::new(1, i, "SIP+D2U", &format!("_sip._udp.s{i}.example.com")),
        );
    }
    let opts = ResolveOptions {
        limits: Limits {
            max_naptr: 2,
            ..Limits::default()
        },
        ..ResolveOptions::default()
    };
    dns.ip("example.com", ip("192.0.2.1"));
    let _ = run_with(&dns, &sip("example.com"), &opts).await.unwrap();
    let srv: Vec<String> = dns
        .queries()
        .into_iter()
        .filter(|(k, _)| *k == QueryKind::Srv)
        .map(|(_, n)| n)
        .collect();
    assert_eq!(
        srv,
        ["_sip._udp.s0.example.com", "_sip._udp.s1.example.com"]
    );
}

#[tokio::test]
async fn exhausted_budget_without_targets_is_reported() {
    let mut dns = FakeDns::new();
    dns.ip("example.com", ip("192.0.2.1"));
    let opts = ResolveOptions {
        limits: Limits {
            max_lookups: 2,
            ..Limits::default()
        },
        ..ResolveOptions::default()
    };
    let err = run_with(&dns, &sip("example.com"), &opts)
        .await
        .unwrap_err();
    assert_eq!(err, ResolveError::BudgetExhausted);
    assert_eq!(dns.queries().len(), 2);
}

// ---- the bundled resolver ----

#[tokio::test]
async fn next_hop_resolver_uses_its_options() {
    let dns = full_zone();
    let resolver = NextHopResolver::new(
        dns,
        ResolveOptions {
            transports: TransportSet::from_slice(&[Transport::Udp]),
            ..ResolveOptions::default()
        },
    );
    let t = resolver.resolve(&sip("example.com")).await.unwrap();
    assert_eq!(summary(&t), vec![(Transport::Udp, sa("192.0.2.7:5060"))]);
    assert_eq!(resolver.lookup().queries().len(), 3);
}
