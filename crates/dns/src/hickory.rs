//! [`DnsLookup`] answered by hickory-resolver on tokio.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::error::LookupError;
use crate::lookup::{normalize_name, DnsLookup, Naptr, Srv};
use crate::types::echo;

/// Lookups through a hickory [`TokioResolver`].
///
/// Every name is queried as absolute, so a resolver search list never turns
/// a SIP domain into some other local name. NXDOMAIN and NODATA are empty
/// answers.
#[derive(Clone)]
pub struct HickoryLookup {
    resolver: TokioResolver,
}

impl std::fmt::Debug for HickoryLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryLookup").finish_non_exhaustive()
    }
}

impl HickoryLookup {
    /// Wraps a resolver configured by the caller (e.g. with a DNSSEC trust anchor).
    pub fn from_resolver(resolver: TokioResolver) -> Self {
        HickoryLookup { resolver }
    }

    /// A resolver using the system configuration (`/etc/resolv.conf`).
    pub fn from_system_conf() -> Result<Self, LookupError> {
        let resolver = TokioResolver::builder_tokio()
            .and_then(|b| b.build())
            .map_err(|e| failed("system resolver", &e))?;
        Ok(HickoryLookup { resolver })
    }

    /// A resolver asking only `servers` (UDP, falling back to TCP on
    /// truncation), with the given per-query timeout. The hosts file is not
    /// consulted.
    pub fn with_nameservers(
        servers: &[SocketAddr],
        timeout: Duration,
    ) -> Result<Self, LookupError> {
        let name_servers = servers
            .iter()
            .map(|s| {
                let mut udp = ConnectionConfig::udp();
                udp.port = s.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = s.port();
                NameServerConfig::new(s.ip(), true, vec![udp, tcp])
            })
            .collect();
        let config = ResolverConfig::from_name_servers(name_servers);
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.use_hosts_file = ResolveHosts::Never;
        let resolver = builder
            .build()
            .map_err(|e| failed("configured resolver", &e))?;
        Ok(HickoryLookup { resolver })
    }

    /// The underlying resolver.
    pub fn resolver(&self) -> &TokioResolver {
        &self.resolver
    }

    async fn records(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, LookupError> {
        let fqdn = absolute(name)?;
        match self.resolver.lookup(fqdn, rtype).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect()),
            Err(e) => classify(name, e).map(|()| Vec::new()),
        }
    }
}

/// Parses `name` as an absolute DNS name.
fn absolute(name: &str) -> Result<Name, LookupError> {
    let mut parsed =
        Name::from_ascii(name).map_err(|_| LookupError::InvalidName { name: echo(name) })?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

/// Sorts a hickory error into "nothing there" (`Ok`) or a [`LookupError`].
fn classify(name: &str, e: NetError) -> Result<(), LookupError> {
    if e.is_no_records_found() {
        return Ok(());
    }
    match e {
        NetError::Timeout => Err(LookupError::Timeout { name: echo(name) }),
        NetError::Dns(DnsError::DnssecBogus) => Err(LookupError::Bogus { name: echo(name) }),
        other => Err(failed(name, &other)),
    }
}

fn failed(name: &str, e: &NetError) -> LookupError {
    LookupError::Failed {
        name: echo(name),
        reason: e.to_string(),
    }
}

fn name_text(name: &Name) -> String {
    normalize_name(&name.to_ascii())
}

impl DnsLookup for HickoryLookup {
    async fn naptr(&self, name: &str) -> Result<Vec<Naptr>, LookupError> {
        let records = self.records(name, RecordType::NAPTR).await?;
        Ok(records
            .into_iter()
            .filter_map(|r| match r {
                RData::NAPTR(n) => Some(Naptr {
                    order: n.order,
                    preference: n.preference,
                    flags: String::from_utf8_lossy(&n.flags).into_owned(),
                    services: String::from_utf8_lossy(&n.services).into_owned(),
                    regexp: String::from_utf8_lossy(&n.regexp).into_owned(),
                    replacement: name_text(&n.replacement),
                }),
                _ => None,
            })
            .collect())
    }

    async fn srv(&self, name: &str) -> Result<Vec<Srv>, LookupError> {
        let records = self.records(name, RecordType::SRV).await?;
        Ok(records
            .into_iter()
            .filter_map(|r| match r {
                RData::SRV(s) => Some(Srv {
                    priority: s.priority,
                    weight: s.weight,
                    port: s.port,
                    target: name_text(&s.target),
                }),
                _ => None,
            })
            .collect())
    }

    async fn ips(&self, name: &str) -> Result<Vec<IpAddr>, LookupError> {
        let fqdn = absolute(name)?;
        match self.resolver.lookup_ip(fqdn).await {
            Ok(found) => Ok(found.iter().collect()),
            Err(e) => classify(name, e).map(|()| Vec::new()),
        }
    }
}
