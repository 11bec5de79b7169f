//! A product's own fields as `productCreate` and `productUpdate` take them. Shopify names
//! the same fields three ways: `ProductCreateInput` and `ProductUpdateInput` (the `product:`
//! argument since 2024-10) and the deprecated `ProductInput` (`input:`). A client's variables
//! are checked against the name, so each is a type of its own; the newer two become a
//! [`ProductInput`].

use async_graphql::{ID, InputObject};

use super::{product_set::OptionInput, products::ProductStatus};

macro_rules! product_input_types {
    ($($name:ident = $graphql:literal),+) => {$(
        #[derive(Debug, Clone, InputObject)]
        #[graphql(name = $graphql)]
        pub(crate) struct $name {
            pub id: Option<ID>,
            pub title: Option<String>,
            pub handle: Option<String>,
            pub description_html: Option<String>,
            pub vendor: Option<String>,
            pub product_type: Option<String>,
            pub status: Option<ProductStatus>,
            pub tags: Option<Vec<String>>,
            pub collections_to_join: Option<Vec<ID>>,
            pub collections_to_leave: Option<Vec<ID>>,
            pub product_options: Option<Vec<OptionInput>>,
        }
    )+};
}

product_input_types!(
    ProductInput = "ProductInput",
    ProductCreateInput = "ProductCreateInput",
    ProductUpdateInput = "ProductUpdateInput"
);

macro_rules! into_product_input {
    ($($name:ident),+) => {$(
        impl From<$name> for ProductInput {
            fn from(i: $name) -> Self {
                Self {
                    id: i.id,
                    title: i.title,
                    handle: i.handle,
                    description_html: i.description_html,
                    vendor: i.vendor,
                    product_type: i.product_type,
                    status: i.status,
                    tags: i.tags,
                    collections_to_join: i.collections_to_join,
                    collections_to_leave: i.collections_to_leave,
                    product_options: i.product_options,
                }
            }
        }
    )+};
}

into_product_input!(ProductCreateInput, ProductUpdateInput);
