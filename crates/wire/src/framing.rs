//! Where one SIP message ends and the next begins, on every transport.
//!
//! - Datagrams (UDP): one datagram is one message, or a CRLF keep-alive
//!   ([`classify_datagram`]).
//! - Streams (TCP, TLS): [`StreamFramer`] is fed bytes as they arrive and cuts them into
//!   frames using the mandatory Content-Length, recognising the CRLF keep-alive pings and
//!   pongs of RFC 5626 §3.5.1 between messages.
//! - WebSocket (RFC 7118): one WebSocket message is one SIP message
//!   ([`parse_ws_message`]).
//!
//! Nothing here performs I/O or keeps time: the transport reads, writes and applies its
//! own deadlines using [`StreamFramer::buffered`] and [`StreamFramer::has_partial`].

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ParseError;
use crate::limits::Limits;
use crate::message::{parse_decimal, Message};
use crate::name::HeaderName;

/// A keep-alive ping on a stream: a double CRLF (RFC 5626 §3.5.1).
pub const PING: &[u8] = b"\r\n\r\n";
/// The answer to a [`PING`]: a single CRLF (RFC 5626 §3.5.1).
pub const PONG: &[u8] = b"\r\n";

/// Content-Length digits accepted; the same bound the message index applies.
const CONTENT_LENGTH_DIGITS: usize = 10;

/// What a UDP datagram holds.
// Boxing the message would cost a heap allocation per datagram on the hot path; the
// value is moved once, straight to the caller.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Datagram {
    /// A lone CRLF or CRLFCRLF keep-alive. It needs no answer on UDP (RFC 5626 answers
    /// keep-alives over UDP with STUN, which this crate does not speak).
    KeepAlive,
    /// A SIP message, parsed per RFC 3261 §18.3.
    Message(Message),
}

/// Classifies one UDP payload: a keep-alive, or a message parsed with
/// [`Message::parse_datagram`] (a Content-Length larger than the datagram is refused,
/// bytes past it are discarded, a missing one means the body runs to the end).
pub fn classify_datagram(buf: Bytes, limits: &Limits) -> Result<Datagram, ParseError> {
    if buf.as_ref() == PONG || buf.as_ref() == PING {
        return Ok(Datagram::KeepAlive);
    }
    Message::parse_datagram(buf, limits).map(Datagram::Message)
}

/// Parses the payload of one WebSocket text or binary message as one SIP message
/// (RFC 7118 §5). Content-Length may be absent (the WebSocket message delimits the SIP
/// message); when present it must match the body exactly, since a WebSocket message
/// never carries more than one SIP message.
///
/// Checking that a text frame is UTF-8 is the WebSocket layer's job.
pub fn parse_ws_message(payload: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    let len = payload.len();
    let msg = Message::parse_datagram(payload, limits)?;
    if msg.content_length().is_some() && msg.as_bytes().len() != len {
        // Bytes past Content-Length: a second message or garbage smuggled along.
        return Err(ParseError::BadContentLength);
    }
    Ok(msg)
}

/// One step of stream framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// A complete message: its head and exactly Content-Length body bytes. Parse it with
    /// [`Message::parse_frame`].
    Message(Bytes),
    /// A CRLFCRLF keep-alive between messages; answer it with a [`PONG`].
    Ping,
    /// A single CRLF between messages: the answer to a ping we sent.
    Pong,
    /// Nothing complete is buffered; push more bytes.
    NeedMore,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Between messages: keep-alives or the first byte of a message may come next.
    Boundary,
    /// Inside a message head; the first `scanned` bytes hold no blank line.
    Head { scanned: usize },
    /// The head is complete; the frame is `frame_len` bytes long.
    Body { frame_len: usize },
    /// The stream is unusable; the transport answers (if it can) and closes.
    Failed(ParseError),
}

