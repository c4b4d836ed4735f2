//! Building the proxy for `sipwarden serve`: the `[proxy]` configuration section, the
//! route key file in the data directory, the interfaces from the bound listeners, and
//! the outbound TLS trust roots.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use sipwarden_auth::{DigestAuth, NonceKeys};
use sipwarden_core::proxy::{Interface, OutsidePolicy, Proxy, ProxyConfig};
use sipwarden_tls::{ClientTlsConfig, TrustRoots};
use sipwarden_transport::{ListenSpec, TransportHandle};

use crate::config::Config;
use crate::proxy_calls::CallBook;
use crate::proxy_tu::{ProxyRuntime, ProxyTu};

/// File name of the proxy's route key inside the data directory.
pub const ROUTE_KEY_FILE: &str = "route.key";
/// Default longest call before it is closed as `timeout` in the calls book.
const DEFAULT_MAX_CALL_SECS: u64 = 4 * 3600;

/// `[proxy]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySection {
    /// CA certificates (PEM) trusted for outbound TLS; the system's roots otherwise.
    pub ca_file: Option<PathBuf>,
    /// Host written in our Via and Record-Route when a listener is bound to an
    /// unspecified address (default: the default domain).
    pub advertise: Option<String>,
    /// Requests from other domains to local users: `accept` (default) or `reject`.
    pub outside_callers: Option<String>,
    /// Add the `Security-Assessment` header toward the callee (default off).
    pub assessment_header: Option<bool>,
    /// Record-Route dialog-creating requests (default on).
    pub record_route: Option<bool>,
    /// Challenge callers of our domains with 407 (default on).
    pub authenticate_local_callers: Option<bool>,
    /// Timer C, seconds (default 180).
    pub timer_c_secs: Option<u64>,
    /// A call without BYE is closed as `timeout` in the calls book after this many
    /// seconds (default 4 hours).
    pub max_call_secs: Option<u64>,
}

/// The 16-byte route key: hex in a 0600 file made on first use. Every instance of a
/// cluster must share it (it signs our Record-Route entries and Via branches).
pub fn route_key(dir: &Path) -> anyhow::Result<[u8; 16]> {
    let path = dir.join(ROUTE_KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let text = text.trim();
        let mut key = [0u8; 16];
        anyhow::ensure!(
            text.len() == 32,
            "{} must hold 32 hex digits",
            path.display()
        );
        for (i, slot) in key.iter_mut().enumerate() {
            let byte = text
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .with_context(|| format!("{} does not hold a hex key", path.display()))?;
            *slot = byte;
        }
        return Ok(key);
    }
    crate::state::ensure_dir(dir)?;
    let mut key = [0u8; 16];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| anyhow::anyhow!("no randomness available"))?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{hex}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key)
}

/// The calls book of the data directory, with its maintenance task running.
pub fn call_book(
    config: &Config,
    dir: &Path,
    ops: &Arc<crate::ops::Ops>,
) -> anyhow::Result<Arc<CallBook>> {
    let max = config.proxy.max_call_secs.unwrap_or(DEFAULT_MAX_CALL_SECS);
    crate::state::ensure_dir(dir)?;
    let book = Arc::new(CallBook::new(Some(dir), Duration::from_secs(max))?);
    book.attach(ops);
    book.spawn_maintenance();
    Ok(book)
}

/// Starts `tu` on the bound listeners.
pub fn start(
    tu: &ProxyTu,
    config: &Config,
    dir: &Path,
    bound: &[ListenSpec],
    handle: TransportHandle,
    stores: crate::state::Stores,
) -> anyhow::Result<()> {
    let domains = config.domains(bound)?;
    let default_domain = domains.default_domain().to_owned();
    let advertise = config.proxy.advertise.clone();
    let interfaces: Vec<Interface> = bound
        .iter()
        .map(|spec| {
            let ip = spec.addr.ip();
            let host = if ip.is_unspecified() {
                advertise.clone().unwrap_or_else(|| default_domain.clone())
            } else if ip.is_ipv6() {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            Interface::new(
                crate::proxy_tu::wire_transport(spec.transport),
                &host,
                spec.addr.port(),
            )
        })
        .collect();
    let mut pc = ProxyConfig::new(interfaces, route_key(dir)?);
    let p = &config.proxy;
    if let Some(v) = p.record_route {
        pc.record_route = v;
    }
    if let Some(v) = p.assessment_header {
        pc.assessment_header = v;
    }
    if let Some(v) = p.authenticate_local_callers {
        pc.authenticate_local_callers = v;
    }
    if let Some(secs) = p.timer_c_secs {
        anyhow::ensure!(
            secs >= 180,
            "proxy.timer_c_secs must be at least 180 (RFC 3261 §16.8)"
        );
        pc.timer_c = Duration::from_secs(secs);
    }
    pc.outside_callers = match p.outside_callers.as_deref() {
        None | Some("accept") => OutsidePolicy::Accept,
        Some("reject") => OutsidePolicy::Reject,
        Some(other) => {
            anyhow::bail!("proxy.outside_callers must be accept or reject, not {other:?}")
        }
    };
    if let Some(profiles) = &config.auth.client_profiles {
        pc.client_profiles = crate::config::client_profiles(profiles)?;
    }
    // The registrar's nonce key: a 407 nonce verifies on any instance and either service.
    let keys = NonceKeys::new(&crate::state::nonce_key(dir)?).context("bad nonce key")?;
    let digest = DigestAuth::new(config.digest()?, keys).context("bad [auth] settings")?;
    let proxy = Proxy::new(pc, domains.clone(), digest).context("proxy configuration")?;

    let roots = match &p.ca_file {
        Some(path) => TrustRoots::from_pem_file(path)
            .with_context(|| format!("cannot load proxy.ca_file {}", path.display()))?,
        None => TrustRoots::system().unwrap_or_else(|err| {
            tracing::warn!(%err, "no system trust roots: outbound TLS will fail verification");
            TrustRoots::empty()
        }),
    };
    let dns = match sipwarden_dns::HickoryLookup::from_system_conf() {
        Ok(d) => Some(d),
        Err(err) => {
            tracing::warn!(%err, "no system DNS configuration: only IP next hops are routable");
            None
        }
    };
    tu.start(ProxyRuntime {
        proxy,
        handle,
        stores,
        dns,
        tls: ClientTlsConfig::new(roots),
        domains,
    });
    Ok(())
}
