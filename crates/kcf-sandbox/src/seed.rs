//! A deterministic data set for the emulators: the same size always gives the same records.

use std::str::FromStr;

use rand::{RngExt, SeedableRng, rngs::StdRng};

/// How much data to start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeedSize {
    /// Nothing.
    #[default]
    Empty,
    /// About 50 products, 10 categories, 20 customers, 10 orders.
    Small,
    /// 5,000 products, 100 categories, 1,000 customers, 500 orders.
    Medium,
    /// 100,000 products, 500 categories, 10,000 customers, 2,000 orders.
    Large,
    /// This many products, and the rest in proportion.
    Products(usize),
}

impl FromStr for SeedSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "empty" | "none" => Ok(Self::Empty),
            "small" => Ok(Self::Small),
            "medium" => Ok(Self::Medium),
            "large" => Ok(Self::Large),
            n => n.parse().map(Self::Products).map_err(|_| {
                format!("seed '{n}' is not small, medium, large, empty or a number of products")
            }),
        }
    }
}

impl SeedSize {
    fn counts(self) -> (usize, usize, usize, usize) {
        match self {
            Self::Empty => (0, 0, 0, 0),
            Self::Small => (50, 10, 20, 10),
            Self::Medium => (5_000, 100, 1_000, 500),
            Self::Large => (100_000, 500, 10_000, 2_000),
            Self::Products(n) => (
                n,
                (n / 10).clamp(5, 1_000),
                (n / 2).clamp(5, 20_000),
                (n / 5).clamp(2, 5_000),
            ),
        }
    }
}

/// A category (parent 0 = top level).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedCategory {
    /// Its id (1-based).
    pub id: u64,
    /// Its parent's id, or 0.
    pub parent_id: u64,
    /// Its name (unique).
    pub name: String,
}

/// A stock item / product.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedProduct {
    /// Its id (1-based).
    pub id: u64,
    /// SKU / InventoryID.
    pub sku: String,
    /// Name / Description (unique).
    pub name: String,
    /// Price.
    pub price: f64,
    /// Weight.
    pub weight: f64,
    /// Its categories.
    pub categories: Vec<u64>,
    /// Sold online.
    pub visible: bool,
    /// On hand in the ERP, by warehouse.
    pub stock: Vec<(&'static str, u32)>,
}

/// A variant attribute of template items and its values (id, description).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedAttribute {
    /// AttributeID.
    pub id: &'static str,
    /// Its description (the store's option name).
    pub name: &'static str,
    /// Its values: (value id, description).
    pub values: &'static [(&'static str, &'static str)],
}

/// The variant attributes the seed's template items use.
pub const ATTRIBUTES: &[SeedAttribute] = &[
    SeedAttribute {
        id: "COLOR",
        name: "Color",
        values: &[("RED", "Red"), ("BLUE", "Blue"), ("GREEN", "Green")],
    },
    SeedAttribute {
        id: "SIZE",
        name: "Size",
        values: &[("S", "Small"), ("M", "Medium"), ("L", "Large")],
    },
    SeedAttribute {
        id: "SLEEVE",
        name: "Sleeve",
        values: &[("SHORT", "Short"), ("LONG", "Long")],
    },
];

/// A template (matrix) item in the ERP: one variant per combination of its attributes'
/// values.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedTemplate {
    /// Its InventoryID.
    pub sku: String,
    /// Its description (unique).
    pub name: String,
    /// Default price.
    pub price: f64,
    /// MSRP.
    pub msrp: f64,
    /// Indexes into [`ATTRIBUTES`].
    pub attributes: Vec<usize>,
    /// Its category.
    pub categories: Vec<u64>,
    /// Variants: InventoryID, the value index of each attribute, on hand in MAIN.
    pub variants: Vec<(String, Vec<usize>, u32)>,
}

/// A customer.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedCustomer {
    /// Its id (1-based).
    pub id: u64,
    /// Email (unique).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Company.
    pub company: String,
}

