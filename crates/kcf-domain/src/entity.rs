//! What is synced, which way, and how the work was started.

use crate::named_enum;

named_enum! {
    /// A kind of record kcf keeps in sync.
    pub enum Entity: "entity" {
        /// A stock item in the ERP, a product in the store.
        Product = "product",
        /// An item sales category in the ERP, a category in the store.
        Category = "category",
        /// A customer account.
        Customer = "customer",
        /// A sales order.
        Order = "order",
        /// A shipment of (part of) an order.
        Shipment = "shipment",
        /// The status of an order.
        OrderStatus = "order-status",
    }
}

named_enum! {
    /// Which way one message moves data.
    pub enum Direction: "direction" {
        /// From the ERP (Acumatica) to the store.
        ErpToStore = "erp-to-store",
        /// From the store to the ERP.
        StoreToErp = "store-to-erp",
    }
}

named_enum! {
    /// Which way an entity syncs for a connector.
    pub enum SyncDirection: "sync direction" {
        /// ERP → store only.
        ErpToStore = "erp-to-store",
        /// Store → ERP only.
        StoreToErp = "store-to-erp",
        /// Both ways.
        Both = "both",
    }
}

impl SyncDirection {
    /// Whether messages moving in `direction` are wanted.
    pub fn allows(self, direction: Direction) -> bool {
        match self {
            Self::Both => true,
            Self::ErpToStore => direction == Direction::ErpToStore,
            Self::StoreToErp => direction == Direction::StoreToErp,
        }
    }
}

named_enum! {
    /// How a message came to exist.
    pub enum Mode: "mode" {
        /// From an ERP push notification or a store webhook.
        RealTime = "real-time",
        /// From a batch window (by hand or on a schedule).
        Batch = "batch",
        /// Created by a person (resync, import).
        Manual = "manual",
    }
}

impl Entity {
    /// The direction this entity syncs by default (see `reference/domain.md`).
    pub fn default_direction(self) -> SyncDirection {
        match self {
            Self::Product | Self::Category | Self::Shipment => SyncDirection::ErpToStore,
            Self::Order => SyncDirection::StoreToErp,
            Self::Customer | Self::OrderStatus => SyncDirection::Both,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_lists_valid() {
        for e in Entity::all() {
            assert_eq!(e.as_str().parse::<Entity>(), Ok(*e));
        }
        assert_eq!("ORDER_STATUS".parse::<Entity>(), Ok(Entity::OrderStatus));
        let err = "invoice".parse::<Entity>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown entity 'invoice'"), "{text}");
        assert!(text.contains("product, category, customer, order, shipment, order-status"));
    }

    #[test]
    fn serde_uses_canonical_names() {
        let json = serde_json::to_string(&Entity::OrderStatus).unwrap();
        assert_eq!(json, "\"order-status\"");
        let back: Entity = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Entity::OrderStatus);
        assert!(serde_json::from_str::<Entity>("\"nope\"").is_err());
    }
}
