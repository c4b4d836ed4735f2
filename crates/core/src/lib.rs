//! sipwarden's decisions about SIP requests: the registrar today, the proxy and policy next.
//!
//! Owns: what a REGISTER means for the location service (RFC 3261 §10.3, RFC 3327 Path,
//! RFC 5626 flows), who may register which address-of-record (the REGISTER-spoofing
//! defences), how Digest authentication is applied to a request, and which domains are ours.
//!
//! Refuses: sockets, clocks and randomness (the caller passes the time, the transport
//! source and any salt), and storage technology (it programs against the traits of
//! `sipwarden-store`).

pub mod assessment;
pub mod auth_observer;
pub mod compat;
pub mod date;
pub mod domains;
pub mod proxy;
pub mod registrar;
pub mod service;

pub use auth_observer::AuthObserver;
pub use domains::Domains;
pub use registrar::{Decision, RegisterContext, RegistrarConfig, Rejection};
pub use service::{AuthEvent, RegistrarService, ServiceEnv, ServiceError, ServiceReply};
