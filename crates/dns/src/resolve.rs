//! RFC 3263 §4: from a URI to an ordered list of targets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::error::{LookupError, ResolveError};
use crate::lookup::{DnsLookup, Naptr, Srv};
use crate::random::{StdWeightRandom, WeightRandom};
use crate::srv::order_srv;
use crate::types::{echo, Host, NextHop, ResolveOptions, Scheme, Target, Transport, TransportSet};

/// Transports tried through SRV when a domain has no usable NAPTR records,
/// most preferred first. TLS leads even for `sip:` URIs: a secure hop is
/// preferred whenever the peer offers one.
const SRV_FALLBACK: [Transport; 5] = [
    Transport::Tls,
    Transport::Tcp,
    Transport::Udp,
    Transport::Wss,
    Transport::Ws,
];

/// Transport used when nothing (parameter, NAPTR, SRV) names one: UDP for
/// `sip:` and TLS for `sips:` (RFC 3263 §4.1), or the next enabled one.
const DEFAULT_SIP: [Transport; 5] = [
    Transport::Udp,
    Transport::Tcp,
    Transport::Tls,
    Transport::Ws,
    Transport::Wss,
];
const DEFAULT_SIPS: [Transport; 2] = [Transport::Tls, Transport::Wss];

/// Resolves a next hop to the targets to try, in order (RFC 3263 §4).
///
/// - An IP literal needs no lookup: the transport is the `transport=`
///   parameter, else UDP for `sip:` and TLS for `sips:`; the port defaults
///   per transport.
/// - A name with an explicit port: A/AAAA only.
/// - A name with `transport=` but no port: SRV for that transport, else
///   A/AAAA on the transport's default port.
/// - Otherwise NAPTR, then SRV on the replacements of the lowest usable
///   NAPTR order; without usable NAPTR records, SRV for each enabled
///   transport in preference order; without any SRV record, A/AAAA on the
///   default port with the default transport.
///
/// For `sips:` only TLS and WSS targets are produced: `transport=tcp` means
/// TLS, `transport=ws` means WSS, `transport=udp` is an error, and NAPTR/SRV
/// entries for other transports are ignored.
///
/// A failed lookup is skipped over (the next record or fallback is tried)
/// unless it failed DNSSEC validation, which ends resolution. The number of
/// lookups, records followed and targets returned are capped by
/// [`ResolveOptions::limits`].
pub async fn resolve<L, R>(
    dns: &L,
    hop: &NextHop,
    opts: &ResolveOptions,
    rng: &mut R,
) -> Result<Vec<Target>, ResolveError>
where
    L: DnsLookup,
    R: WeightRandom,
{
    let (allowed, defaults, scheme_name): (TransportSet, &[Transport], &'static str) =
        match hop.scheme {
            Scheme::Sip => (opts.transports, &DEFAULT_SIP, "sip:"),
            Scheme::Sips => (opts.transports.secure_only(), &DEFAULT_SIPS, "sips:"),
        };
    if allowed.is_empty() {
        return Err(ResolveError::NoUsableTransport(scheme_name));
    }
    let requested = match hop.transport {
        None => None,
        Some(t) => {
            let t = effective_transport(hop.scheme, t)?;
            if !allowed.contains(t) {
                return Err(ResolveError::TransportNotEnabled(t));
            }
            Some(t)
        }
    };
    if hop.port == Some(0) {
        return Err(ResolveError::InvalidPort);
    }
    let chosen = match requested {
        Some(t) => Some(t),
        None => defaults.iter().copied().find(|t| allowed.contains(*t)),
    };
    let sip_domain = hop.host.name().map(str::to_owned);
    let target_host = hop.maddr.as_ref().unwrap_or(&hop.host);

    let name = match target_host {
        Host::Ip(ip) => {
            let transport = chosen.ok_or(ResolveError::NoUsableTransport(scheme_name))?;
            check_literal(*ip, opts)?;
            let port = hop.port.unwrap_or_else(|| transport.default_port());
            return Ok(vec![Target {
                transport,
                addr: SocketAddr::new(*ip, port),
                tls_name: sip_domain.filter(|_| transport.is_secure()),
                via_srv: false,
                srv_target: None,
            }]);
        }
        Host::Name(name) => name.as_str(),
    };

    let mut ctx = Ctx {
        dns,
        opts,
        rng,
        sip_domain,
        lookups: 0,
        exhausted: false,
        last_error: None,
        out: Vec::new(),
    };

    if let Some(port) = hop.port {
        let transport = chosen.ok_or(ResolveError::NoUsableTransport(scheme_name))?;
        ctx.add_host(name, port, transport, None).await?;
    } else if let Some(transport) = requested {
        let srv_name = format!("{}.{name}", transport.srv_prefix());
        if !ctx.add_srv(&srv_name, transport).await? {
            ctx.add_host(name, transport.default_port(), transport, None)
                .await?;
        }
    } else {
        let naptrs = ctx.naptr(name).await?;
        let rules = select_naptr(&naptrs, allowed, opts.limits.max_naptr);
        let mut found_srv = false;
        if rules.is_empty() {
            for transport in SRV_FALLBACK.into_iter().filter(|t| allowed.contains(*t)) {
                let srv_name = format!("{}.{name}", transport.srv_prefix());
                found_srv |= ctx.add_srv(&srv_name, transport).await?;
            }
        } else {
            for (transport, replacement) in rules {
                found_srv |= ctx.add_srv(replacement, transport).await?;
            }
        }
        if !found_srv {
            let transport = chosen.ok_or(ResolveError::NoUsableTransport(scheme_name))?;
            ctx.add_host(name, transport.default_port(), transport, None)
                .await?;
        }
    }
    ctx.finish(name)
}

/// The transport a `transport=` parameter means under a scheme. On `sips:`,
/// TCP means TLS (RFC 3261 §26.2.2) and WS means WSS (RFC 7118); UDP has no
/// secure form and is refused.
fn effective_transport(scheme: Scheme, t: Transport) -> Result<Transport, ResolveError> {
    match (scheme, t) {
        (Scheme::Sip, t) => Ok(t),
        (Scheme::Sips, Transport::Udp) => Err(ResolveError::InsecureTransportForSips(t)),
        (Scheme::Sips, Transport::Tcp | Transport::Tls) => Ok(Transport::Tls),
        (Scheme::Sips, Transport::Ws | Transport::Wss) => Ok(Transport::Wss),
    }
}

/// Keeps the NAPTR records RFC 3263 lets us follow: flag `S`, empty regexp,
/// a replacement, and a service for an allowed transport. Only the lowest
/// order among those counts (RFC 3403 §4.1); it is sorted by preference and
/// cut to `max`.
fn select_naptr(records: &[Naptr], allowed: TransportSet, max: usize) -> Vec<(Transport, &str)> {
    let mut usable: Vec<(&Naptr, Transport)> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s") && r.regexp.is_empty())
        .filter(|r| !r.replacement.is_empty())
        .filter_map(|r| Transport::from_naptr_service(&r.services).map(|t| (r, t)))
        .filter(|(_, t)| allowed.contains(*t))
        .collect();
    let Some(order) = usable.iter().map(|(r, _)| r.order).min() else {
        return Vec::new();
    };
    usable.retain(|(r, _)| r.order == order);
    usable.sort_by_key(|(r, _)| r.preference);
    usable
        .into_iter()
        .take(max)
        .map(|(r, t)| (t, r.replacement.as_str()))
        .collect()
}

/// Addresses that must never be a destination, whoever supplied them.
fn is_forbidden(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_multicast() || v4 == Ipv4Addr::BROADCAST,
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_multicast(),
    }
}

