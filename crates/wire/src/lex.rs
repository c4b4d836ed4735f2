//! Lexical building blocks shared by the URI and header decoders (RFC 3261 §25.1):
//! linear whitespace with folding, tokens, quoted strings with quoted-pairs, comments,
//! comma-separated lists, `;name=value` parameter lists and `%HH` escapes.
//!
//! Everything here borrows the text it is given. Nothing allocates except the explicit
//! unescaping helpers, and those only when an escape is actually present.

use std::borrow::Cow;

use crate::error::ParseError;

/// Why a piece of text failed to lex. Decoders wrap the reason into a [`ParseError`]
/// naming the header (or URI) it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexError(pub &'static str);

impl LexError {
    /// The error as a malformed-header refusal.
    pub fn in_header(self, header: &'static str) -> ParseError {
        ParseError::BadHeader {
            header,
            reason: self.0,
        }
    }

    /// The error as a malformed-URI refusal.
    pub fn in_uri(self) -> ParseError {
        ParseError::BadUri(self.0)
    }
}

/// Character classes of RFC 3261 §25.1 (and RFC 3986 for foreign URIs), as bit flags in
/// one lookup table so every scanning loop costs a load and a test per byte.
pub(crate) mod class {
    /// `token`
    pub const TOKEN: u16 = 1;
    /// `unreserved` (alphanum / mark)
    pub const UNRESERVED: u16 = 1 << 1;
    /// `user` characters other than `escaped`
    pub const USER: u16 = 1 << 2;
    /// `password` characters other than `escaped`
    pub const PASSWORD: u16 = 1 << 3;
    /// `paramchar` other than `escaped`
    pub const PARAM: u16 = 1 << 4;
    /// `hname` / `hvalue` characters other than `escaped`
    pub const HNV: u16 = 1 << 5;
    /// hostname characters: alphanum, `-`, `.`
    pub const HOST: u16 = 1 << 6;
    /// `word` (Call-ID)
    pub const WORD: u16 = 1 << 7;
    /// any character RFC 3986 allows in a URI (escapes checked apart)
    pub const URI3986: u16 = 1 << 8;
    /// RFC 8224 `base64-char` and `.`
    pub const B64: u16 = 1 << 9;
    /// `:` alone, to extend tokens with bare IPv6 addresses
    pub const COLON: u16 = 1 << 10;
    /// `qdtext` that needs no further look: printable ASCII but `"` and `\`, tab, and
    /// every byte of a multi-byte UTF-8 character
    pub const QDTEXT: u16 = 1 << 11;
    /// ASCII letters and digits
    pub const ALNUM: u16 = 1 << 12;
}

const fn classify(b: u8) -> u16 {
    let qd = if (b >= 0x20 && b != 0x7f && b != b'"' && b != b'\\') || b == b'\t' {
        class::QDTEXT
    } else {
        0
    };
    let alnum = if b.is_ascii_alphanumeric() {
        class::ALNUM
    } else {
        0
    };
    qd | alnum | classify_ascii(b)
}

const fn classify_ascii(b: u8) -> u16 {
    use class::*;
    let alnum = b.is_ascii_alphanumeric();
    if alnum {
        return TOKEN | UNRESERVED | USER | PASSWORD | PARAM | HNV | HOST | WORD | URI3986 | B64;
    }
    const MARK: u16 = UNRESERVED | USER | PASSWORD | PARAM | HNV | URI3986;
    match b {
        b'-' => MARK | TOKEN | WORD | HOST | B64,
        b'.' => MARK | TOKEN | WORD | HOST | B64,
        b'_' => MARK | TOKEN | WORD | B64,
        b'!' | b'~' | b'*' | b'\'' => MARK | TOKEN | WORD,
        b'(' | b')' => MARK | WORD,
        b'%' => TOKEN | WORD,
        b'+' => TOKEN | WORD | USER | PASSWORD | PARAM | HNV | URI3986 | B64,
        b'`' => TOKEN | WORD,
        b'&' => USER | PASSWORD | PARAM | URI3986,
        b'=' => USER | PASSWORD | URI3986 | B64,
        b'$' => USER | PASSWORD | PARAM | HNV | URI3986,
        b',' => USER | PASSWORD | URI3986,
        b';' => USER | URI3986,
        b'?' => USER | HNV | WORD | URI3986,
        b'/' => USER | PARAM | HNV | WORD | URI3986 | B64,
        b':' => PARAM | HNV | WORD | URI3986 | COLON,
        b'[' | b']' => PARAM | HNV | WORD | URI3986,
        b'<' | b'>' | b'\\' | b'"' | b'{' | b'}' => WORD,
        b'@' | b'#' => URI3986,
        _ => 0,
    }
}

