//! Edits that splice the original bytes instead of re-serialising the message.
//!
//! An [`Editor`] records operations against spans of the original message; every
//! operation is expressed in terms of the original, not of earlier edits. On
//! [`Editor::finish`] the untouched ranges are copied verbatim around the inserted bytes
//! into one buffer of exactly the right size. Unknown headers, folding, compact names and
//! bodies a proxy does not touch therefore leave byte-exact, and Content-Length is
//! always present and correct in the result.
//!
//! Every value an edit inserts is checked first: a line break or control character would
//! let one edit smuggle extra header fields into the message, so such values are refused.

use bytes::Bytes;
use smallvec::SmallVec;

use crate::headers::parse_max_forwards;
use crate::limits::MAX_URI_LEN;
use crate::message::{parse_decimal, HeaderField, Message, Span, StartLine};
use crate::name::{is_token, HeaderName};

/// The Max-Forwards value a proxy adds when a request carries none (RFC 3261 §16.6).
pub const DEFAULT_MAX_FORWARDS: u32 = 70;

/// Why an edit was refused. The message being edited is never changed by a refused edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A value to insert holds a CR, LF or other control character, or is empty where a
    /// value is required.
    #[error("value contains a line break or control character, or is empty")]
    BadValue,
    /// A header name to insert is not a token.
    #[error("header name is not a token")]
    BadName,
    /// A Request-URI to write is malformed (whitespace, control bytes, no scheme) or
    /// longer than the URI limit.
    #[error("malformed Request-URI")]
    BadUri,
    /// The header to edit is not a well-formed list (unbalanced quotes or brackets, an
    /// empty element, not UTF-8), so which element comes first is not certain.
    #[error("malformed {0} header")]
    Malformed(&'static str),
    /// The edit needs a header the message does not have.
    #[error("no {0} header")]
    Missing(&'static str),
    /// Max-Forwards is zero: the request must be answered 483, not forwarded.
    #[error("Max-Forwards exhausted")]
    MaxForwardsExhausted,
    /// Max-Forwards is not a decimal number in 0..=255.
    #[error("malformed Max-Forwards")]
    BadMaxForwards,
    /// The edit touches bytes an earlier edit of this editor already changes.
    #[error("edit overlaps an earlier edit")]
    Overlap,
    /// Only a request has a Request-URI.
    #[error("not a request")]
    NotARequest,
    /// Content-Length is written by the editor itself; it cannot be edited directly.
    #[error("Content-Length is maintained by the editor")]
    ContentLengthManaged,
    /// No header field has this index in [`Message::headers`].
    #[error("no header field at index {0}")]
    NoSuchField(usize),
}

/// What a splice puts in place of its range.
#[derive(Debug, Clone, Copy)]
enum Text {
    /// `arena[start..end]`.
    Arena(u32, u32),
    /// The replacement body.
    Body,
}

#[derive(Debug, Clone, Copy)]
struct Splice {
    /// Range of the original message replaced (empty for a pure insertion).
    range: Span,
    text: Text,
}

impl Splice {
    fn is_insertion(&self) -> bool {
        self.range.is_empty()
    }
}

/// Records splice edits against one message and produces the edited bytes.
///
/// ```
/// use sipwarden_wire::{edit::Editor, Message};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let msg = Message::parse(&b"OPTIONS sip:b@example.com SIP/2.0\r\n\
///     Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
///     Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\n\
///     To: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\
///     Content-Length: 0\r\n\r\n"[..])?;
/// let mut ed = Editor::new(&msg);
/// ed.insert_via(b"SIP/2.0/TCP proxy.example.com;branch=z9hG4bK2")?;
/// assert_eq!(ed.decrement_max_forwards()?, 69);
/// let out = ed.finish();
/// assert!(Message::parse(out).is_ok());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Editor<'m> {
    msg: &'m Message,
    ops: SmallVec<[Splice; 8]>,
    /// Bytes of every insertion, back to back, so edits cost no allocation each.
    arena: Vec<u8>,
    body: Option<Bytes>,
}

