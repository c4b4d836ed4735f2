//! sipwarden tls layer (being written).
