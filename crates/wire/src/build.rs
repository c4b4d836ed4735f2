//! Builders that write new messages in canonical form: responses to a request (RFC 3261
//! §8.2.6), new requests for the client tooling and tests, and the ACK and CANCEL a
//! client transaction derives from its INVITE (§17.1.1.3, §9.1).
//!
//! Builders check everything they are given and never emit a malformed message: a reason
//! phrase, header value or tag holding a line break or control character, a Via branch
//! without the RFC 3261 magic cookie, or a header the builder writes itself is refused
//! with a [`BuildError`]. Fields copied from a parsed message are copied byte-exact.
//! Content-Length is always written. The crate draws no randomness: tags, branches and
//! Call-IDs come from the caller.

use bytes::Bytes;

use crate::edit::{is_valid_uri, is_valid_value, split_first_value, DecimalBuf};
use crate::headers::CSeq;
use crate::limits::MAX_CSEQ;
use crate::message::Message;
use crate::name::{is_token, HeaderName, Method};

/// The magic cookie every RFC 3261 branch starts with (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// Why a builder refused to write a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The reason phrase holds a CR, LF or other control character.
    #[error("reason phrase contains a line break or control character")]
    BadReason,
    /// The status code is outside 100..=699.
    #[error("status code outside 100..=699")]
    BadStatusCode,
    /// A response or ACK/CANCEL was asked for from something that is not a request.
    #[error("not a request")]
    NotARequest,
    /// An ACK was asked for from something that is not a response.
    #[error("not a response")]
    NotAResponse,
    /// An ACK for a non-2xx response is only built from an INVITE.
    #[error("not an INVITE")]
    NotAnInvite,
    /// The response to acknowledge is not a final non-2xx response (300..=699).
    #[error("not a final non-2xx response")]
    NotNon2xxFinal,
    /// ACK and CANCEL requests cannot be cancelled.
    #[error("ACK and CANCEL cannot be cancelled")]
    NotCancellable,
    /// A field the message needs is missing (from the source message, or never given to
    /// a request builder).
    #[error("missing {0}")]
    Missing(&'static str),
    /// A value holds a line break or control character, or is malformed for its header.
    #[error("malformed {0}")]
    BadValue(&'static str),
    /// A header name is not a token.
    #[error("header name is not a token")]
    BadName,
    /// A method is not a token.
    #[error("method is not a token")]
    BadMethod,
    /// A Request-URI or address is not a well-formed URI.
    #[error("malformed URI")]
    BadUri,
    /// A Via branch does not start with the magic cookie `z9hG4bK` or is not a token.
    #[error("Via branch must be a token starting with z9hG4bK")]
    BadBranch,
    /// A tag is not a token.
    #[error("tag is not a token")]
    BadTag,
    /// The CSeq number is 2^31 or more.
    #[error("CSeq out of range")]
    CSeqOutOfRange,
    /// The builder writes this header itself (Content-Length, Content-Type and the
    /// fields it copies or is given through dedicated methods).
    #[error("{0} is written by the builder")]
    ManagedHeader(&'static str),
}

/// A response being built from a request; see [`response_to`].
#[derive(Debug)]
pub struct ResponseBuilder<'a> {
    request: &'a Message,
    code: u16,
    reason: &'a str,
    to_tag: Option<&'a str>,
    extra: Vec<u8>,
    body: Option<(&'a str, Bytes)>,
    error: Option<BuildError>,
}

/// Starts a response to `request` (RFC 3261 §8.2.6): every Via field in order, From, To,
/// Call-ID and CSeq are copied byte-exact, and Timestamp too for a 100 (§8.2.6.1).
///
/// Errors (a malformed reason phrase, a code out of range, a missing field in the
/// request) surface from [`ResponseBuilder::build`].
pub fn response_to<'a>(request: &'a Message, code: u16, reason: &'a str) -> ResponseBuilder<'a> {
    let mut b = ResponseBuilder {
        request,
        code,
        reason,
        to_tag: None,
        extra: Vec::new(),
        body: None,
        error: None,
    };
    if !request.is_request() {
        b.fail(BuildError::NotARequest);
    } else if !(100..=699).contains(&code) {
        b.fail(BuildError::BadStatusCode);
    } else if !is_valid_value(reason.as_bytes(), false) {
        b.fail(BuildError::BadReason);
    }
    b
}

impl<'a> ResponseBuilder<'a> {
    /// The To tag to add when the request's To has none and the code is above 100. A
    /// request that already carries a To tag (in-dialog) keeps its own.
    pub fn to_tag(mut self, tag: &'a str) -> Self {
        if !is_token(tag.as_bytes()) {
            self.fail(BuildError::BadTag);
        }
        self.to_tag = Some(tag);
        self
    }

    /// Adds a header field after the copied ones. Fields the builder writes itself are
    /// refused (use [`ResponseBuilder::body`] for Content-Type).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let managed = [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
            HeaderName::ContentLength,
            HeaderName::ContentType,
        ];
        if let Err(e) = push_extra(&mut self.extra, name, value.as_ref(), &managed) {
            self.fail(e);
        }
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &'a str, body: impl Into<Bytes>) -> Self {
        if !is_valid_value(content_type.as_bytes(), true) {
            self.fail(BuildError::BadValue("Content-Type"));
        }
        self.body = Some((content_type, body.into()));
        self
    }

    /// Writes the response.
    pub fn build(self) -> Result<Bytes, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let req = self.request;
        let from = req
            .header(HeaderName::From)
            .ok_or(BuildError::Missing("From"))?;
        let to = req
            .header(HeaderName::To)
            .ok_or(BuildError::Missing("To"))?;
        let call_id = req
            .header(HeaderName::CallId)
            .ok_or(BuildError::Missing("Call-ID"))?;
        let cseq = req
            .header(HeaderName::CSeq)
            .ok_or(BuildError::Missing("CSeq"))?;
        if req.count(HeaderName::Via) == 0 {
            return Err(BuildError::Missing("Via"));
        }
        let mut w = Writer::with_capacity(256 + req.head_end() + self.extra.len());
        w.raw(b"SIP/2.0 ");
        w.decimal(u64::from(self.code));
        w.raw(b" ");
        w.raw(self.reason.as_bytes());
        w.raw(b"\r\n");
        for via in req.header_values(HeaderName::Via) {
            w.field(HeaderName::Via, via);
        }
        w.field(HeaderName::From, from);
        match self.to_tag {
            Some(tag) if self.code > 100 && !has_tag(to) => {
                w.name(HeaderName::To);
                w.raw(to);
                w.raw(b";tag=");
                w.raw(tag.as_bytes());
                w.raw(b"\r\n");
            }
            _ => w.field(HeaderName::To, to),
        }
        w.field(HeaderName::CallId, call_id);
        w.field(HeaderName::CSeq, cseq);
        if self.code == 100 {
            if let Some(ts) = req.header(HeaderName::Timestamp) {
                w.field(HeaderName::Timestamp, ts);
            }
        }
        w.raw(&self.extra);
        Ok(w.finish_with_body(self.body.as_ref().map(|(ct, b)| (ct.as_bytes(), b))))
    }

    fn fail(&mut self, e: BuildError) {
        self.error.get_or_insert(e);
    }
}

