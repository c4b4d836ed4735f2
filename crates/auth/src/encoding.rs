//! Small fixed-alphabet encoders: lowercase hex, base64url without padding, quoted-string.

/// Maps 0..=15 to `0-9a-f` without a data-dependent branch (HA1 values pass through here).
pub(crate) fn hex_nibble(n: u8) -> u8 {
    let n = n & 0x0f;
    // For n > 9, 9 - n wraps to >= 0xf7, whose top bit adds the 39 that skips from ':' to 'a'.
    b'0' + n + ((9u8.wrapping_sub(n) >> 7) * 39)
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_char(v: u8) -> char {
    char::from(B64URL.get(usize::from(v & 0x3f)).copied().unwrap_or(b'A'))
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Base64url (RFC 4648 §5) without padding.
pub(crate) fn base64url_encode(data: &[u8], out: &mut String) {
    for chunk in data.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0);
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        out.push(b64_char(b0 >> 2));
        out.push(b64_char((b0 << 4) | (b1 >> 4)));
        if chunk.len() > 1 {
            out.push(b64_char((b1 << 2) | (b2 >> 6)));
        }
        if chunk.len() > 2 {
            out.push(b64_char(b2));
        }
    }
}

/// Decodes unpadded base64url into exactly `N` bytes; `None` on any other length, a
/// character outside the alphabet, or non-zero trailing bits (so each value has one
/// spelling).
pub(crate) fn base64url_decode<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != (N * 4).div_ceil(3) {
        return None;
    }
    let mut out = [0u8; N];
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut written = 0usize;
    for &c in text {
        acc = (acc << 6) | u32::from(b64_value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let byte = u8::try_from((acc >> bits) & 0xff).ok()?;
            *out.get_mut(written)? = byte;
            written += 1;
        }
        acc &= (1 << bits) - 1;
    }
    (written == N && acc == 0).then_some(out)
}

/// Appends `value` as a quoted-string. `"` and `\` are escaped; control characters cannot
/// appear in a quoted-string and are dropped.
pub(crate) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

/// True if `value` holds a character that cannot be carried in a quoted-string.
pub(crate) fn has_control(value: &str) -> bool {
    value.chars().any(|c| c.is_control() && c != '\t')
}
