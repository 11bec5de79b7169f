// The Commerce Connector Workspace in a real browser: Debian's chromium driven by
// playwright-core. Starts `kcf up` (sandbox, no initial sync) on free ports, then walks the
// screens an operator uses, checking what they show against the sandbox's own APIs.
// A screenshot of each screen goes to target/screenshots/.
//
//   BROWSER_TEST_BIN=target/debug/kcf node tests/browser/workspace.mjs

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.BROWSER_TEST_BIN ?? join(root, 'target', 'debug', 'kcf');
const shots = join(root, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });
const PASSWORD = 'browser-test-password';

const freePort = () =>
  new Promise((ok, fail) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });

let passed = 0;
let failed = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}: ${e?.stack ?? e}`);
    throw e;
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}
async function until(what, fn, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

// ---- start kcf up
const [api, acu, bc, shop] = [await freePort(), await freePort(), await freePort(), await freePort()];
const dataDir = mkdtempSync(join(tmpdir(), 'kcf-browser-'));
const kcf = spawn(
  bin,
  ['up', '--data-dir', dataDir, '--port', `${api}`, '--acumatica-port', `${acu}`,
    '--bigcommerce-port', `${bc}`, '--shopify-port', `${shop}`, '--seed', 'small', '--admin-password', PASSWORD,
    '--api-token', 'browser-token', '--no-initial-sync'],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } },
);
let output = '';
kcf.stdout.on('data', (d) => (output += d));
kcf.stderr.on('data', (d) => (output += d));
const base = `http://127.0.0.1:${api}`;
const bcApi = `http://127.0.0.1:${bc}/stores/sandbox`;
const acuBase = `http://127.0.0.1:${acu}`;

