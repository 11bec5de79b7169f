//! What is synced, which way, and how the work was started.

use crate::{Removal, named_enum};

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
        /// A template (matrix) item in the ERP, a product with options and variants in the
        /// store.
        TemplateItem = "template-item",
        /// Stock available to sell, per item and warehouse (store location).
        Availability = "availability",
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
            Self::Product
            | Self::Category
            | Self::Shipment
            | Self::TemplateItem
            | Self::Availability => SyncDirection::ErpToStore,
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
        assert!(text.contains(
            "product, category, customer, order, shipment, order-status, template-item, \
             availability"
        ));
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

/// What kcf knows about an entity, in one row: its names, which ways it moves, the screens it
/// is on (and where), and what its bindings are kept under. The workspace's lists, the batch
/// screens, message descriptions and binding pages read this table; adding an entity is a
/// row here and a processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityInfo {
    /// The entity.
    pub entity: Entity,
    /// Its name in a message's description ("Order status").
    pub label: &'static str,
    /// Its name as a screen heading ("Order Status").
    pub heading: &'static str,
    /// Its heading on the batch screen ("Sales Order").
    pub batch_heading: &'static str,
    /// Its name in a sentence ("order").
    pub word: &'static str,
    /// The directions kcf syncs it in.
    pub directions: &'static [Direction],
    /// Its place among the real-time screens; `None`: not on them.
    pub realtime_screen: Option<u8>,
    /// Where its batch screen lists records from; `None`: no batch screen.
    pub batch_source: Option<Direction>,
    /// Its place among the batch screens.
    pub batch_screen: Option<u8>,
    /// Its place among the sync-history (bindings) screens; `None`: its bindings are
    /// another entity's.
    pub history_screen: Option<u8>,
    /// The entity its bindings are kept under (an order's status is bound with the order).
    pub binding: Entity,
    /// The fields a connector can stop syncing (KCF's "Schema Management" toggles), named in
    /// `EntitySettings::fields`.
    pub toggles: &'static [&'static str],
    /// What a deletion in the ERP can do in the store, the default first; empty: it is
    /// only recorded.
    pub removals: &'static [Removal],
}

/// The workspace's screens that list entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Real-time processes (messages from notifications).
    RealTime,
    /// Batch processes (listings by window).
    Batch,
    /// Sync history (bindings).
    History,
}

/// Every entity.
pub const ENTITIES: &[EntityInfo] = &[
    EntityInfo {
        entity: Entity::Product,
        label: "Product",
        heading: "Product",
        batch_heading: "Product",
        word: "product",
        directions: &[Direction::ErpToStore],
        realtime_screen: Some(1),
        batch_source: Some(Direction::ErpToStore),
        batch_screen: Some(1),
        history_screen: Some(1),
        toggles: &["name", "price", "weight", "visibility", "categories"],
        removals: &[Removal::Hide, Removal::Delete],
        binding: Entity::Product,
    },
    EntityInfo {
        entity: Entity::Category,
        label: "Category",
        heading: "Category",
        batch_heading: "Category",
        word: "category",
        directions: &[Direction::ErpToStore],
        realtime_screen: Some(4),
        batch_source: Some(Direction::ErpToStore),
        batch_screen: Some(3),
        history_screen: Some(2),
        toggles: &[],
        removals: &[Removal::Keep, Removal::Hide, Removal::Delete],
        binding: Entity::Category,
    },
    EntityInfo {
        entity: Entity::Customer,
        label: "Customer",
        heading: "Customer",
        batch_heading: "Customer",
        word: "customer",
        directions: &[Direction::ErpToStore, Direction::StoreToErp],
        realtime_screen: Some(5),
        batch_source: Some(Direction::ErpToStore),
        batch_screen: Some(2),
        history_screen: Some(3),
        toggles: &[],
        removals: &[],
        binding: Entity::Customer,
    },
    EntityInfo {
        entity: Entity::Order,
        label: "Order",
        heading: "Order",
        batch_heading: "Sales Order",
        word: "order",
        directions: &[Direction::StoreToErp],
        realtime_screen: Some(2),
        batch_source: Some(Direction::StoreToErp),
        batch_screen: Some(4),
        history_screen: Some(4),
        toggles: &[],
        removals: &[],
        binding: Entity::Order,
    },
    EntityInfo {
        entity: Entity::Shipment,
        label: "Shipment",
        heading: "Shipment",
        batch_heading: "Shipment",
        word: "shipment",
        directions: &[Direction::ErpToStore],
        realtime_screen: Some(3),
        batch_source: Some(Direction::ErpToStore),
        batch_screen: Some(5),
        history_screen: Some(5),
        toggles: &[],
        removals: &[],
        binding: Entity::Shipment,
    },
    EntityInfo {
        entity: Entity::OrderStatus,
        label: "Order status",
        heading: "Order Status",
        batch_heading: "Order Status",
        word: "order",
        directions: &[Direction::ErpToStore, Direction::StoreToErp],
        realtime_screen: Some(6),
        batch_source: None,
        batch_screen: None,
        history_screen: None,
        toggles: &[],
        removals: &[],
        binding: Entity::Order,
    },
    EntityInfo {
        entity: Entity::TemplateItem,
        label: "Template item",
        heading: "Template Item",
        batch_heading: "Template Item",
        word: "template item",
        directions: &[Direction::ErpToStore],
        realtime_screen: Some(7),
        batch_source: Some(Direction::ErpToStore),
        batch_screen: Some(6),
        history_screen: Some(6),
        toggles: &[],
        removals: &[Removal::Hide, Removal::Delete],
        binding: Entity::TemplateItem,
    },
    EntityInfo {
        entity: Entity::Availability,
        label: "Availability",
        heading: "Availability",
        batch_heading: "Availability",
        word: "availability",
        directions: &[Direction::ErpToStore],
        realtime_screen: Some(8),
        batch_source: Some(Direction::ErpToStore),
        batch_screen: Some(7),
        history_screen: None,
        toggles: &[],
        removals: &[],
        binding: Entity::Availability,
    },
];