impl<'m> Editor<'m> {
    /// An editor with no edits yet: [`Editor::finish`] would return the message as is
    /// (plus a Content-Length if it had none).
    pub fn new(msg: &'m Message) -> Editor<'m> {
        Editor {
            msg,
            ops: SmallVec::new(),
            arena: Vec::new(),
            body: None,
        }
    }

    /// The message being edited.
    pub fn message(&self) -> &'m Message {
        self.msg
    }

    /// Inserts `Via: <value>` as the new topmost Via (before the first Via field, or
    /// right after the start line when there is none).
    pub fn insert_via(&mut self, value: &[u8]) -> Result<(), EditError> {
        let at = self.top_of(HeaderName::Via, self.msg.start_line_end());
        self.insert_field(at, HeaderName::Via.as_str().as_bytes(), value, true)
    }

    /// Removes the topmost Via value: only the first value and its comma when the first
    /// Via field holds several, otherwise the whole field.
    pub fn remove_top_via(&mut self) -> Result<(), EditError> {
        self.remove_first_value(HeaderName::Via, "Via").map(|_| ())
    }

    /// Decrements Max-Forwards by rewriting only its value, and returns the new value.
    /// When the request has none, inserts `Max-Forwards: 70` before the blank line and
    /// returns 70. A value of zero is refused with [`EditError::MaxForwardsExhausted`]:
    /// the caller answers 483 (Too Many Hops) instead.
    pub fn decrement_max_forwards(&mut self) -> Result<u32, EditError> {
        let Some(field) = self.first_field(HeaderName::MaxForwards) else {
            let name = HeaderName::MaxForwards.as_str().as_bytes();
            let mut digits = DecimalBuf::default();
            let value = digits.format(u64::from(DEFAULT_MAX_FORWARDS));
            self.insert_field(self.msg.head_end(), name, value, true)?;
            return Ok(DEFAULT_MAX_FORWARDS);
        };
        // The typed decoder bounds the value to 0..=255.
        let current = parse_max_forwards(self.msg.slice(field.value))
            .map_err(|_| EditError::BadMaxForwards)?;
        let next = current
            .checked_sub(1)
            .ok_or(EditError::MaxForwardsExhausted)?;
        let mut digits = DecimalBuf::default();
        let text = digits.format(u64::from(next));
        self.splice(field.value, text)?;
        Ok(next)
    }

    /// Removes the first Route value (same comma rule as [`Editor::remove_top_via`]) and
    /// returns it, without surrounding whitespace, as a slice of the original buffer.
    pub fn pop_route(&mut self) -> Result<Bytes, EditError> {
        self.remove_first_value(HeaderName::Route, "Route")
    }

    /// Inserts `Record-Route: <value>` above any existing Record-Route field (before the
    /// blank line when there is none).
    pub fn add_record_route(&mut self, value: &[u8]) -> Result<(), EditError> {
        let at = self.top_of(HeaderName::RecordRoute, self.msg.head_end());
        self.insert_field(at, HeaderName::RecordRoute.as_str().as_bytes(), value, true)
    }

    /// Inserts `Path: <value>` above any existing Path field (before the blank line when
    /// there is none). RFC 3327.
    pub fn add_path(&mut self, value: &[u8]) -> Result<(), EditError> {
        let at = self.top_of(HeaderName::Path, self.msg.head_end());
        self.insert_field(at, HeaderName::Path.as_str().as_bytes(), value, true)
    }

    /// Replaces the Request-URI of a request.
    pub fn set_request_uri(&mut self, uri: &[u8]) -> Result<(), EditError> {
        let StartLine::Request { uri: span, .. } = *self.msg.start_line() else {
            return Err(EditError::NotARequest);
        };
        if !is_valid_uri(uri) {
            return Err(EditError::BadUri);
        }
        self.splice(span, uri)
    }

