// A brand's program using the SDK as a customer would: installed from its npm pack tarball and
// imported by name. It registers a webhook endpoint served by this program, creates a lab order
// (twice under one Idempotency-Key: one order), waits for its appointment with the long poll,
// lists orders, and checks that the events the service delivered verify with the SDK's
// verifyWebhook (and that a tampered one does not). scripts/sdk-example.sh runs it against a
// service in the test command.
//
// LAB_ORDERS_URL=http://127.0.0.1:8080 LAB_ORDERS_TOKEN=<jwt with labs:orders:read,
// labs:orders:write and labs:webhooks:manage> node create-order.js

import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

import {
  LabOrdersClient,
  LabOrdersError,
  verifyWebhook,
  WebhookVerificationError,
  type LabOrderRequest,
  type VerifiedEvent,
} from "@lab-orders/sdk";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

interface Delivery {
  body: Buffer;
  headers: IncomingMessage["headers"];
}

// An HTTP receiver on a free loopback port (development mode accepts a loopback endpoint) that
// keeps every delivery as received, bytes and headers, and wakes whoever waits for one.
async function startReceiver() {
  const deliveries: Delivery[] = [];
  let notify: () => void = () => {};
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      deliveries.push({ body: Buffer.concat(chunks), headers: request.headers });
      response.writeHead(204).end();
      notify();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // Resolves once a delivery satisfies the predicate (deliveries are checked as they come).
  const waitFor = (found: (all: Delivery[]) => boolean, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no such delivery in time")), timeoutMs);
      notify = () => {
        if (found(deliveries)) {
          clearTimeout(timer);
          resolve();
        }
      };
      notify();
    });
  return { url: `http://127.0.0.1:${port}/lab-orders-events`, deliveries, waitFor, server };
}

async function main(): Promise<void> {
  const client = new LabOrdersClient({
    baseUrl: required("LAB_ORDERS_URL"),
    token: required("LAB_ORDERS_TOKEN"),
  });
  const receiver = await startReceiver();
  const endpoint = await client.createWebhookEndpoint({ url: receiver.url });
  console.log(`endpoint ${endpoint.id} registered`);

  // The test event, delivered at once and verified.
  const test = await client.sendWebhookTestEvent(endpoint.id);
  check(test.delivered, `the test event was not delivered: ${JSON.stringify(test)}`);

  const order: LabOrderRequest = {
    panel_slug: "wellness",
    patient: {
      first_name: "Ana",
      last_name: "Lopez",
      dob: "1990-04-12",
      email: "ana@example.com",
      phone: "602-555-0100",
      sex: "female",
    },
    address: {
      line1: "1 West Lincoln Street",
      city: "Phoenix",
      state: "AZ",
      zip: "85004",
      country: "US",
    },
    patient_id: "sdk-example-patient",
  };
  const idempotencyKey = `sdk-example-${Date.now()}`;
  const created = await client.createOrder(order, { idempotencyKey });
  const again = await client.createOrder(order, { idempotencyKey });
  check(again.id === created.id, "the same key made a second order");
  console.log(`created order ${created.id}: ${created.status}`);

  const current = await client.getOrder(created.id, {
    wait_status: "appointment_scheduled,failed",
    wait_ms: 20000,
  });
  const appointment = current.appointment;
  console.log(
    `order ${current.id}: ${current.status}` +
      (appointment ? `, appointment ${appointment.status} at ${appointment.start_at}` : ""),
  );
  check(current.status === "appointment_scheduled", `the order ended ${current.status}`);

  const page = await client.listOrders({ limit: 5 });
  check(page.data.some((listed) => listed.id === created.id), "the new order is not in the list");

  // A typed error: an order that does not exist.
  try {
    await client.getOrder("no-such-order");
    throw new Error("a missing order was found");
  } catch (error) {
    const notFound = error instanceof LabOrdersError && error.code === "not_found";
    check(notFound, `not a not_found: ${error}`);
  }

  // The order's events, as delivered, each verified with the endpoint's secret.
  const events = (all: Delivery[]): VerifiedEvent[] =>
    all.map((delivery) => verifyWebhook(delivery.body, delivery.headers, endpoint.secret));
  await receiver.waitFor(
    (all) => events(all).some((event) => event.type === "appointment.confirmed"),
    20000,
  );
  const types = events(receiver.deliveries).map((event) => event.type);
  check(types[0] === "webhook.test", `the first delivery was ${types[0]}`);
  check(types.includes("lab_order.created"), `no lab_order.created among ${types.join(", ")}`);
  console.log(`${types.length} deliveries verified: ${types.join(", ")}`);

  // A byte changed, or another secret: refused.
  const first = receiver.deliveries[0];
  const tampered = Buffer.from(first.body);
  tampered[tampered.length - 2] ^= 1;
  for (const [body, secret] of [
    [tampered, endpoint.secret],
    [first.body, "whsec_" + Buffer.alloc(32, 7).toString("base64")],
  ] as const) {
    try {
      verifyWebhook(body, first.headers, secret);
      throw new Error("a forged delivery verified");
    } catch (error) {
      check(error instanceof WebhookVerificationError, `not a verification error: ${error}`);
    }
  }

  await client.deleteWebhookEndpoint(endpoint.id);
  receiver.server.close();
  console.log("ok");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