/// A new request, written canonically. Via (with a caller-drawn branch), From (with
/// tag), To, Call-ID and CSeq are required; Max-Forwards defaults to 70.
///
/// ```
/// use sipwarden_wire::{build::RequestBuilder, Message};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bytes = RequestBuilder::new("OPTIONS", "sip:example.com")
///     .via("UDP", "192.0.2.1:5060", "z9hG4bK776asdhds")
///     .from("sip:alice@example.com", "1928301774")
///     .to("sip:example.com")
///     .call_id("a84b4c76e66710")
///     .cseq(1)
///     .build()?;
/// assert!(Message::parse(bytes).is_ok());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: String,
    uri: String,
    vias: Vec<u8>,
    rport: bool,
    max_forwards: u8,
    routes: Vec<u8>,
    from: Option<Vec<u8>>,
    to: Option<Vec<u8>>,
    call_id: Option<String>,
    cseq: Option<u32>,
    contact: Option<Vec<u8>>,
    extra: Vec<u8>,
    body: Option<(String, Bytes)>,
    error: Option<BuildError>,
}

impl RequestBuilder {
    /// Starts a request with this method token and Request-URI.
    pub fn new(method: &str, request_uri: &str) -> RequestBuilder {
        let mut b = RequestBuilder {
            method: method.to_owned(),
            uri: request_uri.to_owned(),
            vias: Vec::new(),
            rport: false,
            max_forwards: 70,
            routes: Vec::new(),
            from: None,
            to: None,
            call_id: None,
            cseq: None,
            contact: None,
            extra: Vec::new(),
            body: None,
            error: None,
        };
        if !is_token(method.as_bytes()) {
            b.fail(BuildError::BadMethod);
        }
        if !is_valid_uri(request_uri.as_bytes()) {
            b.fail(BuildError::BadUri);
        }
        b
    }

