//! Closed sets of label values for metrics and the API. Nothing here is built from a
//! string an attacker chose: an unknown method becomes `other`, an unknown status its class.

use sipwarden_events::closed_labels as labels;

labels! {
    /// A SIP method, as a metric label. Extension methods are counted as `other`.
    Method {
        /// REGISTER.
        Register => "REGISTER",
        /// INVITE.
        Invite => "INVITE",
        /// ACK.
        Ack => "ACK",
        /// BYE.
        Bye => "BYE",
        /// CANCEL.
        Cancel => "CANCEL",
        /// OPTIONS.
        Options => "OPTIONS",
        /// SUBSCRIBE.
        Subscribe => "SUBSCRIBE",
        /// NOTIFY.
        Notify => "NOTIFY",
        /// MESSAGE.
        Message => "MESSAGE",
        /// REFER.
        Refer => "REFER",
        /// INFO.
        Info => "INFO",
        /// UPDATE.
        Update => "UPDATE",
        /// PRACK.
        Prack => "PRACK",
        /// PUBLISH.
        Publish => "PUBLISH",
        /// Any other method.
        Other => "other",
    }
}

impl Method {
    /// The label for a method name as it appeared on the wire (methods are
    /// case-sensitive, RFC 3261 §7.1).
    pub fn from_wire(name: &[u8]) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|m| *m != Self::Other && m.as_str().as_bytes() == name)
            .unwrap_or(Self::Other)
    }
}

labels! {
    /// A transaction state machine kind (RFC 3261 §17).
    TransactionKind {
        /// INVITE server transaction.
        InviteServer => "invite_server",
        /// INVITE client transaction.
        InviteClient => "invite_client",
        /// Non-INVITE server transaction.
        NonInviteServer => "non_invite_server",
        /// Non-INVITE client transaction.
        NonInviteClient => "non_invite_client",
    }
}

labels! {
    /// The one-word summary of a call's security assessment.
    SecurityLevel {
        /// Neither signalling nor media protected on every hop.
        None => "none",
        /// Signalling over TLS on every hop, media in clear.
        Signalling => "signalling",
        /// Signalling over TLS, media SRTP keyed by SDES (proxies could read the keys).
        HopByHop => "hop_by_hop",
        /// Signalling over TLS, media keyed end to end (DTLS-SRTP or ZRTP).
        EndToEnd => "end_to_end",
        /// Not assessed (for example, a call that never got an answer).
        Unknown => "unknown",
    }
}

/// The `status` label for a SIP status code: the code itself for the common ones, its
/// class (`4xx`) for the rest, `other` outside 100..=699: about fifty values in all.
pub fn status_label(code: u16) -> &'static str {
    const KNOWN: &[(u16, &str)] = &[
        (100, "100"),
        (180, "180"),
        (181, "181"),
        (182, "182"),
        (183, "183"),
        (200, "200"),
        (202, "202"),
        (301, "301"),
        (302, "302"),
        (305, "305"),
        (380, "380"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (407, "407"),
        (408, "408"),
        (413, "413"),
        (415, "415"),
        (420, "420"),
        (423, "423"),
        (429, "429"),
        (480, "480"),
        (481, "481"),
        (482, "482"),
        (483, "483"),
        (484, "484"),
        (486, "486"),
        (487, "487"),
        (488, "488"),
        (489, "489"),
        (491, "491"),
        (494, "494"),
        (500, "500"),
        (501, "501"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
        (505, "505"),
        (513, "513"),
        (600, "600"),
        (603, "603"),
        (604, "604"),
        (606, "606"),
    ];
    if let Some((_, s)) = KNOWN.iter().find(|(c, _)| *c == code) {
        return s;
    }
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        600..=699 => "6xx",
        _ => "other",
    }
}
