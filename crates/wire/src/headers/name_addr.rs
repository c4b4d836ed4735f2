//! Addresses: From, To, Contact, Route, Record-Route, Path (RFC 3261 §20.10, §20.20,
//! §20.34, §20.30, §20.39; RFC 3327; RFC 5626 for `+sip.instance` and `reg-id`).

use std::borrow::Cow;

use super::{single, text, HeaderList};
use crate::error::ParseError;
use crate::lex::{
    is_token_value, lex_params, parse_qvalue, Cursor, LexError, ParamValue, Params, Quoted,
};
use crate::name::HeaderName;
use crate::uri::Uri;

/// A display name: a quoted string or a run of tokens separated by whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayName<'a> {
    /// `"Alice Liddell"`
    Quoted(Quoted<'a>),
    /// `Alice Liddell` (tokens, whitespace kept as written)
    Tokens(&'a str),
}

impl<'a> DisplayName<'a> {
    /// The name as written (without the quotes of a quoted string).
    pub fn raw(&self) -> &'a str {
        match self {
            DisplayName::Quoted(q) => q.raw(),
            DisplayName::Tokens(t) => t,
        }
    }

    /// The name with quoted-pairs unescaped and folds reduced to whitespace.
    pub fn text(&self) -> Cow<'a, str> {
        match self {
            DisplayName::Quoted(q) => q.text(),
            DisplayName::Tokens(t) if t.contains('\r') => Cow::Owned(t.replace("\r\n", "")),
            DisplayName::Tokens(t) => Cow::Borrowed(t),
        }
    }
}

/// `[display-name] <URI> *(;param)` or `URI *(;param)`. Per RFC 3261 §20.10, the
/// parameters after a URI written without angle brackets belong to the header, not to
/// the URI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NameAddr<'a> {
    /// The element exactly as written.
    pub raw: &'a str,
    /// The display name, if any.
    pub display_name: Option<DisplayName<'a>>,
    /// The URI.
    pub uri: Uri<'a>,
    /// True when the URI was inside `<...>`.
    pub bracketed: bool,
    /// The `tag` parameter (From/To).
    pub tag: Option<&'a str>,
    /// Every header parameter, `tag` included.
    pub params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    /// Decodes a value holding exactly one address (From, To). `header` names the header
    /// in errors and decides whether angle brackets are required (Route, Record-Route
    /// and Path).
    pub fn parse(header: HeaderName, value: &'a [u8]) -> Result<NameAddr<'a>, ParseError> {
        let brackets = needs_brackets(header);
        single(header.as_str(), value, |cur| lex_name_addr(cur, brackets))
    }

    /// Decodes every comma-separated address of one field value (Route, Record-Route,
    /// Path, Contact).
    pub fn parse_list(header: HeaderName, value: &'a [u8]) -> HeaderList<'a, NameAddr<'a>> {
        HeaderList::new(header.as_str(), value, false, lexer_for(header))
    }
}

type Lexer<'a> = fn(&mut Cursor<'a>) -> Result<NameAddr<'a>, LexError>;

fn needs_brackets(header: HeaderName) -> bool {
    matches!(
        header,
        HeaderName::Route | HeaderName::RecordRoute | HeaderName::Path
    )
}

fn lexer_for<'a>(header: HeaderName) -> Lexer<'a> {
    if needs_brackets(header) {
        lex_bracketed
    } else {
        lex_any
    }
}

fn lex_bracketed<'a>(cur: &mut Cursor<'a>) -> Result<NameAddr<'a>, LexError> {
    lex_name_addr(cur, true)
}

fn lex_any<'a>(cur: &mut Cursor<'a>) -> Result<NameAddr<'a>, LexError> {
    lex_name_addr(cur, false)
}

/// What precedes the header parameters of an address: display name, URI text, brackets.
struct AddrParts<'a> {
    start: usize,
    display_name: Option<DisplayName<'a>>,
    uri_text: &'a str,
    bracketed: bool,
}

#[inline(always)]
fn lex_addr_parts<'a>(
    cur: &mut Cursor<'a>,
    require_brackets: bool,
) -> Result<AddrParts<'a>, LexError> {
    let start = cur.pos();
    let mut display_name = None;
    let bracketed = match cur.peek() {
        Some(b'"') => {
            display_name = Some(DisplayName::Quoted(cur.quoted_string()?));
            cur.skip_lws();
            if !cur.eat(b'<') {
                return Err(LexError("expected '<' after display name"));
            }
            true
        }
        Some(b'<') => {
            cur.eat(b'<');
            true
        }
        Some(_) => {
            let tok_start = cur.pos();
            cur.token()
                .ok_or(LexError("expected display name or URI"))?;
            if cur.peek() == Some(b':') {
                // A scheme: this is a bare addr-spec.
                cur.set_pos(tok_start);
                false
            } else {
                let mut tok_end = cur.pos();
                loop {
                    cur.skip_lws();
                    if cur.eat(b'<') {
                        break;
                    }
                    if cur.token().is_none() {
                        return Err(LexError("expected '<' after display name"));
                    }
                    tok_end = cur.pos();
                }
                display_name = Some(DisplayName::Tokens(cur.slice(tok_start, tok_end)));
                true
            }
        }
        None => return Err(LexError("empty value")),
    };

    let uri_text = if bracketed {
        let rest = cur.rest();
        // URIs are short: a plain scan beats setting up a vectorised search.
        let close = rest
            .bytes()
            .position(|b| b == b'>')
            .ok_or(LexError("unbalanced '<'"))?;
        let u = rest.get(..close).unwrap_or("");
        cur.set_pos(cur.pos() + close + 1);
        u
    } else {
        if require_brackets {
            return Err(LexError("URI must be in angle brackets"));
        }
        // RFC 3261 §20: a URI with `,`, `;` or `?` must be bracketed, so those end it.
        cur.take_while(|b| !matches!(b, b';' | b',' | b'?' | b' ' | b'\t' | b'\r'))
    };
    Ok(AddrParts {
        start,
        display_name,
        uri_text,
        bracketed,
    })
}