    /// Adds a Via `SIP/2.0/<transport> <sent_by>;branch=<branch>`; the first call is the
    /// top Via. The branch must start with `z9hG4bK`.
    pub fn via(mut self, transport: &str, sent_by: &str, branch: &str) -> Self {
        let sent_by_ok = !sent_by.is_empty()
            && sent_by
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'<' | b'>'));
        if !is_token(transport.as_bytes()) || !sent_by_ok {
            self.fail(BuildError::BadValue("Via"));
        }
        if !branch.starts_with(BRANCH_MAGIC_COOKIE) || !is_token(branch.as_bytes()) {
            self.fail(BuildError::BadBranch);
        }
        let top = self.vias.is_empty();
        let mut w = Writer::from_vec(std::mem::take(&mut self.vias));
        w.name(HeaderName::Via);
        w.raw(b"SIP/2.0/");
        w.raw(transport.to_ascii_uppercase().as_bytes());
        w.raw(b" ");
        w.raw(sent_by.as_bytes());
        if self.rport && top {
            w.raw(b";rport");
        }
        w.raw(b";branch=");
        w.raw(branch.as_bytes());
        w.raw(b"\r\n");
        self.vias = w.out;
        self
    }

    /// Asks for `rport` (RFC 3581) on the top Via; call before [`RequestBuilder::via`].
    pub fn rport(mut self) -> Self {
        self.rport = true;
        self
    }

    /// Sets Max-Forwards (default 70).
    pub fn max_forwards(mut self, hops: u8) -> Self {
        self.max_forwards = hops;
        self
    }

    /// Adds a Route field (`<uri>` or a name-addr); the first call is the top route.
    pub fn route(mut self, addr: &str) -> Self {
        match name_addr(addr) {
            Some(value) => {
                let mut w = Writer::from_vec(std::mem::take(&mut self.routes));
                w.field(HeaderName::Route, &value);
                self.routes = w.out;
            }
            None => self.fail(BuildError::BadValue("Route")),
        }
        self
    }

    /// Sets From: an address (a bare URI is written as `<uri>`) and the caller's tag.
    pub fn from(mut self, addr: &str, tag: &str) -> Self {
        if !is_token(tag.as_bytes()) {
            self.fail(BuildError::BadTag);
        }
        match name_addr(addr) {
            Some(mut value) => {
                value.extend_from_slice(b";tag=");
                value.extend_from_slice(tag.as_bytes());
                self.from = Some(value);
            }
            None => self.fail(BuildError::BadValue("From")),
        }
        self
    }

    /// Sets To: an address (a bare URI is written as `<uri>`), without tag.
    pub fn to(mut self, addr: &str) -> Self {
        match name_addr(addr) {
            Some(value) => self.to = Some(value),
            None => self.fail(BuildError::BadValue("To")),
        }
        self
    }

    /// Adds a tag to To (in-dialog requests); call after [`RequestBuilder::to`].
    pub fn to_tag(mut self, tag: &str) -> Self {
        if !is_token(tag.as_bytes()) {
            self.fail(BuildError::BadTag);
        }
        match self.to.as_mut() {
            Some(to) => {
                to.extend_from_slice(b";tag=");
                to.extend_from_slice(tag.as_bytes());
            }
            None => self.fail(BuildError::Missing("To")),
        }
        self
    }

    /// Sets Call-ID (RFC 3261 `callid`: visible ASCII, no whitespace).
    pub fn call_id(mut self, call_id: &str) -> Self {
        if call_id.is_empty() || !call_id.bytes().all(|b| b.is_ascii_graphic()) {
            self.fail(BuildError::BadValue("Call-ID"));
        }
        self.call_id = Some(call_id.to_owned());
        self
    }

    /// Sets the CSeq number; the CSeq method is the request's method.
    pub fn cseq(mut self, seq: u32) -> Self {
        if seq > MAX_CSEQ {
            self.fail(BuildError::CSeqOutOfRange);
        }
        self.cseq = Some(seq);
        self
    }

    /// Sets Contact: an address (a bare URI is written as `<uri>`), or `*`.
    pub fn contact(mut self, addr: &str) -> Self {
        if addr == "*" {
            self.contact = Some(b"*".to_vec());
            return self;
        }
        match name_addr(addr) {
            Some(value) => self.contact = Some(value),
            None => self.fail(BuildError::BadValue("Contact")),
        }
        self
    }

    /// Adds a header field. Fields the builder writes itself are refused.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let managed = [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
            HeaderName::MaxForwards,
            HeaderName::ContentLength,
            HeaderName::ContentType,
        ];
        if let Err(e) = push_extra(&mut self.extra, name, value.as_ref(), &managed) {
            self.fail(e);
        }
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        if !is_valid_value(content_type.as_bytes(), true) {
            self.fail(BuildError::BadValue("Content-Type"));
        }
        self.body = Some((content_type.to_owned(), body.into()));
        self
    }

    /// Writes the request.
    pub fn build(self) -> Result<Bytes, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.vias.is_empty() {
            return Err(BuildError::Missing("Via"));
        }
        let from = self.from.ok_or(BuildError::Missing("From"))?;
        let to = self.to.ok_or(BuildError::Missing("To"))?;
        let call_id = self.call_id.ok_or(BuildError::Missing("Call-ID"))?;
        let cseq = self.cseq.ok_or(BuildError::Missing("CSeq"))?;
        let mut w = Writer::with_capacity(512 + self.extra.len());
        w.raw(self.method.as_bytes());
        w.raw(b" ");
        w.raw(self.uri.as_bytes());
        w.raw(b" SIP/2.0\r\n");
        w.raw(&self.vias);
        w.name(HeaderName::MaxForwards);
        w.decimal(u64::from(self.max_forwards));
        w.raw(b"\r\n");
        w.raw(&self.routes);
        w.field(HeaderName::From, &from);
        w.field(HeaderName::To, &to);
        w.field(HeaderName::CallId, call_id.as_bytes());
        w.name(HeaderName::CSeq);
        w.decimal(u64::from(cseq));
        w.raw(b" ");
        w.raw(self.method.as_bytes());
        w.raw(b"\r\n");
        if let Some(contact) = &self.contact {
            w.field(HeaderName::Contact, contact);
        }
        w.raw(&self.extra);
        Ok(w.finish_with_body(self.body.as_ref().map(|(ct, b)| (ct.as_bytes(), b))))
    }

    fn fail(&mut self, e: BuildError) {
        self.error.get_or_insert(e);
    }
}

