//! What every part of the running server shares for operations: the security event sink,
//! the metrics, the hooks run on SIGHUP, and the views of calls and bans the admin API
//! shows.
//!
//! `serve` builds one [`Ops`] and hands an `Arc<Ops>` to every transaction user. Emitting
//! an event never fails the caller: a sink error (a full disk) is counted and logged, and
//! the request goes on being handled.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use sipwarden_admin::{Ban, Call, Metrics};
use sipwarden_events::{Detail, EventSink, FanOut, JsonLinesWriter, SecurityEvent};

/// A hook run on SIGHUP; its error is logged and the previous state stays in service.
type ReloadHook = Box<dyn Fn() -> anyhow::Result<()> + Send + Sync>;

/// Calls in progress, for the admin API (implemented by the proxy).
pub trait CallView: Send + Sync {
    /// Calls in progress.
    fn calls(&self) -> Vec<Call>;
}

/// Banned sources, for the admin API (implemented by the guard).
pub trait BanView: Send + Sync {
    /// Sources currently banned.
    fn bans(&self) -> Vec<Ban>;
    /// Lifts the ban covering `ip`; whether there was one.
    fn lift(&self, ip: IpAddr) -> bool;
}

/// Shared operational state: where security events go, the metrics, reload hooks.
pub struct Ops {
    /// Every security event goes here (the log writer and the metrics, fanned out).
    pub events: Arc<dyn EventSink>,
    /// The Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The log file writer, reopened on SIGHUP for log rotation.
    log: Option<Arc<JsonLinesWriter>>,
    reload_hooks: Mutex<Vec<(String, ReloadHook)>>,
    calls: OnceLock<Arc<dyn CallView>>,
    bans: OnceLock<Arc<dyn BanView>>,
    emit_errors: AtomicU64,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("log", &self.log.as_ref().and_then(|w| w.path()))
            .finish_non_exhaustive()
    }
}

impl Ops {
    /// Events go to `log` (when given) and are counted by `metrics`.
    pub fn new(log: Option<Arc<JsonLinesWriter>>, metrics: Arc<Metrics>) -> Ops {
        let mut fan = FanOut::new();
        if let Some(w) = &log {
            fan.push(Arc::clone(w) as Arc<dyn EventSink>);
        }
        fan.push(Arc::clone(&metrics) as Arc<dyn EventSink>);
        Ops::with_sink(Arc::new(fan), log, metrics)
    }

    /// Events go to `events` only (tests pass a `MemorySink` fanned out as they like).
    pub fn with_sink(
        events: Arc<dyn EventSink>,
        log: Option<Arc<JsonLinesWriter>>,
        metrics: Arc<Metrics>,
    ) -> Ops {
        Ops {
            events,
            metrics,
            log,
            reload_hooks: Mutex::new(Vec::new()),
            calls: OnceLock::new(),
            bans: OnceLock::new(),
            emit_errors: AtomicU64::new(0),
        }
    }

    /// Records a security event. Never fails: the request path must go on even when the
    /// log cannot be written.
    pub fn emit(&self, event: &SecurityEvent) {
        if let Err(err) = self.events.emit(event) {
            let n = self.emit_errors.fetch_add(1, Ordering::Relaxed);
            // The first failure and then one in a thousand, so a full disk does not
            // flood the process log too.
            if n.is_multiple_of(1000) {
                tracing::error!(%err, failures = n + 1, "security event not recorded");
            }
        }
    }

    /// Records an event caused by a request from `source` over `transport`.
    pub fn emit_from(
        &self,
        transport: sipwarden_transport::Transport,
        source: SocketAddr,
        detail: Detail,
        build: impl FnOnce(SecurityEvent) -> SecurityEvent,
    ) {
        let event = SecurityEvent::new(
            SystemTime::now(),
            event_transport(transport),
            source,
            detail,
        );
        self.emit(&build(event));
    }

    /// Events that could not be recorded since start.
    pub fn emit_errors(&self) -> u64 {
        self.emit_errors.load(Ordering::Relaxed)
    }

    /// Registers a hook run on every SIGHUP (certificates, policy lists ...), in
    /// registration order.
    pub fn on_reload(
        &self,
        name: &str,
        hook: impl Fn() -> anyhow::Result<()> + Send + Sync + 'static,
    ) {
        self.reload_hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.to_owned(), Box::new(hook)));
    }

    /// Runs every reload hook and reopens the event log file; a failing hook is logged
    /// and the others still run.
    pub fn reload(&self, why: &str) {
        if let Some(log) = &self.log {
            if let Err(err) = log.reopen() {
                tracing::error!(%err, "{why}: security event log not reopened");
            }
        }
        let hooks = self
            .reload_hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (name, hook) in hooks.iter() {
            match hook() {
                Ok(()) => tracing::debug!("{why}: {name} reloaded"),
                Err(err) => {
                    tracing::error!(
                        err = format!("{err:#}"),
                        "{why}: {name} not reloaded; the previous one stays in service"
                    );
                }
            }
        }
    }

    /// Lets the admin API list calls (set once, by the proxy's wiring).
    pub fn set_calls(&self, view: Arc<dyn CallView>) {
        if self.calls.set(view).is_err() {
            tracing::warn!("a call view was already set; keeping the first");
        }
    }

    /// Lets the admin API list and lift bans (set once, by the guard's wiring).
    pub fn set_bans(&self, view: Arc<dyn BanView>) {
        if self.bans.set(view).is_err() {
            tracing::warn!("a ban view was already set; keeping the first");
        }
    }

    /// The call view, if the proxy set one.
    pub fn calls(&self) -> Option<&Arc<dyn CallView>> {
        self.calls.get()
    }

    /// The ban view, if the guard set one.
    pub fn bans(&self) -> Option<&Arc<dyn BanView>> {
        self.bans.get()
    }
}

/// The event log's name for a transport.
pub fn event_transport(t: sipwarden_transport::Transport) -> sipwarden_events::Transport {
    use sipwarden_events::Transport as E;
    use sipwarden_transport::Transport as T;
    match t {
        T::Udp => E::Udp,
        T::Tcp => E::Tcp,
        T::Tls => E::Tls,
        T::Ws => E::Ws,
        T::Wss => E::Wss,
    }
}
