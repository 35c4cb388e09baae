// The patient's booking page (GET /book/{token}) in a real headless Chromium, as a patient uses it
// with the keyboard alone: a fresh link for a home visit shows the day's times; choosing one and
// booking it shows the appointment pending, then confirmed when the provider confirms (the page
// follows it by itself); the same for a service center's slot, with its confirmation code; the
// used link reopened shows the appointment read-only; an expired and a forged link each get their
// own page and status. Every page passes axe-core with no serious or critical violation, and
// nothing goes wrong on the way: no console error (a Content-Security-Policy violation is one), no
// page error, no failed request, no request elsewhere. Screenshots at 375 and 1280 px wide go to
// ARTIFACT_DIR.
// Usage: LAB_ORDERS_TOKEN=... node booking-page.js SERVICE_URL ARTIFACT_DIR SIM_URL
// (scripts/browser-test.sh runs it).
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {launchBrowser, watchPage} = require('./browser');

const [serviceUrl, artifactDir, simUrl] = process.argv.slice(2);
const token = process.env.LAB_ORDERS_TOKEN;
if (!serviceUrl || !artifactDir || !simUrl || !token) {
  console.error('usage: LAB_ORDERS_TOKEN=... booking-page.js SERVICE_URL ARTIFACT_DIR SIM_URL');
  process.exit(2);
}
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