impl Entity {
    /// Its row of [`ENTITIES`].
    pub fn info(self) -> &'static EntityInfo {
        ENTITIES
            .iter()
            .find(|i| i.entity == self)
            .unwrap_or(&ENTITIES[0])
    }

    /// Its name in a message's description ("Order status").
    pub fn label(self) -> &'static str {
        self.info().label
    }

    /// Its name in a sentence ("order").
    pub fn word(self) -> &'static str {
        self.info().word
    }

    /// Where its batch screen lists records from; `None`: it has none.
    pub fn batch_source(self) -> Option<Direction> {
        self.info().batch_source
    }

    /// The entity its bindings are kept under.
    pub fn binding_entity(self) -> Entity {
        self.info().binding
    }

    /// The entities on `screen`, in the order it lists them.
    pub fn on(screen: Screen) -> Vec<Entity> {
        let place = |i: &EntityInfo| match screen {
            Screen::RealTime => i.realtime_screen,
            Screen::Batch => i.batch_screen,
            Screen::History => i.history_screen,
        };
        let mut listed: Vec<(u8, Entity)> = ENTITIES
            .iter()
            .filter_map(|i| place(i).map(|p| (p, i.entity)))
            .collect();
        listed.sort_unstable();
        listed.into_iter().map(|(_, e)| e).collect()
    }

    /// Its heading on `screen`.
    pub fn heading(self, screen: Screen) -> &'static str {
        match screen {
            Screen::Batch => self.info().batch_heading,
            _ => self.info().heading,
        }
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn every_entity_has_exactly_one_row() {
        for e in Entity::all() {
            assert_eq!(ENTITIES.iter().filter(|i| i.entity == *e).count(), 1, "{e}");
            assert_eq!(e.info().entity, *e);
        }
        assert_eq!(ENTITIES.len(), Entity::all().len());
    }

    #[test]
    fn a_batch_screen_has_a_source_and_screens_list_in_order() {
        for i in ENTITIES {
            assert_eq!(
                i.batch_screen.is_some(),
                i.batch_source.is_some(),
                "{}",
                i.entity
            );
            assert!(
                i.batch_source.is_none_or(|s| i.directions.contains(&s)),
                "{}",
                i.entity
            );
        }
        assert_eq!(
            Entity::on(Screen::Batch),
            [
                Entity::Product,
                Entity::Customer,
                Entity::Category,
                Entity::Order,
                Entity::Shipment,
                Entity::TemplateItem,
                Entity::Availability
            ]
        );
        assert_eq!(Entity::on(Screen::RealTime).len(), 8);
        assert_eq!(Entity::OrderStatus.binding_entity(), Entity::Order);
    }
}