// The loop bound keeps every index below 256.
#[allow(clippy::indexing_slicing)]
const fn build_classes() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = classify(i as u8);
        i += 1;
    }
    table
}

static CLASSES: [u16; 256] = build_classes();

/// True when `b` belongs to any of the classes in `mask`.
#[inline]
pub(crate) fn is(b: u8, mask: u16) -> bool {
    CLASSES.get(usize::from(b)).copied().unwrap_or(0) & mask != 0
}

/// RFC 3261 `token` character.
#[inline]
pub fn is_token_char(b: u8) -> bool {
    is(b, class::TOKEN)
}

/// True for a non-empty string of `token` characters.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// True when a parameter value lexed by [`gen_value`] as a token (or host) is a plain
/// `token`: such a value is already made of token characters and colons, so only a
/// colon or an IPv6 bracket can disqualify it.
pub(crate) fn is_token_value(v: &str) -> bool {
    !v.is_empty() && !v.bytes().any(|b| b == b':' || b == b'[')
}

/// Converts a header value to text. SIP header values are UTF-8 (RFC 3261 §7.3.1).
pub(crate) fn utf8(value: &[u8]) -> Result<&str, LexError> {
    std::str::from_utf8(value).map_err(|_| LexError("not valid UTF-8"))
}

fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// A position in a string being lexed. Every method either consumes what it names and
/// reports success, or leaves the position unchanged.
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `s`.
    pub fn new(s: &'a str) -> Cursor<'a> {
        Cursor { s, pos: 0 }
    }

    /// The current byte offset.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves back (or forward) to an offset previously returned by [`Cursor::pos`].
    #[inline]
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.s.len());
    }

    /// True when everything has been consumed.
    #[inline]
    pub fn is_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// The whole string being lexed.
    pub fn source(&self) -> &'a str {
        self.s
    }

    /// What is left to lex.
    pub fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    /// The text between two offsets (empty if they are not on character boundaries).
    pub fn slice(&self, from: usize, to: usize) -> &'a str {
        self.s.get(from..to).unwrap_or("")
    }

    /// The next byte, if any.
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    #[inline]
    fn byte_at(&self, i: usize) -> Option<u8> {
        self.s.as_bytes().get(i).copied()
    }

    /// Skips linear whitespace: spaces, tabs and folds (CRLF followed by SP or HT).
    /// Returns true when anything was skipped.
    #[inline]
    pub fn skip_lws(&mut self) -> bool {
        // Most separators have no whitespace around them.
        if !matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            return false;
        }
        self.skip_lws_slow()
    }

    #[inline(never)]
    fn skip_lws_slow(&mut self) -> bool {
        let start = self.pos;
        loop {
            match self.byte_at(self.pos) {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\r')
                    if self.byte_at(self.pos + 1) == Some(b'\n')
                        && matches!(self.byte_at(self.pos + 2), Some(b' ' | b'\t')) =>
                {
                    self.pos += 3
                }
                _ => break,
            }
        }
        self.pos > start
    }

    /// Consumes `b` if it is next.
    #[inline]
    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `SWS b SWS` (RFC 3261's SEMI, COMMA, SLASH, EQUAL, COLON ...) if `b` is
    /// next after optional whitespace; otherwise consumes nothing.
    #[inline]
    pub fn eat_sep(&mut self, b: u8) -> bool {
        if self.eat(b) {
            self.skip_lws();
            return true;
        }
        let save = self.pos;
        self.skip_lws();
        if self.eat(b) {
            self.skip_lws();
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Consumes bytes while `f` holds and returns them (possibly empty).
    #[inline]
    pub fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let rest = self.s.as_bytes().get(start..).unwrap_or_default();
        let n = rest.iter().position(|&b| !f(b)).unwrap_or(rest.len());
        self.pos = start + n;
        self.slice(start, self.pos)
    }

    /// Consumes bytes of any class in `mask` (see [`class`]).
    #[inline]
    pub(crate) fn take_class(&mut self, mask: u16) -> &'a str {
        self.take_while(|b| is(b, mask))
    }

    /// Consumes a `token`; `None` (and nothing consumed) if none is next.
    #[inline]
    pub fn token(&mut self) -> Option<&'a str> {
        let t = self.take_class(class::TOKEN);
        (!t.is_empty()).then_some(t)
    }

    /// Consumes a run of characters of `mask` mixed with `%HH` escapes.
    pub(crate) fn take_escaped(&mut self, mask: u16) -> Result<&'a str, LexError> {
        let start = self.pos;
        loop {
            self.take_class(mask);
            if self.peek() != Some(b'%') {
                break;
            }
            let hi = self.byte_at(self.pos + 1);
            let lo = self.byte_at(self.pos + 2);
            if !hi.is_some_and(|b| b.is_ascii_hexdigit())
                || !lo.is_some_and(|b| b.is_ascii_hexdigit())
            {
                return Err(LexError("malformed %-escape"));
            }
            self.pos += 3;
        }
        Ok(self.slice(start, self.pos))
    }

    /// Consumes a quoted-string (the cursor must be at its opening `"`) and returns its
    /// content with quoted-pairs still escaped.
    pub fn quoted_string(&mut self) -> Result<Quoted<'a>, LexError> {
        if self.peek() != Some(b'"') {
            return Err(LexError("expected quoted string"));
        }
        let start = self.pos + 1;
        let mut i = start;
        let mut needs_work = false;
        let bytes = self.s.as_bytes();
        loop {
            // Plain text is the common case: one table test per byte.
            i += bytes
                .get(i..)
                .unwrap_or_default()
                .iter()
                .position(|&b| !is(b, class::QDTEXT))
                .unwrap_or(bytes.len().saturating_sub(i));
            match bytes.get(i).copied() {
                None => return Err(LexError("unterminated quoted string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                    match bytes.get(i + 1).copied() {
                        Some(b'\r' | b'\n') | None => {
                            return Err(LexError("bad quoted-pair in quoted string"))
                        }
                        Some(b) if b > 0x7f => {
                            return Err(LexError("bad quoted-pair in quoted string"))
                        }
                        Some(_) => {}
                    }
                    needs_work = true;
                    i += 2;
                }
                Some(b'\r') => {
                    if bytes.get(i + 1) != Some(&b'\n')
                        || !matches!(bytes.get(i + 2), Some(b' ' | b'\t'))
                    {
                        return Err(LexError("control character in quoted string"));
                    }
                    needs_work = true;
                    i += 3;
                }
                Some(_) => return Err(LexError("control character in quoted string")),
            }
        }
        let raw = self.slice(start, i);
        self.pos = i + 1;
        Ok(Quoted { raw, needs_work })
    }

    /// Consumes a comment (the cursor must be at its `(`), nested comments and
    /// quoted-pairs included, and returns what is between the outer parentheses.
    pub fn comment(&mut self) -> Result<&'a str, LexError> {
        if self.peek() != Some(b'(') {
            return Err(LexError("expected comment"));
        }
        let start = self.pos + 1;
        let mut i = start;
        let mut depth = 1usize;
        let bytes = self.s.as_bytes();
        loop {
            match bytes.get(i).copied() {
                None => return Err(LexError("unterminated comment")),
                Some(b'(') => {
                    depth += 1;
                    i += 1;
                }
                Some(b')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    i += 1;
                }
                Some(b'\\') => {
                    match bytes.get(i + 1).copied() {
                        Some(b) if b <= 0x7f && b != b'\r' && b != b'\n' => {}
                        _ => return Err(LexError("bad quoted-pair in comment")),
                    }
                    i += 2;
                }
                Some(b'\r') => {
                    if bytes.get(i + 1) != Some(&b'\n')
                        || !matches!(bytes.get(i + 2), Some(b' ' | b'\t'))
                    {
                        return Err(LexError("control character in comment"));
                    }
                    i += 3;
                }
                Some(b) if is_control(b) => return Err(LexError("control character in comment")),
                Some(_) => i += 1,
            }
        }
        let inner = self.slice(start, i);
        self.pos = i + 1;
        Ok(inner)
    }

    /// After a value: skips whitespace and succeeds only at the end of the input.
    pub fn expect_end(&mut self) -> Result<(), LexError> {
        self.skip_lws();
        if self.is_end() {
            Ok(())
        } else {
            Err(LexError("unexpected characters after value"))
        }
    }

    /// After a list element: skips whitespace, then consumes a comma (true), or succeeds
    /// at the end of the input (false). An element after the comma must follow.
    pub fn list_separator(&mut self) -> Result<bool, LexError> {
        self.skip_lws();
        if self.is_end() {
            return Ok(false);
        }
        if !self.eat(b',') {
            return Err(LexError("unexpected characters after value"));
        }
        self.skip_lws();
        if self.is_end() || self.peek() == Some(b',') {
            return Err(LexError("empty list element"));
        }
        Ok(true)
    }
}

