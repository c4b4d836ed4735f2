//! The hickory-backed lookups against a tiny authoritative server started in
//! process on 127.0.0.1, so the real resolver path runs without leaving
//! loopback and without the system resolver configuration.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, NAPTR, SRV};
use hickory_resolver::proto::rr::{Name, RData, Record};
use hickory_resolver::TokioResolver;
use sipwarden_dns::{
    resolve, DnsLookup, HickoryLookup, Host, LookupError, Naptr, NextHop, ResolveError,
    ResolveOptions, Scheme, Srv, Transport,
};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// What the test server does for a name.
enum Behaviour {
    Records(Vec<RData>),
    ServFail,
    Silent,
}

struct Zone(HashMap<String, Behaviour>);

impl Zone {
    fn answer(&self, query: &Message) -> Option<Message> {
        let q = query.queries.first()?;
        let name = q.name().to_ascii().to_ascii_lowercase();
        let mut resp = Message::response(query.metadata.id, query.metadata.op_code);
        resp.metadata.recursion_desired = query.metadata.recursion_desired;
        resp.metadata.authoritative = true;
        resp.add_query(q.clone());
        match self.0.get(&name) {
            None => resp.metadata.response_code = ResponseCode::NXDomain,
            Some(Behaviour::Silent) => return None,
            Some(Behaviour::ServFail) => resp.metadata.response_code = ResponseCode::ServFail,
            Some(Behaviour::Records(rdata)) => {
                for r in rdata.iter().filter(|r| r.record_type() == q.query_type()) {
                    resp.add_answer(Record::from_rdata(q.name().clone(), 60, r.clone()));
                }
            }
        }
        Some(resp)
    }
}

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn zone() -> Zone {
    let mut z = HashMap::new();
    z.insert(
        "example.test.".to_owned(),
        Behaviour::Records(vec![
            RData::NAPTR(NAPTR::new(
                10,
                20,
                b"s".to_vec().into(),
                b"SIP+D2U".to_vec().into(),
                Vec::new().into(),
                n("_sip._udp.example.test."),
            )),
            RData::NAPTR(NAPTR::new(
                10,
                10,
                b"S".to_vec().into(),
                b"SIPS+D2T".to_vec().into(),
                Vec::new().into(),
                n("_sips._tcp.example.test."),
            )),
        ]),
    );
    z.insert(
        "_sips._tcp.example.test.".to_owned(),
        Behaviour::Records(vec![RData::SRV(SRV::new(
            0,
            5,
            5061,
            n("tls.example.test."),
        ))]),
    );
    z.insert(
        "_sip._udp.example.test.".to_owned(),
        Behaviour::Records(vec![RData::SRV(SRV::new(
            0,
            5,
            5070,
            n("udp.example.test."),
        ))]),
    );
    z.insert(
        "tls.example.test.".to_owned(),
        Behaviour::Records(vec![
            RData::A(A(Ipv4Addr::new(127, 0, 0, 2))),
            RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)),
        ]),
    );
    z.insert(
        "udp.example.test.".to_owned(),
        Behaviour::Records(vec![RData::A(A(Ipv4Addr::new(127, 0, 0, 3)))]),
    );
    z.insert(
        "plain.test.".to_owned(),
        Behaviour::Records(vec![RData::A(A(Ipv4Addr::new(127, 0, 0, 4)))]),
    );
    z.insert("broken.test.".to_owned(), Behaviour::ServFail);
    z.insert("silent.test.".to_owned(), Behaviour::Silent);
    Zone(z)
}

/// Serves `zone` over UDP on 127.0.0.1 until the returned task is aborted.
async fn start_server() -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let zone = Arc::new(zone());
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            if let Some(resp) = zone.answer(&query) {
                let bytes = resp.to_vec().unwrap();
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    (addr, task)
}

