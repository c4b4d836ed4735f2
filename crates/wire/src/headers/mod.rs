//! Typed, zero-copy views of header values, decoded on demand from the raw value bytes
//! the message index hands out ([`crate::Message::header`] and friends).
//!
//! Every decoder is strict: unbalanced quotes or brackets, empty required parts and
//! anything left over after a value are refused with a [`ParseError`] naming the header.
//! Decoders borrow the value; they allocate only to unescape text on request (and
//! [`Contacts`] keeps more than two contacts on the heap).
//!
//! Headers that may hold a comma-separated list decode to a [`HeaderList`] iterator;
//! an error ends the iteration.

mod auth;
mod content_type;
mod identity;
mod name_addr;
mod scalar;
mod security;
mod tokens;
mod via;

pub use auth::{AuthInfo, AuthParams, Challenge, Credentials, MAX_AUTH_PARAMS};
pub use content_type::MediaType;
pub use identity::Identity;
pub(crate) use name_addr::TOO_MANY_CONTACTS;
pub use name_addr::{tag_of, Contact, Contacts, DisplayName, NameAddr, MAX_CONTACTS};
pub use scalar::{parse_call_id, parse_content_length, parse_expires, parse_max_forwards, CSeq};
pub use security::SecurityMechanism;
pub use tokens::token_list;
pub use via::{Rport, Via};

use crate::error::ParseError;
use crate::lex::{Cursor, LexError};

/// A header value as text, or a malformed-header error naming `header`.
pub(crate) fn text<'a>(header: &'static str, value: &'a [u8]) -> Result<&'a str, ParseError> {
    crate::lex::utf8(value).map_err(|e| e.in_header(header))
}

/// Decodes a single-valued header: optional whitespace, one element, nothing after it.
/// Inlined so the decoded value is built where the caller wants it, not moved.
#[inline(always)]
pub(crate) fn single<'a, T>(
    header: &'static str,
    value: &'a [u8],
    lex: impl FnOnce(&mut Cursor<'a>) -> Result<T, LexError>,
) -> Result<T, ParseError> {
    let s = text(header, value)?;
    let mut cur = Cursor::new(s);
    cur.skip_lws();
    if cur.is_end() {
        return Err(ParseError::BadHeader {
            header,
            reason: "empty value",
        });
    }
    let v = lex(&mut cur).map_err(|e| e.in_header(header))?;
    cur.expect_end().map_err(|e| e.in_header(header))?;
    Ok(v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListState {
    Fresh,
    More,
    Done,
}

/// The elements of one comma-separated header value, each decoded as it is reached.
/// After an error (including garbage after an element) the iterator ends.
#[derive(Debug, Clone)]
pub struct HeaderList<'a, T> {
    cur: Cursor<'a>,
    header: &'static str,
    state: ListState,
    allow_empty: bool,
    not_text: bool,
    lex: fn(&mut Cursor<'a>) -> Result<T, LexError>,
}

impl<'a, T> HeaderList<'a, T> {
    /// A list over `value`; an empty value is an error unless `allow_empty`.
    pub(crate) fn new(
        header: &'static str,
        value: &'a [u8],
        allow_empty: bool,
        lex: fn(&mut Cursor<'a>) -> Result<T, LexError>,
    ) -> HeaderList<'a, T> {
        let (s, not_text) = match crate::lex::utf8(value) {
            Ok(s) => (s, false),
            Err(_) => ("", true),
        };
        HeaderList {
            cur: Cursor::new(s),
            header,
            state: ListState::Fresh,
            allow_empty,
            not_text,
            lex,
        }
    }

    fn fail(&mut self, e: LexError) -> Option<Result<T, ParseError>> {
        self.state = ListState::Done;
        Some(Err(e.in_header(self.header)))
    }
}

impl<'a, T> Iterator for HeaderList<'a, T> {
    type Item = Result<T, ParseError>;

    fn next(&mut self) -> Option<Result<T, ParseError>> {
        match self.state {
            ListState::Done => return None,
            ListState::Fresh => {
                if self.not_text {
                    return self.fail(LexError("not valid UTF-8"));
                }
                self.cur.skip_lws();
                if self.cur.is_end() {
                    self.state = ListState::Done;
                    if self.allow_empty {
                        return None;
                    }
                    return self.fail(LexError("empty value"));
                }
            }
            ListState::More => {}
        }
        let item = match (self.lex)(&mut self.cur) {
            Ok(item) => item,
            Err(e) => return self.fail(e),
        };
        match self.cur.list_separator() {
            Ok(true) => self.state = ListState::More,
            Ok(false) => self.state = ListState::Done,
            Err(e) => return self.fail(e),
        }
        Some(Ok(item))
    }
}

impl<T> std::iter::FusedIterator for HeaderList<'_, T> {}
