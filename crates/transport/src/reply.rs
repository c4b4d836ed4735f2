//! Responses the transport (and the basic responder) build itself: error replies to
//! malformed requests and simple final responses, per RFC 3261 §8.2.6.
//!
//! Every header copied from the request is copied byte-exact; nothing from the request
//! reaches the status line.

use std::hash::{BuildHasher, Hasher};

use bytes::{BufMut, Bytes, BytesMut};
use sipwarden_wire::{HeaderName, Message};

/// Headers copied from a request into every response (RFC 3261 §8.2.6.2), in order.
const COPIED: [HeaderName; 5] = [
    HeaderName::Via,
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
];

/// Makes To tags. A tag is a keyed hash of the request's transaction identity, so a
/// retransmitted request answered statelessly gets the same tag, and tags cannot be
/// predicted without the per-process key.
#[derive(Debug, Clone)]
pub struct TagMaker {
    key: std::collections::hash_map::RandomState,
}

impl Default for TagMaker {
    fn default() -> Self {
        TagMaker::new()
    }
}

impl TagMaker {
    /// A tag maker with a fresh random key.
    pub fn new() -> TagMaker {
        TagMaker {
            key: std::collections::hash_map::RandomState::new(),
        }
    }

    /// A tag derived from arbitrary bytes (for requests too broken to index).
    pub fn tag_for_bytes(&self, data: &[u8]) -> String {
        let mut h = self.key.build_hasher();
        h.write(data);
        format!("{:016x}", h.finish())
    }

    /// The tag for this request: 16 hex digits derived from its Call-ID, From and top
    /// Via field. CSeq is left out so a CANCEL gets the tag of the INVITE it cancels
    /// (RFC 3261 §9.2).
    pub fn tag_for(&self, request: &Message) -> String {
        let mut h = self.key.build_hasher();
        for name in [HeaderName::CallId, HeaderName::From, HeaderName::Via] {
            h.write(request.header(name).unwrap_or_default());
            h.write_u8(0);
        }
        format!("{:016x}", h.finish())
    }
}

/// True when a From/To value carries a `tag` parameter.
pub fn has_tag(value: &[u8]) -> bool {
    // Parameters follow the closing '>' of a name-addr, or the first ';' of an addr-spec
    // (where they belong to the header, RFC 3261 §20.10).
    let params = match value.iter().rposition(|&b| b == b'>') {
        Some(i) => value.get(i + 1..).unwrap_or_default(),
        None => value,
    };
    params.split(|&b| b == b';').skip(1).any(|p| {
        let name = p.split(|&b| b == b'=').next().unwrap_or_default();
        trim(name).eq_ignore_ascii_case(b"tag")
    })
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Builds a response to `request`: status line, the copied headers (adding `to_tag` to
/// To when it has none and the code is not 100), `extra` headers, and an empty body.
///
/// `reason` must be a valid reason phrase (the callers pass constants).
pub fn response(
    request: &Message,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
    extra: &[(&str, &str)],
) -> Bytes {
    let mut out = BytesMut::with_capacity(request.head_end().min(2048) + 128);
    out.put_slice(b"SIP/2.0 ");
    out.put_slice(code.to_string().as_bytes());
    out.put_u8(b' ');
    out.put_slice(reason.as_bytes());
    out.put_slice(b"\r\n");
    for name in COPIED {
        for value in request.header_values(name) {
            out.put_slice(name.as_str().as_bytes());
            out.put_slice(b": ");
            out.put_slice(value);
            if name == HeaderName::To && code != 100 && !has_tag(value) {
                if let Some(tag) = to_tag {
                    out.put_slice(b";tag=");
                    out.put_slice(tag.as_bytes());
                }
            }
            out.put_slice(b"\r\n");
        }
    }
    for (name, value) in extra {
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"Content-Length: 0\r\n\r\n");
    out.freeze()
}

/// `2 * len` random hex digits from the system's secure generator, for branches,
/// tags and Call-IDs of requests we originate. Falls back to the keyed hash of a
/// counter if the generator fails.
pub fn random_hex(len: usize) -> String {
    let mut out = String::with_capacity(len * 2);
    let mut chunk = [0u8; 16];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        let part = chunk.get_mut(..n).unwrap_or_default();
        random_bytes(part);
        for b in part.iter() {
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
        left -= n;
    }
    out
}

fn hex_digit(n: u8) -> char {
    char::from(if n < 10 {
        b'0' + n
    } else {
        b'a' + (n & 0x0f) - 10
    })
}

/// Fills `out` with bytes from the system CSPRNG, drawn 512 at a time into a
/// per-thread pool: tags and nonce salts are needed on every request, and one generator
/// call per request showed in profiles. Without a CSPRNG, falls back to a keyed hash of
/// a counter (unique, not secret).
pub fn random_bytes(out: &mut [u8]) {
    use std::cell::RefCell;
    const POOL: usize = 512;
    thread_local! {
        static POOL_BYTES: RefCell<(usize, [u8; POOL])> = const { RefCell::new((POOL, [0; POOL])) };
    }
    let served = POOL_BYTES.with(|pool| {
        let Ok(mut pool) = pool.try_borrow_mut() else {
            return false;
        };
        let (used, bytes) = &mut *pool;
        if out.len() > POOL {
            return false;
        }
        if *used + out.len() > POOL {
            if aws_lc_rs::rand::fill(bytes).is_err() {
                return false;
            }
            *used = 0;
        }
        match bytes.get(*used..*used + out.len()) {
            Some(src) => {
                out.copy_from_slice(src);
                // Never hand the same bytes out twice.
                if let Some(spent) = bytes.get_mut(*used..*used + out.len()) {
                    spent.fill(0);
                }
                *used += out.len();
                true
            }
            None => false,
        }
    });
    if served || aws_lc_rs::rand::fill(out).is_ok() {
        return;
    }
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let key = std::collections::hash_map::RandomState::new();
    for chunk in out.chunks_mut(8) {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let v = key.hash_one(n).to_le_bytes();
        for (dst, src) in chunk.iter_mut().zip(v) {
            *dst = src;
        }
    }
}