async fn lookup() -> (HickoryLookup, JoinHandle<()>) {
    let (addr, task) = start_server().await;
    let dns = HickoryLookup::with_nameservers(&[addr], Duration::from_secs(2)).unwrap();
    (dns, task)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn raw_lookups_through_hickory() {
    let (dns, task) = lookup().await;

    let mut naptr = dns.naptr("example.test").await.unwrap();
    naptr.sort_by_key(|r| r.preference);
    assert_eq!(
        naptr,
        vec![Naptr::new(10, 10, "SIPS+D2T", "_sips._tcp.example.test"), {
            let mut r = Naptr::new(10, 20, "SIP+D2U", "_sip._udp.example.test");
            r.flags = "s".into();
            r
        },]
    );
    assert_eq!(
        dns.srv("_sips._tcp.example.test").await.unwrap(),
        vec![Srv::new(0, 5, 5061, "tls.example.test")]
    );
    let mut ips = dns.ips("tls.example.test").await.unwrap();
    ips.sort();
    assert_eq!(ips, vec![ip("127.0.0.2"), ip("::1")]);

    // NXDOMAIN and NODATA are empty answers, not errors.
    assert_eq!(dns.naptr("missing.test").await.unwrap(), vec![]);
    assert_eq!(dns.srv("plain.test").await.unwrap(), vec![]);

    // SERVFAIL is an error.
    let err = dns.srv("broken.test").await.unwrap_err();
    assert!(matches!(err, LookupError::Failed { .. }), "{err:?}");
    task.abort();
}

#[tokio::test]
async fn full_rfc3263_resolution_through_hickory() {
    let (dns, task) = lookup().await;
    let hop = NextHop::new(Scheme::Sip, Host::parse("example.test").unwrap());
    let mut rng = |_| 0;
    let targets = resolve(&dns, &hop, &ResolveOptions::default(), &mut rng)
        .await
        .unwrap();
    let summary: Vec<(Transport, SocketAddr)> =
        targets.iter().map(|t| (t.transport, t.addr)).collect();
    assert_eq!(
        summary,
        vec![
            (Transport::Tls, "[::1]:5061".parse().unwrap()),
            (Transport::Tls, "127.0.0.2:5061".parse().unwrap()),
            (Transport::Udp, "127.0.0.3:5070".parse().unwrap()),
        ]
    );
    assert_eq!(targets[0].tls_name.as_deref(), Some("example.test"));
    assert_eq!(targets[0].srv_target.as_deref(), Some("tls.example.test"));
    assert!(targets.iter().all(|t| t.via_srv));

    // sips: the UDP branch of the same zone never shows up.
    let hop = NextHop::new(Scheme::Sips, Host::parse("example.test").unwrap());
    let targets = resolve(&dns, &hop, &ResolveOptions::default(), &mut rng)
        .await
        .unwrap();
    assert!(targets.iter().all(|t| t.transport == Transport::Tls));
    assert_eq!(targets.len(), 2);
    task.abort();
}

#[tokio::test]
async fn address_fallback_and_not_found_through_hickory() {
    let (dns, task) = lookup().await;
    let mut rng = |_| 0;
    let hop = NextHop::new(Scheme::Sip, Host::parse("plain.test").unwrap());
    let targets = resolve(&dns, &hop, &ResolveOptions::default(), &mut rng)
        .await
        .unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].transport, Transport::Udp);
    assert_eq!(targets[0].addr, "127.0.0.4:5060".parse().unwrap());

    let hop = NextHop::new(Scheme::Sip, Host::parse("missing.test").unwrap());
    let err = resolve(&dns, &hop, &ResolveOptions::default(), &mut rng)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ResolveError::NotFound {
            host: "missing.test".into()
        }
    );
    task.abort();
}

#[tokio::test]
async fn unanswered_queries_time_out() {
    let (addr, task) = start_server().await;
    let dns = HickoryLookup::with_nameservers(&[addr], Duration::from_millis(100)).unwrap();
    let err = dns.srv("silent.test").await.unwrap_err();
    assert!(matches!(err, LookupError::Timeout { .. }), "{err:?}");
    task.abort();
}

#[tokio::test]
async fn names_are_never_expanded_by_a_search_list() {
    let (addr, task) = start_server().await;
    // A resolver whose search list would turn "example" into "example.test".
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut config =
        ResolverConfig::from_name_servers(vec![NameServerConfig::new(addr.ip(), true, vec![udp])]);
    config.add_search(n("test."));
    let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .build()
        .unwrap();
    // The raw resolver does expand it...
    let expanded = resolver
        .lookup("example", hickory_resolver::proto::rr::RecordType::NAPTR)
        .await
        .unwrap();
    assert_eq!(expanded.answers().len(), 2);
    // ...but lookups through this crate stay absolute.
    let dns = HickoryLookup::from_resolver(resolver);
    assert_eq!(dns.naptr("example").await.unwrap(), vec![]);
    task.abort();
}

/// The transport layer spawns resolutions on tokio: the futures must be Send.
#[test]
fn resolution_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dns = HickoryLookup::with_nameservers(
            &["127.0.0.1:9".parse().unwrap()],
            Duration::from_millis(1),
        )
        .unwrap();
        let hop = NextHop::new(Scheme::Sip, Host::parse("192.0.2.1").unwrap());
        let opts = ResolveOptions::default();
        let mut rng = sipwarden_dns::StdWeightRandom::new();
        let fut = resolve(&dns, &hop, &opts, &mut rng);
        assert_send(&fut);
        assert_eq!(fut.await.unwrap().len(), 1);
        let resolver = sipwarden_dns::NextHopResolver::new(dns, opts);
        let fut = resolver.resolve(&hop);
        assert_send(&fut);
        assert_eq!(fut.await.unwrap().len(), 1);
    });
}
