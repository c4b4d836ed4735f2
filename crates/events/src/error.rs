//! Errors of the event log.

/// Why an event could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Writing or reopening the log failed.
    #[error("event log I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The event could not be serialised (not expected: every field is plain data).
    #[error("event serialisation: {0}")]
    Serialize(#[from] serde_json::Error),
}
