//! The server's TOML configuration file. Unknown keys are refused so a typo never
//! silently falls back to a default, and [`Config::check`] validates every value at
//! start, naming the key (`section.key: what is wrong`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use sipwarden_transport::{ListenSpec, TransportLimits};

/// File name of the default security event log inside the data directory.
pub const EVENTS_FILE: &str = "security-events.jsonl";

/// Reads a token file: its first line, trimmed.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("admin.token_file: cannot read {}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").trim().to_owned())
}

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
    /// The stateful proxy.
    #[serde(default)]
    pub proxy: crate::proxy_setup::ProxySection,
    /// Abuse defences: rate limits, bans, lockout, return routability.
    #[serde(default)]
    pub guard: crate::guard_config::GuardSection,
    /// Allow and deny lists, anonymous callers (reloaded on SIGHUP).
    #[serde(default)]
    pub policy: crate::guard_config::PolicySection,
    /// Security event log.
    #[serde(default)]
    pub log: LogSection,
    /// Admin HTTP API and metrics.
    #[serde(default)]
    pub admin: AdminSection,
}

/// `[log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// Where security events go: `"stdout"`, `"off"`, or a file path; default
    /// `security-events.jsonl` in the data directory.
    pub events: Option<String>,
}

/// `[admin]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// Serve the admin API and metrics (default true).
    pub enabled: Option<bool>,
    /// `address:port` of the admin listener; default `127.0.0.1:9060`.
    pub listen: Option<String>,
    /// File holding the bearer token; default `admin.token` in the data directory,
    /// generated on first run.
    pub token_file: Option<PathBuf>,
    /// Require the token for `/metrics` too (default false).
    pub metrics_require_token: Option<bool>,
}

/// Where the security event log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsTarget {
    /// Nowhere (events are still counted by the metrics).
    Off,
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
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
}

/// `[auth]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// Digest algorithms offered, strongest first: `SHA-512-256`, `SHA-256`, `MD5`.
    pub algorithms: Option<Vec<String>>,
    /// Seconds a nonce stays valid.
    pub nonce_lifetime_secs: Option<u64>,
    /// Interoperability: which challenges known clients get, replacing the built-in list
    /// (`[[auth.client_profiles]] user_agent = "sipsak", algorithms = ["MD5"]`).
    pub client_profiles: Option<Vec<ClientProfileEntry>>,
}

/// One `[[auth.client_profiles]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientProfileEntry {
    /// Case-insensitive substring of the User-Agent.
    pub user_agent: String,
    /// Algorithms, in order.
    pub algorithms: Vec<String>,
}

