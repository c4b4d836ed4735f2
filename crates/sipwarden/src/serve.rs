//! `sipwarden serve`: wiring of configuration, TLS, the transport, the transaction user,
//! the security event log, metrics and the admin API, plus signal handling (SIGHUP runs
//! the reload hooks, SIGTERM and Ctrl-C stop gracefully and close the store).

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

use sipwarden_admin::{serve_admin_with_shutdown, AdminConfig, ApiToken, Metrics, MetricsAccess};
use sipwarden_events::JsonLinesWriter;
use sipwarden_store::UserStore;

use crate::admin_backend::ServerBackend;
use crate::config::{Config, EventsTarget};
use crate::events_wiring::ObservedLocation;
use crate::metrics_tu::CountingTu;
use crate::ops::Ops;
use crate::ServeArgs;

/// Default seconds between checks of the certificate files.
const DEFAULT_RELOAD_CHECK_SECS: u64 = 30;
/// `Server` header sent unless configured otherwise: no version, which would only help
/// scanners.
const DEFAULT_SERVER_HEADER: &str = "sipwarden";
/// File name of the generated admin token inside the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// How often the connection and registration gauges are refreshed.
const GAUGE_PERIOD: Duration = Duration::from_secs(5);

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
    crate::state::ensure_dir(&data_dir)?;

    let tls = if listen.iter().any(|s| s.transport.is_secure()) {
        let cert = args.tls_cert.clone().or_else(|| config.tls.cert.clone());
        let key = args.tls_key.clone().or_else(|| config.tls.key.clone());
        let options = ServerTlsOptions {
            client_auth: config.tls_client_auth()?,
            ..ServerTlsOptions::default()
        };
        Some(tls_config(cert, key, &data_dir, &listen, options)?)
    } else {
        None
    };

    let server_header = match &config.server_header {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.clone()),
        None => Some(DEFAULT_SERVER_HEADER.to_owned()),
    };

    // Operations first: every part below reports through it.
    let metrics = Arc::new(Metrics::new());
    let (event_log, events_at) = open_event_log(&config, &data_dir)?;
    let ops = Arc::new(Ops::new(event_log, Arc::clone(&metrics)));
    let mut observed = None;
    let (registrar, stores) = crate::state::registrar(&config, &data_dir, &listen, |inner| {
        let o = Arc::new(ObservedLocation::new(inner, Arc::clone(&ops)));
        observed = Some(Arc::clone(&o));
        o
    })?;
    let guard = crate::guard_tu::GuardShared::from_config(&config, registrar.domains().clone())?;
    let registrar = Arc::new(match &guard {
        Some(g) => {
            g.attach(&ops, args.config.clone());
            registrar.with_auth_observer(Arc::clone(g) as Arc<dyn sipwarden_core::AuthObserver>)
        }
        None => registrar,
    });
    let observed = observed.context("the location store was not built")?;
    if let Some(t) = &tls {
        let cert = Arc::clone(t.certificate());
        ops.on_reload("TLS certificate", move || reload_cert(&cert));
    }

    let mut server_config = ServerConfig::new(listen);
    server_config.limits = config.transport_limits()?;
    server_config.transactions = config.transactions();
    server_config.tls = tls.as_ref().map(ServerTlsConfig::rustls_config);
    server_config.websocket.allowed_origins = config.websocket.allowed_origins.clone();
    server_config.server_header = server_header.clone();
    server_config.tls_observer = Some(Arc::new(crate::tls_events::TlsEvents::new(Arc::clone(
        &ops,
    ))));

    let basic = BasicTu::new(BasicConfig {
        server_header,
        allow: Some(crate::sip_tu::ALLOW.to_owned()),
    });
    let sip_tu = crate::sip_tu::SipTu::new(basic, registrar, Arc::clone(&ops));
    let proxy_tu =
        crate::proxy_tu::ProxyTu::new(crate::proxy_setup::call_book(&config, &data_dir, &ops)?);
    if let Some(g) = &guard {
        proxy_tu.set_auth_observer(Arc::clone(g) as Arc<dyn sipwarden_core::AuthObserver>);
    }
    let sip_tu = sip_tu.with_proxy(proxy_tu.clone());
    // Counting outermost: requests the guard refuses or drops are counted too.
    let tu: Arc<dyn sipwarden_transport::TransactionUser> = match &guard {
        Some(g) => Arc::new(CountingTu::new(
            crate::guard_tu::GuardTu::new(sip_tu, Arc::clone(g)),
            Arc::clone(&metrics),
        )),
        None => Arc::new(CountingTu::new(sip_tu, Arc::clone(&metrics))),
    };
    let server = Server::bind(server_config, tu).await?;
    crate::proxy_setup::start(
        &proxy_tu,
        &config,
        &data_dir,
        server.local_addrs(),
        server.handle(),
        stores,
    )?;
    let admin = start_admin(&config, &data_dir, &observed, &ops).await?;
    let no_users = crate::state::open_store(&data_dir)
        .and_then(|s| Ok(s.list_users(None)?.is_empty()))
        .unwrap_or(false);
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "data-dir {}", data_dir.display())?;
        writeln!(
            out,
            "store {}",
            data_dir.join(crate::state::STORE_FILE).display()
        )?;
        writeln!(out, "security-events {events_at}")?;
        if let Some(a) = &admin {
            writeln!(out, "admin {}", a.addr)?;
            writeln!(out, "admin-token {}", a.token_file.display())?;
        }
        if no_users {
            writeln!(
                out,
                "hint no users yet; add the first one with: sipwarden user add alice --data-dir {}",
                data_dir.display()
            )?;
        }
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
    let gauges = || {
        for (transport, n) in server.connections_by_transport() {
            metrics.set_connections(crate::ops::event_transport(transport), n as u64);
        }
        use sipwarden_admin::TransactionKind as K;
        let [is, ns, ic, nc] = server.transactions_by_kind();
        for (kind, n) in [
            (K::InviteServer, is),
            (K::NonInviteServer, ns),
            (K::InviteClient, ic),
            (K::NonInviteClient, nc),
        ] {
            metrics.set_transactions(kind, n as u64);
        }
        let o = Arc::clone(&observed);
        // A full count reads the store: off the async workers.
        tokio::task::spawn_blocking(move || o.resync());
    };
    signals
        .wait_for_stop(
            &ops,
            tls.as_ref().map(|t| Arc::clone(t.certificate())),
            reload_every,
            gauges,
        )
        .await;
    tracing::info!("stopping");
    if let Some(a) = admin {
        a.stop().await;
    }
    server.shutdown().await;
    // The last references to the store go here, which closes it (SQLite checkpoints its
    // write-ahead log on close).
    drop(observed);
    drop(ops);
    tracing::info!("stopped; store closed");
    Ok(())
}

