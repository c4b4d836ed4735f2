//! Byte-level helpers shared by the reader and the redactor. No allocation.

/// SP or HTAB.
pub(crate) fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// RFC 8866 `token-char`: visible ASCII except `"(),/:;<=>?@[\]`.
pub(crate) fn is_token_char(b: u8) -> bool {
    matches!(b, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'0'..=b'9' | b'A'..=b'Z' | b'^'..=b'~')
}

/// A byte no SDP line may hold: controls other than HTAB (CR and LF included, since
/// lines are already split), and DEL.
pub(crate) fn has_control(line: &[u8]) -> bool {
    // No early exit: the fold compiles to a vector loop.
    line.iter().fold(false, |acc, &b| {
        acc | ((b < 0x20 && b != b'\t') | (b == 0x7f))
    })
}

/// A non-empty run of token characters.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token_char(b))
}

/// A non-empty run of hex digits.
pub(crate) fn is_hex(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_hexdigit)
}

/// Visible ASCII, no spaces: addresses, session ids and the like.
pub(crate) fn is_visible(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_graphic)
}

/// Bytes already checked to be ASCII as `&str`.
pub(crate) fn to_str(s: &[u8]) -> Option<&str> {
    core::str::from_utf8(s).ok()
}

/// Drops trailing SP/HTAB (some peers leave them; they never carry meaning).
pub(crate) fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Drops leading SP/HTAB.
pub(crate) fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    s
}

/// The first whitespace-separated field and what follows it.
pub(crate) fn split_field(s: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let s = trim_start(s);
    if s.is_empty() {
        return (None, s);
    }
    let end = s.iter().position(|&b| is_space(b)).unwrap_or(s.len());
    let (field, rest) = s.split_at_checked(end).unwrap_or((s, &[]));
    (Some(field), rest)
}

/// Whitespace-separated fields (runs of SP/HTAB count as one separator).
pub(crate) fn fields(s: &[u8]) -> Fields<'_> {
    Fields { rest: s }
}

/// Iterator returned by [`fields`].
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (field, rest) = split_field(self.rest);
        self.rest = rest;
        field
    }
}

/// Decimal digits only (no sign, no spaces), at most `max_digits` of them.
pub(crate) fn parse_u32(s: &[u8], max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

/// A port or count: decimal, 0..=65535.
pub(crate) fn parse_u16(s: &[u8]) -> Option<u16> {
    parse_u32(s, 5).and_then(|n| u16::try_from(n).ok())
}
