// The SDK on its own, with no service: webhook verification against the published Standard
// Webhooks vectors, and the client's retry policy against a scripted fetch (which answers are
// retried, after what, under which key, and which are thrown at once). scripts/sdk-test.sh runs
// it; the example (scripts/sdk-example.sh) runs the SDK against a real service.

import { strict as assert } from "node:assert";
import { createHmac } from "node:crypto";
import { test } from "node:test";

import {
  LabOrdersClient,
  LabOrdersConnectionError,
  LabOrdersError,
  verifyWebhook,
  verifyWebhookSignature,
  WebhookVerificationError,
} from "../src/index";

// Vector A (Standard Webhooks / Svix canonical) and B (the Rust reference library).
const A = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: "1614265330",
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const B = {
  secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
  id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
  timestamp: "1649367553",
  body: '{"email":"test@example.com","username":"test_user"}',
  signature: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
};
type Vector = typeof A;
const at = (vector: Vector, seconds = 0) => ({
  now: new Date((Number(vector.timestamp) + seconds) * 1000),
});
const headersOf = (vector: Vector, signature = vector.signature) => ({
  "webhook-id": vector.id,
  "webhook-timestamp": vector.timestamp,
  "webhook-signature": signature,
});
const refused = (check: () => unknown) => assert.throws(check, WebhookVerificationError);

test("the published vectors verify, from a string, bytes or fetch Headers", () => {
  verifyWebhookSignature(A.body, headersOf(A), A.secret, at(A));
  verifyWebhookSignature(Buffer.from(A.body), headersOf(A), A.secret, at(A));
  verifyWebhookSignature(B.body, new Headers(headersOf(B)), B.secret, at(B));
  // Among wrong and unknown-version signatures, the right one is found.
  const several = `v2,abc v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU= ${B.signature}`;
  verifyWebhookSignature(B.body, headersOf(B, several), B.secret, at(B));
  // After a rotation: the old secret and the new one both work.
  verifyWebhookSignature(A.body, headersOf(A), [B.secret, A.secret], at(A));
});

test("a changed byte, signature, id or secret, or a stale timestamp, is refused", () => {
  refused(() => verifyWebhookSignature(A.body.replace("2", "3"), headersOf(A), A.secret, at(A)));
  const lastCharChanged = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
  refused(() => verifyWebhookSignature(A.body, headersOf(A, lastCharChanged), A.secret, at(A)));
  refused(() =>
    verifyWebhookSignature(A.body, { ...headersOf(A), "webhook-id": B.id }, A.secret, at(A)),
  );
  refused(() => verifyWebhookSignature(A.body, headersOf(A), B.secret, at(A)));
  refused(() => verifyWebhookSignature(A.body, headersOf(A), A.secret, at(A, 301)));
  refused(() => verifyWebhookSignature(A.body, headersOf(A), A.secret, at(A, -301)));
  verifyWebhookSignature(A.body, headersOf(A), A.secret, { ...at(A, 301), toleranceSeconds: 600 });
  refused(() => verifyWebhookSignature(A.body, { "webhook-id": A.id }, A.secret, at(A)));
  const notASecret = () => verifyWebhookSignature(A.body, headersOf(A), "not-a-secret", at(A));
  assert.throws(notASecret, TypeError);
});

test("verifyWebhook returns the event, and refuses a signed body that is not one", () => {
  refused(() => verifyWebhook(A.body, headersOf(A), A.secret, at(A))); // no "type"
  const event = {
    type: "webhook.test",
    timestamp: "2021-02-26T10:22:10Z",
    data: { endpoint_id: "ep_1" },
  };
  const body = JSON.stringify(event);
  const key = Buffer.from(A.secret.slice("whsec_".length), "base64");
  const mac = createHmac("sha256", key).update(`${A.id}.${A.timestamp}.${body}`).digest("base64");
  assert.deepEqual(verifyWebhook(body, headersOf(A, `v1,${mac}`), A.secret, at(A)), event);
});

// A fetch that answers from a script, one answer per call, and records what it was asked.
function scriptedFetch(answers: Array<Response | Error>) {
  const calls: Array<{
    url: string;
    method: string;
    headers: Record<string, string>;
    body?: string;
  }> = [];
  const fetchImpl = (async (url: URL, init: RequestInit) => {
    calls.push({
      url: String(url),
      method: String(init.method),
      headers: init.headers as Record<string, string>,
      body: typeof init.body === "string" ? init.body : undefined,
    });
    const next = answers.shift();
    if (next === undefined) throw new Error("the script ran out");
    if (next instanceof Error) throw next;
    return next;
  }) as unknown as typeof fetch;
  return { fetchImpl, calls };
}

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}
const error = (code: string) => ({ error: code, message: code, request_id: "req-1" });
const order = { id: "order-1", status: "ordered" };

function clientWith(answers: Array<Response | Error>, maxRetries = 3) {
  const script = scriptedFetch(answers);
  const waits: number[] = [];
  const client = new LabOrdersClient({
    baseUrl: "http://lab-orders.test/",
    token: () => "a-token",
    fetch: script.fetchImpl,
    maxRetries,
    sleep: async (milliseconds) => {
      waits.push(milliseconds);
    },
  });
  return { client, calls: script.calls, waits };
}

