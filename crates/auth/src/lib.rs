//! sipwarden auth layer (being written).
