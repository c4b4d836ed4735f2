//! Shared inputs and measured operations for the wire-parsing benchmarks.
//!
//! Owns: the two reference messages (a typical ~1.2 KB INVITE with Proxy-Authorization
//! and an SDP body, and a REGISTER) and one function per parser that parses a message
//! and reads what a proxy reads first: the top Via branch, the From and To tags, the
//! Call-ID and the CSeq. The criterion bench, the allocation counter and the callgrind
//! script all call these same functions, so every figure measures the same work.
//!
//! Refuses: anything that is not measurement. No assertions about correctness live here
//! beyond a sanity check that each parser extracted the expected fields.

use bytes::Bytes;
use sipwarden_wire::headers::{CSeq, Via};
use sipwarden_wire::{HeaderName, Limits, Message};

/// A typical INVITE as a softphone sends it through an authenticating proxy.
pub const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
Route: <sip:proxy.atlanta.example.com;lr>\r\n\
From: \"Alice Liddell\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
To: \"Bob\" <sip:bob@biloxi.example.com>\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@192.0.2.101:5060;transport=udp>\r\n\
Proxy-Authorization: Digest username=\"alice\", realm=\"atlanta.example.com\", nonce=\"bm9uY2UtMTcwMDAwMDAwMC0xMjM0NTY3ODkwYWJjZGVm\", uri=\"sip:bob@biloxi.example.com\", response=\"7f0e1e1d8a9c3b5a4d2e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4\", algorithm=SHA-256, cnonce=\"0a4f113b\", qop=auth, nc=00000001, opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK, REFER\r\n\
Supported: replaces, timer, 100rel, outbound, gruu\r\n\
User-Agent: ExamplePhone/4.2.1 (Linux)\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 323\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49170 RTP/SAVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n\
a=sendrecv\r\n";

/// A REGISTER as a phone sends it after the first challenge.
pub const REGISTER: &[u8] = b"REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.202:5060;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
From: Bob <sip:bob@biloxi.example.com>;tag=a73kszlfl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.202\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:bob@192.0.2.202:5060>;expires=3600\r\n\
Authorization: Digest username=\"bob\", realm=\"biloxi.example.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:registrar.biloxi.example.com\", response=\"245f23415f11432b3434341c022\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"0a4f113b\"\r\n\
User-Agent: ExamplePhone/4.2.1 (Linux)\r\n\
Content-Length: 0\r\n\
\r\n";

/// What a parse extracted; summed so the optimiser cannot drop the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extract {
    /// Length of the top Via branch.
    pub branch: usize,
    /// Length of the From tag.
    pub from_tag: usize,
    /// Length of the To tag (0 when absent).
    pub to_tag: usize,
    /// Length of the Call-ID.
    pub call_id: usize,
    /// The CSeq number.
    pub cseq: u32,
}

/// Parses with sipwarden (datagram rules) and reads the transaction key fields.
#[inline(never)]
pub fn sipwarden_parse(buf: Bytes, limits: &Limits) -> Option<Extract> {
    let msg = Message::parse_datagram(buf, limits).ok()?;
    let via = Via::parse_list(msg.header(HeaderName::Via)?).next()?.ok()?;
    let from_tag = msg.from_tag().ok()?;
    let to_tag = msg.to_tag().ok()?;
    let call_id = sipwarden_wire::headers::parse_call_id(msg.header(HeaderName::CallId)?).ok()?;
    let cseq = CSeq::parse(msg.header(HeaderName::CSeq)?).ok()?;
    Some(Extract {
        branch: via.branch.map_or(0, str::len),
        from_tag: from_tag.map_or(0, str::len),
        to_tag: to_tag.map_or(0, str::len),
        call_id: call_id.len(),
        cseq: cseq.seq,
    })
}

/// Parses with rsip and reads the same fields through its typed headers.
#[inline(never)]
pub fn rsip_parse(buf: &[u8]) -> Option<Extract> {
    use rsip::prelude::*;
    let msg = rsip::SipMessage::try_from(buf).ok()?;
    let via = msg.via_header().ok()?.typed().ok()?;
    let from = msg.from_header().ok()?.typed().ok()?;
    let to = msg.to_header().ok()?.typed().ok()?;
    let call_id = msg.call_id_header().ok()?;
    let cseq = msg.cseq_header().ok()?.typed().ok()?;
    Some(Extract {
        branch: via.branch().map_or(0, |b| b.to_string().len()),
        from_tag: from.tag().map_or(0, |t| t.value().len()),
        to_tag: to.tag().map_or(0, |t| t.value().len()),
        call_id: call_id.value().len(),
        cseq: cseq.seq,
    })
}

#[cfg(test)]
mod tests;