/// A sans-IO framer for stream transports (TCP, TLS).
///
/// Feed it with [`push`](StreamFramer::push) and drain it with
/// [`next_event`](StreamFramer::next_event) until it returns [`StreamEvent::NeedMore`].
/// Content-Length is mandatory on streams (RFC 3261 §18.3). The blank line ending a head
/// is searched incrementally, so a slow sender costs linear work overall. Any error is
/// final: every later call returns it again, and the transport should answer it (see
/// [`ParseError::status`] and [`StreamFramer::refused_head`]) and close the connection.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: Limits,
    state: State,
    pong_expected: bool,
    refused_head: Option<Bytes>,
}

impl StreamFramer {
    /// A framer enforcing `limits` (head size and message size).
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            buf: BytesMut::new(),
            limits,
            state: State::Boundary,
            pong_expected: false,
            refused_head: None,
        }
    }

    /// Appends received bytes. Bytes pushed after an error are discarded.
    pub fn push(&mut self, data: &[u8]) {
        if !matches!(self.state, State::Failed(_)) {
            self.buf.extend_from_slice(data);
        }
    }

    /// Tells the framer that we sent a ping: a lone CRLF at the end of the buffer is then
    /// reported as [`StreamEvent::Pong`] at once instead of waiting to see whether a
    /// second CRLF (a ping) follows.
    pub fn expect_pong(&mut self) {
        self.pong_expected = true;
    }

    /// Bytes buffered and not yet returned as an event.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True when bytes of an unfinished message (or keep-alive) are buffered. After
    /// [`next_event`](StreamFramer::next_event) returned [`StreamEvent::NeedMore`], this
    /// says whether the peer is in the middle of sending something, which is when a
    /// slow-sender deadline applies.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() && !matches!(self.state, State::Failed(_))
    }

    /// The complete head of the message that made the framer fail, when the failure came
    /// after the head was received (missing or bad Content-Length, message too large).
    /// Enough to address an error response with [`Message::index_for_error_reply`].
    pub fn refused_head(&self) -> Option<&Bytes> {
        self.refused_head.as_ref()
    }

    /// The next event from the buffered bytes.
    pub fn next_event(&mut self) -> Result<StreamEvent, ParseError> {
        loop {
            match self.state {
                State::Failed(err) => return Err(err),
                State::Boundary => match self.keep_alive() {
                    Some(event) => return Ok(event),
                    None => self.state = State::Head { scanned: 0 },
                },
                State::Head { scanned } => match self.find_head_end(scanned) {
                    Ok(Some(head_len)) => match self.frame_len(head_len) {
                        Ok(frame_len) => self.state = State::Body { frame_len },
                        Err(err) => {
                            let head = self.buf.get(..head_len).unwrap_or_default();
                            self.refused_head = Some(Bytes::copy_from_slice(head));
                            return Err(self.fail(err));
                        }
                    },
                    Ok(None) => return Ok(StreamEvent::NeedMore),
                    Err(err) => return Err(self.fail(err)),
                },
                State::Body { frame_len } => {
                    if self.buf.len() < frame_len {
                        return Ok(StreamEvent::NeedMore);
                    }
                    self.state = State::Boundary;
                    return Ok(StreamEvent::Message(self.buf.split_to(frame_len).freeze()));
                }
            }
        }
    }

    /// Between messages: recognises a ping or pong at the front of the buffer. `None`
    /// means a message starts here.
    fn keep_alive(&mut self) -> Option<StreamEvent> {
        let b = |i: usize| self.buf.get(i).copied();
        match (b(0), b(1), b(2), b(3)) {
            (None, ..)
            | (Some(b'\r'), None, ..)
            | (Some(b'\r'), Some(b'\n'), Some(b'\r'), None) => Some(StreamEvent::NeedMore),
            (Some(b'\r'), Some(b'\n'), None, _) => {
                if self.pong_expected {
                    Some(self.consume_keep_alive(2, StreamEvent::Pong))
                } else {
                    // Half a ping or a whole pong: only the next byte tells.
                    Some(StreamEvent::NeedMore)
                }
            }
            (Some(b'\r'), Some(b'\n'), Some(b'\r'), Some(b'\n')) => {
                Some(self.consume_keep_alive(4, StreamEvent::Ping))
            }
            (Some(b'\r'), Some(b'\n'), Some(_), _) => {
                Some(self.consume_keep_alive(2, StreamEvent::Pong))
            }
            _ => None,
        }
    }

    fn consume_keep_alive(&mut self, len: usize, event: StreamEvent) -> StreamEvent {
        self.buf.advance(len);
        if event == StreamEvent::Pong {
            self.pong_expected = false;
        }
        event
    }

    /// Looks for the blank line ending the head, resuming where the last search stopped.
    /// Returns the head's length including the blank line.
    fn find_head_end(&mut self, scanned: usize) -> Result<Option<usize>, ParseError> {
        let limit = self.buf.len().min(self.limits.max_head_size);
        // Step back three bytes: the CRLFCRLF may straddle the previous search's end.
        let from = scanned.saturating_sub(PING.len() - 1);
        let window = self.buf.get(from..limit).unwrap_or_default();
        if let Some(i) = memchr::memmem::find(window, PING) {
            return Ok(Some(from + i + PING.len()));
        }
        if self.buf.len() >= self.limits.max_head_size {
            return Err(ParseError::MessageTooLarge);
        }
        self.state = State::Head {
            scanned: self.buf.len(),
        };
        Ok(None)
    }

    /// The frame length declared by a complete head of `head_len` bytes.
    fn frame_len(&self, head_len: usize) -> Result<usize, ParseError> {
        let head = self.buf.get(..head_len).unwrap_or_default();
        let body_len = content_length(head)?.ok_or(ParseError::MissingContentLength)?;
        let frame_len = head_len.saturating_add(body_len);
        if frame_len > self.limits.max_message_size {
            return Err(ParseError::MessageTooLarge);
        }
        Ok(frame_len)
    }

    fn fail(&mut self, err: ParseError) -> ParseError {
        self.state = State::Failed(err);
        // Nothing buffered will ever be used; give the memory back now.
        self.buf = BytesMut::new();
        err
    }
}

