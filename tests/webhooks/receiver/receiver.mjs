// A webhook receiver for lab-orders' integration tests that verifies every delivery with the
// standardwebhooks package from the npm registry: an implementation we did not write.
//
//   node receiver.mjs [--exit-on-stdin-close] [--port N] [WHSEC_SECRET ...]
//
// Listens on 127.0.0.1, port 0 (or N, to come back where a stopped receiver was), and prints
// the port as its first line on stdout. A delivery (a POST to any path but the ones below)
// verifies when any one of the secrets verifies it.
//   GET  /deliveries  {"deliveries": [{webhook_id, verified, secret_index, verified_by, body,
//                     status, ...}]}: verified_by lists every secret (by index) that verifies
//                     the delivery on its own, as a receiver holding only that secret would.
//   POST /secrets     {"secrets": ["whsec_...", ...]}: verify with these from now on (secrets
//                     made by the service after the receiver started).
//   POST /script      {"answers": [500, 500, {"status": 503, "retry_after": "5"},
//                     {"status": 200, "delay_ms": 300}]}: the next deliveries get these answers
//                     in order (delay_ms: recorded at once, answered that much later); after
//                     them a verified delivery gets 200 and one that does not verify 401.
//   POST /reset       forgets deliveries and script.
// Secrets are never printed: a delivery records the index of the secret that verified it.

import http from "node:http";
import { Webhook } from "standardwebhooks";

const args = process.argv.slice(2);
const exitOnStdinClose = args.includes("--exit-on-stdin-close");
let port = 0;
const secrets = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--exit-on-stdin-close") continue;
  if (args[i] === "--port") {
    port = Number(args[++i]);
    continue;
  }
  secrets.push(args[i]);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node receiver.mjs [--exit-on-stdin-close] [--port N] [WHSEC_SECRET ...]");
  process.exit(2);
}
let verifiers = secrets.map((secret) => new Webhook(secret));

let deliveries = [];
let answers = [];

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function reply(response, status, body, headers = {}) {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

// Every secret that verifies the delivery, each on its own, with the body as the package parsed
// it; secretIndex is the first of them.
function verify(rawBody, headers) {
  const failures = [];
  const verifiedBy = [];
  let body = null;
  for (let index = 0; index < verifiers.length; index++) {
    try {
      body = verifiers[index].verify(rawBody, headers);
      verifiedBy.push(index);
    } catch (error) {
      failures.push(error.message);
    }
  }
  return { secretIndex: verifiedBy.length > 0 ? verifiedBy[0] : null, verifiedBy, body, failures };
}

function nextAnswer(verified) {
  const scripted = answers.shift();
  if (scripted === undefined) return { status: verified ? 200 : 401, headers: {} };
  if (typeof scripted === "number") return { status: scripted, headers: {} };
  const headers = scripted.retry_after ? { "retry-after": String(scripted.retry_after) } : {};
  return { status: scripted.status, headers, delayMs: scripted.delay_ms ?? 0 };
}

async function handle(request, response) {
  const rawBody = await readBody(request);
  if (request.method === "GET" && request.url === "/deliveries") {
    return reply(response, 200, { deliveries });
  }
  if (request.method === "POST" && request.url === "/secrets") {
    verifiers = JSON.parse(rawBody.toString("utf8")).secrets.map((secret) => new Webhook(secret));
    return reply(response, 200, { secrets: verifiers.length });
  }
  if (request.method === "POST" && request.url === "/script") {
    answers.push(...JSON.parse(rawBody.toString("utf8")).answers);
    return reply(response, 200, { queued: answers.length });
  }
  if (request.method === "POST" && request.url === "/reset") {
    deliveries = [];
    answers = [];
    return reply(response, 200, {});
  }
  if (request.method !== "POST") return reply(response, 405, { error: "method not allowed" });

  const { secretIndex, verifiedBy, body, failures } = verify(rawBody, request.headers);
  const answer = nextAnswer(secretIndex !== null);
  deliveries.push({
    path: request.url,
    webhook_id: request.headers["webhook-id"] ?? null,
    webhook_timestamp: request.headers["webhook-timestamp"] ?? null,
    signatures: (request.headers["webhook-signature"] ?? "").split(" ").filter(Boolean).length,
    verified: secretIndex !== null,
    secret_index: secretIndex,
    verified_by: verifiedBy,
    failures,
    body,
    status: answer.status,
  });
  if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
  return reply(response, answer.status, { received: true }, answer.headers);
}

const server = http.createServer((request, response) => {
  handle(request, response).catch((error) => reply(response, 500, { error: error.message }));
});
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`);
});

// A test that dies without stopping the receiver closes this pipe: the receiver goes with it.
if (exitOnStdinClose) {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}