/// The content of a quoted-string, between the quotes, with quoted-pairs still escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted<'a> {
    raw: &'a str,
    needs_work: bool,
}

impl<'a> Quoted<'a> {
    /// The content exactly as written (quoted-pairs and folds left in place).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The content with quoted-pairs unescaped and folds reduced to their whitespace.
    /// Borrows unless there was something to unescape.
    pub fn text(&self) -> Cow<'a, str> {
        if !self.needs_work {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut chars = self.raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                }
                '\r' => {
                    // A fold: CRLF is dropped, the whitespace after it stays.
                    chars.next();
                }
                _ => out.push(c),
            }
        }
        Cow::Owned(out)
    }
}

/// Splits a header value on its top-level commas. Commas inside quoted strings, inside
/// `<...>` and inside comments do not split. Elements come out without surrounding
/// whitespace; an empty element or an unbalanced quote, bracket or parenthesis is an
/// error (after which the iterator ends). An empty value yields nothing.
pub fn split_list(value: &str) -> SplitList<'_> {
    SplitList {
        s: value,
        pos: 0,
        done: false,
        first: true,
    }
}

/// Iterator returned by [`split_list`].
#[derive(Debug, Clone)]
pub struct SplitList<'a> {
    s: &'a str,
    pos: usize,
    done: bool,
    first: bool,
}

