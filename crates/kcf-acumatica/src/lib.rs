//! kcf client for Acumatica (being written).
