//! Free text from the network, made safe to log.

use core::fmt;
use std::fmt::Write as _;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// Longest [`Text`] in characters, including the `…` that marks a cut.
pub const MAX_TEXT_CHARS: usize = 256;

/// Input beyond this many bytes is never looked at: the output is capped far below it, and
/// it bounds the redaction pass for a 10 MB header.
const MAX_INPUT_BYTES: usize = MAX_TEXT_CHARS * 16;

/// Nesting beyond which a JSON value supplied by the caller is cut.
const MAX_JSON_DEPTH: usize = 16;

/// Elements or members kept per JSON array or object supplied by the caller.
const MAX_JSON_ITEMS: usize = 128;

/// Field names that never leave the process, whatever the caller put in a JSON value.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "ha1",
    "key",
    "secret",
    "nonce_key",
    "crypto",
    "master_key",
    "sdes_key",
    "token",
];

/// A string that is safe to write into the log and show in a terminal.
///
/// Built from anything the network supplied (user names, URIs, User-Agent, Call-ID,
/// reasons), it has had SDES keys replaced (via `sipwarden_sdp::redact_str`), every control
/// character (C0, DEL, C1: CR, LF, ESC ...) and every bidirectional or line-separator
/// formatting character written as a visible escape (`\x1b`, `\u{202e}`), and is cut to
/// [`MAX_TEXT_CHARS`] characters with a trailing `…`. JSON escaping happens on top of this
/// when the event is serialised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(String);

impl Text {
    /// Sanitises `raw`.
    pub fn new(raw: &str) -> Self {
        let head = prefix_on_char_boundary(raw, MAX_INPUT_BYTES);
        let redacted = sipwarden_sdp::redact_str(head);
        let mut out = String::with_capacity(redacted.len().min(MAX_TEXT_CHARS * 4));
        let mut chars = 0usize;
        let mut cut = head.len() < raw.len();
        let mut piece = String::new();
        for c in redacted.chars() {
            piece.clear();
            escape_into(c, &mut piece);
            let n = piece.chars().count();
            // Keep one character of room for the cut marker.
            if chars + n > MAX_TEXT_CHARS - 1 {
                cut = true;
                break;
            }
            out.push_str(&piece);
            chars += n;
        }
        if cut {
            out.push('…');
        }
        Self(out)
    }

    /// The sanitised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(raw: &str) -> Self {
        Self::new(raw)
    }
}

impl From<String> for Text {
    fn from(raw: String) -> Self {
        Self::new(&raw)
    }
}

impl From<&String> for Text {
    fn from(raw: &String) -> Self {
        Self::new(raw)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

fn prefix_on_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Characters that reorder or break what a terminal or a log viewer shows.
fn is_format_hazard(c: char) -> bool {
    matches!(
        c,
        '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

fn escape_into(c: char, out: &mut String) {
    if c.is_control() {
        // Every Unicode control character is below U+0100.
        let _ = write!(out, "\\x{:02x}", u32::from(c));
    } else if is_format_hazard(c) {
        let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
    } else {
        out.push(c);
    }
}

/// A copy of a caller-supplied JSON value (a call security assessment) made safe to log:
/// every string and member name sanitised as [`Text`], members whose name is a secret's
/// (`password`, `ha1`, `key`, `secret`, `nonce_key`, `crypto` ...) dropped, nesting and
/// sizes bounded.
pub fn sanitize_json(value: &Value) -> Value {
    sanitize_at(value, 0)
}

fn sanitize_at(value: &Value, depth: usize) -> Value {
    if depth >= MAX_JSON_DEPTH {
        return Value::String("[too deep]".to_owned());
    }
    match value {
        Value::String(s) => Value::String(Text::new(s).0),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .take(MAX_JSON_ITEMS)
                .map(|v| sanitize_at(v, depth + 1))
                .collect(),
        ),
        Value::Object(members) => {
            let mut out = Map::new();
            for (name, v) in members.iter().take(MAX_JSON_ITEMS) {
                if is_secret_name(name) {
                    continue;
                }
                out.insert(Text::new(name).0, sanitize_at(v, depth + 1));
            }
            Value::Object(out)
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    }
}

fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name))
}
