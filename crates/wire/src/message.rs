//! The message index: one pass over the bytes records where the start line, every header
//! field and the body are. Nothing is copied and nothing is allocated per header: spans
//! live in an inline vector. Typed views of header values are decoded on demand elsewhere.

use bytes::Bytes;
use smallvec::SmallVec;

use crate::error::ParseError;
use crate::limits::Limits;
use crate::name::{is_token, is_token_byte, HeaderName, Method};

/// Header fields kept inline before the index spills to the heap (one allocation).
/// Typical requests carry 10–20 fields; a larger inline array would make every move of a
/// `Message` cost more.
pub const INLINE_HEADERS: usize = 24;

/// A byte range inside a message's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end`; callers guarantee both fit the buffer (≤ 64 KiB).
    pub(crate) fn new(start: usize, end: usize) -> Span {
        // Messages are capped far below 4 GiB by `Limits`, so these never truncate.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The span as a `usize` range.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    /// True when the span holds no byte.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// One header field as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField {
    /// The recognised name ([`HeaderName::Other`] for unknown ones).
    pub name: HeaderName,
    /// The name exactly as written.
    pub name_span: Span,
    /// The value without leading and trailing whitespace. It may contain folded
    /// continuation lines (CRLF followed by SP or HT), which count as whitespace.
    pub value: Span,
    /// The whole field including its terminating CRLF, for removal by splicing.
    pub line: Span,
}

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP/2.0`
    Request {
        /// The recognised method.
        method: Method,
        /// The method token as written.
        method_span: Span,
        /// The Request-URI as written.
        uri: Span,
    },
    /// `SIP/2.0 SP Status-Code SP Reason-Phrase`
    Response {
        /// The status code, 100..=699.
        code: u16,
        /// The reason phrase as written (may be empty).
        reason: Span,
    },
}

/// A parsed SIP message: the original bytes plus an index into them.
#[derive(Debug, Clone)]
pub struct Message {
    buf: Bytes,
    start: StartLine,
    /// Where the start line ends (offset of the first header line).
    start_line_end: u32,
    headers: SmallVec<[HeaderField; INLINE_HEADERS]>,
    /// Offset of the empty line that ends the head.
    head_end: u32,
    body: Span,
    content_length: Option<u32>,
}

impl Message {
    /// Parses one datagram (UDP) per RFC 3261 §18.3: a Content-Length larger than the
    /// datagram is refused, bytes past Content-Length are discarded, and a missing
    /// Content-Length means the body runs to the end of the datagram.
    pub fn parse_datagram(buf: Bytes, limits: &Limits) -> Result<Message, ParseError> {
        if buf.len() > limits.max_message_size {
            return Err(ParseError::MessageTooLarge);
        }
        let mut msg = index_head(buf, limits, true)?;
        let available = msg.body.len();
        let body_len = match msg.content_length() {
            Some(cl) if cl > available => return Err(ParseError::ContentLengthTooLarge),
            Some(cl) => cl,
            None => available,
        };
        msg.cut_body(body_len);
        Ok(msg)
    }

    /// Parses one complete message whose length is already known (a stream frame):
    /// Content-Length is mandatory and must cover exactly the rest of the buffer.
    pub fn parse_frame(buf: Bytes, limits: &Limits) -> Result<Message, ParseError> {
        if buf.len() > limits.max_message_size {
            return Err(ParseError::MessageTooLarge);
        }
        let mut msg = index_head(buf, limits, true)?;
        let available = msg.body.len();
        match msg.content_length() {
            None => Err(ParseError::MissingContentLength),
            Some(cl) if cl > available => Err(ParseError::ContentLengthTooLarge),
            Some(cl) => {
                msg.cut_body(cl);
                Ok(msg)
            }
        }
    }

    /// Parses a message with default limits as if it were a datagram. Convenient for
    /// tests and tools; servers use [`Message::parse_datagram`] or the stream framer.
    pub fn parse(buf: impl Into<Bytes>) -> Result<Message, ParseError> {
        Message::parse_datagram(buf.into(), &Limits::default())
    }

    /// A best-effort index of a message that failed [`Message::parse_datagram`], used
    /// only to address an error response (its Via, From, To, Call-ID and CSeq).
    /// Size and count limits still apply; semantic checks (Content-Length and so on)
    /// do not.
    pub fn index_for_error_reply(buf: Bytes, limits: &Limits) -> Option<Message> {
        if buf.len() > limits.max_message_size {
            return None;
        }
        index_head(buf, limits, false).ok()
    }

    /// Keeps `body_len` bytes of body and drops anything after them (RFC 3261 §18.3).
    fn cut_body(&mut self, body_len: usize) {
        let body_end = self.body.start as usize + body_len;
        self.buf.truncate(body_end);
        self.body.end = body_end as u32;
    }

    /// The whole message, exactly as received (bytes past Content-Length dropped).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The underlying buffer (cheap to clone).
    pub fn buffer(&self) -> &Bytes {
        &self.buf
    }

    /// The bytes of a span of this message (empty if the span is not inside it).
    pub fn slice(&self, span: Span) -> &[u8] {
        self.buf.get(span.range()).unwrap_or_default()
    }

    /// The start line's index.
    pub fn start_line(&self) -> &StartLine {
        &self.start
    }

    /// Offset where the first header line begins.
    pub fn start_line_end(&self) -> usize {
        self.start_line_end as usize
    }

    /// Offset of the blank line that ends the head (new header fields go here).
    pub fn head_end(&self) -> usize {
        self.head_end as usize
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request; `None` for a response.
    pub fn method(&self) -> Option<Method> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The method token of a request as written (empty for a response).
    pub fn method_bytes(&self) -> &[u8] {
        match self.start {
            StartLine::Request { method_span, .. } => self.slice(method_span),
            StartLine::Response { .. } => &[],
        }
    }

    /// The Request-URI as written (empty for a response).
    pub fn request_uri_bytes(&self) -> &[u8] {
        match self.start {
            StartLine::Request { uri, .. } => self.slice(uri),
            StartLine::Response { .. } => &[],
        }
    }

    /// The status code of a response; `None` for a request.
    pub fn status_code(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response as written (empty for a request).
    pub fn reason_phrase(&self) -> &[u8] {
        match self.start {
            StartLine::Response { reason, .. } => self.slice(reason),
            StartLine::Request { .. } => &[],
        }
    }

    /// Every header field in order.
    pub fn headers(&self) -> &[HeaderField] {
        &self.headers
    }

    /// The raw value of the first field with this name.
    pub fn header(&self, name: HeaderName) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| self.slice(h.value))
    }

    /// The raw values of every field with this name, in order. Each field may itself
    /// hold comma-separated values.
    pub fn header_values(&self, name: HeaderName) -> impl Iterator<Item = &[u8]> + '_ {
        self.headers
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| self.slice(h.value))
    }

    /// The fields with this name.
    pub fn fields(&self, name: HeaderName) -> impl Iterator<Item = &HeaderField> + '_ {
        self.headers.iter().filter(move |h| h.name == name)
    }

    /// Number of fields with this name.
    pub fn count(&self, name: HeaderName) -> usize {
        self.headers.iter().filter(|h| h.name == name).count()
    }

    /// The raw values of every field with an unrecognised name, matched
    /// case-insensitively.
    pub fn other_header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| {
                h.name == HeaderName::Other
                    && self
                        .slice(h.name_span)
                        .eq_ignore_ascii_case(name.as_bytes())
            })
            .map(|h| self.slice(h.value))
    }

    /// The body (exactly Content-Length bytes when present).
    pub fn body(&self) -> &[u8] {
        self.slice(self.body)
    }

    /// The body as a shared buffer.
    pub fn body_bytes(&self) -> Bytes {
        self.buf.slice(self.body.range())
    }

    /// The body's span.
    pub fn body_span(&self) -> Span {
        self.body
    }

    /// The Content-Length the message declared, if any.
    pub fn content_length(&self) -> Option<usize> {
        self.content_length.map(|c| c as usize)
    }
}

/// Index the head. `strict` adds the semantic checks a server relies on
/// (Content-Length); structure and limits are always enforced.
fn index_head(bytes: Bytes, limits: &Limits, strict: bool) -> Result<Message, ParseError> {
    // The message is built where it will be returned, so its inline header array is
    // written once rather than assembled and then moved.
    let mut msg = Message {
        buf: Bytes::new(),
        start: StartLine::Response {
            code: 0,
            reason: Span::default(),
        },
        start_line_end: 0,
        headers: SmallVec::new(),
        head_end: 0,
        body: Span::default(),
        content_length: None,
    };
    let buf: &[u8] = &bytes;
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let mut pos = 0;
    while buf.get(pos..pos + 2) == Some(b"\r\n") {
        pos += 2;
    }
    if pos >= buf.len() {
        return Err(ParseError::Empty);
    }
    let head_limit = buf.len().min(pos + limits.max_head_size);

    let (line_end, next) = find_line(buf, pos, head_limit, limits)?;
    let line = buf.get(pos..line_end).unwrap_or_default();
    if has_control(line) {
        return Err(ParseError::ControlCharacter);
    }
    let start = parse_start_line(line, pos, limits)?;
    let start_line_end = next;
    pos = next;

    let headers = &mut msg.headers;
    let mut content_length: Option<usize> = None;
    let mut content_lengths = 0usize;
    let mut last_content_length: Option<usize> = None;
    let mut vias = 0usize;
    let mut lines = 0usize;
    loop {
        let (line_end, next) = match find_line(buf, pos, head_limit, limits) {
            Ok(found) => found,
            Err(e) => return Err(prefer_control_error(buf, start_line_end, pos, e)),
        };
        if line_end == pos {
            // The blank line: end of head. Control bytes are screened once for all
            // header lines; only a suspicious head gets the exact per-line check.
            let fields = buf.get(start_line_end..pos).unwrap_or_default();
            let (controls, del) = screen_lines(fields);
            if (del || controls != 2 * lines) && head_has_bad_control(fields) {
                return Err(ParseError::ControlCharacter);
            }
            if strict {
                // One Content-Length (the usual case) is read where the loop saw it.
                content_length = match (content_lengths, last_content_length) {
                    (0, _) => None,
                    (1, Some(index)) => match headers.get(index) {
                        Some(field) => Some(content_length_value(buf, field.value)?),
                        None => find_content_length(buf, headers)?,
                    },
                    _ => find_content_length(buf, headers)?,
                };
            }
            let len = buf.len();
            msg.start = start;
            msg.start_line_end = start_line_end as u32;
            msg.head_end = pos as u32;
            msg.body = Span::new(next.min(len), len);
            msg.content_length = content_length.map(|c| c as u32);
            msg.buf = bytes;
            return Ok(msg);
        }
        let line = buf.get(pos..line_end).unwrap_or_default();
        let first = line.first().copied().unwrap_or(b' ');
        if first == b' ' || first == b'\t' {
            // Folded continuation (LWS): extends the previous field.
            let Some(prev) = headers.last_mut() else {
                return Err(ParseError::BadHeaderLine("continuation before any header"));
            };
            if next - prev.line.start as usize > limits.max_line_len {
                return Err(ParseError::LineTooLong);
            }
            let trimmed_end = trim_end(buf, pos, line_end);
            if trimmed_end > pos && prev.value.is_empty() {
                // Value began on the continuation line.
                prev.value.start = (pos + leading_ws(line)) as u32;
            }
            // A whitespace-only continuation adds nothing to the value.
            if trimmed_end > pos && trimmed_end > prev.value.end as usize {
                prev.value.end = trimmed_end as u32;
            }
            prev.line.end = next as u32;
        } else {
            if headers.len() >= limits.max_headers {
                return Err(ParseError::TooManyHeaders);
            }
            let field = match parse_field_line(line, pos, next) {
                Ok(f) => f,
                Err(e) => return Err(prefer_control_error(buf, start_line_end, next, e)),
            };
            match field.name {
                HeaderName::Via => {
                    vias += 1;
                    if vias > limits.max_vias {
                        return Err(ParseError::TooManyVias);
                    }
                }
                HeaderName::ContentLength => {
                    content_lengths += 1;
                    // The index, not the span: a folded continuation may extend it.
                    last_content_length = Some(headers.len());
                }
                _ => {}
            }
            headers.push(field);
        }
        lines += 1;
        pos = next;
    }
}

/// A structural error found before the head's control-byte screening ran: a control
/// byte in what was read so far is the real cause, so report that instead.
fn prefer_control_error(buf: &[u8], from: usize, to: usize, e: ParseError) -> ParseError {
    let seen = buf.get(from..to.min(buf.len())).unwrap_or_default();
    if head_has_bad_control(seen) {
        ParseError::ControlCharacter
    } else {
        e
    }
}

/// The slow, exact check: a control byte other than a line's CRLF that is not escaped by
/// a quoted-pair.
fn head_has_bad_control(lines: &[u8]) -> bool {
    let mut rest = lines;
    while !rest.is_empty() {
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        let content = line
            .strip_suffix(b"\r\n")
            .unwrap_or(line.strip_suffix(b"\n").unwrap_or(line));
        if has_control_outside_quoted_pair(content) {
            return true;
        }
        rest = tail;
    }
    false
}

/// Finds the CRLF ending the line that starts at `pos`. Returns (end of content, start of
/// next line). A bare LF, or a line over the limit, is refused.
fn find_line(
    buf: &[u8],
    pos: usize,
    head_limit: usize,
    limits: &Limits,
) -> Result<(usize, usize), ParseError> {
    let window = buf.get(pos..head_limit).unwrap_or_default();
    let scan = window.get(..limits.max_line_len + 2).unwrap_or(window);
    match memchr::memchr(b'\n', scan) {
        Some(i) => {
            if i == 0 || scan.get(i - 1) != Some(&b'\r') {
                return Err(ParseError::ControlCharacter);
            }
            Ok((pos + i - 1, pos + i + 1))
        }
        None if scan.len() < window.len() => Err(ParseError::LineTooLong),
        None if head_limit < buf.len() => Err(ParseError::MessageTooLarge),
        None => Err(ParseError::Incomplete),
    }
}

/// Screens a run of header lines for control bytes in one vectorisable pass: returns
/// how many bytes below 0x20 there are (CR, LF and HT included) and whether a DEL occurs.
/// Clean lines hold exactly one CR and one LF each; any other result goes to the exact,
/// quoted-pair-aware check (an HT in a value takes that slow path too, which is rare).
fn screen_lines(bytes: &[u8]) -> (usize, bool) {
    const LANES: usize = 32;
    let mut del = [0u8; LANES];
    let mut controls = 0usize;
    // u8 lane counters overflow after 255 blocks, so count per group of blocks.
    for group in bytes.chunks(LANES * 255) {
        let mut low = [0u8; LANES];
        let mut blocks = group.chunks_exact(LANES);
        for block in &mut blocks {
            for ((l, d), &b) in low.iter_mut().zip(del.iter_mut()).zip(block) {
                *l += u8::from(b < 0x20);
                *d |= u8::from(b == 0x7f);
            }
        }
        controls += low.iter().map(|&c| usize::from(c)).sum::<usize>();
        for &b in blocks.remainder() {
            controls += usize::from(b < 0x20);
            if let Some(d) = del.first_mut() {
                *d |= u8::from(b == 0x7f);
            }
        }
    }
    (controls, del.iter().any(|&x| x != 0))
}

fn parse_start_line(line: &[u8], base: usize, limits: &Limits) -> Result<StartLine, ParseError> {
    if line.len() >= 4
        && line
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        return parse_status_line(line, base);
    }
    let sp1 = memchr::memchr(b' ', line).ok_or(ParseError::BadStartLine("no Request-URI"))?;
    let sp2 = memchr::memrchr(b' ', line).ok_or(ParseError::BadStartLine("no SIP version"))?;
    if sp2 <= sp1 {
        return Err(ParseError::BadStartLine("no SIP version"));
    }
    let method = line.get(..sp1).unwrap_or_default();
    let uri = line.get(sp1 + 1..sp2).unwrap_or_default();
    let version = line.get(sp2 + 1..).unwrap_or_default();
    if !is_token(method) {
        return Err(ParseError::BadStartLine("method is not a token"));
    }
    check_version(version)?;
    if uri.is_empty() {
        return Err(ParseError::BadRequestUri("empty"));
    }
    if uri.len() > limits.max_uri_len {
        return Err(ParseError::UriTooLong);
    }
    if uri.iter().any(|&b| b == b' ' || b == b'\t') {
        return Err(ParseError::BadRequestUri("whitespace in Request-URI"));
    }
    check_uri_scheme(uri)?;
    Ok(StartLine::Request {
        method: Method::from_bytes(method),
        method_span: Span::new(base, base + sp1),
        uri: Span::new(base + sp1 + 1, base + sp2),
    })
}

fn parse_status_line(line: &[u8], base: usize) -> Result<StartLine, ParseError> {
    let sp1 = memchr::memchr(b' ', line).ok_or(ParseError::BadStartLine("no status code"))?;
    check_version(line.get(..sp1).unwrap_or_default())?;
    let rest = line.get(sp1 + 1..).unwrap_or_default();
    let code_end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    let code_bytes = rest.get(..code_end).unwrap_or_default();
    if code_bytes.len() != 3 || !code_bytes.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadStatusCode);
    }
    let code = code_bytes
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    if !(100..=699).contains(&code) {
        return Err(ParseError::BadStatusCode);
    }
    let reason_start = (sp1 + 1 + code_end + 1).min(line.len());
    Ok(StartLine::Response {
        code,
        reason: Span::new(base + reason_start, base + line.len()),
    })
}

fn check_version(version: &[u8]) -> Result<(), ParseError> {
    // The spelling everyone sends first, then any case.
    if version == b"SIP/2.0" || version.eq_ignore_ascii_case(b"SIP/2.0") {
        return Ok(());
    }
    // A well-formed version other than 2.0 is a 505; anything else is a 400.
    let Some(num) = version
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case(b"SIP/"))
        .and_then(|_| version.get(4..))
    else {
        return Err(ParseError::BadStartLine("malformed SIP version"));
    };
    let mut parts = num.split(|&b| b == b'.');
    let well_formed = matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(a), Some(b), None)
            if !a.is_empty() && !b.is_empty()
                && a.iter().all(u8::is_ascii_digit)
                && b.iter().all(u8::is_ascii_digit)
    );
    if well_formed {
        Err(ParseError::UnsupportedVersion)
    } else {
        Err(ParseError::BadStartLine("malformed SIP version"))
    }
}

/// RFC 3261 §19.1 / RFC 3986: `scheme ":"` with scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
fn check_uri_scheme(uri: &[u8]) -> Result<(), ParseError> {
    // The common schemes, written as usual, with something after the colon.
    if (uri.starts_with(b"sip:") && uri.len() > 4) || (uri.starts_with(b"sips:") && uri.len() > 5) {
        return Ok(());
    }
    let colon = memchr::memchr(b':', uri).ok_or(ParseError::BadRequestUri("no scheme"))?;
    let scheme = uri.get(..colon).unwrap_or_default();
    let mut bytes = scheme.iter();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() => {}
        _ => return Err(ParseError::BadRequestUri("malformed scheme")),
    }
    if !bytes.all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) {
        return Err(ParseError::BadRequestUri("malformed scheme"));
    }
    if colon + 1 >= uri.len() {
        return Err(ParseError::BadRequestUri("nothing after scheme"));
    }
    Ok(())
}

fn parse_field_line(line: &[u8], base: usize, next: usize) -> Result<HeaderField, ParseError> {
    // The name is a token; RFC 3261 §7.3.1 allows whitespace before the colon. One scan
    // finds the name's end and checks its characters.
    let name_len = line
        .iter()
        .position(|&b| !is_token_byte(b))
        .unwrap_or(line.len());
    let after_name = line.get(name_len..).unwrap_or_default();
    let colon = name_len + leading_ws(after_name);
    if line.get(colon) != Some(&b':') {
        return Err(ParseError::BadHeaderLine(
            if memchr::memchr(b':', line).is_some() {
                "header name is not a token"
            } else {
                "no colon"
            },
        ));
    }
    if name_len == 0 {
        return Err(ParseError::BadHeaderLine("header name is not a token"));
    }
    let name = line.get(..name_len).unwrap_or_default();
    let after = colon + 1;
    let rest = line.get(after..).unwrap_or_default();
    let value_start = after + leading_ws(rest);
    let value_end = (value_start..line.len())
        .rev()
        .find(|&i| !matches!(line.get(i), Some(b' ' | b'\t')))
        .map_or(value_start, |i| i + 1);
    Ok(HeaderField {
        name: HeaderName::from_bytes(name),
        name_span: Span::new(base, base + name_len),
        value: Span::new(base + value_start, base + value_end.max(value_start)),
        line: Span::new(base, next),
    })
}

fn leading_ws(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len())
}

/// End of `buf[start..end]` without trailing whitespace.
fn trim_end(buf: &[u8], start: usize, end: usize) -> usize {
    let mut e = end;
    while e > start && matches!(buf.get(e - 1), Some(b' ' | b'\t')) {
        e -= 1;
    }
    e
}

/// True when a line holds a control byte other than HT. Written as a byte-wise OR
/// reduction with no early exit so the compiler vectorises it (it runs over every byte
/// of every head).
fn has_control(line: &[u8]) -> bool {
    let mut acc: u8 = 0;
    for &b in line {
        acc |= (u8::from(b < 0x20) & u8::from(b != b'\t')) | u8::from(b == 0x7f);
    }
    acc != 0
}

/// Like [`has_control`], but a control byte escaped by a quoted-pair inside a quoted
/// string is allowed (RFC 3261 §25.1 `quoted-pair`). CR and LF never are.
fn has_control_outside_quoted_pair(line: &[u8]) -> bool {
    if !has_control(line) {
        return false;
    }
    let mut in_quotes = false;
    let mut escaped = false;
    for &b in line {
        let control = (b < 0x20 && b != b'\t') || b == 0x7f;
        if escaped {
            escaped = false;
            if b == b'\r' || b == b'\n' {
                return true;
            }
            continue;
        }
        if control {
            return true;
        }
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\\' if in_quotes => escaped = true,
            _ => {}
        }
    }
    false
}

/// The declared Content-Length: a plain decimal number, at most once.
/// One Content-Length value: a plain decimal number that fits the index.
fn content_length_value(buf: &[u8], value: Span) -> Result<usize, ParseError> {
    let digits = buf.get(value.range()).unwrap_or_default();
    let n = parse_decimal(digits, 10).ok_or(ParseError::BadContentLength)?;
    // The index stores offsets as u32; a larger length cannot fit any message.
    let n = u32::try_from(n).map_err(|_| ParseError::BadContentLength)?;
    Ok(n as usize)
}

fn find_content_length(buf: &[u8], headers: &[HeaderField]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for h in headers
        .iter()
        .filter(|h| h.name == HeaderName::ContentLength)
    {
        let value = buf.get(h.value.range()).unwrap_or_default();
        let n = parse_decimal(value, 10).ok_or(ParseError::BadContentLength)?;
        if found.is_some() {
            return Err(ParseError::ConflictingContentLength);
        }
        // The index stores offsets as u32; a larger length cannot fit any message.
        let n = u32::try_from(n).map_err(|_| ParseError::BadContentLength)?;
        found = Some(n as usize);
    }
    Ok(found)
}

/// A decimal number of 1..=`max_digits` digits, nothing else.
pub(crate) fn parse_decimal(bytes: &[u8], max_digits: usize) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > max_digits {
        return None;
    }
    let mut n: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}