/// The configured client profiles, checked.
pub fn client_profiles(
    entries: &[ClientProfileEntry],
) -> anyhow::Result<Vec<sipwarden_core::compat::ClientProfile>> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            anyhow::ensure!(
                !e.user_agent.is_empty(),
                "auth.client_profiles[{i}].user_agent must not be empty"
            );
            let algorithms = e
                .algorithms
                .iter()
                .map(|n| {
                    sipwarden_auth::Algorithm::from_token(n).with_context(|| {
                        format!("auth.client_profiles[{i}].algorithms: unknown algorithm {n:?}")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            anyhow::ensure!(
                !algorithms.is_empty(),
                "auth.client_profiles[{i}].algorithms must name at least one algorithm"
            );
            Ok(sipwarden_core::compat::ClientProfile {
                user_agent: e.user_agent.clone(),
                algorithms,
            })
        })
        .collect()
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
    /// Mutual TLS: `off` (default), `optional` (a client certificate is requested and,
    /// when sent, verified) or `required` (the handshake fails without a valid one).
    pub client_auth: Option<String>,
    /// CA certificates (PEM) client certificates must chain to; needed unless
    /// `client_auth` is `off`.
    pub client_ca: Option<PathBuf>,
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
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("bad configuration in {}", path.display()))?;
        config
            .check()
            .with_context(|| format!("bad configuration in {}", path.display()))?;
        Ok(config)
    }

    /// Checks every value, naming the key of the first bad one.
    pub fn check(&self) -> anyhow::Result<()> {
        let listen = self.listen_specs()?;
        if let Some(dir) = &self.data_dir {
            anyhow::ensure!(!dir.as_os_str().is_empty(), "data_dir: must not be empty");
        }
        if let Some(h) = &self.server_header {
            anyhow::ensure!(
                !h.chars().any(char::is_control) && h.len() <= 128,
                "server_header: must be at most 128 characters without control characters"
            );
        }
        self.check_tls()?;
        self.transport_limits()?;
        self.check_timers()?;
        self.domains(&listen)?;
        self.registrar()?;
        self.digest()?;
        self.events_target(Path::new("."))?;
        self.admin_listen()?;
        if let Some(profiles) = &self.auth.client_profiles {
            client_profiles(profiles)?;
        }
        self.guard.guard_config()?;
        self.policy_lists()?;
        self.check_proxy()?;
        if let Some(path) = &self.admin.token_file {
            anyhow::ensure!(
                !path.as_os_str().is_empty(),
                "admin.token_file: must not be empty"
            );
            if path.exists() {
                let token = read_token(path)?;
                sipwarden_admin::ApiToken::new(&token)
                    .map_err(|e| anyhow::anyhow!("admin.token_file: {}: {e}", path.display()))?;
            }
        }
        if let Some(origins) = &self.websocket.allowed_origins {
            for o in origins {
                anyhow::ensure!(
                    !o.is_empty() && !o.chars().any(char::is_control),
                    "websocket.allowed_origins: {o:?} is not an origin"
                );
            }
        }
        Ok(())
    }

    fn check_tls(&self) -> anyhow::Result<()> {
        match (&self.tls.cert, &self.tls.key) {
            (Some(_), None) => {
                anyhow::bail!("tls.key: missing (tls.cert is set; give both or neither)")
            }
            (None, Some(_)) => {
                anyhow::bail!("tls.cert: missing (tls.key is set; give both or neither)")
            }
            _ => {}
        }
        for (key, path) in [("tls.cert", &self.tls.cert), ("tls.key", &self.tls.key)] {
            if let Some(path) = path {
                std::fs::File::open(path)
                    .with_context(|| format!("{key}: cannot read {}", path.display()))?;
            }
        }
        if let Some(secs) = self.tls.reload_check_secs {
            anyhow::ensure!(
                secs <= 86_400,
                "tls.reload_check_secs: must be between 0 and 86400"
            );
        }
        self.tls_client_auth()?;
        Ok(())
    }

    /// The mutual-TLS setting of `[tls]`.
    pub fn tls_client_auth(&self) -> anyhow::Result<sipwarden_tls::ClientAuth> {
        let mode = self.tls.client_auth.as_deref().unwrap_or("off");
        let roots = || -> anyhow::Result<sipwarden_tls::TrustRoots> {
            let path = self.tls.client_ca.as_ref().with_context(|| {
                format!("tls.client_ca: needed when tls.client_auth is {mode:?}")
            })?;
            sipwarden_tls::TrustRoots::from_pem_file(path)
                .with_context(|| format!("tls.client_ca: cannot load {}", path.display()))
        };
        match mode {
            "off" => Ok(sipwarden_tls::ClientAuth::Off),
            "optional" => Ok(sipwarden_tls::ClientAuth::Optional(roots()?)),
            "required" => Ok(sipwarden_tls::ClientAuth::Required(roots()?)),
            other => anyhow::bail!(
                "tls.client_auth: {other:?} is not one of \"off\", \"optional\", \"required\""
            ),
        }
    }

    /// The `[proxy]` values that can be checked without starting it.
    fn check_proxy(&self) -> anyhow::Result<()> {
        let p = &self.proxy;
        if let Some(secs) = p.timer_c_secs {
            anyhow::ensure!(
                secs >= 180,
                "proxy.timer_c_secs: must be at least 180 (RFC 3261 section 16.8)"
            );
        }
        if let Some(v) = p.outside_callers.as_deref() {
            anyhow::ensure!(
                v == "accept" || v == "reject",
                "proxy.outside_callers: must be accept or reject, not {v:?}"
            );
        }
        if let Some(path) = &p.ca_file {
            std::fs::File::open(path)
                .with_context(|| format!("proxy.ca_file: cannot read {}", path.display()))?;
        }
        if let Some(h) = &p.advertise {
            anyhow::ensure!(
                sipwarden_wire::uri::Host::parse(h).is_ok(),
                "proxy.advertise: {h:?} is not a host name or address"
            );
        }
        Ok(())
    }

    fn check_timers(&self) -> anyhow::Result<()> {
        let t = &self.timers;
        for (key, v) in [("t1_ms", t.t1_ms), ("t2_ms", t.t2_ms), ("t4_ms", t.t4_ms)] {
            if let Some(ms) = v {
                anyhow::ensure!(
                    (1..=600_000).contains(&ms),
                    "timers.{key}: must be between 1 and 600000 milliseconds"
                );
            }
        }
        let c = self.transactions();
        anyhow::ensure!(
            c.timers.t2 >= c.timers.t1,
            "timers.t2_ms: must not be less than t1_ms"
        );
        if let Some(n) = self.limits.max_server_transactions {
            anyhow::ensure!(n > 0, "limits.max_server_transactions: must be at least 1");
        }
        Ok(())
    }

    /// The listen specs written in the file.
    pub fn listen_specs(&self) -> anyhow::Result<Vec<ListenSpec>> {
        self.listen
            .iter()
            .map(|s| {
                s.parse::<ListenSpec>()
                    .map_err(|e| anyhow::anyhow!("listen: {s:?}: {e}"))
            })
            .collect()
    }

    /// Where security events go; a relative default lives in `data_dir`.
    pub fn events_target(&self, data_dir: &Path) -> anyhow::Result<EventsTarget> {
        match self.log.events.as_deref() {
            None => Ok(EventsTarget::File(data_dir.join(EVENTS_FILE))),
            Some("stdout") => Ok(EventsTarget::Stdout),
            Some("off") => Ok(EventsTarget::Off),
            Some("") => anyhow::bail!("log.events: must be \"stdout\", \"off\" or a file path"),
            Some(path) => {
                let path = PathBuf::from(path);
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    anyhow::ensure!(
                        parent.is_dir(),
                        "log.events: directory {} does not exist",
                        parent.display()
                    );
                }
                anyhow::ensure!(
                    !path.is_dir(),
                    "log.events: {} is a directory, not a file",
                    path.display()
                );
                Ok(EventsTarget::File(path))
            }
        }
    }

    /// The admin listener's address, or `None` when the admin API is turned off.
    pub fn admin_listen(&self) -> anyhow::Result<Option<SocketAddr>> {
        if self.admin.enabled == Some(false) {
            return Ok(None);
        }
        match &self.admin.listen {
            None => Ok(Some(sipwarden_admin::DEFAULT_ADMIN_ADDR)),
            Some(s) => s.parse::<SocketAddr>().map(Some).map_err(|_| {
                anyhow::anyhow!(
                    "admin.listen: {s:?} is not an address:port such as 127.0.0.1:9060 or [::1]:9060"
                )
            }),
        }
    }

    /// Transport limits: defaults with the file's values applied.
    pub fn transport_limits(&self) -> anyhow::Result<TransportLimits> {
        let mut l = TransportLimits::default();
        let s = &self.limits;
        if let Some(v) = s.max_message_size {
            anyhow::ensure!(
                (512..=sipwarden_wire::limits::MAX_MESSAGE_SIZE).contains(&v),
                "limits.max_message_size: must be between 512 and {}",
                sipwarden_wire::limits::MAX_MESSAGE_SIZE
            );
            l.max_message_size = v;
        }
        for (key, v) in [
            ("max_connections_per_ip", s.max_connections_per_ip),
            ("max_connections", s.max_connections),
            ("write_queue", s.write_queue),
            ("udp_workers", s.udp_workers),
        ] {
            anyhow::ensure!(v != Some(0), "limits.{key}: must be at least 1");
        }
        if let Some(n) = s.udp_workers {
            anyhow::ensure!(n <= 256, "limits.udp_workers: must be at most 256");
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
        let mut c = sipwarden_txn::Config {
            // The steady state of 2,000 new UDP transactions a second (each lingers 32 s):
            // a few MB of table, so a busy server never stalls to rehash.
            initial_capacity: 65_536,
            ..sipwarden_txn::Config::default()
        };
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
            "domain.default: {default:?} is not a host name"
        );
        for d in &self.domain.others {
            anyhow::ensure!(
                sipwarden_wire::uri::Host::parse(d).is_ok(),
                "domain.others: {d:?} is not a host name"
            );
        }
        let mut aliases = Vec::new();
        for a in &self.domain.aliases {
            anyhow::ensure!(
                sipwarden_wire::uri::Host::parse(a).is_ok(),
                "domain.aliases: {a:?} is not a host name or address"
            );
            aliases.push(a.clone());
        }
        for spec in listen {
            let ip = spec.addr.ip();
            if !ip.is_unspecified() {
                // URI hosts write IPv6 addresses in brackets (RFC 5118).
                aliases.push(match ip {
                    std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                    v4 => v4.to_string(),
                });
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
        if let Some(profiles) = &self.auth.client_profiles {
            c.client_profiles = client_profiles(profiles)?;
        }
        anyhow::ensure!(
            c.min_expires <= c.default_expires && c.default_expires <= c.max_expires,
            "registrar.default_expires: min_expires <= default_expires <= max_expires must hold"
        );
        anyhow::ensure!(
            c.max_contacts_per_aor > 0,
            "registrar.max_contacts_per_aor: must be at least 1"
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
                "auth.algorithms: must name at least one algorithm"
            );
            c.algorithms = algs;
        }
        if let Some(secs) = self.auth.nonce_lifetime_secs {
            anyhow::ensure!(
                (10..=3600).contains(&secs),
                "auth.nonce_lifetime_secs: must be between 10 and 3600"
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
            .with_context(|| format!("limits.{name}: must be a positive number of seconds"))?;
    }
    Ok(())
}