async function api(method, route, body, headers = {}) {
  const response = await fetch(new URL(route, serviceUrl), {
    method,
    headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function order(label, fields) {
  const body = {
    panel_slug: 'pcos',
    patient: {
      first_name: 'Ana',
      last_name: 'Lopez',
      dob: '1990-04-12',
      email: 'ana@example.com',
      phone: '602-555-0100'
    },
    address:
        {line1: '1 West Lincoln Street', city: 'Phoenix', state: 'AZ', zip: '85004', country: 'US'},
    ...fields,
  };
  return api('POST', '/v1/labs/orders', body, {'Idempotency-Key': `browser-${label}`});
}

async function link(orderId, body) {
  const minted = await api('POST', `/v1/labs/orders/${orderId}/booking-url`, body);
  assert.ok(minted.url.startsWith(`${serviceUrl}/book/`), minted.url);
  assert.ok(
      !minted.url.includes('Ana') && !minted.url.includes(orderId), 'the URL names the order');
  return minted.url;
}

// No serious or critical accessibility violation on the page as it stands.
async function checkAccessibility(page, name) {
  await page.evaluate(axeSource);
  const results =
      await page.evaluate(() => window.axe.run(document, {resultTypes: ['violations']}));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
      bad.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`), [],
      `${name}: accessibility violations`);
}

async function screenshots(page, name) {
  for (const width of [375, 1280]) {
    await page.setViewport({width, height: width === 375 ? 812 : 900});
    await page.screenshot(
        {path: path.join(artifactDir, `booking-${name}-${width}.png`), fullPage: true});
  }
}

// Chooses the first time with the keyboard alone and books it: focus on the first time, Space to
// choose it, Tab to the button, Enter to send.
async function bookFirstSlotByKeyboard(page) {
  await page.waitForSelector('form.slots-form input[name="booking_key"]', {timeout: 30000});
  await page.focus('#slot-0');
  await page.keyboard.press('Space');
  assert.equal(await page.$eval('#slot-0', (input) => input.checked), true);
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement.textContent);
  assert.equal(focused, 'Book this time');
  const [response] = await Promise.all([
    page.waitForNavigation({waitUntil: 'load'}),
    page.keyboard.press('Enter'),
  ]);
  assert.equal(response.status(), 200);
}

async function expectPendingThenConfirmed(page) {
  const pending = await page.$eval('#booking-state', (node) => node.textContent);
  assert.match(pending, /Requested/);
  assert.equal(await page.$eval('body', (body) => body.dataset.state), 'pending');
  await page.waitForFunction(() => document.body.dataset.state === 'confirmed', {timeout: 30000});
  assert.match(await page.$eval('#booking-state', (node) => node.textContent), /Confirmed/);
}

async function main() {
  fs.mkdirSync(artifactDir, {recursive: true});
  // Each booking answers pending; the provider confirms it 1.5 s later.
  const script = await fetch(new URL('/_sim/script', simUrl), {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({
      name: 'booking page',
      bookings: [{from_call: 1, outcome: 'confirmed', resolve_after_ms: 1500}]
    }),
  });
  assert.equal(script.status, 200, await script.text());

  const home = await order('home', {auto_book: false});
  const center = await order('center', {collection_method: 'walk_in'});
  const other = await order('other', {auto_book: false});
  const homeLink = await link(home.id);
  const centerLink = await link(center.id);
  // Expires within the second: opened once everything else is done.
  const expiringLink = await link(other.id, {expires_in_seconds: 1});

  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchPage(page, serviceUrl);
    await page.setViewport({width: 1280, height: 900});

    // A home visit: the day's times, booked with the keyboard, pending, then confirmed.
    let response = await page.goto(homeLink, {waitUntil: 'load'});
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-security-policy'] || '', /default-src 'none'/);
    await page.waitForSelector('form.slots-form', {timeout: 30000});
    const text = await page.$eval('main', (main) => main.innerText);
    assert.match(text, /Hi Ana,/);
    assert.match(text, /PCOS panel/);
    assert.ok(
        !text.includes('Lopez') && !text.includes('Lincoln'),
        'the page shows more than a first name');
    await checkAccessibility(page, 'choose (home)');
    await screenshots(page, 'choose-home');
    await page.setViewport({width: 375, height: 812});
    await bookFirstSlotByKeyboard(page);
    await expectPendingThenConfirmed(page);
    await checkAccessibility(page, 'appointment (home)');
    await screenshots(page, 'confirmed-home');
    const booked = await api('GET', `/v1/labs/orders/${home.id}`);
    assert.equal(booked.appointment.status, 'confirmed');

    // A service center: the nearest chosen, its times, booked, pending, then confirmed.
    await page.setViewport({width: 1280, height: 900});
    response = await page.goto(centerLink, {waitUntil: 'load'});
    assert.equal(response.status(), 200);
    await page.waitForSelector('ul.centers a[aria-current="true"]', {timeout: 30000});
    assert.match(await page.$eval('main', (main) => main.innerText), /patient service center/i);
    await checkAccessibility(page, 'choose (service center)');
    await screenshots(page, 'choose-center');
    await bookFirstSlotByKeyboard(page);
    await expectPendingThenConfirmed(page);
    const centerText = await page.$eval('main', (main) => main.innerText);
    assert.match(centerText, /Confirmation code/);
    assert.match(centerText, /AZ \d{5}/, 'the service center\'s address is not shown');

    // The used link, reopened: the appointment, read-only.
    response = await page.goto(homeLink, {waitUntil: 'load'});
    assert.equal(response.status(), 200);
    assert.equal(await page.$('form'), null, 'a used link offers a form');
    assert.match(await page.$eval('#booking-state', (node) => node.textContent), /Confirmed/);

    assert.deepEqual(problems, [], 'problems while the pages were used');

    // A forged link and an expired one: their own pages, with their status codes (the watch
    // counts answers of 400 and over, and the console's note of each, as problems: these are
    // expected, and nothing else).
    const forged = new URL(homeLink);
    forged.pathname = `/book/${'A'.repeat(43)}`;
    response = await page.goto(forged.href, {waitUntil: 'load'});
    assert.equal(response.status(), 404);
    assert.equal(await page.$eval('h1', (h1) => h1.textContent), 'This link does not work');
    await checkAccessibility(page, 'forged link');
    await screenshots(page, 'forged');
    response = await page.goto(expiringLink, {waitUntil: 'load'});
    assert.equal(response.status(), 410);
    assert.equal(await page.$eval('h1', (h1) => h1.textContent), 'This link has expired');
    await checkAccessibility(page, 'expired link');
    await screenshots(page, 'expired');

    assert.deepEqual(
        problems.sort(),
        [
          `answer 404: ${forged.href}`,
          `answer 410: ${expiringLink}`,
          'console error: Failed to load resource: the server responded with a status of 404 (Not Found)',
          'console error: Failed to load resource: the server responded with a status of 410 (Gone)',
        ].sort(),
        'problems on the forged and expired links\' pages');
  } finally {
    await browser.close();
  }
  console.log(
      'booking page: home visit and service center booked, pending then confirmed; ' +
      `used, forged and expired links shown; screenshots in ${artifactDir}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
