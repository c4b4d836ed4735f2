//! Every way a session description can be refused.

/// Why a session description was refused.
///
/// Variants carry line numbers (1-based) and static reasons only: no byte of the input is
/// ever copied into an error, so an error can be logged without leaking key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// Nothing but whitespace.
    #[error("empty session description")]
    Empty,
    /// The body is larger than [`crate::Limits::max_size`].
    #[error("session description larger than {limit} bytes")]
    TooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// More lines than [`crate::Limits::max_lines`].
    #[error("more than {limit} lines")]
    TooManyLines {
        /// The limit in force.
        limit: usize,
    },
    /// A line longer than [`crate::Limits::max_line_len`].
    #[error("line {line} longer than {limit} bytes")]
    LineTooLong {
        /// Line number.
        line: usize,
        /// The limit in force.
        limit: usize,
    },
    /// More `m=` sections than [`crate::Limits::max_media`].
    #[error("more than {limit} media sections")]
    TooManyMedia {
        /// The limit in force.
        limit: usize,
    },
    /// A NUL, a bare CR or another control character (TAB excepted) inside a line.
    #[error("control character on line {line}")]
    ControlCharacter {
        /// Line number.
        line: usize,
    },
    /// A line that is not `<lower-case letter>=<value>`.
    #[error("line {line} is not of the form <type>=<value>")]
    BadLine {
        /// Line number.
        line: usize,
    },
    /// A blank line followed by more content.
    #[error("blank line {line} inside the description")]
    BlankLine {
        /// Line number of the (first) blank line.
        line: usize,
    },
    /// The first line is not `v=0`.
    #[error("first line is not v=0")]
    BadVersion,
    /// A mandatory session-level line (`o=` or `s=`) is missing.
    #[error("missing {0}= line")]
    Missing(char),
    /// A line type that may appear once appears again.
    #[error("duplicate {kind}= line at line {line}")]
    Duplicate {
        /// The line type.
        kind: char,
        /// Line number of the duplicate.
        line: usize,
    },
    /// A session-level line type inside a media section.
    #[error("{kind}= line {line} is not allowed in a media section")]
    Misplaced {
        /// The line type.
        kind: char,
        /// Line number.
        line: usize,
    },
    /// A line whose value does not follow its grammar.
    #[error("malformed {field} on line {line}: {reason}")]
    Malformed {
        /// What was being read (`m=`, `a=crypto`, ...).
        field: &'static str,
        /// Line number.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// Two attributes that contradict each other in one section (two `a=setup`, or
    /// `a=sendonly` with `a=inactive`): peers could read either, so we refuse to guess.
    #[error("conflicting a={attribute} on line {line}")]
    Conflict {
        /// The attribute.
        attribute: &'static str,
        /// Line number of the second one.
        line: usize,
    },
}
