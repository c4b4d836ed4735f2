//! sipwarden dns layer (being written).