    /// Adds `name: value` as the last header field (before the blank line).
    /// Content-Length is refused: the editor maintains it.
    pub fn add_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        if !is_token(name.as_bytes()) {
            return Err(EditError::BadName);
        }
        if HeaderName::from_bytes(name.as_bytes()) == HeaderName::ContentLength {
            return Err(EditError::ContentLengthManaged);
        }
        self.insert_field(self.msg.head_end(), name.as_bytes(), value, false)
    }

    /// Removes the header field at `index` in [`Message::headers`], with its folded
    /// continuation lines.
    pub fn remove_field(&mut self, index: usize) -> Result<(), EditError> {
        let field = self.editable_field(index)?;
        self.splice(field.line, b"")
    }

    /// Removes every field with this name and returns how many there were.
    pub fn remove_header(&mut self, name: HeaderName) -> Result<usize, EditError> {
        if name == HeaderName::ContentLength {
            return Err(EditError::ContentLengthManaged);
        }
        let lines: SmallVec<[Span; 4]> = self.msg.fields(name).map(|f| f.line).collect();
        // Check every removal before recording any, so a refusal changes nothing.
        for line in &lines {
            self.check_overlap(*line)?;
        }
        for line in &lines {
            self.splice(*line, b"")?;
        }
        Ok(lines.len())
    }

    /// Replaces the value of the header field at `index` in [`Message::headers`],
    /// keeping its name exactly as written.
    pub fn replace_value(&mut self, index: usize, value: &[u8]) -> Result<(), EditError> {
        let field = self.editable_field(index)?;
        if !is_valid_value(value, false) {
            return Err(EditError::BadValue);
        }
        self.splice(field.value, value)
    }

    /// Replaces the body. With `content_type`, the first Content-Type value is replaced
    /// (or a Content-Type field added); without, Content-Type fields are left as they
    /// are. Content-Length is fixed on [`Editor::finish`].
    pub fn set_body(&mut self, content_type: Option<&[u8]>, body: Bytes) -> Result<(), EditError> {
        if self.body.is_some() {
            return Err(EditError::Overlap);
        }
        let range = self.msg.body_span();
        self.check_overlap(range)?;
        if let Some(ct) = content_type {
            match self.first_field(HeaderName::ContentType) {
                Some(field) => {
                    if !is_valid_value(ct, true) {
                        return Err(EditError::BadValue);
                    }
                    self.splice(field.value, ct)?;
                }
                None => {
                    let name = HeaderName::ContentType.as_str().as_bytes();
                    self.insert_field(self.msg.head_end(), name, ct, true)?;
                }
            }
        }
        self.push(Splice {
            range,
            text: Text::Body,
        });
        self.body = Some(body);
        Ok(())
    }

    /// The length the edited message will have, Content-Length fix-up included.
    pub fn len(&self) -> usize {
        let recorded = output_len(self.msg.as_bytes().len(), &self.ops, self.body.as_ref());
        self.content_length_fix().iter().fold(recorded, |len, fix| {
            len + fix.text().len() - fix.range.len()
        })
    }

    /// True when the edited message would be empty (never, for a parsed message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies the edits: the result is one buffer of exactly the edited length in which
    /// every byte no edit touched is copied from the original.
    pub fn finish(mut self) -> Bytes {
        for fix in self.content_length_fix() {
            // Content-Length fields are never the target of a recorded edit (they are
            // refused), so these cannot overlap one.
            let start = self.arena.len();
            self.arena.extend_from_slice(fix.text());
            self.push(Splice {
                range: fix.range,
                text: Text::Arena(start as u32, self.arena.len() as u32),
            });
        }
        let original = self.msg.as_bytes();
        let total = output_len(original.len(), &self.ops, self.body.as_ref());
        // Insertions before replacements at the same offset; otherwise recording order.
        self.ops
            .sort_by_key(|op| (op.range.start, !op.is_insertion()));
        let mut out = Vec::with_capacity(total);
        let mut copied = 0usize;
        for op in &self.ops {
            let start = op.range.start as usize;
            out.extend_from_slice(original.get(copied..start).unwrap_or_default());
            match op.text {
                Text::Arena(s, e) => {
                    let text = self.arena.get(s as usize..e as usize);
                    out.extend_from_slice(text.unwrap_or_default());
                }
                Text::Body => out.extend_from_slice(self.body.as_deref().unwrap_or_default()),
            }
            copied = copied.max(op.range.end as usize);
        }
        out.extend_from_slice(original.get(copied..).unwrap_or_default());
        debug_assert_eq!(out.len(), total);
        Bytes::from(out)
    }

    /// The splices that make Content-Length match the edited body: the first field's
    /// value rewritten when it differs, further fields removed, or a field added.
    fn content_length_fix(&self) -> SmallVec<[ClFix; 2]> {
        let body_len = self
            .body
            .as_ref()
            .map_or(self.msg.body_span().len(), Bytes::len) as u64;
        let mut fixes = SmallVec::new();
        let mut fields = self.msg.fields(HeaderName::ContentLength);
        match fields.next() {
            None => {
                let at = self.msg.head_end();
                fixes.push(ClFix::new(Span::new(at, at), ClText::Field, body_len));
            }
            Some(first) => {
                if parse_decimal(self.msg.slice(first.value), 10) != Some(body_len) {
                    fixes.push(ClFix::new(first.value, ClText::Value, body_len));
                }
            }
        }
        for extra in fields {
            fixes.push(ClFix::new(extra.line, ClText::Nothing, body_len));
        }
        fixes
    }

    /// Where a new field of this kind goes: before the first existing one, else `default`.
    fn top_of(&self, name: HeaderName, default: usize) -> usize {
        self.first_field(name)
            .map_or(default, |f| f.line.start as usize)
    }

    fn first_field(&self, name: HeaderName) -> Option<HeaderField> {
        self.msg.fields(name).next().copied()
    }

    fn editable_field(&self, index: usize) -> Result<HeaderField, EditError> {
        let field = *self
            .msg
            .headers()
            .get(index)
            .ok_or(EditError::NoSuchField(index))?;
        if field.name == HeaderName::ContentLength {
            return Err(EditError::ContentLengthManaged);
        }
        Ok(field)
    }

    /// Removes the first comma-separated value of the first field with this name, or the
    /// whole field when it holds one value. Returns the removed value.
    fn remove_first_value(
        &mut self,
        name: HeaderName,
        label: &'static str,
    ) -> Result<Bytes, EditError> {
        let field = self.first_field(name).ok_or(EditError::Missing(label))?;
        let value = self.msg.slice(field.value);
        let (first, rest_start) = split_first_value(value).ok_or(EditError::Malformed(label))?;
        let base = field.value.start as usize;
        let popped = self
            .msg
            .buffer()
            .slice(base + first.start..base + first.end);
        match rest_start {
            Some(rest) => self.splice(Span::new(base, base + rest), b"")?,
            None => self.splice(field.line, b"")?,
        }
        Ok(popped)
    }

    /// Inserts a whole `name: value CRLF` line at `at`.
    fn insert_field(
        &mut self,
        at: usize,
        name: &[u8],
        value: &[u8],
        required: bool,
    ) -> Result<(), EditError> {
        if !is_valid_value(value, required) {
            return Err(EditError::BadValue);
        }
        let range = Span::new(at, at);
        self.check_overlap(range)?;
        let start = self.arena.len();
        self.arena.extend_from_slice(name);
        self.arena.extend_from_slice(b": ");
        self.arena.extend_from_slice(value);
        self.arena.extend_from_slice(b"\r\n");
        self.push(Splice {
            range,
            text: Text::Arena(start as u32, self.arena.len() as u32),
        });
        Ok(())
    }

    /// Replaces `range` of the original with `text`.
    fn splice(&mut self, range: Span, text: &[u8]) -> Result<(), EditError> {
        self.check_overlap(range)?;
        let start = self.arena.len();
        self.arena.extend_from_slice(text);
        self.push(Splice {
            range,
            text: Text::Arena(start as u32, self.arena.len() as u32),
        });
        Ok(())
    }

    fn push(&mut self, op: Splice) {
        self.ops.push(op);
    }

    /// Refuses a range that cuts into, or replaces again, bytes an earlier edit
    /// replaces. Insertions at either edge of a replaced range are fine.
    fn check_overlap(&self, range: Span) -> Result<(), EditError> {
        if self.ops.iter().any(|op| overlaps(op.range, range)) {
            return Err(EditError::Overlap);
        }
        Ok(())
    }
}

