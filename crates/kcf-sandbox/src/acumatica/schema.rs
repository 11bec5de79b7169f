//! The entities of endpoint `Default/24.200.001` this emulator serves, with their key fields,
//! field types, detail collections and linked objects (field lists from the official
//! client's OpenAPI document, `reference/apis.md` §1.3).

/// A field's type, as the value wrapper carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// StringValue.
    Text,
    /// DecimalValue.
    Decimal,
    /// IntValue.
    Int,
    /// BooleanValue.
    Bool,
    /// DateTimeValue (ISO 8601).
    DateTime,
}

/// Fields of an entity or detail line.
pub type Fields = &'static [(&'static str, Kind)];

/// One entity of the endpoint.
#[derive(Debug)]
pub struct Spec {
    /// Its name in URLs.
    pub name: &'static str,
    /// Key fields, in URL order.
    pub keys: &'static [&'static str],
    /// A key the server numbers when a new record has none.
    pub autonumber: Option<&'static str>,
    /// Top-level fields.
    pub fields: Fields,
    /// Detail collections (returned only with `$expand`).
    pub details: &'static [(&'static str, Fields)],
    /// Linked objects (returned only with `$expand`); their fields are text, and may nest.
    pub linked: &'static [&'static str],
}

use Kind::*;

const ADDRESS: &str = "Address";

/// An item's attribute values (a matrix item's are what tells it from its siblings).
const ATTRIBUTE_VALUES: Fields = &[
    ("AttributeID", Text),
    ("Value", Text),
    ("ValueDescription", Text),
];

/// The fields of a receipt or adjustment.
const STOCK_DOCUMENT: Fields = &[
    ("ReferenceNbr", Text),
    ("Status", Text),
    ("Hold", Bool),
    ("Date", DateTime),
    ("Description", Text),
    ("TotalQty", Decimal),
    ("LastModifiedDateTime", DateTime),
];

/// Lines of a receipt or adjustment.
const STOCK_LINES: Fields = &[
    ("LineNbr", Int),
    ("InventoryID", Text),
    ("WarehouseID", Text),
    ("Location", Text),
    ("Qty", Decimal),
    ("UOM", Text),
    ("UnitCost", Decimal),
];

