//! kcf server (being written).
