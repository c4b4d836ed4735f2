//! Key redaction for anything that leaves the process as text: logs, traces, events, API.
//!
//! Works on any bytes — an SDP body, a multipart body or a whole SIP message — without
//! parsing them, so it also cleans input the reader refused. It errs on the side of hiding:
//! `a=crypto:` is matched case-insensitively anywhere on a line, and a malformed crypto line
//! loses everything after the colon. Only key material changes; every other byte is kept.

use std::borrow::Cow;

use memchr::memchr;

use crate::lex::is_space;

/// What a key is replaced with. Not base64, so it can never be mistaken for a key.
pub const REDACTED: &str = "[redacted]";

/// Whether `input` holds an `a=crypto:` attribute (SDES keys), matched case-insensitively
/// anywhere. Cheap: one `memchr` pass over `=` signs.
pub fn contains_sdes_keys(input: &[u8]) -> bool {
    let mut from = 0;
    while let Some(eq) = next_eq(input, from) {
        from = eq + 1;
        if attribute_at(input, eq, b"crypto:") {
            return true;
        }
    }
    false
}

/// A copy of `input` with every key replaced by [`REDACTED`]; borrowed when there is
/// nothing to hide (the common case costs no allocation).
///
/// Hidden: in `a=crypto:` lines, the key-info of every key parameter (after
/// `inline:` up to the next `|`, `;` or space — lifetime and MKI stay), including one in a
/// `FEC_KEY=` session parameter; in `a=key-mgmt:` lines, the key-management data; in `k=`
/// lines, everything after the method.
pub fn redact_keys(input: &[u8]) -> Cow<'_, [u8]> {
    let mut ranges = Ranges::new(input);
    let mut from = 0;
    while let Some(eq) = next_eq(input, from) {
        from = eq + 1;
        let end = line_end(input, eq);
        if attribute_at(input, eq, b"crypto:") {
            crypto_ranges(input, eq + 1 + b"crypto:".len(), end, &mut ranges);
            from = end;
        } else if attribute_at(input, eq, b"key-mgmt:") {
            key_mgmt_range(input, eq + 1 + b"key-mgmt:".len(), end, &mut ranges);
            from = end;
        } else if key_field_at(input, eq) {
            if let Some(colon) = input.get(eq..end).and_then(|l| memchr(b':', l)) {
                ranges.hide(eq + colon + 1, end);
            }
            from = end;
        }
    }
    ranges.finish()
}

/// [`redact_keys`] for text. Hidden ranges start and end at ASCII delimiters, so valid
/// UTF-8 stays valid.
pub fn redact_str(input: &str) -> Cow<'_, str> {
    match redact_keys(input.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(input),
        Cow::Owned(bytes) => Cow::Owned(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

fn next_eq(input: &[u8], from: usize) -> Option<usize> {
    input
        .get(from..)
        .and_then(|rest| memchr(b'=', rest))
        .map(|i| from + i)
}

/// End of the line holding `pos`: the next CR or LF, or the end of input.
fn line_end(input: &[u8], pos: usize) -> usize {
    input
        .get(pos..)
        .and_then(|rest| memchr::memchr2(b'\r', b'\n', rest))
        .map_or(input.len(), |i| pos + i)
}

/// `a=<name>` with the `=` at `eq`, case-insensitive.
fn attribute_at(input: &[u8], eq: usize, name: &[u8]) -> bool {
    let a = eq.checked_sub(1).and_then(|i| input.get(i));
    let rest = input.get(eq + 1..eq + 1 + name.len());
    a.is_some_and(|a| a.eq_ignore_ascii_case(&b'a'))
        && rest.is_some_and(|r| r.eq_ignore_ascii_case(name))
}

/// `k=` at the start of a line, with the `=` at `eq`.
fn key_field_at(input: &[u8], eq: usize) -> bool {
    let Some(k) = eq.checked_sub(1) else {
        return false;
    };
    let at_line_start = k
        .checked_sub(1)
        .and_then(|i| input.get(i))
        .is_none_or(|&b| b == b'\n' || b == b'\r');
    input.get(k).is_some_and(|b| b.eq_ignore_ascii_case(&b'k')) && at_line_start
}

/// Byte range `[start, end)` of each whitespace-separated field in `input[start..end]`.
fn field_ranges(
    input: &[u8],
    start: usize,
    end: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = start;
    core::iter::from_fn(move || {
        while pos < end && input.get(pos).is_some_and(|&b| is_space(b)) {
            pos += 1;
        }
        if pos >= end {
            return None;
        }
        let s = pos;
        while pos < end && input.get(pos).is_some_and(|&b| !is_space(b)) {
            pos += 1;
        }
        Some((s, pos))
    })
}

/// `a=crypto:<tag> <suite> <key-params> [<session-params>]`, value spanning `start..end`.
fn crypto_ranges(input: &[u8], start: usize, end: usize, ranges: &mut Ranges<'_>) {
    let mut fields = field_ranges(input, start, end);
    let (_tag, _suite) = (fields.next(), fields.next());
    let mut any = false;
    for (s, e) in fields {
        any = true;
        // Key parameters are `method:info[;method:info]`; a FEC_KEY session parameter
        // holds the same form after `FEC_KEY=`. Hide each info up to its `|`.
        let mut part_start = s;
        while part_start < e {
            let part_end = input
                .get(part_start..e)
                .and_then(|p| memchr(b';', p))
                .map_or(e, |i| part_start + i);
            if let Some(colon) = input
                .get(part_start..part_end)
                .and_then(|p| memchr(b':', p))
            {
                let key_start = part_start + colon + 1;
                let key_end = input
                    .get(key_start..part_end)
                    .and_then(|k| memchr(b'|', k))
                    .map_or(part_end, |i| key_start + i);
                ranges.hide(key_start, key_end);
            }
            part_start = part_end + 1;
        }
    }
    if !any {
        // Too few fields to know where the key is: hide the whole value.
        ranges.hide(start, end);
    }
}

/// `a=key-mgmt:<prtcl-id> <keymgmt-data>`: hide the data.
fn key_mgmt_range(input: &[u8], start: usize, end: usize, ranges: &mut Ranges<'_>) {
    let mut fields = field_ranges(input, start, end);
    let _protocol = fields.next();
    if let Some((s, _)) = fields.next() {
        ranges.hide(s, end);
    }
}

/// Builds the output lazily: nothing is copied until the first range to hide.
struct Ranges<'a> {
    input: &'a [u8],
    out: Option<Vec<u8>>,
    copied: usize,
}

impl<'a> Ranges<'a> {
    fn new(input: &'a [u8]) -> Self {
        Ranges {
            input,
            out: None,
            copied: 0,
        }
    }

    /// Hides `[start, end)`; ranges arrive in order and never overlap.
    fn hide(&mut self, start: usize, end: usize) {
        if start >= end || start < self.copied {
            return;
        }
        let input = self.input;
        let out = self
            .out
            .get_or_insert_with(|| Vec::with_capacity(input.len() + REDACTED.len()));
        out.extend_from_slice(input.get(self.copied..start).unwrap_or_default());
        out.extend_from_slice(REDACTED.as_bytes());
        self.copied = end;
    }

    fn finish(self) -> Cow<'a, [u8]> {
        match self.out {
            None => Cow::Borrowed(self.input),
            Some(mut out) => {
                out.extend_from_slice(self.input.get(self.copied..).unwrap_or_default());
                Cow::Owned(out)
            }
        }
    }
}
