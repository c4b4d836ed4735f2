//! Every way a message can be refused, and the one place that maps each to a SIP answer.

/// Why a message (or one of its headers) was refused.
///
/// Each variant maps to exactly one SIP status code and reason phrase through
/// [`ParseError::status`], so the server answers every malformed request the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but whitespace was received.
    #[error("empty message")]
    Empty,
    /// The message head is not complete yet (streams: wait for more bytes).
    #[error("incomplete message")]
    Incomplete,
    /// The start line does not follow `Method SP Request-URI SP SIP-Version` or
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    #[error("malformed start line: {0}")]
    BadStartLine(&'static str),
    /// The SIP version is not 2.0.
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// The status code is not three digits in 100..=699.
    #[error("malformed status code")]
    BadStatusCode,
    /// The Request-URI is malformed.
    #[error("malformed Request-URI: {0}")]
    BadRequestUri(&'static str),
    /// The Request-URI uses a scheme we do not serve.
    #[error("unsupported URI scheme")]
    UnsupportedUriScheme,
    /// A URI is longer than the configured limit.
    #[error("URI too long")]
    UriTooLong,
    /// A line is longer than the configured limit.
    #[error("line too long")]
    LineTooLong,
    /// More header fields than the configured limit.
    #[error("too many header fields")]
    TooManyHeaders,
    /// More Via entries than the configured limit.
    #[error("too many Via entries")]
    TooManyVias,
    /// A header line without a colon, with an invalid name, or a folded first line.
    #[error("malformed header line: {0}")]
    BadHeaderLine(&'static str),
    /// A NUL or other control byte outside a quoted-pair, or a bare CR or LF.
    #[error("control character in message head")]
    ControlCharacter,
    /// The message is larger than the configured limit.
    #[error("message too large")]
    MessageTooLarge,
    /// A stream message without Content-Length.
    #[error("missing Content-Length")]
    MissingContentLength,
    /// Content-Length is not a plain decimal number in range.
    #[error("malformed Content-Length")]
    BadContentLength,
    /// Content-Length appears more than once.
    #[error("conflicting Content-Length")]
    ConflictingContentLength,
    /// A datagram is shorter than its Content-Length says (RFC 3261 §18.3).
    #[error("Content-Length larger than message")]
    ContentLengthTooLarge,
    /// A mandatory header is missing.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that may appear once appears more than once.
    #[error("duplicate {0} header")]
    DuplicateHeader(&'static str),
    /// A typed header could not be decoded.
    #[error("malformed {header} header: {reason}")]
    BadHeader {
        /// Canonical name of the header.
        header: &'static str,
        /// What was wrong, for the reason phrase and logs.
        reason: &'static str,
    },
    /// A number is larger than the RFC allows (CSeq ≥ 2^31, Max-Forwards > 255, ...).
    #[error("{0} out of range")]
    NumberOutOfRange(&'static str),
    /// The CSeq method differs from the request method.
    #[error("CSeq method does not match request method")]
    CSeqMethodMismatch,
    /// A URI could not be decoded.
    #[error("malformed URI: {0}")]
    BadUri(&'static str),
}

impl ParseError {
    /// The SIP status code and reason phrase to answer a request refused for this reason.
    ///
    /// Reason phrases name the problem so a peer's operator can see what was wrong
    /// without a capture. They never echo attacker-controlled bytes.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            ParseError::Empty | ParseError::Incomplete => (400, "Bad Request (incomplete message)"),
            ParseError::BadStartLine(_) => (400, "Bad Request (malformed start line)"),
            ParseError::UnsupportedVersion => (505, "Version Not Supported"),
            ParseError::BadStatusCode => (400, "Bad Request (malformed status code)"),
            ParseError::BadRequestUri(_) => (400, "Bad Request (malformed Request-URI)"),
            ParseError::UnsupportedUriScheme => (416, "Unsupported URI Scheme"),
            ParseError::UriTooLong => (414, "Request-URI Too Long"),
            ParseError::LineTooLong => (400, "Bad Request (line too long)"),
            ParseError::TooManyHeaders => (400, "Bad Request (too many headers)"),
            ParseError::TooManyVias => (400, "Bad Request (too many Via entries)"),
            ParseError::BadHeaderLine(_) => (400, "Bad Request (malformed header line)"),
            ParseError::ControlCharacter => (400, "Bad Request (control character)"),
            ParseError::MessageTooLarge => (513, "Message Too Large"),
            ParseError::MissingContentLength => (400, "Bad Request (missing Content-Length)"),
            ParseError::BadContentLength => (400, "Bad Request (malformed Content-Length)"),
            ParseError::ConflictingContentLength => {
                (400, "Bad Request (conflicting Content-Length)")
            }
            ParseError::ContentLengthTooLarge => {
                (400, "Bad Request (Content-Length larger than message)")
            }
            ParseError::MissingHeader(h) => (400, missing_phrase(h)),
            ParseError::DuplicateHeader(_) => (400, "Bad Request (duplicate header)"),
            ParseError::BadHeader { header, .. } => (400, malformed_phrase(header)),
            ParseError::NumberOutOfRange(_) => (400, "Bad Request (number out of range)"),
            ParseError::CSeqMethodMismatch => (400, "Bad Request (CSeq method mismatch)"),
            ParseError::BadUri(_) => (400, "Bad Request (malformed URI)"),
        }
    }
}

fn missing_phrase(header: &str) -> &'static str {
    match header {
        "Via" => "Bad Request (missing Via)",
        "From" => "Bad Request (missing From)",
        "To" => "Bad Request (missing To)",
        "Call-ID" => "Bad Request (missing Call-ID)",
        "CSeq" => "Bad Request (missing CSeq)",
        "Max-Forwards" => "Bad Request (missing Max-Forwards)",
        _ => "Bad Request (missing header)",
    }
}

fn malformed_phrase(header: &str) -> &'static str {
    match header {
        "Via" => "Bad Request (malformed Via)",
        "From" => "Bad Request (malformed From)",
        "To" => "Bad Request (malformed To)",
        "Call-ID" => "Bad Request (malformed Call-ID)",
        "CSeq" => "Bad Request (malformed CSeq)",
        "Max-Forwards" => "Bad Request (malformed Max-Forwards)",
        "Contact" => "Bad Request (malformed Contact)",
        "Expires" => "Bad Request (malformed Expires)",
        "Route" => "Bad Request (malformed Route)",
        "Record-Route" => "Bad Request (malformed Record-Route)",
        "Authorization" => "Bad Request (malformed Authorization)",
        "Proxy-Authorization" => "Bad Request (malformed Proxy-Authorization)",
        "Content-Type" => "Bad Request (malformed Content-Type)",
        _ => "Bad Request (malformed header)",
    }
}