/// The ACK for a final non-2xx response to `invite` (RFC 3261 §17.1.1.3): the INVITE's
/// Request-URI, Call-ID, From and CSeq number (method ACK), only its top Via value, its
/// Route fields, and To from the response (which carries the UAS's tag).
pub fn ack_for_non2xx(invite: &Message, response: &Message) -> Result<Bytes, BuildError> {
    if !invite.is_request() {
        return Err(BuildError::NotARequest);
    }
    if invite.method() != Some(Method::Invite) {
        return Err(BuildError::NotAnInvite);
    }
    let code = response.status_code().ok_or(BuildError::NotAResponse)?;
    if code < 300 {
        return Err(BuildError::NotNon2xxFinal);
    }
    let to = response
        .header(HeaderName::To)
        .ok_or(BuildError::Missing("To"))?;
    derived_request(invite, Method::Ack, to)
}

/// The CANCEL for a pending request (RFC 3261 §9.1): the same Request-URI, Call-ID, To,
/// From and CSeq number (method CANCEL), a single Via equal to the request's top Via
/// value, and the request's Route fields.
pub fn cancel_for(request: &Message) -> Result<Bytes, BuildError> {
    match request.method() {
        None => Err(BuildError::NotARequest),
        Some(Method::Ack | Method::Cancel) => Err(BuildError::NotCancellable),
        Some(_) => {
            let to = request
                .header(HeaderName::To)
                .ok_or(BuildError::Missing("To"))?;
            derived_request(request, Method::Cancel, to)
        }
    }
}

/// Writes an ACK or CANCEL that shares `original`'s transaction identifiers.
fn derived_request(original: &Message, method: Method, to: &[u8]) -> Result<Bytes, BuildError> {
    let via = original
        .header(HeaderName::Via)
        .ok_or(BuildError::Missing("Via"))?;
    let (first, _) = split_first_value(via).ok_or(BuildError::BadValue("Via"))?;
    let top_via = via.get(first).unwrap_or_default();
    let from = original
        .header(HeaderName::From)
        .ok_or(BuildError::Missing("From"))?;
    let call_id = original
        .header(HeaderName::CallId)
        .ok_or(BuildError::Missing("Call-ID"))?;
    let cseq = original
        .header(HeaderName::CSeq)
        .ok_or(BuildError::Missing("CSeq"))?;
    let seq = CSeq::parse(cseq)
        .map_err(|_| BuildError::BadValue("CSeq"))?
        .seq;
    let method_name = method.as_str().as_bytes();
    let mut w = Writer::with_capacity(256 + original.head_end());
    w.raw(method_name);
    w.raw(b" ");
    w.raw(original.request_uri_bytes());
    w.raw(b" SIP/2.0\r\n");
    w.field(HeaderName::Via, top_via);
    w.name(HeaderName::MaxForwards);
    w.raw(b"70\r\n");
    for route in original.header_values(HeaderName::Route) {
        w.field(HeaderName::Route, route);
    }
    w.field(HeaderName::From, from);
    w.field(HeaderName::To, to);
    w.field(HeaderName::CallId, call_id);
    w.name(HeaderName::CSeq);
    w.decimal(u64::from(seq));
    w.raw(b" ");
    w.raw(method_name);
    w.raw(b"\r\n");
    Ok(w.finish_with_body(None))
}