const body = {} as Parameters<LabOrdersClient["createOrder"]>[0];

test("an order creation is retried under one key through 409, 429, 502 and no answer", async () => {
  const { client, calls, waits } = clientWith([
    answer(409, error("idempotency_request_in_progress"), { "Retry-After": "1" }),
    answer(502, error("junction_timeout")),
    new TypeError("fetch failed"),
    answer(201, order),
  ]);
  assert.deepEqual(await client.createOrder(body), order);
  assert.equal(calls.length, 4);
  const keys = new Set(calls.map((call) => call.headers["Idempotency-Key"]));
  assert.equal(keys.size, 1);
  assert.ok([...keys][0]);
  assert.equal(calls[0].headers.Authorization, "Bearer a-token");
  assert.equal(calls[0].url, "http://lab-orders.test/v1/labs/orders");
  // Retry-After where the service gave one; else a backoff that grows, never nothing at all.
  assert.equal(waits[0], 1000);
  assert.ok(waits[1] > 0 && waits[1] <= 1000, `waited ${waits[1]} ms`);
  assert.ok(waits[2] > 0 && waits[2] <= 2000, `waited ${waits[2]} ms`);
  const mine = clientWith([answer(429, error("server_busy")), answer(201, order)]);
  await mine.client.createOrder(body, { idempotencyKey: "mine" });
  assert.deepEqual(mine.calls.map((call) => call.headers["Idempotency-Key"]), ["mine", "mine"]);
});

test("an action is repeated under its key after a 502 or no answer", async () => {
  const upstream = clientWith([answer(502, error("junction_upstream_error")), answer(200, order)]);
  assert.deepEqual(await upstream.client.cancelOrder("order-1"), order);
  assert.equal(upstream.calls.length, 2);
  const keys = upstream.calls.map((call) => call.headers["Idempotency-Key"]);
  assert.ok(keys[0] && keys[0] === keys[1], "one key for the call and its retry");

  const cut = clientWith([new TypeError("socket hang up"), answer(200, order)]);
  const booked = await cut.client.bookAppointment("order-1", "slot", { idempotencyKey: "b-1" });
  assert.deepEqual(booked, order);
  assert.deepEqual(cut.calls.map((call) => call.headers["Idempotency-Key"]), ["b-1", "b-1"]);

  // order_busy may come after Junction acted (the order's own write lost a race): repeated under
  // the same key, which the service resumes without acting twice.
  const busyAnswer = answer(409, error("order_busy"), { "Retry-After": "1" });
  const busy = clientWith([busyAnswer, answer(200, order)]);
  assert.deepEqual(await busy.client.cancelOrder("order-1"), order);
  assert.equal(busy.calls.length, 2);
  const busyKeys = busy.calls.map((call) => call.headers["Idempotency-Key"]);
  assert.equal(busyKeys[0], busyKeys[1]);

  const stopping = clientWith([answer(503, error("shutting_down")), answer(200, order)]);
  assert.deepEqual(await stopping.client.cancelOrder("order-1"), order);
  assert.equal(stopping.calls.length, 2);
});

test("a booking link is asked for under a key, with its life when given", async () => {
  const link = { url: "https://book.example.com/book/abc", expires_at: "2025-06-16T10:00:00+00:00" };
  const cut = clientWith([new TypeError("socket hang up"), answer(201, link)]);
  assert.deepEqual(await cut.client.createBookingLink("order-1", { expires_in_seconds: 3600 }), link);
  assert.equal(cut.calls.length, 2);
  assert.equal(cut.calls[0].url, "http://lab-orders.test/v1/labs/orders/order-1/booking-url");
  assert.deepEqual(JSON.parse(cut.calls[0].body ?? ""), { expires_in_seconds: 3600 });
  const keys = cut.calls.map((call) => call.headers["Idempotency-Key"]);
  assert.ok(keys[0] && keys[0] === keys[1], "one key for the call and its retry");
});

test("a DELETE whose first answer was lost and finds the endpoint gone is done", async () => {
  const lost = clientWith([new TypeError("socket hang up"), answer(404, error("not_found"))]);
  await lost.client.deleteWebhookEndpoint("ep_1");
  assert.equal(lost.calls.length, 2);
  const never = clientWith([answer(404, error("not_found"))]);
  await assert.rejects(never.client.deleteWebhookEndpoint("ep_1"), LabOrdersError);
});

