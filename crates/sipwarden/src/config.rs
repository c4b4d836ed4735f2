//! The server's TOML configuration file (a minimal first version: listen addresses,
//! TLS files, limits and timers). Unknown keys are refused so a typo never silently
//! falls back to a default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use sipwarden_transport::{ListenSpec, TransportLimits};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen specs such as `udp:127.0.0.1:5060`.
    #[serde(default)]
    pub listen: Vec<String>,
    /// State directory.
    pub data_dir: Option<PathBuf>,
    /// `Server` header value; empty string for none.
    pub server_header: Option<String>,
    /// TLS certificate files.
    #[serde(default)]
    pub tls: TlsSection,
    /// Resource limits.
    #[serde(default)]
    pub limits: LimitsSection,
    /// Transaction timers.
    #[serde(default)]
    pub timers: TimersSection,
    /// WebSocket policy.
    #[serde(default)]
    pub websocket: WebSocketSection,
    /// Domains served.
    #[serde(default)]
    pub domain: DomainSection,
    /// Registrar policy and limits.
    #[serde(default)]
    pub registrar: RegistrarSection,
    /// Digest authentication.
    #[serde(default)]
    pub auth: AuthSection,
}

/// `[domain]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSection {
    /// The default domain (and Digest realm); `localhost` when absent.
    pub default: Option<String>,
    /// Further domains served.
    #[serde(default)]
    pub others: Vec<String>,
    /// Host names or addresses that stand for the default domain, besides the listening
    /// addresses.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// `[registrar]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarSection {
    /// Shortest registration accepted, seconds (423 below).
    pub min_expires: Option<u32>,
    /// Longest registration granted, seconds.
    pub max_expires: Option<u32>,
    /// Registration time when the client names none, seconds.
    pub default_expires: Option<u32>,
    /// Most bindings per address-of-record.
    pub max_contacts_per_aor: Option<usize>,
    /// Most bindings registered from one IP address.
    pub max_bindings_per_source: Option<usize>,
    /// Refuse REGISTERs whose From differs from To (third-party registration).
    pub require_from_matches_to: Option<bool>,
    /// INSECURE: accept UDP Contacts pointing at another address than the source.
    pub insecure_allow_foreign_contacts: Option<bool>,
    /// User-Agent substrings of MD5-only clients that are challenged with MD5 alone.
    pub md5_only_user_agents: Option<Vec<String>>,
}

/// `[auth]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// Digest algorithms offered, strongest first: `SHA-512-256`, `SHA-256`, `MD5`.
    pub algorithms: Option<Vec<String>>,
    /// Seconds a nonce stays valid.
    pub nonce_lifetime_secs: Option<u64>,
}

/// `[tls]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// Certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// Private key (PEM).
    pub key: Option<PathBuf>,
    /// Seconds between checks whether the files changed (0: only on SIGHUP).
    pub reload_check_secs: Option<u64>,
}

/// `[limits]`; durations in seconds (fractions allowed).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Largest message in bytes.
    pub max_message_size: Option<usize>,
    /// Connections per source IP.
    pub max_connections_per_ip: Option<usize>,
    /// Connections in total.
    pub max_connections: Option<usize>,
    /// Time to complete a message once started.
    pub message_timeout_secs: Option<f64>,
    /// Idle connection timeout.
    pub idle_timeout_secs: Option<f64>,
    /// TLS/WebSocket handshake timeout.
    pub handshake_timeout_secs: Option<f64>,
    /// Messages queued per connection.
    pub write_queue: Option<usize>,
    /// Time one write may take.
    pub write_timeout_secs: Option<f64>,
    /// UDP sockets per UDP address.
    pub udp_workers: Option<usize>,
    /// Most live server transactions.
    pub max_server_transactions: Option<usize>,
}

/// `[timers]` in milliseconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimersSection {
    /// T1.
    pub t1_ms: Option<u64>,
    /// T2.
    pub t2_ms: Option<u64>,
    /// T4.
    pub t4_ms: Option<u64>,
}

/// `[websocket]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSocketSection {
    /// Allowed `Origin` values; absent: any.
    pub allowed_origins: Option<Vec<String>>,
}