impl<'a> SplitList<'a> {
    fn scan(&mut self) -> Result<Option<&'a str>, LexError> {
        let mut cur = Cursor::new(self.s);
        cur.set_pos(self.pos);
        cur.skip_lws();
        if cur.is_end() {
            return if self.first {
                Ok(None)
            } else {
                Err(LexError("empty list element"))
            };
        }
        self.first = false;
        let start = cur.pos();
        let mut end = start;
        loop {
            match cur.peek() {
                None => {
                    self.done = true;
                    break;
                }
                Some(b',') => {
                    cur.eat(b',');
                    break;
                }
                Some(b'"') => {
                    cur.quoted_string()?;
                    end = cur.pos();
                }
                Some(b'(') => {
                    cur.comment()?;
                    end = cur.pos();
                }
                Some(b'<') => {
                    let rest = cur.rest().as_bytes();
                    let close = memchr::memchr(b'>', rest).ok_or(LexError("unbalanced '<'"))?;
                    cur.set_pos(cur.pos() + close + 1);
                    end = cur.pos();
                }
                Some(b'>') => return Err(LexError("unbalanced '>'")),
                Some(b')') => return Err(LexError("unbalanced ')'")),
                Some(b) if b == b' ' || b == b'\t' || b == b'\r' => {
                    if !cur.skip_lws() {
                        return Err(LexError("control character in value"));
                    }
                }
                Some(b) if is_control(b) => return Err(LexError("control character in value")),
                Some(_) => {
                    cur.set_pos(cur.pos() + 1);
                    end = cur.pos();
                }
            }
        }
        self.pos = cur.pos();
        let element = cur.slice(start, end);
        if element.is_empty() {
            return Err(LexError("empty list element"));
        }
        Ok(Some(element))
    }
}

impl<'a> Iterator for SplitList<'a> {
    type Item = Result<&'a str, LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.scan() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A header parameter's value: a token (or host) as written, or a quoted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamValue<'a> {
    /// A token, IPv4 address, hostname or `[IPv6]` reference, as written.
    Token(&'a str),
    /// A quoted string.
    Quoted(Quoted<'a>),
}

impl<'a> ParamValue<'a> {
    /// The value as written, without the quotes of a quoted string.
    pub fn raw(&self) -> &'a str {
        match self {
            ParamValue::Token(t) => t,
            ParamValue::Quoted(q) => q.raw(),
        }
    }

    /// The value with quoted-pairs unescaped.
    pub fn text(&self) -> Cow<'a, str> {
        match self {
            ParamValue::Token(t) => Cow::Borrowed(t),
            ParamValue::Quoted(q) => q.text(),
        }
    }

