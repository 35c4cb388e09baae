// A webhook receiver for lab-orders' integration tests that verifies every delivery with the
// standardwebhooks package from the npm registry: an implementation we did not write.
//
//   node receiver.mjs [--exit-on-stdin-close] WHSEC_SECRET [WHSEC_SECRET ...]
//
// Listens on 127.0.0.1, port 0, and prints the port as its first line on stdout. A delivery
// (a POST to any path but the ones below) verifies when any one of the secrets verifies it.
//   GET  /deliveries  {"deliveries": [{webhook_id, verified, secret_index, body, status, ...}]}
//   POST /script      {"answers": [500, 500, {"status": 503, "retry_after": "5"}, 200]}: the
//                     next deliveries get these answers in order; after them a verified delivery
//                     gets 200 and one that does not verify 401.
//   POST /reset       forgets deliveries and script.
// Secrets are never printed: a delivery records the index of the secret that verified it.

import http from "node:http";
import { Webhook } from "standardwebhooks";

const args = process.argv.slice(2);
const exitOnStdinClose = args.includes("--exit-on-stdin-close");
const secrets = args.filter((arg) => arg !== "--exit-on-stdin-close");
if (secrets.length === 0) {
  console.error("usage: node receiver.mjs [--exit-on-stdin-close] WHSEC_SECRET [...]");
  process.exit(2);
}
const verifiers = secrets.map((secret) => new Webhook(secret));

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

// The first secret that verifies the delivery, with the body as the package parsed it.
function verify(rawBody, headers) {
  const failures = [];
  for (let index = 0; index < verifiers.length; index++) {
    try {
      return { secretIndex: index, body: verifiers[index].verify(rawBody, headers), failures };
    } catch (error) {
      failures.push(error.message);
    }
  }
  return { secretIndex: null, body: null, failures };
}

function nextAnswer(verified) {
  const scripted = answers.shift();
  if (scripted === undefined) return { status: verified ? 200 : 401, headers: {} };
  if (typeof scripted === "number") return { status: scripted, headers: {} };
  const headers = scripted.retry_after ? { "retry-after": String(scripted.retry_after) } : {};
  return { status: scripted.status, headers };
}

async function handle(request, response) {
  const rawBody = await readBody(request);
  if (request.method === "GET" && request.url === "/deliveries") {
    return reply(response, 200, { deliveries });
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

  const { secretIndex, body, failures } = verify(rawBody, request.headers);
  const answer = nextAnswer(secretIndex !== null);
  deliveries.push({
    path: request.url,
    webhook_id: request.headers["webhook-id"] ?? null,
    webhook_timestamp: request.headers["webhook-timestamp"] ?? null,
    signatures: (request.headers["webhook-signature"] ?? "").split(" ").filter(Boolean).length,
    verified: secretIndex !== null,
    secret_index: secretIndex,
    failures,
    body,
    status: answer.status,
  });
  return reply(response, answer.status, { received: true }, answer.headers);
}

const server = http.createServer((request, response) => {
  handle(request, response).catch((error) => reply(response, 500, { error: error.message }));
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`);
});

// A test that dies without stopping the receiver closes this pipe: the receiver goes with it.
if (exitOnStdinClose) {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}