/// An order.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedOrder {
    /// Its id (starts at 100).
    pub id: u64,
    /// The customer.
    pub customer_id: u64,
    /// Lines: product id and quantity.
    pub lines: Vec<(u64, u32)>,
}

/// The records both emulators start from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Categories, parents before children.
    pub categories: Vec<SeedCategory>,
    /// Products.
    pub products: Vec<SeedProduct>,
    /// Customers.
    pub customers: Vec<SeedCustomer>,
    /// Orders.
    pub orders: Vec<SeedOrder>,
    /// Template items (ERP only: kcf brings them to the store).
    pub templates: Vec<SeedTemplate>,
}

/// The warehouses stock is kept in (the ERP's seeded warehouses).
pub const WAREHOUSES: &[&str] = &["MAIN", "RETAIL", "WHOLESALE"];

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Compact",
    "Deluxe",
    "Eco",
    "Heavy-Duty",
    "Mini",
    "Pro",
    "Smart",
    "Ultra",
    "Vintage",
];
const NOUNS: &[&str] = &[
    "Backpack",
    "Blender",
    "Chair",
    "Desk Lamp",
    "Drill",
    "Headphones",
    "Kettle",
    "Monitor",
    "Notebook",
    "Printer",
    "Router",
    "Speaker",
    "Tent",
    "Toaster",
    "Watch",
];
const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Iris", "Jonas",
];
const LAST: &[&str] = &[
    "Nguyen", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga",
];
const CATEGORY_NAMES: &[&str] = &[
    "Home", "Garden", "Office", "Outdoor", "Kitchen", "Audio", "Tools", "Travel",
];

