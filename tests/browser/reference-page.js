// The API reference page (GET /docs) in a real headless Chromium: it renders, it lists every
// operation and webhook event of the service's own /openapi.json under its method and path, its
// search works (Redoc's worker, started from a blob, within the page's Content-Security-Policy),
// and nothing goes wrong on the way: no console error, no page error, no failed request, no
// request to anywhere but the service. Screenshots at 375 and 1280 px wide go to ARTIFACT_DIR.
// Usage: node reference-page.js SERVICE_URL ARTIFACT_DIR (scripts/browser-test.sh runs it).
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { launchBrowser, watchPage } = require('./browser');

const [serviceUrl, artifactDir] = process.argv.slice(2);
if (!serviceUrl || !artifactDir) {
  console.error('usage: reference-page.js SERVICE_URL ARTIFACT_DIR');
  process.exit(2);
}

// Every operation and webhook event the document describes: its id, method and path (or event).
function documentedOperations(document) {
  const operations = [];
  for (const [group, entries] of [['paths', document.paths], ['webhooks', document.webhooks || {}]]) {
    for (const [where, item] of Object.entries(entries)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!operation || !operation.operationId) continue;
        operations.push({ id: operation.operationId, method: method.toUpperCase(), where, group });
      }
    }
  }
  return operations;
}

async function main() {
  fs.mkdirSync(artifactDir, { recursive: true });
  const document = await (await fetch(new URL('/openapi.json', serviceUrl))).json();
  const operations = documentedOperations(document);
  assert.ok(operations.length > 15, `the document lists only ${operations.length} operations`);

  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchPage(page, serviceUrl);
    await page.setViewport({ width: 1280, height: 900 });
    const response = await page.goto(new URL('/docs', serviceUrl).href, { waitUntil: 'load' });
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-security-policy'] || '', /default-src 'none'/);
    assert.equal(await page.title(), 'lab-orders API reference');

    // Hydrated: Redoc took over the server-rendered markup (its menu answers clicks).
    await page.waitForFunction(() => typeof window.Redoc === 'object', { timeout: 30000 });
    const heading = await page.$eval('h1', (h1) => h1.textContent);
    assert.ok(heading.includes(document.info.version), `the title "${heading}" lacks the version`);

    // Every operation: a section of its own, showing its method and path.
    const sections = await page.$$eval('[data-section-id]', (nodes) =>
      Object.fromEntries(nodes.map((node) => [node.getAttribute('data-section-id'),
        node.innerText])));
    const missing = [];
    for (const operation of operations) {
      const id = Object.keys(sections).find((key) => key.endsWith(`operation/${operation.id}`) &&
        key.startsWith('tag/'));
      const text = id ? sections[id] : '';
      const shown = operation.group === 'paths'
        ? text.includes(operation.method) && text.includes(operation.where)
        : text.length > 0;
      if (!shown) missing.push(`${operation.method} ${operation.where} (${operation.id})`);
    }
    assert.deepEqual(missing, [], 'operations the page does not show');

    // As a reader sees it, on a desktop and on a phone (Redoc folds its menu away there).
    await page.screenshot({ path: path.join(artifactDir, 'reference-1280.png') });
    await page.setViewport({ width: 375, height: 812 });
    await page.screenshot({ path: path.join(artifactDir, 'reference-375.png') });
    await page.setViewport({ width: 1280, height: 900 });

    // Search runs in Redoc's worker: typing an operation's summary finds it.
    const create = document.paths['/v1/labs/orders'].post;
    await page.click('input[placeholder="Search..."]');
    await page.keyboard.type(create.summary);
    await page.waitForFunction((summary) => {
      const results = document.querySelector('[data-role="search:results"]');
      return results !== null && results.textContent.includes(summary);
    }, { timeout: 15000 }, create.summary);

    assert.deepEqual(problems, [], 'the page had problems');
    console.log(`reference page: ${operations.length} operations shown, search works, ` +
      `no console error, no failed or outside request; screenshots in ${artifactDir}`);
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
