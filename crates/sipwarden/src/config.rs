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