/// Every entity served.
pub const ENTITIES: &[Spec] = &[
    Spec {
        name: "StockItem",
        keys: &["InventoryID"],
        autonumber: None,
        fields: &[
            ("InventoryID", Text),
            ("Description", Text),
            ("ItemClass", Text),
            ("PostingClass", Text),
            ("TaxCategory", Text),
            ("BaseUOM", Text),
            ("SalesUOM", Text),
            ("ItemStatus", Text),
            ("ItemType", Text),
            ("WeightUOM", Text),
            ("Visibility", Text),
            ("Availability", Text),
            ("DefaultPrice", Decimal),
            ("MSRP", Decimal),
            ("DimensionWeight", Decimal),
            ("ExportToExternal", Bool),
            ("TemplateItemID", Text),
            ("NoteID", Text),
            ("LastModified", DateTime),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[
            ("Categories", &[("CategoryID", Int)]),
            (
                "WarehouseDetails",
                &[("WarehouseID", Text), ("QtyOnHand", Decimal)],
            ),
            ("Attributes", ATTRIBUTE_VALUES),
        ],
        linked: &[],
    },
    // Matrix items' template (IN203000). `Matrix` is derived: the stock items whose
    // `TemplateItemID` names it. `Attributes` lists the attributes its variants differ by.
    Spec {
        name: "TemplateItems",
        keys: &["InventoryID"],
        autonumber: None,
        fields: &[
            ("InventoryID", Text),
            ("Description", Text),
            ("ItemClass", Text),
            ("PostingClass", Text),
            ("TaxCategory", Text),
            ("BaseUOM", Text),
            ("ItemStatus", Text),
            ("ItemType", Text),
            ("DefaultPrice", Decimal),
            ("MSRP", Decimal),
            ("DimensionWeight", Decimal),
            ("Visibility", Text),
            ("NoteID", Text),
            ("LastModified", DateTime),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[
            ("Categories", &[("CategoryID", Int)]),
            (
                "Attributes",
                &[
                    ("AttributeID", Text),
                    ("Description", Text),
                    ("SortOrder", Int),
                ],
            ),
            (
                "Matrix",
                &[
                    ("InventoryID", Text),
                    ("Description", Text),
                    ("DefaultPrice", Decimal),
                    ("MSRP", Decimal),
                    ("ItemStatus", Text),
                    ("TemplateItemID", Text),
                    ("LastModifiedDateTime", DateTime),
                ],
            ),
        ],
        linked: &[],
    },
    // An attribute and its allowed values (CS205000).
    Spec {
        name: "AttributeDefinition",
        keys: &["AttributeID"],
        autonumber: None,
        fields: &[
            ("AttributeID", Text),
            ("Description", Text),
            ("ControlType", Text),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[(
            "Values",
            &[("ValueID", Text), ("Description", Text), ("SortOrder", Int)],
        )],
        linked: &[],
    },
    // Per item and warehouse: on hand, allocated to open sales orders, available. Kept by
    // the emulator from stock moves (the generic inquiry an integration reads; rows are
    // read with GET and `$filter`, like any inquiry exposed on an endpoint).
    Spec {
        name: "InventoryQuantityAvailable",
        keys: &["InventoryID", "WarehouseID"],
        autonumber: None,
        fields: &[
            ("InventoryID", Text),
            ("WarehouseID", Text),
            ("OnHand", Decimal),
            ("Allocated", Decimal),
            ("Available", Decimal),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[],
        linked: &[],
    },
    // A receipt of stock (IN301000); released, it raises on hand.
    Spec {
        name: "InventoryReceipt",
        keys: &["ReferenceNbr"],
        autonumber: Some("ReferenceNbr"),
        fields: STOCK_DOCUMENT,
        details: &[("Details", STOCK_LINES)],
        linked: &[],
    },
    // A correction of stock (IN303000); released, it moves on hand by each line's `Qty`.
    Spec {
        name: "InventoryAdjustment",
        keys: &["ReferenceNbr"],
        autonumber: Some("ReferenceNbr"),
        fields: STOCK_DOCUMENT,
        details: &[("Details", STOCK_LINES)],
        linked: &[],
    },
    Spec {
        name: "ItemClass",
        keys: &["ClassID"],
        autonumber: None,
        fields: &[
            ("ClassID", Text),
            ("Description", Text),
            ("ItemType", Text),
            ("PostingClass", Text),
            ("TaxCategoryID", Text),
            ("BaseUOM", Text),
            ("SalesUOM", Text),
            ("StockItem", Bool),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[],
        linked: &[],
    },
    Spec {
        name: "ItemSalesCategory",
        keys: &["CategoryID"],
        autonumber: Some("CategoryID"),
        fields: &[
            ("CategoryID", Int),
            ("ParentCategoryID", Int),
            ("Description", Text),
            ("Path", Text),
            ("SortOrder", Int),
            ("NoteID", Text),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[(
            "Members",
            &[
                ("InventoryID", Text),
                ("Description", Text),
                ("ItemClass", Text),
                ("ItemStatus", Text),
            ],
        )],
        linked: &[],
    },
    Spec {
        name: "Customer",
        keys: &["CustomerID"],
        autonumber: None,
        fields: &[
            ("CustomerID", Text),
            ("CustomerName", Text),
            ("CustomerClass", Text),
            ("Status", Text),
            ("Email", Text),
            ("Terms", Text),
            ("IsGuestCustomer", Bool),
            ("NoteID", Text),
            ("CreatedDateTime", DateTime),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[(
            "Contacts",
            &[
                ("ContactID", Int),
                ("Email", Text),
                ("FirstName", Text),
                ("LastName", Text),
            ],
        )],
        linked: &[
            "MainContact",
            "BillingContact",
            "ShippingContact",
            "PrimaryContact",
        ],
    },
    Spec {
        name: "SalesOrder",
        keys: &["OrderType", "OrderNbr"],
        autonumber: Some("OrderNbr"),
        fields: &[
            ("OrderType", Text),
            ("OrderNbr", Text),
            ("Status", Text),
            ("Hold", Bool),
            ("CustomerID", Text),
            ("CustomerOrder", Text),
            ("ExternalRef", Text),
            ("Description", Text),
            ("CurrencyID", Text),
            ("Date", DateTime),
            ("CreatedDate", DateTime),
            ("LastModified", DateTime),
            ("OrderTotal", Decimal),
            ("TaxTotal", Decimal),
            ("OrderedQty", Decimal),
            ("PaymentMethod", Text),
            ("ShipVia", Text),
            ("NoteID", Text),
        ],
        details: &[
            (
                "Details",
                &[
                    ("LineNbr", Int),
                    ("InventoryID", Text),
                    ("LineDescription", Text),
                    ("OrderQty", Decimal),
                    ("UnitPrice", Decimal),
                    ("ExtendedPrice", Decimal),
                    ("Amount", Decimal),
                    ("DiscountAmount", Decimal),
                    ("UOM", Text),
                    ("WarehouseID", Text),
                    ("OpenQty", Decimal),
                    ("QtyOnShipments", Decimal),
                    ("Completed", Bool),
                    ("ExternalRef", Text),
                ],
            ),
            (
                "Shipments",
                &[
                    ("ShipmentNbr", Text),
                    ("ShipmentType", Text),
                    ("Status", Text),
                    ("ShipmentDate", DateTime),
                    ("ShippedQty", Decimal),
                    ("InvoiceNbr", Text),
                    ("LastModifiedDateTime", DateTime),
                ],
            ),
        ],
        linked: &[
            "ShipToAddress",
            "BillToAddress",
            "ShipToContact",
            "BillToContact",
        ],
    },
    Spec {
        name: "Shipment",
        keys: &["ShipmentNbr"],
        autonumber: Some("ShipmentNbr"),
        fields: &[
            ("ShipmentNbr", Text),
            ("Type", Text),
            ("Status", Text),
            ("Operation", Text),
            ("CustomerID", Text),
            ("LocationID", Text),
            ("WarehouseID", Text),
            ("ShipmentDate", DateTime),
            ("ShipVia", Text),
            ("Hold", Bool),
            ("PackageCount", Int),
            ("ShippedQty", Decimal),
            ("ShippedWeight", Decimal),
            ("CreatedDateTime", DateTime),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[
            (
                "Details",
                &[
                    ("LineNbr", Int),
                    ("OrderType", Text),
                    ("OrderNbr", Text),
                    ("OrderLineNbr", Int),
                    ("InventoryID", Text),
                    ("ShippedQty", Decimal),
                    ("OrderedQty", Decimal),
                    ("UOM", Text),
                ],
            ),
            (
                "Orders",
                &[
                    ("OrderType", Text),
                    ("OrderNbr", Text),
                    ("InvoiceNbr", Text),
                    ("ShippedQty", Decimal),
                ],
            ),
            (
                "Packages",
                &[
                    ("LineNbr", Int),
                    ("BoxID", Text),
                    ("TrackingNbr", Text),
                    ("Weight", Decimal),
                    ("Confirmed", Bool),
                ],
            ),
        ],
        linked: &[],
    },
    // A list a mapping's ERP side is chosen from.
    Spec {
        name: "CustomerClass",
        keys: &["ClassID"],
        autonumber: None,
        fields: &[
            ("ClassID", Text),
            ("Description", Text),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[],
        linked: &[],
    },
    // A list a mapping's ERP side is chosen from.
    Spec {
        name: "ShipVia",
        keys: &["ShipViaID"],
        autonumber: None,
        fields: &[
            ("ShipViaID", Text),
            ("Description", Text),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[],
        linked: &[],
    },
    // A list a mapping's ERP side is chosen from.
    Spec {
        name: "PaymentMethod",
        keys: &["PaymentMethodID"],
        autonumber: None,
        fields: &[
            ("PaymentMethodID", Text),
            ("Description", Text),
            ("MeansOfPayment", Text),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[],
        linked: &[],
    },
    // A list a mapping's ERP side is chosen from.
    Spec {
        name: "Warehouse",
        keys: &["WarehouseID"],
        autonumber: None,
        fields: &[
            ("WarehouseID", Text),
            ("Description", Text),
            ("LastModifiedDateTime", DateTime),
        ],
        details: &[],
        linked: &[],
    },
];

/// The spec of an entity, by name.
pub fn spec(name: &str) -> Option<&'static Spec> {
    ENTITIES.iter().find(|s| s.name == name)
}

impl Spec {
    /// The type of a top-level field.
    pub fn kind(&self, field: &str) -> Option<Kind> {
        self.fields
            .iter()
            .find(|(n, _)| *n == field)
            .map(|(_, k)| *k)
    }

    /// The fields of a detail collection.
    pub fn detail(&self, name: &str) -> Option<Fields> {
        self.details
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// Whether `name` is a linked object.
    pub fn is_linked(&self, name: &str) -> bool {
        self.linked.contains(&name) || name == ADDRESS
    }
}
