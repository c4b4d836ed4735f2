//! The transaction user the server runs until the registrar and proxy exist: it answers
//! OPTIONS with 200 and every other request with the status RFC 3261 §8.2.1 asks for.
//!
//! The decision is a pure function ([`answer`]); [`BasicTu`] only adds the To tag and
//! sends.

use sipwarden_wire::{Message, Method};

use sipwarden_wire::build::{response_to, BuildError};
use sipwarden_wire::ParseError;

use crate::reply::{self, random_hex};
use crate::tu::{IncomingRequest, Responder, TransactionUser};

/// Methods this responder serves (the `Allow` header).
pub const ALLOW: &str = "OPTIONS";
/// Option tags supported (the `Supported` header); none yet.
pub const SUPPORTED: &[&str] = &[];
/// Body types accepted (the `Accept` header of an OPTIONS answer).
pub const ACCEPT: &str = "application/sdp";

/// Settings of the basic responder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BasicConfig {
    /// Value of the `Server` header; `None` sends no `Server` header, which tells a
    /// scanner less.
    pub server_header: Option<String>,
    /// The `Allow` list when more than OPTIONS is served (the registrar and proxy add
    /// theirs); `None` means [`ALLOW`].
    pub allow: Option<String>,
}

/// What to answer a request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Send nothing (ACK).
    Nothing,
    /// A final response with these extra headers.
    Final {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: &'static str,
        /// Headers besides the copied ones and Content-Length.
        headers: Vec<(&'static str, String)>,
    },
}

/// The answer to `request` (RFC 3261 §8.2.1–§8.2.2, §11.2) with [`ALLOW`].
pub fn answer(request: &Message) -> Answer {
    answer_allowing(request, ALLOW)
}

/// The answer to `request` when `allow` lists the methods served.
pub fn answer_allowing(request: &Message, allow: &str) -> Answer {
    let method = request.method().unwrap_or(Method::Extension);
    if method == Method::Ack {
        return Answer::Nothing;
    }
    if method == Method::Cancel {
        // CANCELs are matched by the transaction layer; one that reaches us matched
        // nothing.
        return final_answer(481, "Call/Transaction Does Not Exist", Vec::new());
    }
    if method == Method::Extension {
        return final_answer(501, "Not Implemented", vec![("Allow", allow.to_owned())]);
    }
    // §8.2.2.3: an extension we do not support is refused with 420 and named.
    match request.unsupported_option_tags(SUPPORTED) {
        Ok(tags) if !tags.is_empty() => {
            return final_answer(420, "Bad Extension", vec![("Unsupported", tags.join(", "))]);
        }
        Ok(_) => {}
        Err(err) => {
            let (code, reason) = err.status();
            return final_answer(code, reason, Vec::new());
        }
    }
    if method != Method::Options {
        return final_answer(405, "Method Not Allowed", vec![("Allow", allow.to_owned())]);
    }
    final_answer(
        200,
        "OK",
        vec![
            ("Allow", allow.to_owned()),
            ("Supported", SUPPORTED.join(", ")),
            ("Accept", ACCEPT.to_owned()),
            ("Accept-Encoding", "identity".to_owned()),
            ("Accept-Language", "en".to_owned()),
        ],
    )
}

fn final_answer(code: u16, reason: &'static str, headers: Vec<(&'static str, String)>) -> Answer {
    Answer::Final {
        code,
        reason,
        headers,
    }
}

/// The basic transaction user. Every answer gets a fresh random To tag, so a client
/// that sees the same tag twice knows it got a retransmission of one answer.
#[derive(Debug, Default)]
pub struct BasicTu {
    config: BasicConfig,
}

impl BasicTu {
    /// A responder with these settings.
    pub fn new(config: BasicConfig) -> BasicTu {
        BasicTu { config }
    }
}

impl TransactionUser for BasicTu {
    fn on_request(&self, request: IncomingRequest, responder: Responder) {
        let Answer::Final {
            code,
            reason,
            mut headers,
        } = answer_allowing(
            &request.message,
            self.config.allow.as_deref().unwrap_or(ALLOW),
        )
        else {
            return;
        };
        if let Some(server) = &self.config.server_header {
            headers.push(("Server", server.clone()));
        }
        let tag = random_hex(8);
        let mut builder = response_to(&request.message, code, reason).to_tag(&tag);
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        let response = match builder.build() {
            Ok(r) => r,
            Err(BuildError::Missing(header)) => {
                // A request without From, To or Call-ID cannot get a proper answer;
                // say what is missing with whatever can be copied.
                let (code, reason) = ParseError::MissingHeader(header).status();
                reply::response(&request.message, code, reason, Some(&tag), &[])
            }
            Err(err) => {
                tracing::debug!(%err, flow = %request.flow, "response not built");
                return;
            }
        };
        if let Err(err) = responder.respond(response) {
            tracing::debug!(%err, flow = %request.flow, "response not sent");
        }
    }
}
