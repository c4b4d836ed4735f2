//! The calls book: active and recent proxied calls with their security assessment.
//!
//! The server keeps it in memory, appends one JSON line per ended call to
//! `calls.log` in the data directory (and to the log as a `call ended` event), and
//! rewrites `calls.json` there about once a second; `sipwarden calls` reads that file.
//! Assessments hold labels and reasons only, never key material.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sipwarden_core::assessment::{CallAssessment, DialogId, SecurityLevel};

/// File rewritten with the current view.
pub const CALLS_FILE: &str = "calls.json";
/// File each ended call is appended to, one JSON line each.
pub const CALLS_LOG: &str = "calls.log";
/// Ended calls kept in the view.
const RECENT: usize = 100;

/// One call as shown by `sipwarden calls`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallRecord {
    /// Seconds since the Unix epoch when the call was answered.
    pub answered_at: u64,
    /// When it ended, if it did.
    pub ended_at: Option<u64>,
    /// How it ended: `bye` (status of the BYE's final response in `status`) or
    /// `timeout` (no BYE seen within the limit).
    pub ended_by: Option<String>,
    /// Final status of the BYE.
    pub status: Option<u16>,
    /// Milliseconds from answer to end.
    pub duration_ms: Option<u64>,
    /// The assessment made when the call was answered.
    pub assessment: CallAssessment,
}

/// What `calls.json` holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CallsView {
    /// When the file was written (seconds since the Unix epoch).
    pub updated_at: u64,
    /// Calls in progress.
    pub active: Vec<CallRecord>,
    /// Calls that ended, newest first.
    pub recent: Vec<CallRecord>,
}

#[derive(Default)]
struct Book {
    active: HashMap<String, CallRecord>,
    recent: VecDeque<CallRecord>,
}

/// The server's calls book.
pub struct CallBook {
    book: Mutex<Book>,
    dir: Option<PathBuf>,
    log: Mutex<Option<std::fs::File>>,
    dirty: AtomicBool,
    max_call: Duration,
    ops: std::sync::OnceLock<Arc<crate::ops::Ops>>,
}

impl std::fmt::Debug for CallBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallBook")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Key of a dialog whatever side sent the BYE: Call-ID and the two tags in order.
fn key(d: &DialogId) -> String {
    let (a, b) = if d.caller_tag <= d.callee_tag {
        (&d.caller_tag, &d.callee_tag)
    } else {
        (&d.callee_tag, &d.caller_tag)
    };
    format!("{}\u{0}{a}\u{0}{b}", d.call_id)
}

impl CallBook {
    /// A book writing into `dir` (nothing written when `None`); calls without a BYE are
    /// closed as `timeout` after `max_call`.
    pub fn new(dir: Option<&Path>, max_call: Duration) -> anyhow::Result<CallBook> {
        let log = match dir {
            Some(d) => {
                let path = d.join(CALLS_LOG);
                use std::os::unix::fs::OpenOptionsExt;
                Some(
                    std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .mode(0o600)
                        .open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?,
                )
            }
            None => None,
        };
        Ok(CallBook {
            book: Mutex::new(Book::default()),
            dir: dir.map(Path::to_path_buf),
            log: Mutex::new(log),
            dirty: AtomicBool::new(true),
            max_call,
            ops: std::sync::OnceLock::new(),
        })
    }

    /// The operator surfaces, once attached.
    pub fn ops(&self) -> Option<&Arc<crate::ops::Ops>> {
        self.ops.get()
    }