/// The Content-Length of a complete head (start line to blank line), read with the same
/// rules as the message index so a frame and its parse always agree: fields are split at
/// line ends, continuation lines (starting with SP or HT) extend a field, the name may be
/// compact and followed by whitespace, and the value must be plain decimal digits once
/// surrounding whitespace is dropped. Malformed lines are left for the parser to refuse.
fn content_length(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    // The value of the Content-Length field being read: (start, end) in `head`.
    let mut current: Option<(usize, usize)> = None;
    let mut finish = |current: &mut Option<(usize, usize)>| -> Result<(), ParseError> {
        if let Some((start, end)) = current.take() {
            let value = trim_lws(head.get(start..end).unwrap_or_default());
            let n =
                parse_decimal(value, CONTENT_LENGTH_DIGITS).ok_or(ParseError::BadContentLength)?;
            if found.is_some() {
                return Err(ParseError::ConflictingContentLength);
            }
            found = Some(usize::try_from(n).map_err(|_| ParseError::BadContentLength)?);
        }
        Ok(())
    };
    let mut pos = match memchr::memchr(b'\n', head) {
        Some(i) => i + 1, // Skip the start line.
        None => return Ok(None),
    };
    while let Some(i) = head.get(pos..).and_then(|rest| memchr::memchr(b'\n', rest)) {
        let line_end = pos + i + 1;
        let line = head.get(pos..line_end).unwrap_or_default();
        match line.first() {
            Some(b' ' | b'\t') => {
                if let Some((_, end)) = current.as_mut() {
                    *end = line_end;
                }
            }
            _ => {
                finish(&mut current)?;
                if let Some(colon) = memchr::memchr(b':', line) {
                    let name = trim_lws(line.get(..colon).unwrap_or_default());
                    if HeaderName::from_bytes(name) == HeaderName::ContentLength {
                        current = Some((pos + colon + 1, line_end));
                    }
                }
            }
        }
        pos = line_end;
    }
    finish(&mut current)?;
    Ok(found)
}

/// Drops leading and trailing SP, HT, CR and LF (the bytes of LWS and line ends).
fn trim_lws(bytes: &[u8]) -> &[u8] {
    let is_lws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = bytes.iter().position(|b| !is_lws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_lws(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}