/// True when a From/To value has a `tag` header parameter (outside `<...>` and quotes).
pub(crate) fn has_tag(value: &[u8]) -> bool {
    let mut rest = value;
    while let Some(semi) = top_level_find(rest, b';') {
        rest = rest.get(semi + 1..).unwrap_or_default();
        let end = top_level_find(rest, b';').unwrap_or(rest.len());
        let param = rest.get(..end).unwrap_or_default();
        let name_end = memchr::memchr(b'=', param).unwrap_or(param.len());
        let name = param.get(..name_end).unwrap_or_default().trim_ascii();
        if name.eq_ignore_ascii_case(b"tag") {
            return true;
        }
    }
    false
}

/// The offset of the first `needle` outside quoted strings and angle brackets.
fn top_level_find(value: &[u8], needle: u8) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut in_angle = false;
    for (i, &b) in value.iter().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b'<' => in_angle = true,
            b'>' => in_angle = false,
            _ if b == needle && !in_angle => return Some(i),
            _ => {}
        }
    }
    None
}

/// `<uri>` for a bare URI; a name-addr (`"Name" <uri>` or `<uri>`) as given once checked.
fn name_addr(addr: &str) -> Option<Vec<u8>> {
    let addr = addr.trim();
    let bytes = addr.as_bytes();
    if !is_valid_value(bytes, true) {
        return None;
    }
    match (memchr::memchr(b'<', bytes), bytes.last()) {
        (Some(open), Some(b'>')) => {
            let uri = bytes.get(open + 1..bytes.len() - 1)?;
            is_valid_uri(uri).then(|| bytes.to_vec())
        }
        (Some(_), _) => None,
        (None, _) => {
            if !is_valid_uri(bytes) {
                return None;
            }
            let mut v = Vec::with_capacity(bytes.len() + 2);
            v.push(b'<');
            v.extend_from_slice(bytes);
            v.push(b'>');
            Some(v)
        }
    }
}

/// Checks and appends one extra `name: value` field.
fn push_extra(
    extra: &mut Vec<u8>,
    name: &str,
    value: &[u8],
    managed: &[HeaderName],
) -> Result<(), BuildError> {
    if !is_token(name.as_bytes()) {
        return Err(BuildError::BadName);
    }
    let known = HeaderName::from_bytes(name.as_bytes());
    if let Some(m) = managed.iter().find(|&&m| m == known) {
        return Err(BuildError::ManagedHeader(m.as_str()));
    }
    if !is_valid_value(value, false) {
        return Err(BuildError::BadValue("header value"));
    }
    extra.extend_from_slice(name.as_bytes());
    extra.extend_from_slice(b": ");
    extra.extend_from_slice(value);
    extra.extend_from_slice(b"\r\n");
    Ok(())
}

/// Appends canonical message text.
struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn with_capacity(n: usize) -> Writer {
        Writer {
            out: Vec::with_capacity(n),
        }
    }

    fn from_vec(out: Vec<u8>) -> Writer {
        Writer { out }
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn decimal(&mut self, n: u64) {
        let mut d = DecimalBuf::default();
        self.out.extend_from_slice(d.format(n));
    }

    fn name(&mut self, name: HeaderName) {
        self.raw(name.as_str().as_bytes());
        self.raw(b": ");
    }

    fn field(&mut self, name: HeaderName, value: &[u8]) {
        self.name(name);
        self.raw(value);
        self.raw(b"\r\n");
    }

    /// Content-Type (with a body), Content-Length, the blank line and the body.
    fn finish_with_body(mut self, body: Option<(&[u8], &Bytes)>) -> Bytes {
        let len = body.map_or(0, |(_, b)| b.len());
        if let Some((ct, _)) = body {
            self.field(HeaderName::ContentType, ct);
        }
        self.name(HeaderName::ContentLength);
        self.decimal(len as u64);
        self.raw(b"\r\n\r\n");
        if let Some((_, b)) = body {
            self.raw(b);
        }
        Bytes::from(self.out)
    }
}