    /// Reports ended calls as security events and metrics through `ops`, and offers the
    /// active calls to the admin API.
    pub fn attach(self: &Arc<Self>, ops: &Arc<crate::ops::Ops>) {
        let _ = self.ops.set(Arc::clone(ops));
        ops.set_calls(Arc::clone(self) as Arc<dyn crate::ops::CallView>);
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An INVITE was answered.
    pub fn answered(&self, assessment: CallAssessment) {
        tracing::debug!(
            call_id = %assessment.dialog.call_id,
            level = assessment.level.as_str(),
            "call answered"
        );
        let record = CallRecord {
            answered_at: unix_millis(),
            ended_at: None,
            ended_by: None,
            status: None,
            duration_ms: None,
            assessment,
        };
        let k = key(&record.assessment.dialog);
        if self.book().active.insert(k, record).is_none() {
            if let Some(ops) = self.ops.get() {
                ops.metrics.call_started();
            }
        }
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// A BYE of this dialog got its final response.
    pub fn ended(&self, dialog: &DialogId, code: u16) {
        let record = self.book().active.remove(&key(dialog));
        if let Some(r) = record {
            self.close(r, "bye", Some(code));
        }
    }

    fn close(&self, mut r: CallRecord, how: &str, status: Option<u16>) {
        let now = unix_millis();
        r.ended_at = Some(now);
        r.ended_by = Some(how.to_owned());
        r.status = status;
        r.duration_ms = Some(now.saturating_sub(r.answered_at));
        self.write_line(&r);
        let mut book = self.book();
        book.recent.push_front(r);
        book.recent.truncate(RECENT);
        drop(book);
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// One structured line per ended call: to `calls.log` and to the log.
    fn write_line(&self, r: &CallRecord) {
        let ops = self.ops.get();
        // The assessment is turned into JSON once, for the line and the security event.
        let assessment = serde_json::to_value(&r.assessment).unwrap_or_default();
        let (for_line, for_event) = match ops {
            Some(_) => (assessment.clone(), Some(assessment)),
            None => (assessment, None),
        };
        let mut line = serde_json::json!({
            "event": "call_ended",
            "ended_by": r.ended_by,
            "status": r.status,
            "duration_ms": r.duration_ms,
            "assessment": serde_json::Value::Null,
        });
        if let Some(slot) = line.get_mut("assessment") {
            *slot = for_line;
        }
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        // The same line goes to the calls log and the security events: debug here.
        tracing::debug!(
            call_id = %r.assessment.dialog.call_id,
            level = r.assessment.level.as_str(),
            call = %text,
            "call ended"
        );
        if let (Some(ops), Some(assessment)) = (ops, for_event) {
            ops.metrics.call_ended(admin_level(r.assessment.level));
            let detail = sipwarden_events::Detail::CallEnded {
                status: r.status.unwrap_or(0),
                duration_ms: r.duration_ms.unwrap_or(0),
                assessment,
            };
            let event = sipwarden_events::SecurityEvent::internal(SystemTime::now(), detail)
                .with_call_id(r.assessment.dialog.call_id.as_str());
            ops.emit(&event);
        }
        text.push('\n');
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = log.as_mut() {
            // The whole line in one write.
            if let Err(err) = f.write_all(text.as_bytes()) {
                tracing::warn!(%err, "cannot append to the calls log");
            }
        }
    }

    /// Closes calls that outlived the limit without a BYE.
    pub fn sweep(&self) {
        let cutoff = unix_millis()
            .saturating_sub(u64::try_from(self.max_call.as_millis()).unwrap_or(u64::MAX));
        let expired: Vec<CallRecord> = {
            let mut book = self.book();
            let keys: Vec<String> = book
                .active
                .iter()
                .filter(|(_, r)| r.answered_at < cutoff)
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter().filter_map(|k| book.active.remove(k)).collect()
        };
        for r in expired {
            self.close(r, "timeout", None);
        }
    }

    /// The current view.
    pub fn view(&self) -> CallsView {
        let book = self.book();
        let mut active: Vec<CallRecord> = book.active.values().cloned().collect();
        active.sort_by_key(|r| std::cmp::Reverse(r.answered_at));
        CallsView {
            updated_at: unix_now(),
            active,
            recent: book.recent.iter().cloned().collect(),
        }
    }

    /// Rewrites `calls.json` if anything changed (atomically, through a temporary file).
    pub fn flush(&self) {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return;
        }
        let Some(dir) = &self.dir else { return };
        let view = self.view();
        let Ok(text) = serde_json::to_vec_pretty(&view) else {
            return;
        };
        let tmp = dir.join(format!("{CALLS_FILE}.tmp"));
        let result =
            std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, dir.join(CALLS_FILE)));
        if let Err(err) = result {
            tracing::warn!(%err, "cannot write the calls view");
        }
    }

