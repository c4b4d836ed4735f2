//! `sipwarden serve`: wiring of configuration, TLS, the transport and the transaction
//! user, plus signal handling (SIGHUP reloads the certificate, SIGTERM and Ctrl-C stop
//! gracefully).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sipwarden_tls::{ReloadOutcome, ReloadableCert, ServerTlsConfig, ServerTlsOptions};
use sipwarden_transport::basic::{BasicConfig, BasicTu};
use sipwarden_transport::{ListenSpec, Server, ServerConfig, Transport};
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::config::Config;
use crate::ServeArgs;

/// Default seconds between checks of the certificate files.
const DEFAULT_RELOAD_CHECK_SECS: u64 = 30;
/// `Server` header sent unless configured otherwise: no version, which would only help
/// scanners.
const DEFAULT_SERVER_HEADER: &str = "sipwarden";

/// Runs the server until a stop signal; exit code 1 when it cannot start.
pub fn run(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("sipwarden: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sipwarden: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The listeners used when neither the command line nor the file names any: loopback
/// only, so a first run exposes nothing.
fn default_listen() -> Vec<ListenSpec> {
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    vec![
        ListenSpec::new(Transport::Udp, SocketAddr::new(lo, 5060)),
        ListenSpec::new(Transport::Tcp, SocketAddr::new(lo, 5060)),
        ListenSpec::new(Transport::Tls, SocketAddr::new(lo, 5061)),
    ]
}

/// `$XDG_DATA_HOME/sipwarden`, else `~/.local/share/sipwarden`, else `./sipwarden-data`.
pub(crate) fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("sipwarden");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/sipwarden");
    }
    PathBuf::from("sipwarden-data")
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Installed before the listening lines are printed, so a signal sent as soon as
    // the server looks ready is handled, not fatal.
    let signals = Signals::install()?;
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let listen = if !args.listen.is_empty() {
        args.listen.clone()
    } else if !config.listen.is_empty() {
        config.listen_specs()?
    } else {
        default_listen()
    };
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(default_data_dir);

    let tls = if listen.iter().any(|s| s.transport.is_secure()) {
        let cert = args.tls_cert.clone().or_else(|| config.tls.cert.clone());
        let key = args.tls_key.clone().or_else(|| config.tls.key.clone());
        Some(tls_config(cert, key, &data_dir, &listen)?)
    } else {
        None
    };

    let server_header = match &config.server_header {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.clone()),
        None => Some(DEFAULT_SERVER_HEADER.to_owned()),
    };
    let registrar = Arc::new(crate::state::registrar(&config, &data_dir, &listen)?);
    let mut server_config = ServerConfig::new(listen);
    server_config.limits = config.transport_limits()?;
    server_config.transactions = config.transactions();
    server_config.tls = tls.as_ref().map(ServerTlsConfig::rustls_config);
    server_config.websocket.allowed_origins = config.websocket.allowed_origins.clone();
    server_config.server_header = server_header.clone();

    let basic = BasicTu::new(BasicConfig {
        server_header,
        allow: Some(crate::sip_tu::ALLOW.to_owned()),
    });
    let tu = Arc::new(crate::sip_tu::SipTu::new(basic, registrar));
    let server = Server::bind(server_config, tu).await?;
    {
        let mut out = std::io::stdout().lock();
        for spec in server.local_addrs() {
            writeln!(out, "listening {} {}", spec.transport, spec.addr)?;
        }
        out.flush()?;
    }
    tracing::info!(listeners = server.local_addrs().len(), "serving");

    let reload_every = config
        .tls
        .reload_check_secs
        .unwrap_or(DEFAULT_RELOAD_CHECK_SECS);
    signals
        .wait_for_stop(
            tls.as_ref().map(|t| Arc::clone(t.certificate())),
            reload_every,
        )
        .await;
    tracing::info!("stopping");
    server.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// The signals the server reacts to.
struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        Ok(Signals {
            hup: signal(SignalKind::hangup()).context("cannot watch SIGHUP")?,
            term: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
        })
    }

    /// Waits for SIGTERM or Ctrl-C; meanwhile reloads the certificate on SIGHUP and
    /// when its files change.
    async fn wait_for_stop(mut self, cert: Option<Arc<ReloadableCert>>, reload_every: u64) {
        let period = Duration::from_secs(reload_every.max(1));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tokio::select! {
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
                _ = self.hup.recv() => reload(cert.as_deref(), "SIGHUP"),
                _ = tick.tick(), if reload_every > 0 && cert.is_some() => {
                    if let Some(c) = cert.as_deref() {
                        if c.files_changed().unwrap_or(false) {
                            reload(Some(c), "file change");
                        }
                    }
                }
            }
        }
    }
}

fn reload(cert: Option<&ReloadableCert>, why: &str) {
    let Some(cert) = cert else {
        tracing::info!("{why}: no TLS certificate to reload");
        return;
    };
    match cert.reload() {
        Ok(ReloadOutcome::Replaced) => {
            tracing::info!(cert = %cert.cert_path().display(), "{why}: TLS certificate reloaded");
        }
        Ok(ReloadOutcome::Unchanged) => {
            tracing::info!(cert = %cert.cert_path().display(), "{why}: TLS certificate unchanged");
        }
        Err(err) => {
            tracing::error!(%err, "{why}: TLS certificate not reloaded; the previous one stays in service");
        }
    }
}

/// The TLS configuration: the configured files, or a development PKI in the data
/// directory (made on first run, reused afterwards).
fn tls_config(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    data_dir: &Path,
    listen: &[ListenSpec],
) -> anyhow::Result<ServerTlsConfig> {
    let (cert, key) = match (cert, key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => dev_pki(data_dir, listen)?,
        _ => anyhow::bail!("TLS needs both a certificate and a key file"),
    };
    ServerTlsConfig::from_pem_files(&cert, &key, ServerTlsOptions::default()).with_context(|| {
        format!(
            "cannot load TLS certificate {} / key {}",
            cert.display(),
            key.display()
        )
    })
}

fn dev_pki(data_dir: &Path, listen: &[ListenSpec]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join("dev-pki");
    let ca = dir.join("ca.crt");
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    let fresh = !(ca.exists() && cert.exists() && key.exists());
    if fresh {
        create_private_dir(&dir)?;
        let mut ips: Vec<IpAddr> = vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        for spec in listen {
            let ip = spec.addr.ip();
            if !ip.is_unspecified() && !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        let pki = sipwarden_tls::generate_dev_pki(&["localhost"], &ips)
            .context("cannot generate the development certificate")?;
        write_file(&ca, pki.ca_cert_pem.as_bytes(), 0o644)?;
        write_file(&cert, pki.cert_pem.as_bytes(), 0o644)?;
        write_file(&key, pki.key_pem.as_bytes(), 0o600)?;
    }
    let bar = "=".repeat(78);
    eprintln!("{bar}");
    eprintln!(
        "WARNING: TLS uses a DEVELOPMENT certificate {} by sipwarden.",
        if fresh {
            "just generated"
        } else {
            "generated earlier"
        }
    );
    eprintln!("  Clients must trust its CA: {}", ca.display());
    eprintln!("  Not for production: set --tls-cert and --tls-key (or [tls] in the config).");
    eprintln!("{bar}");
    println!("development-ca {}", ca.display());
    Ok((cert, key))
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn write_file(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(data)
        .with_context(|| format!("cannot write {}", path.display()))
}