/// The header parameters after an address, with the `tag` picked out.
#[inline(always)]
fn lex_tag_params<'a>(cur: &mut Cursor<'a>) -> Result<(Params<'a>, Option<&'a str>), LexError> {
    let mut tag = None;
    let params = lex_params(cur, |p| {
        if p.name.eq_ignore_ascii_case("tag") {
            let v = p
                .value
                .and_then(|v| v.as_token())
                .filter(|v| is_token_value(v))
                .ok_or(LexError("tag needs a token value"))?;
            if tag.replace(v).is_some() {
                return Err(LexError("duplicate tag"));
            }
        }
        Ok(())
    })?;

    Ok((params, tag))
}

#[inline(always)]
pub(crate) fn lex_name_addr<'a>(
    cur: &mut Cursor<'a>,
    require_brackets: bool,
) -> Result<NameAddr<'a>, LexError> {
    let parts = lex_addr_parts(cur, require_brackets)?;
    let uri = Uri::lex(parts.uri_text)?;
    let (params, tag) = lex_tag_params(cur)?;
    Ok(NameAddr {
        raw: cur.slice(parts.start, cur.pos()),
        display_name: parts.display_name,
        uri,
        bracketed: parts.bracketed,
        tag,
        params,
    })
}

/// The common shape `[token display name] <uri>;name=token;...` read at byte level;
/// `None` sends anything else (quoted display names, spaces around parameters, quoted
/// parameter values, duplicate tags, a URI without brackets) to the full lexer.
fn plain_tag(value: &[u8]) -> Option<Option<&str>> {
    use crate::lex::is_token_char;
    // One forward pass; every branch that is not the plain shape gives up.
    let mut i = 0;
    if value.first() == Some(&b'"') {
        // A quoted display name without escapes.
        i = 1;
        loop {
            match *value.get(i)? {
                b'"' => break,
                b'\\' => return None,
                _ => i += 1,
            }
        }
        i += 1;
        while value.get(i) == Some(&b' ') {
            i += 1;
        }
        if value.get(i) != Some(&b'<') {
            return None;
        }
    } else {
        // Tokens and spaces, or nothing.
        loop {
            let b = *value.get(i)?;
            if b == b'<' {
                break;
            }
            if b != b' ' && !is_token_char(b) {
                return None;
            }
            i += 1;
        }
    }
    i += 1;
    let uri_start = i;
    loop {
        let b = *value.get(i)?;
        if b == b'>' {
            break;
        }
        if b == b'<' || b <= b' ' || b == b'"' {
            return None;
        }
        i += 1;
    }
    if i == uri_start {
        return None;
    }
    i += 1;
    let mut tag: Option<&[u8]> = None;
    while i < value.len() {
        if value.get(i) != Some(&b';') {
            return None;
        }
        i += 1;
        let name_start = i;
        while value.get(i).is_some_and(|&b| is_token_char(b)) {
            i += 1;
        }
        let name = value.get(name_start..i)?;
        if name.is_empty() {
            return None;
        }
        let mut val = None;
        if value.get(i) == Some(&b'=') {
            i += 1;
            let start = i;
            while value.get(i).is_some_and(|&b| is_token_char(b)) {
                i += 1;
            }
            let v = value.get(start..i)?;
            if v.is_empty() {
                return None;
            }
            val = Some(v);
        }
        if name.eq_ignore_ascii_case(b"tag") {
            if tag.is_some() {
                return None;
            }
            tag = Some(val?);
        }
    }
    match tag {
        Some(t) => Some(Some(std::str::from_utf8(t).ok()?)),
        None => Some(None),
    }
}

/// The `tag` of a From or To value, read without decoding the URI: what transaction and
/// dialog matching need on every message. The value's structure (display name, brackets,
/// parameters) is still checked; the URI itself is checked by [`NameAddr::parse`] and
/// `validate_request`.
pub fn tag_of(header: HeaderName, value: &[u8]) -> Result<Option<&str>, ParseError> {
    if let Some(tag) = plain_tag(value) {
        return Ok(tag);
    }
    single(header.as_str(), value, |cur| {
        let parts = lex_addr_parts(cur, false)?;
        if parts.uri_text.is_empty() {
            return Err(LexError("empty URI"));
        }
        let (_, tag) = lex_tag_params(cur)?;
        Ok(tag)
    })
}