/// One Content-Length correction, applied on [`Editor::finish`].
struct ClFix {
    range: Span,
    /// `Content-Length: N CRLF`, or only its value, or nothing.
    text: SmallVec<[u8; 32]>,
}

#[derive(Clone, Copy)]
enum ClText {
    Field,
    Value,
    Nothing,
}

impl ClFix {
    fn new(range: Span, kind: ClText, body_len: u64) -> ClFix {
        let mut digits = DecimalBuf::default();
        let value = digits.format(body_len);
        let mut text = SmallVec::new();
        match kind {
            ClText::Field => {
                text.extend_from_slice(HeaderName::ContentLength.as_str().as_bytes());
                text.extend_from_slice(b": ");
                text.extend_from_slice(value);
                text.extend_from_slice(b"\r\n");
            }
            ClText::Value => text.extend_from_slice(value),
            ClText::Nothing => {}
        }
        ClFix { range, text }
    }

    fn text(&self) -> &[u8] {
        &self.text
    }
}

fn output_len(original: usize, ops: &[Splice], body: Option<&Bytes>) -> usize {
    ops.iter().fold(original, |len, op| {
        let inserted = match op.text {
            Text::Arena(s, e) => e.saturating_sub(s) as usize,
            Text::Body => body.map_or(0, Bytes::len),
        };
        len + inserted - op.range.len()
    })
}