    /// True for a quoted-string value.
    pub fn is_quoted(&self) -> bool {
        matches!(self, ParamValue::Quoted(_))
    }

    /// The token, or `None` for a quoted string.
    pub fn as_token(&self) -> Option<&'a str> {
        match self {
            ParamValue::Token(t) => Some(t),
            ParamValue::Quoted(_) => None,
        }
    }
}

/// One `name[=value]` header parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name as written (compare case-insensitively).
    pub name: &'a str,
    /// The value, if there was an `=`.
    pub value: Option<ParamValue<'a>>,
}

/// A validated run of header parameters, `*( SEMI generic-param )` as written.
/// Lookups and iteration re-read the text; nothing is stored per parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params<'a> {
    raw: &'a str,
}

impl<'a> Params<'a> {
    /// The parameters exactly as written, starting with the first `;` (or empty).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Every parameter in order.
    pub fn iter(&self) -> ParamsIter<'a> {
        ParamsIter {
            cur: Cursor::new(self.raw),
        }
    }

    /// The first parameter with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<Param<'a>> {
        self.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// True when a parameter with this name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = Param<'a>;
    type IntoIter = ParamsIter<'a>;
    fn into_iter(self) -> ParamsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Params`].
#[derive(Debug, Clone)]
pub struct ParamsIter<'a> {
    cur: Cursor<'a>,
}

impl<'a> Iterator for ParamsIter<'a> {
    type Item = Param<'a>;
    fn next(&mut self) -> Option<Param<'a>> {
        // The text was validated when the `Params` was made, so an error cannot occur;
        // if it somehow did, iteration just ends.
        next_param(&mut self.cur).ok().flatten()
    }
}

/// Lexes one `SEMI generic-param` if a `;` is next (after optional whitespace).
fn next_param<'a>(cur: &mut Cursor<'a>) -> Result<Option<Param<'a>>, LexError> {
    if !cur.eat_sep(b';') {
        return Ok(None);
    }
    let name = cur.token().ok_or(LexError("empty parameter name"))?;
    let value = if cur.eat_sep(b'=') {
        Some(gen_value(cur)?)
    } else {
        None
    };
    Ok(Some(Param { name, value }))
}

/// `gen-value = token / host / quoted-string`. Colons are accepted inside a token value
/// because Via's `received` carries bare IPv6 addresses (RFC 5118 §4.5).
pub(crate) fn gen_value<'a>(cur: &mut Cursor<'a>) -> Result<ParamValue<'a>, LexError> {
    match cur.peek() {
        Some(b'"') => Ok(ParamValue::Quoted(cur.quoted_string()?)),
        Some(b'[') => {
            let start = cur.pos();
            cur.eat(b'[');
            let inner = cur.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            if inner.is_empty() || !cur.eat(b']') {
                return Err(LexError("malformed IPv6 reference in parameter"));
            }
            Ok(ParamValue::Token(cur.slice(start, cur.pos())))
        }
        _ => {
            let v = cur.take_class(class::TOKEN | class::COLON);
            if v.is_empty() {
                Err(LexError("empty parameter value"))
            } else {
                Ok(ParamValue::Token(v))
            }
        }
    }
}

/// Lexes `*( SEMI generic-param )` at the cursor, calling `each` for every parameter so
/// callers can pick out the ones they know in the same pass. Stops before anything that
/// is not a `;` (whitespace before it is left unconsumed).
pub fn lex_params<'a>(
    cur: &mut Cursor<'a>,
    mut each: impl FnMut(Param<'a>) -> Result<(), LexError>,
) -> Result<Params<'a>, LexError> {
    let start = cur.pos();
    let mut end = start;
    while let Some(p) = next_param(cur)? {
        each(p)?;
        end = cur.pos();
    }
    cur.set_pos(end);
    Ok(Params {
        raw: cur.slice(start, end),
    })
}

/// Parses a whole string as `*( SEMI generic-param )`.
pub fn parse_params(s: &str) -> Result<Params<'_>, LexError> {
    let mut cur = Cursor::new(s);
    let params = lex_params(&mut cur, |_| Ok(()))?;
    cur.expect_end()?;
    Ok(params)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%HH` escapes. Borrows when there is none; a `%` not followed by two hex
