//! The strictness policy: every size and count the parser accepts, as named constants.
//!
//! Anything over these limits is refused with a typed [`crate::ParseError`] rather than
//! processed slowly or stored. The defaults fit every message real phones and servers send
//! (RFC 4475's long-value torture message included) with room to spare.

/// Largest message accepted on any transport, head and body together.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Largest message head (start line and headers) accepted.
pub const MAX_HEAD_SIZE: usize = 32 * 1024;
/// Longest single line (a header with its folded continuations counts as one).
pub const MAX_LINE_LEN: usize = 8 * 1024;
/// Most header fields in one message.
pub const MAX_HEADERS: usize = 128;
/// Most Via entries (fields or comma-separated values) in one message.
pub const MAX_VIAS: usize = 64;
/// Longest URI (Request-URI or any URI in a header).
pub const MAX_URI_LEN: usize = 4 * 1024;
/// Largest CSeq sequence number (RFC 3261 §8.1.1.5: less than 2^31).
pub const MAX_CSEQ: u32 = (1 << 31) - 1;
/// Largest Max-Forwards value (RFC 3261 §20.22 uses 0-255 in practice).
pub const MAX_MAX_FORWARDS: u32 = 255;
/// Largest Expires / Min-Expires value (RFC 3261 §20.19: up to 2^32-1 seconds).
pub const MAX_EXPIRES: u64 = u32::MAX as u64;

/// The limits in force for one parser; defaults are the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_MESSAGE_SIZE`].
    pub max_message_size: usize,
    /// See [`MAX_HEAD_SIZE`].
    pub max_head_size: usize,
    /// See [`MAX_LINE_LEN`].
    pub max_line_len: usize,
    /// See [`MAX_HEADERS`].
    pub max_headers: usize,
    /// See [`MAX_VIAS`].
    pub max_vias: usize,
    /// See [`MAX_URI_LEN`].
    pub max_uri_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: MAX_MESSAGE_SIZE,
            max_head_size: MAX_HEAD_SIZE,
            max_line_len: MAX_LINE_LEN,
            max_headers: MAX_HEADERS,
            max_vias: MAX_VIAS,
            max_uri_len: MAX_URI_LEN,
        }
    }
}