/// Opens the security event log as configured; returns it and where it goes.
fn open_event_log(
    config: &Config,
    data_dir: &Path,
) -> anyhow::Result<(Option<Arc<JsonLinesWriter>>, String)> {
    Ok(match config.events_target(data_dir)? {
        EventsTarget::Off => (None, "off".to_owned()),
        EventsTarget::Stdout => (
            Some(Arc::new(JsonLinesWriter::stdout())),
            "stdout".to_owned(),
        ),
        EventsTarget::File(path) => {
            let w = JsonLinesWriter::open(&path)
                .with_context(|| format!("log.events: cannot open {}", path.display()))?;
            (Some(Arc::new(w)), path.display().to_string())
        }
    })
}

/// The admin listener while it runs.
struct AdminHandle {
    addr: SocketAddr,
    token_file: PathBuf,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl AdminHandle {
    /// Stops accepting and lets requests in flight finish.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// Binds the admin API unless it is turned off. When the default address is taken (a
/// second server on the same machine), the server runs without it and says so; an
/// address set in the configuration must bind.
async fn start_admin(
    config: &Config,
    data_dir: &Path,
    observed: &Arc<ObservedLocation>,
    ops: &Arc<Ops>,
) -> anyhow::Result<Option<AdminHandle>> {
    let Some(addr) = config.admin_listen()? else {
        return Ok(None);
    };
    let token_file = config
        .admin
        .token_file
        .clone()
        .unwrap_or_else(|| data_dir.join(ADMIN_TOKEN_FILE));
    let token = admin_token(&token_file)?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(err) if config.admin.listen.is_none() => {
            tracing::warn!(%addr, %err, "admin API not started: its default address is taken (set [admin] listen)");
            return Ok(None);
        }
        Err(err) => return Err(err).with_context(|| format!("admin.listen: cannot bind {addr}")),
    };
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the admin API speaks plain HTTP on a non-loopback address: put it behind a firewall or a TLS proxy");
    }
    let mut admin_config = AdminConfig::new(token);
    if config.admin.metrics_require_token == Some(true) {
        admin_config.metrics_access = MetricsAccess::Token;
    }
    let backend = Arc::new(ServerBackend::new(Arc::clone(observed), Arc::clone(ops)));
    let router = sipwarden_admin::router(backend, Arc::clone(&ops.metrics), admin_config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(err) = serve_admin_with_shutdown(listener, router, shutdown).await {
            tracing::error!(%err, "admin API stopped");
        }
    });
    Ok(Some(AdminHandle {
        addr,
        token_file,
        stop,
        task,
    }))
}