    /// Sweeps and flushes every second until the process ends.
    pub fn spawn_maintenance(self: &Arc<Self>) {
        let book = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                book.sweep();
                book.flush();
            }
        });
    }
}

fn admin_level(l: SecurityLevel) -> sipwarden_admin::SecurityLevel {
    match l {
        SecurityLevel::None => sipwarden_admin::SecurityLevel::None,
        SecurityLevel::HopByHop => sipwarden_admin::SecurityLevel::HopByHop,
        SecurityLevel::EndToEndMedia => sipwarden_admin::SecurityLevel::EndToEnd,
    }
}

impl crate::ops::CallView for CallBook {
    fn calls(&self) -> Vec<sipwarden_admin::Call> {
        let book = self.book();
        book.active
            .values()
            .map(|r| {
                let a = &r.assessment;
                let at = UNIX_EPOCH + Duration::from_millis(r.answered_at);
                sipwarden_admin::Call {
                    id: format!(
                        "{}-{}-{}",
                        a.dialog.call_id, a.dialog.caller_tag, a.dialog.callee_tag
                    ),
                    call_id: a.dialog.call_id.clone(),
                    from: String::new(),
                    to: String::new(),
                    caller_account: match &a.caller_auth {
                        sipwarden_core::assessment::CallerAuth::Digest { account, .. } => {
                            Some(account.clone())
                        }
                        _ => None,
                    },
                    state: sipwarden_admin::CallState::Active,
                    started: at.into(),
                    answered: Some(at.into()),
                    security_level: admin_level(a.level),
                    assessment: serde_json::to_value(a).unwrap_or_default(),
                }
            })
            .collect()
    }
}

/// `sipwarden calls`: prints the view the running server wrote.
pub fn print(dir: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let path = dir.join(CALLS_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (is the server running with this data directory?)",
            path.display()
        )
    })?;
    if json {
        writeln!(out, "{}", text.trim_end())?;
        return Ok(());
    }
    let view: CallsView =
        serde_json::from_str(&text).with_context(|| format!("{} is unreadable", path.display()))?;
    writeln!(
        out,
        "{} active, {} recent (as of {})",
        view.active.len(),
        view.recent.len(),
        view.updated_at
    )?;
    for (state, list) in [("active", &view.active), ("ended", &view.recent)] {
        for r in list {
            let a = &r.assessment;
            // `tls(TLSv1.3)` when the hop's negotiated version is known.
            let hops: Vec<String> = a
                .signalling
                .iter()
                .map(
                    |h| match h.tls.as_ref().and_then(|t| t.version.as_deref()) {
                        Some(v) => format!("{}({v})", h.transport),
                        None => h.transport.clone(),
                    },
                )
                .collect();
            writeln!(
                out,
                "{state:6} {level:17} call-id={cid} signalling={hops} media={media} offer={offer} answer={answer}{end}",
                level = a.level.as_str(),
                cid = a.dialog.call_id,
                hops = hops.join(","),
                media = a.media.level,
                offer = a.media.offer.as_deref().unwrap_or("-"),
                answer = a.media.answer.as_deref().unwrap_or("-"),
                end = match (&r.ended_by, r.duration_ms) {
                    (Some(how), Some(ms)) => format!(" ended-by={how} duration_ms={ms}"),
                    _ => String::new(),
                },
            )?;
            if let Some(first) = a.reasons.first() {
                writeln!(out, "       {first}")?;
            }
        }
    }
    Ok(())
}

/// `sipwarden calls`
#[derive(Debug, clap::Args)]
pub struct CallsArgs {
    /// TOML configuration file (for the data directory).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's data directory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print the raw JSON view.
    #[arg(long)]
    json: bool,
}

/// Runs `sipwarden calls`.
pub fn run(args: &CallsArgs) -> std::process::ExitCode {
    let result = (|| -> anyhow::Result<()> {
        let config = match &args.config {
            Some(path) => crate::config::Config::load(path)?,
            None => crate::config::Config::default(),
        };
        let dir = crate::state::data_dir(args.data_dir.as_deref(), &config);
        let mut out = std::io::stdout().lock();
        print(&dir, args.json, &mut out)
    })();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sipwarden: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests;