/// digits is an error.
pub fn pct_decode(s: &str) -> Result<Cow<'_, [u8]>, LexError> {
    if !s.contains('%') {
        return Ok(Cow::Borrowed(s.as_bytes()));
    }
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_val);
            let lo = bytes.get(i + 2).copied().and_then(hex_val);
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err(LexError("malformed %-escape")),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(Cow::Owned(out))
}

/// Decodes `%HH` escapes into text; the result must be UTF-8.
pub fn pct_decode_str(s: &str) -> Result<Cow<'_, str>, LexError> {
    match pct_decode(s)? {
        Cow::Borrowed(_) => Ok(Cow::Borrowed(s)),
        Cow::Owned(v) => String::from_utf8(v)
            .map(Cow::Owned)
            .map_err(|_| LexError("escaped text is not UTF-8")),
    }
}

/// RFC 3986 / RFC 3261 `reserved` characters: escaping one of them changes meaning.
fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b','
    )
}

/// The units of an escaped string for comparison (RFC 3261 §19.1.4): an escaped
/// unreserved character equals the character itself, but an escaped reserved character
/// stays distinct from the literal one. Escaped reserved bytes carry bit 8.
struct PctUnits<'a> {
    bytes: &'a [u8],
    i: usize,
}

impl Iterator for PctUnits<'_> {
    type Item = u16;
    #[inline]
    fn next(&mut self) -> Option<u16> {
        let b = *self.bytes.get(self.i)?;
        if b == b'%' {
            let hi = self.bytes.get(self.i + 1).copied().and_then(hex_val);
            let lo = self.bytes.get(self.i + 2).copied().and_then(hex_val);
            if let (Some(h), Some(l)) = (hi, lo) {
                self.i += 3;
                let d = h << 4 | l;
                return Some(if is_reserved(d) {
                    0x100 | u16::from(d)
                } else {
                    u16::from(d)
                });
            }
        }
        self.i += 1;
        Some(u16::from(b))
    }
}

fn units(s: &str) -> PctUnits<'_> {
    PctUnits {
        bytes: s.as_bytes(),
        i: 0,
    }
}

/// Compares two escaped strings as RFC 3261 §19.1.4 does, case-sensitively.
pub fn pct_eq(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if !a.contains('%') && !b.contains('%') {
        return false;
    }
    units(a).eq(units(b))
}

/// Compares two escaped strings as RFC 3261 §19.1.4 does, ignoring ASCII case.
pub fn pct_eq_ignore_case(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    if !a.contains('%') && !b.contains('%') {
        return false;
    }
    let lower = |u: u16| {
        if u < 0x100 {
            u16::from((u as u8).to_ascii_lowercase())
        } else {
            u
        }
    };
    units(a).map(lower).eq(units(b).map(lower))
}

/// A decimal number of at least one digit; `Err(true)` when it does not fit in `u64`
/// and `Err(false)` when it is not a number at all.
pub(crate) fn decimal(s: &str) -> Result<u64, bool> {
    if s.is_empty() {
        return Err(false);
    }
    let mut n: u64 = 0;
    let mut overflow = false;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(false);
        }
        match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
        {
            Some(v) => n = v,
            None => overflow = true,
        }
    }
    if overflow {
        Err(true)
    } else {
        Ok(n)
    }
}

/// Parses a `qvalue` (RFC 3261 §20.10): `0[.ddd]` or `1[.000]`, as thousandths.
pub fn parse_qvalue(s: &str) -> Option<u16> {
    let bytes = s.as_bytes();
    let int = match bytes.first() {
        Some(b'0') => 0u16,
        Some(b'1') => 1000,
        _ => return None,
    };
    let frac = match bytes.get(1) {
        None => return Some(int),
        Some(b'.') => bytes.get(2..).unwrap_or_default(),
        Some(_) => return None,
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    let mut scale = 100u16;
    for &d in frac {
        thousandths += u16::from(d - b'0') * scale;
        scale /= 10;
    }
    if int == 1000 && thousandths != 0 {
        return None;
    }
    Some(int + thousandths)
}