/// The admin token from `path`, generated there (0600) on first run.
fn admin_token(path: &Path) -> anyhow::Result<ApiToken> {
    if !path.exists() {
        let mut raw = [0u8; 32];
        aws_lc_rs::rand::fill(&mut raw).map_err(|_| anyhow::anyhow!("no randomness available"))?;
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("admin.token_file: cannot create {}", path.display()))?;
        writeln!(f, "{hex}")
            .with_context(|| format!("admin.token_file: cannot write {}", path.display()))?;
    }
    let token = crate::config::read_token(path)?;
    ApiToken::new(&token).map_err(|e| anyhow::anyhow!("admin.token_file: {}: {e}", path.display()))
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

    /// Waits for SIGTERM or Ctrl-C; meanwhile runs the reload hooks on SIGHUP, reloads
    /// the certificate when its files change, and refreshes the gauges.
    async fn wait_for_stop(
        mut self,
        ops: &Ops,
        cert: Option<Arc<ReloadableCert>>,
        reload_every: u64,
        mut gauges: impl FnMut(),
    ) {
        let period = Duration::from_secs(reload_every.max(1));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut gauge_tick = tokio::time::interval(GAUGE_PERIOD);
        loop {
            tokio::select! {
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
                _ = self.hup.recv() => {
                    tracing::info!("SIGHUP: reloading");
                    ops.reload("SIGHUP");
                }
                _ = gauge_tick.tick() => gauges(),
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

/// The certificate reload as a SIGHUP hook.
fn reload_cert(cert: &ReloadableCert) -> anyhow::Result<()> {
    match cert.reload()? {
        ReloadOutcome::Replaced => {
            tracing::info!(cert = %cert.cert_path().display(), "SIGHUP: TLS certificate reloaded");
        }
        ReloadOutcome::Unchanged => {
            tracing::info!(cert = %cert.cert_path().display(), "SIGHUP: TLS certificate unchanged");
        }
    }
    Ok(())
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
    options: ServerTlsOptions,
) -> anyhow::Result<ServerTlsConfig> {
    let (cert, key) = match (cert, key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => dev_pki(data_dir, listen)?,
        _ => anyhow::bail!("TLS needs both a certificate and a key file"),
    };
    ServerTlsConfig::from_pem_files(&cert, &key, options).with_context(|| {
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
    eprintln!("  Not for production. To install a real certificate, set --tls-cert and");
    eprintln!("  --tls-key, or `cert` and `key` under [tls] in the configuration file;");
    eprintln!("  after renewing the files, `kill -HUP` the server to load them.");
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