impl Dataset {
    /// Generates the data set for `size` (deterministic).
    pub fn generate(size: SeedSize) -> Self {
        let (products, categories, customers, orders) = size.counts();
        let mut rng = StdRng::seed_from_u64(2026);
        let mut data = Dataset::default();
        for id in 1..=categories as u64 {
            // A third are top level; the rest hang under an earlier category.
            let parent_id = if id <= (categories as u64).div_ceil(3) {
                0
            } else {
                rng.random_range(1..id)
            };
            let base = CATEGORY_NAMES[(id as usize - 1) % CATEGORY_NAMES.len()];
            data.categories.push(SeedCategory {
                id,
                parent_id,
                name: format!("{base} {id}"),
            });
        }
        for id in 1..=products as u64 {
            let name = format!(
                "{} {} {id}",
                ADJECTIVES[rng.random_range(0..ADJECTIVES.len())],
                NOUNS[rng.random_range(0..NOUNS.len())]
            );
            let cats = if categories == 0 {
                Vec::new()
            } else {
                vec![rng.random_range(1..=categories as u64)]
            };
            data.products.push(SeedProduct {
                id,
                sku: format!("SKU-{id:06}"),
                name,
                price: f64::from(rng.random_range(199..99_999u32)) / 100.0,
                weight: f64::from(rng.random_range(1..500u32)) / 10.0,
                categories: cats,
                visible: rng.random_range(0..10) != 0,
                stock: Vec::new(),
            });
        }
        for id in 1..=customers as u64 {
            let first = FIRST[rng.random_range(0..FIRST.len())];
            let last = LAST[rng.random_range(0..LAST.len())];
            data.customers.push(SeedCustomer {
                id,
                email: format!(
                    "{}.{}.{id}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
                first_name: first.into(),
                last_name: last.into(),
                company: if id % 4 == 0 {
                    format!("{last} Trading")
                } else {
                    String::new()
                },
            });
        }
        for n in 0..orders as u64 {
            if products == 0 || customers == 0 {
                break;
            }
            let lines = (0..rng.random_range(1..4))
                .map(|_| {
                    (
                        rng.random_range(1..=products as u64),
                        rng.random_range(1..5u32),
                    )
                })
                .collect();
            data.orders.push(SeedOrder {
                id: 100 + n,
                customer_id: rng.random_range(1..=customers as u64),
                lines,
            });
        }
        data.add_history(size);
        data
    }

    /// The ERP's side of the story, from a generator of its own (so the records above stay
    /// what they were): stock in the warehouses, and template items.
    fn add_history(&mut self, size: SeedSize) {
        let mut rng = StdRng::seed_from_u64(2027);
        for p in &mut self.products {
            p.stock.push((WAREHOUSES[0], rng.random_range(0..120)));
            if rng.random_range(0..2) == 0 {
                p.stock.push((WAREHOUSES[1], rng.random_range(0..40)));
            }
        }
        let templates = match size {
            SeedSize::Small => 3,
            SeedSize::Medium => 20,
            SeedSize::Large => 50,
            SeedSize::Empty | SeedSize::Products(_) => 0,
        };
        let categories = self.categories.len() as u64;
        for n in 1..=templates {
            // Two attributes (3 × 3 = 9 variants), every third template a third (18).
            let attributes = if n % 3 == 0 {
                vec![0, 1, 2]
            } else {
                vec![0, 1]
            };
            let sku = format!("TMPL-{n:04}");
            let mut variants = Vec::new();
            let mut combo = vec![0usize; attributes.len()];
            loop {
                let suffix: Vec<&str> = combo
                    .iter()
                    .zip(&attributes)
                    .map(|(v, a)| ATTRIBUTES[*a].values[*v].0)
                    .collect();
                variants.push((
                    format!("{sku}-{}", suffix.join("-")),
                    combo.clone(),
                    rng.random_range(0..60),
                ));
                // The next combination, the last attribute fastest.
                let mut i = attributes.len();
                loop {
                    if i == 0 {
                        break;
                    }
                    i -= 1;
                    combo[i] += 1;
                    if combo[i] < ATTRIBUTES[attributes[i]].values.len() {
                        break;
                    }
                    combo[i] = 0;
                    if i == 0 {
                        i = usize::MAX;
                        break;
                    }
                }
                if i == usize::MAX {
                    break;
                }
            }
            let price = f64::from(rng.random_range(999..9_999u32)) / 100.0;
            self.templates.push(SeedTemplate {
                name: format!(
                    "{} T-Shirt {n}",
                    ADJECTIVES[rng.random_range(0..ADJECTIVES.len())]
                ),
                sku,
                price,
                msrp: (price * 1.25 * 100.0).round() / 100.0,
                attributes,
                categories: if categories == 0 {
                    Vec::new()
                } else {
                    vec![rng.random_range(1..=categories)]
                },
                variants,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let a = Dataset::generate(SeedSize::Small);
        assert_eq!(a, Dataset::generate(SeedSize::Small));
        assert_eq!(
            (
                a.products.len(),
                a.categories.len(),
                a.customers.len(),
                a.orders.len()
            ),
            (50, 10, 20, 10)
        );
        assert!(
            a.categories.iter().all(|c| c.parent_id < c.id),
            "parents come first"
        );
        let names: std::collections::BTreeSet<_> = a.products.iter().map(|p| &p.name).collect();
        assert_eq!(names.len(), 50, "names are unique");
        assert!("tiny".parse::<SeedSize>().is_err());
        assert_eq!("1234".parse::<SeedSize>(), Ok(SeedSize::Products(1234)));
        let variants: Vec<usize> = a.templates.iter().map(|t| t.variants.len()).collect();
        assert_eq!(variants, [9, 9, 18]);
        let skus: std::collections::BTreeSet<_> = a
            .templates
            .iter()
            .flat_map(|t| &t.variants)
            .map(|v| &v.0)
            .collect();
        assert_eq!(skus.len(), 36, "variant SKUs are unique");
        assert!(a.products.iter().all(|p| !p.stock.is_empty()));
    }

    #[test]
    fn a_large_seed_has_100k_products() {
        let large = Dataset::generate(SeedSize::Large);
        assert_eq!(large.products.len(), 100_000);
        assert_eq!(large.products[99_999].sku, "SKU-100000");
    }
}
