"""The PyPI `bigcommerce` client (unmodified) against the BigCommerce sandbox.

It only speaks HTTPS to `BC_API_ENDPOINT` (default api.bigcommerce.com); the test points that
variable at the sandbox and `REQUESTS_CA_BUNDLE` at the sandbox's test certificate. Usage:
    python bigcommerce_py.py PRODUCT_ID
"""

import sys
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import bigcommerce

product_id = int(sys.argv[1])
api = bigcommerce.api.BigcommerceApi(client_id="kcf-test", store_hash="sandbox", access_token="sandbox")

# Signed in: the token is accepted.
statuses = api.OrderStatuses.all()
names = {s.id: s.name for s in statuses}
assert names.get(5) == "Cancelled", names
print("signed in: ok")

# List with a date filter (RFC 2822, as the v2 API documents).
since = format_datetime(datetime.now(timezone.utc) - timedelta(minutes=5))
# An empty answer is a 204 (as BigCommerce's v2 API answers), which this client turns into one
# empty object: count only real orders.
def orders_since(since):
    return [o for o in api.Orders.all(min_date_modified=since, limit=250) if hasattr(o, "id")]


before = orders_since(since)
print("listed since", since, ":", len(before))

# Create.
address = {
    "first_name": "Py", "last_name": "Client", "street_1": "1 Main St", "city": "Austin",
    "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
    "email": "py-client@example.com",
}
order = api.Orders.create(
    customer_id=0, status_id=1, billing_address=address,
    products=[{"product_id": product_id, "quantity": 2}],
)
print("created order", order.id)

# The date filter now finds it.
after = orders_since(since)
assert any(o.id == order.id for o in after), [o.id for o in after]
assert len(after) == len(before) + 1, (len(before), len(after))

# Update, then read back.
api.Orders.get(order.id).update(status_id=9)
again = api.Orders.get(order.id)
assert again.status_id == 9, again.status_id
lines = again.products()
assert len(lines) == 1 and lines[0].quantity == 2, lines
print("read back: ok")