fn family_allowed(ip: IpAddr, opts: &ResolveOptions) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(_) => opts.ipv4,
        IpAddr::V6(_) => opts.ipv6,
    }
}

fn check_literal(ip: IpAddr, opts: &ResolveOptions) -> Result<(), ResolveError> {
    if is_forbidden(ip) {
        return Err(ResolveError::ForbiddenAddress(ip));
    }
    if !family_allowed(ip, opts) {
        return Err(ResolveError::FamilyDisabled(ip));
    }
    Ok(())
}

/// State of one resolution: the lookup budget and the targets found so far.
struct Ctx<'a, L, R> {
    dns: &'a L,
    opts: &'a ResolveOptions,
    rng: &'a mut R,
    sip_domain: Option<String>,
    lookups: usize,
    exhausted: bool,
    last_error: Option<LookupError>,
    out: Vec<Target>,
}

impl<L: DnsLookup, R: WeightRandom> Ctx<'_, L, R> {
    /// Whether no further lookup may or need be made.
    fn done(&self) -> bool {
        self.exhausted || self.out.len() >= self.opts.limits.max_targets
    }

    /// Takes one lookup from the budget.
    fn spend(&mut self) -> bool {
        if self.done() {
            return false;
        }
        if self.lookups >= self.opts.limits.max_lookups {
            self.exhausted = true;
            return false;
        }
        self.lookups += 1;
        true
    }

    /// Turns a lookup result into records: failures become "nothing here"
    /// (remembered for the final error), except DNSSEC failures, which stop.
    fn absorb<T>(&mut self, result: Result<Vec<T>, LookupError>) -> Result<Vec<T>, ResolveError> {
        match result {
            Ok(records) => Ok(records),
            Err(e @ LookupError::Bogus { .. }) => Err(ResolveError::Lookup(e)),
            Err(e) => {
                self.last_error = Some(e);
                Ok(Vec::new())
            }
        }
    }

    async fn naptr(&mut self, name: &str) -> Result<Vec<Naptr>, ResolveError> {
        if !self.spend() {
            return Ok(Vec::new());
        }
        let result = self.dns.naptr(name).await;
        self.absorb(result)
    }

    async fn srv(&mut self, name: &str) -> Result<Vec<Srv>, ResolveError> {
        if !self.spend() {
            return Ok(Vec::new());
        }
        let result = self.dns.srv(name).await;
        self.absorb(result)
    }

    async fn ips(&mut self, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if !self.spend() {
            return Ok(Vec::new());
        }
        let result = self.dns.ips(name).await;
        self.absorb(result)
    }

    /// Queries SRV at `srv_name` and adds its targets in RFC 2782 order.
    /// Returns whether any SRV record existed (even a "no service" one),
    /// which rules out the A/AAAA fallback.
    async fn add_srv(
        &mut self,
        srv_name: &str,
        transport: Transport,
    ) -> Result<bool, ResolveError> {
        let records = self.srv(srv_name).await?;
        if records.is_empty() {
            return Ok(false);
        }
        let ordered = order_srv(&records, self.opts.limits.max_srv, &mut *self.rng);
        for record in ordered {
            if self.done() {
                break;
            }
            self.add_host(&record.target, record.port, transport, Some(&record.target))
                .await?;
        }
        Ok(true)
    }

    /// Looks up the addresses of `name` and adds them as targets.
    async fn add_host(
        &mut self,
        name: &str,
        port: u16,
        transport: Transport,
        srv_target: Option<&str>,
    ) -> Result<(), ResolveError> {
        let addrs = self.ips(name).await?;
        let opts = self.opts;
        let usable = addrs
            .into_iter()
            .filter(|ip| !is_forbidden(*ip) && family_allowed(*ip, opts))
            .take(opts.limits.max_addrs_per_name);
        for ip in usable {
            if self.out.len() >= opts.limits.max_targets {
                break;
            }
            let addr = SocketAddr::new(ip, port);
            if self
                .out
                .iter()
                .any(|t| t.transport == transport && t.addr == addr)
            {
                continue;
            }
            self.out.push(Target {
                transport,
                addr,
                tls_name: self.sip_domain.clone().filter(|_| transport.is_secure()),
                via_srv: srv_target.is_some(),
                srv_target: srv_target.map(str::to_owned),
            });
        }
        Ok(())
    }

    fn finish(self, name: &str) -> Result<Vec<Target>, ResolveError> {
        if !self.out.is_empty() {
            return Ok(self.out);
        }
        if self.exhausted {
            return Err(ResolveError::BudgetExhausted);
        }
        match self.last_error {
            Some(e) => Err(ResolveError::Lookup(e)),
            None => Err(ResolveError::NotFound { host: echo(name) }),
        }
    }
}

/// A resolver bundling a [`DnsLookup`] with the options it resolves under,
/// drawing SRV weights from [`StdWeightRandom`].
#[derive(Debug, Clone)]
pub struct NextHopResolver<L> {
    dns: L,
    options: ResolveOptions,
}

impl<L: DnsLookup> NextHopResolver<L> {
    /// A resolver over `dns` with `options`.
    pub fn new(dns: L, options: ResolveOptions) -> Self {
        NextHopResolver { dns, options }
    }

    /// The options in force.
    pub fn options(&self) -> &ResolveOptions {
        &self.options
    }

    /// The underlying lookups.
    pub fn lookup(&self) -> &L {
        &self.dns
    }

    /// Resolves `hop`; see [`resolve`].
    pub async fn resolve(&self, hop: &NextHop) -> Result<Vec<Target>, ResolveError> {
        let mut rng = StdWeightRandom::new();
        resolve(&self.dns, hop, &self.options, &mut rng).await
    }
}