impl Config {
    /// Reads and checks a file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("bad configuration in {}", path.display()))
    }

    /// The listen specs written in the file.
    pub fn listen_specs(&self) -> anyhow::Result<Vec<ListenSpec>> {
        self.listen
            .iter()
            .map(|s| s.parse::<ListenSpec>().map_err(anyhow::Error::from))
            .collect()
    }

    /// Transport limits: defaults with the file's values applied.
    pub fn transport_limits(&self) -> anyhow::Result<TransportLimits> {
        let mut l = TransportLimits::default();
        let s = &self.limits;
        if let Some(v) = s.max_message_size {
            anyhow::ensure!(
                (512..=sipwarden_wire::limits::MAX_MESSAGE_SIZE).contains(&v),
                "limits.max_message_size must be between 512 and {}",
                sipwarden_wire::limits::MAX_MESSAGE_SIZE
            );
            l.max_message_size = v;
        }
        set(&mut l.max_connections_per_ip, s.max_connections_per_ip);
        set(&mut l.max_connections, s.max_connections);
        set(&mut l.write_queue, s.write_queue);
        set(&mut l.udp_workers, s.udp_workers);
        set_secs(
            &mut l.message_timeout,
            s.message_timeout_secs,
            "message_timeout_secs",
        )?;
        set_secs(
            &mut l.idle_timeout,
            s.idle_timeout_secs,
            "idle_timeout_secs",
        )?;
        set_secs(
            &mut l.handshake_timeout,
            s.handshake_timeout_secs,
            "handshake_timeout_secs",
        )?;
        set_secs(
            &mut l.write_timeout,
            s.write_timeout_secs,
            "write_timeout_secs",
        )?;
        Ok(l)
    }

    /// Transaction table settings.
    pub fn transactions(&self) -> sipwarden_txn::Config {
        let mut c = sipwarden_txn::Config::default();
        if let Some(ms) = self.timers.t1_ms {
            c.timers.t1 = Duration::from_millis(ms);
        }
        if let Some(ms) = self.timers.t2_ms {
            c.timers.t2 = Duration::from_millis(ms);
        }
        if let Some(ms) = self.timers.t4_ms {
            c.timers.t4 = Duration::from_millis(ms);
        }
        if let Some(n) = self.limits.max_server_transactions {
            c.max_server_transactions = n;
        }
        c
    }
}

impl Config {
    /// The domains served: the configured ones, with the listening addresses (and
    /// `localhost` for loopback listeners) as aliases of the default domain.
    pub fn domains(&self, listen: &[ListenSpec]) -> anyhow::Result<sipwarden_core::Domains> {
        let default = self
            .domain
            .default
            .clone()
            .unwrap_or_else(|| "localhost".to_owned());
        anyhow::ensure!(
            sipwarden_wire::uri::Host::parse(&default).is_ok(),
            "domain.default {default:?} is not a host name"
        );
        for d in &self.domain.others {
            anyhow::ensure!(
                sipwarden_wire::uri::Host::parse(d).is_ok(),
                "domain.others entry {d:?} is not a host name"
            );
        }
        let mut aliases = Vec::new();
        for a in &self.domain.aliases {
            anyhow::ensure!(
                sipwarden_wire::uri::Host::parse(a).is_ok(),
                "domain.aliases entry {a:?} is not a host name or address"
            );
            aliases.push(a.clone());
        }
        for spec in listen {
            let ip = spec.addr.ip();
            if !ip.is_unspecified() {
                aliases.push(ip.to_string());
            }
            if ip.is_loopback() {
                aliases.push("localhost".to_owned());
            }
        }
        Ok(sipwarden_core::Domains::new(
            &default,
            &self.domain.others,
            &aliases,
        ))
    }

    /// Registrar settings: defaults with the file's values applied.
    pub fn registrar(&self) -> anyhow::Result<sipwarden_core::RegistrarConfig> {
        let mut c = sipwarden_core::RegistrarConfig::default();
        let r = &self.registrar;
        set(&mut c.min_expires, r.min_expires);
        set(&mut c.max_expires, r.max_expires);
        set(&mut c.default_expires, r.default_expires);
        set(&mut c.max_contacts_per_aor, r.max_contacts_per_aor);
        set(&mut c.max_bindings_per_source, r.max_bindings_per_source);
        set(&mut c.require_from_matches_to, r.require_from_matches_to);
        set(
            &mut c.allow_foreign_contacts,
            r.insecure_allow_foreign_contacts,
        );
        set(&mut c.md5_only_user_agents, r.md5_only_user_agents.clone());
        anyhow::ensure!(
            c.min_expires <= c.default_expires && c.default_expires <= c.max_expires,
            "registrar: min_expires <= default_expires <= max_expires must hold"
        );
        anyhow::ensure!(
            c.max_contacts_per_aor > 0,
            "registrar.max_contacts_per_aor must be at least 1"
        );
        if c.allow_foreign_contacts {
            tracing::warn!("INSECURE: registrar.insecure_allow_foreign_contacts is on: UDP registrations may point calls at third parties");
        }
        Ok(c)
    }

    /// Digest settings.
    pub fn digest(&self) -> anyhow::Result<sipwarden_auth::DigestConfig> {
        let mut c = sipwarden_auth::DigestConfig::default();
        if let Some(names) = &self.auth.algorithms {
            let mut algs = Vec::new();
            for n in names {
                let alg = sipwarden_auth::Algorithm::from_token(n).with_context(|| {
                    format!(
                        "auth.algorithms: unknown algorithm {n:?} (SHA-512-256, SHA-256 or MD5)"
                    )
                })?;
                algs.push(alg);
            }
            anyhow::ensure!(
                !algs.is_empty(),
                "auth.algorithms must name at least one algorithm"
            );
            c.algorithms = algs;
        }
        if let Some(secs) = self.auth.nonce_lifetime_secs {
            anyhow::ensure!(
                (10..=3600).contains(&secs),
                "auth.nonce_lifetime_secs must be between 10 and 3600"
            );
            c.nonce_lifetime_secs = secs;
        }
        Ok(c)
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

fn set_secs(field: &mut Duration, value: Option<f64>, name: &str) -> anyhow::Result<()> {
    if let Some(secs) = value {
        *field = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .with_context(|| format!("limits.{name} must be a positive number of seconds"))?;
    }
    Ok(())
}
