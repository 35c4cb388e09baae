// What every browser test needs: Debian's Chromium through puppeteer-core (no browser download),
// and a watch on a page that collects everything that went wrong.
'use strict';
const fs = require('node:fs');
const puppeteer = require('puppeteer-core');

function chromiumPath() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((candidate) => candidate && fs.existsSync(candidate));
  if (!found) throw new Error('no Chromium: apt-get install chromium (or set CHROMIUM)');
  return found;
}

async function launchBrowser() {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // The test command runs as root, where Chromium's sandbox cannot start; the pages are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}

// Collects console errors (a Content-Security-Policy violation is one), uncaught page errors,
// failed requests, answers of 400 and over, and any request to another origin than allowedOrigin
// (data: and blob: URLs are the page's own).
function watchPage(page, allowedOrigin) {
  const origin = new URL(allowedOrigin).origin;
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`answer ${response.status()}: ${response.url()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    if (new URL(url).origin !== origin) problems.push(`request elsewhere: ${url}`);
  });
  return problems;
}

module.exports = { launchBrowser, watchPage };
