//! Where events go.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::EventError;
use crate::event::SecurityEvent;

/// Receives security events. Shared between tasks, so it takes `&self`.
///
/// A sink must be quick: it is called on the request path. A failing sink reports the
/// error; callers normally count it and carry on, because a full disk must not stop
/// the server from refusing an attacker.
pub trait EventSink: Send + Sync {
    /// Records one event.
    fn emit(&self, event: &SecurityEvent) -> Result<(), EventError>;
}

impl<T: EventSink + ?Sized> EventSink for Arc<T> {
    fn emit(&self, event: &SecurityEvent) -> Result<(), EventError> {
        (**self).emit(event)
    }
}

impl<T: EventSink + ?Sized> EventSink for Box<T> {
    fn emit(&self, event: &SecurityEvent) -> Result<(), EventError> {
        (**self).emit(event)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A writer that panicked mid-line leaves nothing inconsistent behind: keep logging.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Output {
    File(File),
    Stdout,
    Writer(Box<dyn Write + Send>),
}

impl Output {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        match self {
            Self::File(f) => {
                f.write_all(line)?;
                f.flush()
            }
            Self::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(line)?;
                out.flush()
            }
            Self::Writer(w) => {
                w.write_all(line)?;
                w.flush()
            }
        }
    }
}

/// Writes each event as one JSON line, flushed at once, to a file (appending) or stdout.
///
/// The line is built before the lock is taken and written with one `write_all`, so lines
/// from concurrent callers never interleave. For log rotation, call
/// [`reopen`](Self::reopen) (typically on SIGHUP) after the file was moved away.
pub struct JsonLinesWriter {
    path: Option<PathBuf>,
    out: Mutex<Output>,
}

impl core::fmt::Debug for JsonLinesWriter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JsonLinesWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl JsonLinesWriter {
    /// Appends to the file at `path`, creating it (mode 0600 on Unix: the log names
    /// accounts and addresses) if it does not exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, EventError> {
        let path = path.into();
        let file = open_append(&path)?;
        Ok(Self {
            path: Some(path),
            out: Mutex::new(Output::File(file)),
        })
    }

    /// Writes to the process's standard output.
    pub fn stdout() -> Self {
        Self {
            path: None,
            out: Mutex::new(Output::Stdout),
        }
    }

    /// Writes to any writer (a pipe, a buffer in tests).
    pub fn from_writer(writer: impl Write + Send + 'static) -> Self {
        Self {
            path: None,
            out: Mutex::new(Output::Writer(Box::new(writer))),
        }
    }

    /// The file written to, if this writer writes to a file.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Opens the file again by its path, so a rotated-away file is let go and a new one
    /// started. Does nothing for stdout or a plain writer. On error the old file is kept.
    pub fn reopen(&self) -> Result<(), EventError> {
        if let Some(path) = &self.path {
            let file = open_append(path)?;
            *lock(&self.out) = Output::File(file);
        }
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

impl EventSink for JsonLinesWriter {
    fn emit(&self, event: &SecurityEvent) -> Result<(), EventError> {
        let mut line = Vec::with_capacity(256);
        event.write_json_line(&mut line)?;
        lock(&self.out).write_line(&line)?;
        Ok(())
    }
}

/// Keeps events in memory, for tests and for a "recent events" view. Bounded: once
/// `capacity` events are held, further ones are counted and dropped.
#[derive(Debug)]
pub struct MemorySink {
    capacity: usize,
    inner: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    events: Vec<SecurityEvent>,
    dropped: u64,
}

impl Default for MemorySink {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl MemorySink {
    /// A sink that holds at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Memory::default()),
        }
    }

    /// A copy of the events held, oldest first.
    pub fn events(&self) -> Vec<SecurityEvent> {
        lock(&self.inner).events.clone()
    }

    /// The events held as JSON lines (without line ends), oldest first.
    pub fn lines(&self) -> Result<Vec<String>, EventError> {
        lock(&self.inner)
            .events
            .iter()
            .map(SecurityEvent::to_json)
            .collect()
    }

    /// Removes and returns the events held.
    pub fn take(&self) -> Vec<SecurityEvent> {
        core::mem::take(&mut lock(&self.inner).events)
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        lock(&self.inner).events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events dropped because the sink was full.
    pub fn dropped(&self) -> u64 {
        lock(&self.inner).dropped
    }
}

impl EventSink for MemorySink {
    fn emit(&self, event: &SecurityEvent) -> Result<(), EventError> {
        let mut m = lock(&self.inner);
        if m.events.len() < self.capacity {
            m.events.push(event.clone());
        } else {
            m.dropped = m.dropped.saturating_add(1);
        }
        Ok(())
    }
}

/// Hands every event to several sinks (the log writer and the metrics, say). Every sink
/// gets the event even if an earlier one fails; the first error is returned.
#[derive(Clone, Default)]
pub struct FanOut {
    sinks: Vec<Arc<dyn EventSink>>,
}

impl core::fmt::Debug for FanOut {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FanOut")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl FanOut {
    /// A fan-out with no sinks (events go nowhere).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sink.
    #[must_use]
    pub fn with(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Adds a sink.
    pub fn push(&mut self, sink: Arc<dyn EventSink>) {
        self.sinks.push(sink);
    }

    /// Number of sinks.
    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    /// Whether there is no sink.
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

impl EventSink for FanOut {
    fn emit(&self, event: &SecurityEvent) -> Result<(), EventError> {
        let mut first = Ok(());
        for sink in &self.sinks {
            if let Err(e) = sink.emit(event) {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }
}
