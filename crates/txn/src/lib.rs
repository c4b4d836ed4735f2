//! sipwarden txn layer (being written).
