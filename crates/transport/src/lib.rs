//! sipwarden transport layer (being written).
