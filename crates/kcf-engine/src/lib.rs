//! kcf engine (being written).