/// One Contact address with the parameters a registrar reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Contact<'a> {
    /// The address and all its parameters.
    pub addr: NameAddr<'a>,
    /// The `q` parameter in thousandths (0..=1000).
    pub q: Option<u16>,
    /// The `expires` parameter in seconds.
    pub expires: Option<u32>,
    /// The `+sip.instance` value, between its quotes, as written (RFC 5626).
    pub instance: Option<&'a str>,
    /// The `reg-id` parameter (RFC 5626).
    pub reg_id: Option<u32>,
}

impl<'a> Contact<'a> {
    /// Decodes every comma-separated contact of one field value (not `*`; see
    /// [`Contacts::parse`]).
    pub fn parse_list(value: &'a [u8]) -> HeaderList<'a, Contact<'a>> {
        HeaderList::new("Contact", value, false, lex_contact)
    }
}

fn lex_contact<'a>(cur: &mut Cursor<'a>) -> Result<Contact<'a>, LexError> {
    const DUP: LexError = LexError("duplicate contact parameter");
    let addr = lex_name_addr(cur, false)?;
    let mut contact = Contact {
        addr,
        q: None,
        expires: None,
        instance: None,
        reg_id: None,
    };
    for p in contact.addr.params.iter() {
        let name = p.name;
        if name.eq_ignore_ascii_case("q") {
            let q = p
                .value
                .and_then(|v| v.as_token())
                .and_then(parse_qvalue)
                .ok_or(LexError("malformed q value"))?;
            if contact.q.replace(q).is_some() {
                return Err(DUP);
            }
        } else if name.eq_ignore_ascii_case("expires") {
            let v = number(p.value, "malformed expires", "expires out of range")?;
            if contact.expires.replace(v).is_some() {
                return Err(DUP);
            }
        } else if name.eq_ignore_ascii_case("+sip.instance") {
            let v = match p.value {
                Some(ParamValue::Quoted(q)) => q.raw(),
                _ => return Err(LexError("+sip.instance needs a quoted value")),
            };
            if contact.instance.replace(v).is_some() {
                return Err(DUP);
            }
        } else if name.eq_ignore_ascii_case("reg-id") {
            let v = number(p.value, "malformed reg-id", "reg-id out of range")?;
            if v == 0 || v > crate::limits::MAX_CSEQ {
                return Err(LexError("reg-id out of range"));
            }
            if contact.reg_id.replace(v).is_some() {
                return Err(DUP);
            }
        }
    }
    Ok(contact)
}

fn number(
    v: Option<ParamValue<'_>>,
    malformed: &'static str,
    range: &'static str,
) -> Result<u32, LexError> {
    let t = v.and_then(|v| v.as_token()).ok_or(LexError(malformed))?;
    match crate::lex::decimal(t) {
        Ok(n) => u32::try_from(n).map_err(|_| LexError(range)),
        Err(true) => Err(LexError(range)),
        Err(false) => Err(LexError(malformed)),
    }
}

/// The Contact header of a message: `*` or a list of addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts<'a> {
    /// `Contact: *` (REGISTER: remove every binding).
    Wildcard,
    /// The contacts in order (empty when there is no Contact header).
    List(Vec<Contact<'a>>),
}

/// Most contacts one message may carry. Collecting them allocates, so the count is
/// bounded; real REGISTERs carry a handful.
pub const MAX_CONTACTS: usize = 32;

/// The error for more than [`MAX_CONTACTS`] contacts.
pub(crate) const TOO_MANY_CONTACTS: ParseError = ParseError::BadHeader {
    header: "Contact",
    reason: "too many contacts",
};

impl<'a> Contacts<'a> {
    /// Decodes one Contact field value (at most [`MAX_CONTACTS`] contacts).
    pub fn parse(value: &'a [u8]) -> Result<Contacts<'a>, ParseError> {
        let s = text("Contact", value)?;
        let mut cur = Cursor::new(s);
        cur.skip_lws();
        if cur.eat(b'*') {
            cur.skip_lws();
            if cur.is_end() {
                return Ok(Contacts::Wildcard);
            }
        }
        let mut list = Vec::new();
        for contact in Contact::parse_list(value) {
            if list.len() >= MAX_CONTACTS {
                return Err(TOO_MANY_CONTACTS);
            }
            list.push(contact?);
        }
        Ok(Contacts::List(list))
    }

    /// True for `*`.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Contacts::Wildcard)
    }

    /// The contacts (none for `*`).
    pub fn as_slice(&self) -> &[Contact<'a>] {
        match self {
            Contacts::Wildcard => &[],
            Contacts::List(l) => l,
        }
    }

    /// Iterates over the contacts (none for `*`).
    pub fn iter(&self) -> std::slice::Iter<'_, Contact<'a>> {
        self.as_slice().iter()
    }
}