const bcGet = async (path) => {
  const r = await fetch(`${bcApi}${path}`, { headers: { 'X-Auth-Token': 'sandbox', Accept: 'application/json' } });
  expect(r.ok, `BigCommerce ${path}: ${r.status}`);
  return r.json();
};
const apiCall = async (method, path, body) => {
  const r = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { Authorization: 'Bearer browser-token', 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(r.ok, `kcf ${method} ${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
};
const faults = async (body) => {
  const r = await fetch(`${acuBase}/_sandbox/faults`, body
    ? { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }
    : { method: 'DELETE' });
  expect(r.ok, `sandbox faults: ${r.status}`);
};

let browser;
let exitCode = 0;
try {
  await until('kcf up', async () => output.includes('kcf is up.'), 120000);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Anything the Content-Security-Policy refuses, and any script error, fails the run.
  const refusals = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refusals.push(m.text());
  });
  page.on('pageerror', (e) => refusals.push(String(e)));
  const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  await step('an unauthenticated visit goes to the sign-in page', async () => {
    await page.goto(`${base}/connectors/sandbox/batch/product`);
    expect(page.url().startsWith(`${base}/login`), `landed on ${page.url()}`);
    await shot('01-sign-in');
  });

  await step('a wrong password is refused with a message', async () => {
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();
  });

  await step('sign in and land where we were going', async () => {
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/connectors/sandbox/batch/product`);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'kcf_session');
    expect(session && session.httpOnly && session.sameSite === 'Strict', `cookie ${JSON.stringify(session)}`);
  });

  await step('workspace home shows each connector (BigCommerce and Shopify), its budget and counts', async () => {
    await page.goto(`${base}/`);
    await page.getByText('Store rate-limit budget').first().waitFor();
    expect(await page.locator('.badge.s-running').count() >= 2, 'both connectors running');
    const home = await page.content();
    expect(home.includes('Acumatica ↔ BigCommerce') && home.includes('Acumatica ↔ Shopify'), 'both connectors are listed');
    await shot('02-home');
  });

  // ---- Batch Processes → Product
  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
  let listed = [];
  await step('Batch Processes → Product: Process Messages lists the ERP items changed in range', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Batch Processes' }).click();
    await page.locator('aside').getByRole('link', { name: 'Product' }).click();
    await page.getByText('No records found. Try to modify parameters above to see records here.').waitFor();
    await page.fill('input[name=from]', from);
    await page.fill('input[name=to]', today);
    await page.getByRole('button', { name: 'Process Messages' }).click();
    await page.waitForURL(/\?run=\d+/);
    const headers = await page.locator('#run thead th').allTextContents();
    for (const h of ['InventoryID', 'Description', 'Type', 'Item Class', 'Posting Class', 'Tax Category',
      'Base Unit', 'Default Price', 'Item Status', 'Last Modified On']) {
      expect(headers.includes(h), `column ${h} in ${headers}`);
    }
    listed = await page.locator('#run tbody tr[data-key]').evaluateAll((rows) => rows.map((r) => r.dataset.key));
    // What Acumatica itself says changed in that window.
    const login = await fetch(`${acuBase}/entity/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'admin', password: 'sandbox', company: 'Company' }),
    });
    expect(login.status === 204, `Acumatica login ${login.status}`);
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const filter = `LastModifiedDateTime ge datetimeoffset'${from}T00:00:00Z' and LastModifiedDateTime lt datetimeoffset'${new Date(Date.parse(today) + 86400000).toISOString()}'`;
    const items = await (await fetch(
      `${acuBase}/entity/Default/24.200.001/StockItem?$select=InventoryID&$top=10000&$filter=${encodeURIComponent(filter)}`,
      { headers: { Cookie: cookie, Accept: 'application/json' } },
    )).json();
    await fetch(`${acuBase}/entity/auth/logout`, { method: 'POST', headers: { Cookie: cookie } });
    const expected = items.map((i) => i.InventoryID.value).sort();
    expect(expected.length > 2, `Acumatica lists ${expected.length} items`);
    expect(JSON.stringify([...listed].sort()) === JSON.stringify(expected),
      `grid ${listed.length} rows vs Acumatica ${expected.length}`);
    await shot('03-batch-product-listed');
  });

  await step('select two and Process: they become Processed and appear in BigCommerce', async () => {
    const two = listed.slice(0, 2);
    for (const key of two) {
      await page.locator(`#run tr[data-key="${key}"] input[name=ids]`).check();
    }
    await page.getByRole('button', { name: 'Process', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Processing: 2 messages' }).waitFor();
    for (const key of two) {
      await until(`${key} processed`, async () => {
        await page.reload();
        return (await page.locator(`#run tr[data-key="${key}"] .badge`).textContent()) === 'processed';
      });
    }
    const products = await bcGet(`/v3/catalog/products?sku:in=${two.join(',')}`);
    expect(products.data.length === 2, `BigCommerce has ${products.data.length} of ${two}`);
    // The others were not touched.
    const others = await page.locator('#run tbody .badge', { hasText: 'processed' }).count();
    expect(others === 2, `${others} rows processed, expected 2`);
    await shot('04-batch-two-processed');
  });

  await step('Process All processes every listed record', async () => {
    await page.getByRole('button', { name: 'Process All' }).click();
    await until('all processed', async () => {
      await page.reload();
      const states = await page.locator('#run tbody .badge').allTextContents();
      return states.length === listed.length && states.every((s) => s === 'processed');
    }, 60000);
    // Matrix items (TMPL-…) become variants of their template's product, not products.
    const products = await bcGet('/v3/catalog/products?limit=250&include=variants');
    const skus = new Set(products.data.flatMap((p) => [p.sku, ...(p.variants || []).map((v) => v.sku)]));
    const missing = listed.filter((k) => !skus.has(k));
    expect(missing.length === 0, `not in BigCommerce as a product or variant: ${missing.join(', ')}`);
    const own = listed.filter((k) => !k.startsWith('TMPL-')).length;
    expect(products.data.length >= own, `BigCommerce has ${products.data.length} products for ${own} items`);
    await shot('05-batch-all-processed');
  });

  // ---- Batch Processes → Availability (the catalogue's screens)
  await step('Batch Processes → Availability lists stock per warehouse with its columns; Process All writes it to the store', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Batch Processes' }).click();
    await page.locator('aside').getByRole('link', { name: 'Availability' }).click();
    await page.fill('input[name=from]', from);
    await page.fill('input[name=to]', today);
    await page.getByRole('button', { name: 'Process Messages' }).click();
    await page.waitForURL(/\?run=\d+/);
    const headers = await page.locator('#run thead th').allTextContents();
    for (const h of ['InventoryID', 'Warehouse', 'On Hand', 'Allocated', 'Available', 'Last Modified On']) {
      expect(headers.includes(h), `column ${h} in ${headers}`);
    }
    const rows = await page.locator('#run tbody tr[data-key]').count();
    expect(rows > 0, `${rows} availability rows`);
    await page.getByRole('button', { name: 'Process All' }).click();
    await until('all availability processed', async () => {
      await page.reload();
      const states = await page.locator('#run tbody .badge').allTextContents();
      return states.length > 0 && states.every((s) => s === 'processed' || s === 'filtered');
    }, 60000);
    // The store's stock of one item equals what Acumatica says is available in all warehouses.
    const key = await page.locator('#run tbody tr[data-key]').first().getAttribute('data-key');
    const inv = await bcGet(`/v3/inventory/items?sku:in=${encodeURIComponent(key)}`);
    const inStore = (inv.data[0]?.locations || []).reduce((n, l) => n + l.available_to_sell, 0);
    expect(inv.data.length === 1, `${key} has stock in BigCommerce: ${JSON.stringify(inv)}`);
    const login = await fetch(`${acuBase}/entity/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'admin', password: 'sandbox', company: 'Company' }),
    });
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const levels = await (await fetch(
      `${acuBase}/entity/Default/24.200.001/InventoryQuantityAvailable?$filter=${encodeURIComponent(`InventoryID eq '${key}'`)}`,
      { headers: { Cookie: cookie, Accept: 'application/json' } },
    )).json();
    await fetch(`${acuBase}/entity/auth/logout`, { method: 'POST', headers: { Cookie: cookie } });
    const available = levels.reduce((n, l) => n + Math.max(0, Math.floor(l.Available.value)), 0);
    expect(inStore === available, `${key}: BigCommerce ${inStore}, Acumatica available ${available}`);
    await shot('05b-batch-availability');
  });

  await step('Real-Time Processes → Template Item is a screen of its own', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Real-Time Processes' }).click();
    await page.locator('aside').getByRole('link', { name: 'Template Item' }).click();
    await page.waitForURL(/realtime\/template-item/);
    await page.getByRole('heading', { name: /Template Item/ }).first().waitFor();
  });

  // ---- Real-Time Processes → Order
  const placeOrder = async (n) => {
    const product = (await bcGet('/v3/catalog/products?limit=1')).data[0];
    const email = `browser${n}@example.com`;
    const address = { first_name: 'Browser', last_name: `Test${n}`, street_1: '1 Main', city: 'Austin',
      state: 'Texas', zip: '78701', country: 'United States', country_iso2: 'US', email };
    const r = await fetch(`${bcApi}/v2/orders`, {
      method: 'POST',
      headers: { 'X-Auth-Token': 'sandbox', 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ customer_id: 0, status_id: 11, billing_address: address,
        shipping_addresses: [address], products: [{ product_id: product.id, quantity: 1 }] }),
    });
    expect(r.ok, `placing an order: ${r.status}`);
    return (await r.json()).id;
  };

  await step('Real-Time Processes → Order shows an order just placed in the store', async () => {
    const id = await placeOrder(1);
    await page.goto(`${base}/connectors/sandbox/realtime/product`);
    await page.locator('aside').getByRole('link', { name: 'Order', exact: true }).click();
    // The grid refreshes itself: no reload here.
    const row = page.locator(`#grid tr[data-key="${id}"]`);
    await row.waitFor({ timeout: 30000 });
    await until(`order ${id} processed`, async () => (await row.locator('.badge').textContent()) === 'processed');
    await shot('06-realtime-order');
  });

  await step('an Acumatica outage shows on the home page, the order waits without spending attempts and goes through by itself', async () => {
    await apiCall('PATCH', '/connectors/sandbox/entities/order', { max_attempts: 1 });
    await faults({ error_rate: 1.0 });
    const id = await placeOrder(2);
    await until('the connector shown as out', async () => {
      await page.goto(`${base}/`);
      return (await page.locator('#outage').count()) > 0;
    }, 60000);
    const outage = await page.locator('#outage').textContent();
    expect(/acumatica has not answered since/.test(outage) && /next at/.test(outage), `the outage in words: ${outage}`);
    await shot('07a-home-outage');
    await page.goto(`${base}/connectors/sandbox/realtime/order`);
    const row = page.locator(`#grid tr[data-key="${id}"]`);
    await row.waitFor({ timeout: 30000 });
    const status = await row.locator('.badge').textContent();
    expect(status !== 'aborted' && status !== 'invalid', `a single allowed attempt is not spent on an outage: ${status}`);
    await row.getByRole('link').click();
    const waiting = await page.locator('#waiting').textContent();
    expect(/acumatica is out/.test(waiting), `the record says why it waits: ${waiting}`);
    await shot('07-record-detail-waiting');
    await faults(null);
    await until(`order ${id} processed once Acumatica answers`, async () => {
      await page.reload();
      return (await page.locator('h1 .badge').textContent()) === 'processed';
    }, 120000);
    expect(await page.getByText('ERP').first().isVisible(), 'binding shown');
    const result = await page.locator('#result').textContent();
    expect(/sales order/i.test(result), `the result names the sales order: ${result}`);
    const target = await page.locator('#sent-target').textContent();
    expect(/Acumatica SalesOrder/.test(target), `Mapped to names the sales order: ${target}`);
    const sent = JSON.parse(await page.locator('#sent').textContent());
    expect(sent.ExternalRef === String(id), `the mapped order carries ExternalRef ${id}: ${sent.ExternalRef}`);
    await shot('08-record-detail-processed');
  });

  await step('an order Acumatica refuses is invalid with the reason, and Retry sends it once the cause is fixed', async () => {
    // A product only the store has: Acumatica has no such InventoryID.
    const created = await fetch(`${bcApi}/v3/catalog/products`, {
      method: 'POST',
      headers: { 'X-Auth-Token': 'sandbox', 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ name: 'Store Only Lamp', type: 'physical', sku: 'STORE-ONLY-1', price: 12, weight: 1 }),
    });
    expect(created.ok, `creating the store product: ${created.status}`);
    const product = (await created.json()).data;
    const address = { first_name: 'Browser', last_name: 'Invalid', street_1: '1 Main', city: 'Austin',
      state: 'Texas', zip: '78701', country: 'United States', country_iso2: 'US', email: 'browser-invalid@example.com' };
    const r = await fetch(`${bcApi}/v2/orders`, {
      method: 'POST',
      headers: { 'X-Auth-Token': 'sandbox', 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ customer_id: 0, status_id: 11, billing_address: address,
        shipping_addresses: [address], products: [{ product_id: product.id, quantity: 1 }] }),
    });
    expect(r.ok, `placing the order: ${r.status}`);
    const id = (await r.json()).id;
    await page.goto(`${base}/connectors/sandbox/realtime/order`);
    const row = page.locator(`#grid tr[data-key="${id}"]`);
    await until(`order ${id} invalid`, async () => {
      await page.reload();
      return (await row.locator('.badge').textContent()) === 'invalid';
    }, 60000);
    await row.getByRole('link').click();
    const error = await page.locator('#last-error').textContent();
    expect(/STORE-ONLY-1/.test(error), `the error names the item: ${error}`);
    // The cause fixed in Acumatica, then Retry.
    const login = await fetch(`${acuBase}/entity/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'admin', password: 'sandbox', tenant: 'Company' }),
    });
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const put = await fetch(`${acuBase}/entity/Default/24.200.001/StockItem`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json', Cookie: cookie },
      body: JSON.stringify({ InventoryID: { value: 'STORE-ONLY-1' }, Description: { value: 'Store Only Lamp' },
        DefaultPrice: { value: 12 }, ItemStatus: { value: 'Active' } }),
    });
    expect(put.ok, `creating the stock item: ${put.status}`);
    await page.getByRole('button', { name: 'Retry' }).click();
    await until(`order ${id} processed after Retry`, async () => {
      await page.reload();
      return (await page.locator('h1 .badge').textContent()) === 'processed';
    }, 60000);
    await shot('08b-record-detail-retried');
  });

  await step('Sync History lists bindings, unbinds one and links it again from a CSV', async () => {
    await page.goto(`${base}/connectors/sandbox/history/product`);
    // Matrix items are bound under their template, not as products.
    const own = listed.filter((k) => !k.startsWith('TMPL-')).length;
    expect(await page.locator('tbody tr').count() >= Math.min(own, 50), 'bindings listed');
    await page.fill('input[name=q]', listed[0]);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.locator('tbody tr', { hasText: listed[0] }).first();
    await row.waitFor();
    const storeId = (await row.locator('td').nth(1).textContent()).trim();
    await page.getByRole('button', { name: `unbind ${listed[0]}` }).click();
    await page.getByRole('status').filter({ hasText: `Unbound ${listed[0]}` }).waitFor();
    expect(await page.getByRole('button', { name: `unbind ${listed[0]}` }).count() === 0, 'still bound');
    // Choosing a file reads it into the text box (the page's script, under the CSP); a row
    // whose ERP record does not exist is refused, the real one linked again.
    await page.setInputFiles('input[type=file]', {
      name: 'bindings.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`erp_key,external_id\nNO-SUCH-ITEM,90001\n${listed[0]},${storeId}\n`),
    });
    await until('the file read into the form', async () =>
      (await page.inputValue('textarea[name=csv]')).includes('NO-SUCH-ITEM'), 10000);
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByRole('status').filter({ hasText: 'Imported 1 binding' }).waitFor();
    const notice = await page.getByRole('status').textContent();
    expect(notice.includes('1 refused') && notice.includes('NO-SUCH-ITEM'), `the refusal named: ${notice}`);
    await page.fill('input[name=q]', listed[0]);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('button', { name: `unbind ${listed[0]}` }).waitFor();
    await shot('09-sync-history');
  });

  await step('Connector settings: an order-status mapping is chosen from the store\'s statuses', async () => {
    await page.goto(`${base}/connectors/sandbox/settings`);
    await page.getByLabel('ERP order status').selectOption('Back Order');
    await page.getByLabel('store order status').selectOption({ label: 'Awaiting Fulfillment' });
    await page.getByRole('button', { name: 'Map order status' }).click();
    await page.getByRole('status').filter({ hasText: 'order-status: Back Order' }).waitFor();
    await page.locator('tr', { hasText: 'Awaiting Fulfillment (11)' }).filter({ hasText: 'Back Order' }).first().waitFor();
    await shot('09b-mapping');
  });

  await step('Connector settings: Test Connection answers, and nothing secret is on the page', async () => {
    await page.goto(`${base}/connectors/sandbox/settings`);
    await page.getByRole('button', { name: 'Test Connection' }).click();
    await page.getByRole('status').filter({ hasText: 'both answered' }).waitFor();
    const html = await page.content();
    expect(!html.includes('value="sandbox" type="password"') && !/name="access_token"[^>]*value="[^"]/.test(html),
      'a secret is rendered into the form');
    await shot('10-settings');
  });

  await step('Connector settings: what a deletion in the ERP does is chosen per entity', async () => {
    await page.goto(`${base}/connectors/sandbox/settings`);
    await page.getByLabel('Product deleted in the ERP').selectOption('delete');
    await page.locator('tr', { has: page.getByLabel('Product deleted in the ERP') }).getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the Product settings' }).waitFor();
    expect(await page.getByLabel('Product deleted in the ERP').inputValue() === 'delete', 'the choice is kept');
    expect(await page.getByLabel('Order deleted in the ERP').count() === 0, 'an order has no such choice');
    // Back to the default for the steps after.
    await page.getByLabel('Product deleted in the ERP').selectOption('hide');
    await page.locator('tr', { has: page.getByLabel('Product deleted in the ERP') }).getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the Product settings' }).waitFor();
  });

  await step('API tokens: create one, use it, revoke it', async () => {
    await page.goto(`${base}/tokens`);
    await page.fill('input[name=name]', 'browser');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.locator('#new-token').textContent()).trim();
    const ok = await fetch(`${base}/api/v1/connectors`, { headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status === 200, `new token: ${ok.status}`);
    await shot('11-tokens');
    await page.getByRole('row', { name: /browser/ }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('status').filter({ hasText: 'Revoked' }).waitFor();
    const refused = await fetch(`${base}/api/v1/connectors`, { headers: { Authorization: `Bearer ${token}` } });
    expect(refused.status === 401, `revoked token: ${refused.status}`);
  });

  await step('select-all ticks every row, the self-refresh keeps them; no script was refused by the CSP', async () => {
    await page.goto(`${base}/connectors/sandbox/realtime/order`);
    const rows = page.locator('#grid input[name=ids]');
    expect((await rows.count()) > 0, 'no rows to select');
    await page.getByRole('checkbox', { name: 'select all' }).check();
    const ticked = await rows.evaluateAll((boxes) => boxes.every((b) => b.checked));
    expect(ticked, 'select-all left rows unticked');
    // The list refreshes every 4 s, but not while rows are ticked.
    await page.waitForTimeout(5000);
    const kept = await page.locator('#grid input[name=ids]').evaluateAll((boxes) => boxes.every((b) => b.checked));
    expect(kept, 'the self-refresh dropped the ticked rows');
    expect(refusals.length === 0, `refused by the browser: ${refusals.join(' | ')}`);
  });

  await step('sign out ends the session', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/login`);
    await page.goto(`${base}/`);
    expect(page.url().startsWith(`${base}/login`), 'still signed in after sign-out');
  });
} catch (e) {
  exitCode = 1;
  if (!failed) console.log(`FAIL  ${e?.stack ?? e}`);
  console.log('--- kcf output (tail) ---\n' + output.split('\n').slice(-40).join('\n'));
} finally {
  await browser?.close();
  kcf.kill('SIGTERM');
  await new Promise((r) => kcf.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`browser tests: ${passed} passed, ${failed} failed (screenshots in ${shots})`);
process.exit(exitCode || (failed ? 1 : 0));
