"""Drives the Acumatica sandbox with easy-acumatica (PyPI), unmodified but for its base URL.

Signs in, lists stock items with a date filter, creates one, updates it, reads it back, and
signs out. Exits non-zero (with the reason) on any mismatch. Usage: python acumatica_easy.py URL
"""
import sys
from datetime import datetime, timezone

from easy_acumatica import AcumaticaClient
from easy_acumatica.odata import F, QueryOptions

base_url = sys.argv[1]
client = AcumaticaClient(
    base_url=base_url,
    username="admin",
    password="sandbox",
    tenant="Company",
    verify_ssl=False,
    persistent_login=True,
    auto_load_env=False,
    cache_methods=False,
)

stock = client.stock_item
since = datetime(2000, 1, 1, tzinfo=timezone.utc)
recent = stock.get_list(options=QueryOptions(filter=F.LastModifiedDateTime > since, top=5))
assert len(recent) == 5, f"expected 5 recently changed items, got {len(recent)}"
assert recent[0]["InventoryID"]["value"].startswith("SKU-"), recent[0]

created = stock.put_entity({
    "InventoryID": {"value": "PYCLIENT-1"},
    "Description": {"value": "Made by easy-acumatica"},
    "DefaultPrice": {"value": 42.5},
})
assert created["Description"]["value"] == "Made by easy-acumatica", created

updated = stock.put_entity({"InventoryID": {"value": "PYCLIENT-1"}, "DefaultPrice": {"value": 43.0}})
assert updated["DefaultPrice"]["value"] == 43.0, updated

back = stock.get_by_id(created["id"])
assert back["DefaultPrice"]["value"] == 43.0 and back["Description"]["value"] == "Made by easy-acumatica", back

found = stock.get_list(options=QueryOptions(filter=F.InventoryID == "PYCLIENT-1"))
assert len(found) == 1, found

client.logout()
print("easy-acumatica: sign in, filtered list, create, update, read back: ok")
