//! kcf client for BigCommerce (being written).
