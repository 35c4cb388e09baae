// Builds the API reference page (docs/reference.html) from schemas/openapi.json with the pinned
// @redocly/cli (sdk/typescript/package-lock.json), as one self-contained file: Redocly's page
// loads Redoc from its CDN and fonts from Google, so the Redoc bundle of the same pinned install is
// put inline and the fonts left out. The service serves the file at GET /docs with a
// Content-Security-Policy that allows no other origin. scripts/check-openapi.sh runs this.
// Usage: node scripts/lib/reference-page.js OPENAPI_JSON OUTPUT_HTML
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [openapi, output] = process.argv.slice(2);
if (!openapi || !output) {
  console.error('usage: reference-page.js OPENAPI_JSON OUTPUT_HTML');
  process.exit(2);
}
const repo = path.resolve(__dirname, '..', '..');
const modules = path.join(repo, 'sdk', 'typescript', 'node_modules');
const redocly = path.join(modules, '@redocly', 'cli', 'bin', 'cli.js');
const bundle = fs.readFileSync(path.join(modules, 'redoc', 'bundles', 'redoc.standalone.js'), 'utf8');

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'reference-page-'));
try {
  const built = path.join(scratch, 'reference.html');
  // From the repository's root, where redocly.yaml holds the theme.
  execFileSync(process.execPath, [redocly, 'build-docs', path.resolve(openapi), '--output', built,
    '--title', 'lab-orders API reference', '--disableGoogleFont'],
  { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  let html = fs.readFileSync(built, 'utf8');

  const cdnScript = /<script src="https:\/\/cdn\.redocly\.com\/redoc\/[^"]*\/redoc\.standalone\.js"><\/script>/;
  if (!cdnScript.test(html)) throw new Error('the page no longer loads Redoc from the CDN as expected');
  // Redoc's side menu shows Redocly's logo from Redocly's CDN: an empty image of the page's own
  // stands in for it (the "API docs by Redocly" link stays).
  const logo = '"https://cdn.redoc.ly/redoc/logo-mini.svg"';
  if (!bundle.includes(logo)) throw new Error('the Redoc bundle no longer loads its logo as expected');
  const emptyImage = '"data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27/%3E"';
  // A "</script" inside the bundle would end the inline script early; in JavaScript "<\/" reads
  // the same as "</" in a string or a regular expression.
  const script = bundle.replace(logo, () => emptyImage).replace(/<\/script/gi, '<\\/script');
  const inline = '<script>' + script + '</script>';
  html = html.replace(cdnScript, () => inline);

  // Nothing may still come from elsewhere: no src or href to another origin on any element.
  const external = html.match(/<(script|link|img|iframe|source)\b[^>]*\b(src|href)="(https?:)?\/\/[^"]*"/i);
  if (external) throw new Error('the page still loads ' + external[0]);

  fs.writeFileSync(output, html);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