/// Two ranges conflict when both are replacements sharing a byte, or when one is an
/// insertion strictly inside the other.
fn overlaps(a: Span, b: Span) -> bool {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => false,
        (true, false) => b.start < a.start && a.start < b.end,
        (false, true) => a.start < b.start && b.start < a.end,
        (false, false) => a.start < b.end && b.start < a.end,
    }
}

/// Splits a header value into its first element and, when more follow, the offset where
/// the second one starts. Uses the same list rules as the typed header decoders
/// ([`crate::lex::split_list`]: commas inside quoted strings, `<...>` and comments do
/// not split), so an edit removes exactly the element a decoder reads as the first.
/// `None` for a value those rules refuse (not UTF-8, empty, unbalanced, empty element).
pub(crate) fn split_first_value(value: &[u8]) -> Option<(std::ops::Range<usize>, Option<usize>)> {
    let text = std::str::from_utf8(value).ok()?;
    let mut list = crate::lex::split_list(text);
    let first = list.next()?.ok()?;
    let first_start = offset_in(text, first);
    let second = match list.next() {
        None => None,
        Some(Ok(e)) => Some(offset_in(text, e)),
        Some(Err(_)) => return None,
    };
    Some((first_start..first_start + first.len(), second))
}

/// Where `part`, a sub-slice of `whole`, starts in it.
fn offset_in(whole: &str, part: &str) -> usize {
    // Both point into the same allocation, `part` at or after `whole`.
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// A header value this crate may write: no CR, LF or other control byte except HT, and
/// not empty when `required`.
pub(crate) fn is_valid_value(value: &[u8], required: bool) -> bool {
    if required && value.iter().all(|&b| b == b' ' || b == b'\t') {
        return false;
    }
    value
        .iter()
        .all(|&b| (b >= 0x20 || b == b'\t') && b != 0x7f)
}

/// A URI this crate may write in a start line: ASCII without whitespace or control
/// bytes, a `scheme:` prefix with something after it, within the URI limit.
pub(crate) fn is_valid_uri(uri: &[u8]) -> bool {
    if uri.is_empty() || uri.len() > MAX_URI_LEN {
        return false;
    }
    if !uri.iter().all(|&b| b.is_ascii_graphic()) {
        return false;
    }
    let Some(colon) = memchr::memchr(b':', uri) else {
        return false;
    };
    let scheme = uri.get(..colon).unwrap_or_default();
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok && colon + 1 < uri.len()
}

/// Decimal formatting without allocation.
#[derive(Default)]
pub(crate) struct DecimalBuf {
    buf: [u8; 20],
}

impl DecimalBuf {
    /// The decimal digits of `n`.
    pub(crate) fn format(&mut self, mut n: u64) -> &[u8] {
        let mut i = self.buf.len();
        loop {
            i -= 1;
            if let Some(slot) = self.buf.get_mut(i) {
                // `n % 10` < 10, so this is a digit.
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        self.buf.get(i..).unwrap_or_default()
    }
}
