"""The PyPI `ShopifyAPI` client (unmodified) against the Shopify sandbox, over HTTPS.

The client builds its host as `{shop}.{Session.myshopify_domain}:{Session.port}`; the test
gives it the emulator's host that way (shop `127`, domain `0.0.1`: `127.0.0.1`), and
`SSL_CERT_FILE` points at the sandbox's test certificate. Usage:
    SHOPIFY_HOST=127.0.0.1 SHOPIFY_PORT=… SHOPIFY_TOKEN=… python shopify_py.py
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone

import shopify

host, port, token = os.environ["SHOPIFY_HOST"], int(os.environ["SHOPIFY_PORT"]), os.environ["SHOPIFY_TOKEN"]
shop, _, domain = host.partition(".")
shopify.Session.setup(myshopify_domain=domain, port=port)
session = shopify.Session(shop, "2025-07", token)
shopify.ShopifyResource.activate_session(session)
gql = shopify.GraphQL()


def run(query, variables=None):
    answer = json.loads(gql.execute(query, variables))
    assert "errors" not in answer, answer
    return answer["data"]


# Signed in: the token is accepted.
assert run("{ shop { myshopifyDomain } }")["shop"]["myshopifyDomain"].endswith(".myshopify.com")
print("signed in: ok")

# Products changed since a date, page by page with cursors.
since = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
seen, after = [], None
while True:
    page = run(
        "query($q: String, $after: String) { products(first: 3, after: $after, query: $q) { nodes { id } pageInfo { hasNextPage endCursor } } }",
        {"q": f"updated_at:>='{since}'", "after": after},
    )["products"]
    seen += [p["id"] for p in page["nodes"]]
    if not page["pageInfo"]["hasNextPage"]:
        break
    after = page["pageInfo"]["endCursor"]
assert len(seen) == len(set(seen)) and len(seen) > 3, seen
print(f"listed with cursors: {len(seen)}")

# A product with variants, created, updated and read back.
product_set = """mutation($input: ProductSetInput!, $id: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $id, synchronous: true) { product { id } userErrors { field message code } } }"""
def shirt(price):
    return {
        "title": "Python shirt",
        "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
        "variants": [
            {"sku": "PY-S", "price": price, "optionValues": [{"optionName": "Size", "name": "S"}]},
            {"sku": "PY-M", "price": price, "optionValues": [{"optionName": "Size", "name": "M"}]},
        ],
    }
created = run(product_set, {"input": shirt("10.00")})["productSet"]
assert created["userErrors"] == [], created
pid = created["product"]["id"]
updated = run(product_set, {"input": shirt("12.50"), "id": {"id": pid}})["productSet"]
assert updated["userErrors"] == [], updated
back = run("query($id: ID!) { product(id: $id) { title variants(first: 5) { nodes { sku price } } } }", {"id": pid})["product"]
assert back["title"] == "Python shirt", back
assert [(v["sku"], v["price"]) for v in back["variants"]["nodes"]] == [("PY-S", "12.50"), ("PY-M", "12.50")], back
print("read back: ok")

orders = run("{ orders(first: 50) { nodes { id name } } }")["orders"]["nodes"]
assert len(orders) > 0, orders
print(f"orders: {len(orders)}")
