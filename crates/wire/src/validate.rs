//! The checks a UAS or proxy makes before acting on a message (RFC 3261 §8.2, §16.3):
//! mandatory headers present, single-instance headers not repeated, every one of them
//! decodable, CSeq consistent with the method, and a Request-URI we can serve.

use smallvec::SmallVec;

use crate::error::ParseError;
use crate::headers::{parse_content_length, parse_expires, MediaType};
use crate::limits::MAX_URI_LEN;
use crate::message::Message;
use crate::name::{HeaderName, Method};
use crate::uri::Uri;

/// Headers a request and a response must carry (Max-Forwards is optional so RFC 2543
/// peers still work).
const MANDATORY: [(HeaderName, &str); 5] = [
    (HeaderName::Via, "Via"),
    (HeaderName::From, "From"),
    (HeaderName::To, "To"),
    (HeaderName::CallId, "Call-ID"),
    (HeaderName::CSeq, "CSeq"),
];

/// Headers that may appear at most once.
const SINGLE: [(HeaderName, &str); 8] = [
    (HeaderName::To, "To"),
    (HeaderName::From, "From"),
    (HeaderName::CallId, "Call-ID"),
    (HeaderName::CSeq, "CSeq"),
    (HeaderName::MaxForwards, "Max-Forwards"),
    (HeaderName::ContentLength, "Content-Length"),
    (HeaderName::ContentType, "Content-Type"),
    (HeaderName::Expires, "Expires"),
];

impl Message {
    /// Validates a request before processing. The first problem found is returned;
    /// [`ParseError::status`] gives the answer (400, 416 for a foreign Request-URI
    /// scheme, 414 for an over-long one).
    pub fn validate_request(&self) -> Result<(), ParseError> {
        if !self.is_request() {
            return Err(ParseError::BadStartLine("not a request"));
        }
        if self.request_uri_bytes().len() > MAX_URI_LEN {
            return Err(ParseError::UriTooLong);
        }
        match self.request_uri()? {
            Uri::Other(_) => return Err(ParseError::UnsupportedUriScheme),
            // RFC 3261 §19.1.1 (Table 1): headers are not allowed in a Request-URI.
            Uri::Sip(u) if !u.headers.is_empty() => {
                return Err(ParseError::BadRequestUri("headers in Request-URI"))
            }
            _ => {}
        }
        self.validate_common()?;
        let cseq = self.cseq()?;
        // The CSeq method must equal the request method, ACK and CANCEL included
        // (RFC 3261 §8.1.1.5, §9.1, §17.1.1.3).
        if cseq.method_raw.as_bytes() != self.method_bytes() {
            return Err(ParseError::CSeqMethodMismatch);
        }
        Ok(())
    }

    /// Validates a response before it is matched to a transaction: Via, From, To,
    /// Call-ID and CSeq present, single-instance headers not repeated, all decodable.
    pub fn validate_response(&self) -> Result<(), ParseError> {
        if self.is_request() {
            return Err(ParseError::BadStartLine("not a response"));
        }
        self.validate_common()
    }

    fn validate_common(&self) -> Result<(), ParseError> {
        for (name, label) in MANDATORY {
            if self.header(name).is_none() {
                return Err(ParseError::MissingHeader(label));
            }
        }
        for (name, label) in SINGLE {
            if self.count(name) > 1 {
                return Err(ParseError::DuplicateHeader(label));
            }
        }
        for via in self.vias() {
            via?;
        }
        self.from()?;
        self.to()?;
        self.call_id()?;
        self.cseq()?;
        self.max_forwards()?;
        if let Some(v) = self.header(HeaderName::Expires) {
            parse_expires(HeaderName::Expires, v)?;
        }
        if let Some(v) = self.header(HeaderName::ContentLength) {
            parse_content_length(v)?;
        }
        if let Some(v) = self.header(HeaderName::ContentType) {
            MediaType::parse(v)?;
        }
        Ok(())
    }

    /// The Require option tags not in `supported` (case-insensitive, each once, at most
    /// [`MAX_UNSUPPORTED_TAGS`]), for a 420 with Unsupported. Empty for ACK and CANCEL, whose Require a UAS must not refuse
    /// (RFC 3261 §8.2.2.3).
    pub fn unsupported_option_tags<'a>(
        &'a self,
        supported: &[&str],
    ) -> Result<SmallVec<[&'a str; 4]>, ParseError> {
        if matches!(self.method(), Some(Method::Ack | Method::Cancel)) {
            return Ok(SmallVec::new());
        }
        collect_unsupported(self.require(), supported)
    }

    /// The Proxy-Require option tags not in `supported`, for a proxy's 420
    /// (RFC 3261 §16.3 step 4).
    pub fn unsupported_proxy_require<'a>(
        &'a self,
        supported: &[&str],
    ) -> Result<SmallVec<[&'a str; 4]>, ParseError> {
        collect_unsupported(self.proxy_require(), supported)
    }
}

/// Most distinct unsupported tags reported. Every tag is still checked (a malformed one
/// is an error), but deduplication stays linear in the number of tags.
pub const MAX_UNSUPPORTED_TAGS: usize = 16;

fn collect_unsupported<'a>(
    tags: impl Iterator<Item = Result<&'a str, ParseError>>,
    supported: &[&str],
) -> Result<SmallVec<[&'a str; 4]>, ParseError> {
    let mut out: SmallVec<[&'a str; 4]> = SmallVec::new();
    for tag in tags {
        let tag = tag?;
        let known = supported.iter().any(|s| s.eq_ignore_ascii_case(tag));
        if !known
            && out.len() < MAX_UNSUPPORTED_TAGS
            && !out.iter().any(|t| t.eq_ignore_ascii_case(tag))
        {
            out.push(tag);
        }
    }
    Ok(out)
}
