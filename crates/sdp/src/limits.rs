//! Bounds on what the reader accepts, as named constants.
//!
//! The defaults fit every offer a SIP phone or a WebRTC gateway sends with room to spare;
//! anything beyond them is refused with a typed [`crate::SdpError`] before it costs work.

/// Largest body accepted (the SIP layer caps whole messages at the same size).
pub const MAX_SIZE: usize = 64 * 1024;
/// Most lines in one description.
pub const MAX_LINES: usize = 2048;
/// Longest single line, without its line ending.
pub const MAX_LINE_LEN: usize = 4096;
/// Most `m=` sections.
pub const MAX_MEDIA: usize = 64;

/// The limits in force for one parse; defaults are the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_SIZE`].
    pub max_size: usize,
    /// See [`MAX_LINES`].
    pub max_lines: usize,
    /// See [`MAX_LINE_LEN`].
    pub max_line_len: usize,
    /// See [`MAX_MEDIA`].
    pub max_media: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: MAX_SIZE,
            max_lines: MAX_LINES,
            max_line_len: MAX_LINE_LEN,
            max_media: MAX_MEDIA,
        }
    }
}