test("an answer cut off in its body is no answer; a failing token function is thrown", async () => {
  const cut = () =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.error(new Error("connection reset"));
        },
      }),
      { status: 200 },
    );
  const get = clientWith([cut(), answer(200, order)]);
  assert.deepEqual(await get.client.getOrder("order-1"), order);
  const cancel = clientWith([cut(), answer(200, order)]);
  assert.deepEqual(await cancel.client.cancelOrder("order-1"), order);
  const notJson = clientWith([new Response("<html>proxy</html>", { status: 200 })]);
  await assert.rejects(notJson.client.getOrder("order-1"), LabOrdersConnectionError);

  const script = scriptedFetch([answer(200, order)]);
  const client = new LabOrdersClient({
    baseUrl: "http://lab-orders.test",
    token: () => {
      throw new Error("the token service is down");
    },
    fetch: script.fetchImpl,
  });
  await assert.rejects(client.getOrder("order-1"), /the token service is down/);
  assert.equal(script.calls.length, 0);
});

test("a refusal is thrown at once, with its code, details and request id", async () => {
  const details = [{ path: "/patient/email", message: "is not an email address" }];
  const { client, calls } = clientWith([
    answer(400, { ...error("validation_error"), details }),
  ]);
  await assert.rejects(client.createOrder(body), (thrown: unknown) => {
    assert.ok(thrown instanceof LabOrdersError);
    assert.equal(thrown.code, "validation_error");
    assert.deepEqual(thrown.details, details);
    assert.equal(thrown.requestId, "req-1");
    return true;
  });
  assert.equal(calls.length, 1);
  const conflict = clientWith([answer(409, error("order_not_cancellable"))]);
  await assert.rejects(conflict.client.cancelOrder("order-1"), LabOrdersError);
  assert.equal(conflict.calls.length, 1);
});

test("retries stop at maxRetries; the last answer is thrown", async () => {
  const { client, calls } = clientWith(
    [answer(503, error("store_unavailable")), answer(503, error("store_unavailable")),
      answer(503, error("store_unavailable"))],
    2,
  );
  await assert.rejects(client.getOrder("order-1"), LabOrdersError);
  assert.equal(calls.length, 3);
});

test("queries, paths and pages are built as the API reads them", async () => {
  const { client, calls } = clientWith([
    answer(200, { data: [order], has_more: true, next_cursor: "order-1" }),
    answer(200, { data: [{ ...order, id: "order-0" }], has_more: false, next_cursor: null }),
    answer(200, order),
    new Response(null, { status: 204 }),
  ]);
  const ids: string[] = [];
  for await (const each of client.listAllOrders({ status: "ordered", limit: 1 })) ids.push(each.id);
  assert.deepEqual(ids, ["order-1", "order-0"]);
  const origin = "http://lab-orders.test";
  assert.equal(calls[1].url, `${origin}/v1/labs/orders?status=ordered&limit=1&cursor=order-1`);
  await client.getOrder("a/b", { wait_status: "completed", wait_ms: 10 });
  assert.equal(calls[2].url, `${origin}/v1/labs/orders/a%2Fb?wait_status=completed&wait_ms=10`);
  await client.deleteWebhookEndpoint("ep_1");
  assert.equal(calls[3].method, "DELETE");
});

test("a result is read as JSON, its report as bytes; their errors are typed", async () => {
  const result = { id: "result-1", order_id: "order-1", version: 1, status: "final" };
  // Bytes that are not UTF-8 come back as they were sent.
  const pdf = new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0xff, 0xfe, 0x00, 0x0a]);
  const pdfAnswer = () =>
    new Response(pdf, {
      status: 200,
      headers: { "Content-Type": "application/pdf", "Content-Disposition": "inline" },
    });
  const { client, calls } = clientWith([
    answer(200, result),
    answer(404, error("result_not_ready")),
    answer(502, error("junction_timeout")),
    pdfAnswer(),
    answer(404, error("result_not_ready")),
    new Response("<html>proxy</html>", { status: 200, headers: { "Content-Type": "text/html" } }),
  ]);
  const origin = "http://lab-orders.test";
  assert.deepEqual(await client.getOrderResult("a/b"), result);
  assert.equal(calls[0].url, `${origin}/v1/labs/orders/a%2Fb/result`);
  assert.equal(calls[0].method, "GET");
  await assert.rejects(client.getOrderResult("order-1"), (thrown: unknown) => {
    assert.ok(thrown instanceof LabOrdersError);
    assert.equal(thrown.status, 404);
    assert.equal(thrown.code, "result_not_ready");
    return true;
  });
  assert.equal(calls.length, 2, "a 404 is not retried");

  // A 502 fetching the report is retried (a GET); the bytes are the body, untouched.
  const report = await client.getOrderResultPdf("order-1");
  assert.ok(report instanceof Uint8Array);
  assert.deepEqual([...report], [...pdf]);
  assert.equal(calls.length, 4);
  assert.equal(calls[3].url, `${origin}/v1/labs/orders/order-1/result/pdf`);
  assert.equal(calls[3].headers.Accept, "application/pdf, application/json");
  await assert.rejects(client.getOrderResultPdf("order-1"), (thrown: unknown) => {
    assert.ok(thrown instanceof LabOrdersError);
    assert.equal(thrown.code, "result_not_ready");
    assert.equal(thrown.requestId, "req-1");
    return true;
  });
  await assert.rejects(client.getOrderResultPdf("order-1"), LabOrdersConnectionError);
});
