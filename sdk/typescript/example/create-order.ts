// A client written against the generated types (../v1.d.ts) only: it creates a lab order, waits
// for its appointment with the long poll, and lists the brand's orders. A change to the API that
// breaks these calls breaks this program's compilation (tsc) or its run
// (scripts/sdk-example.sh, in the test command).
//
// LAB_ORDERS_URL=http://127.0.0.1:8080 LAB_ORDERS_TOKEN=<jwt> node create-order.js

import type { components, paths } from "../v1";

type LabOrderRequest = components["schemas"]["LabOrderRequest"];
type LabOrder = components["schemas"]["LabOrder"];
type LabOrderList = components["schemas"]["LabOrderList"];
type ApiError = components["schemas"]["Error"];
type CreateOrderHeaders = paths["/v1/labs/orders"]["post"]["parameters"]["header"];
type GetOrderQuery = NonNullable<paths["/v1/labs/orders/{id}"]["get"]["parameters"]["query"]>;
type ListOrdersQuery = NonNullable<paths["/v1/labs/orders"]["get"]["parameters"]["query"]>;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const baseUrl = required("LAB_ORDERS_URL");
const token = required("LAB_ORDERS_TOKEN");

function query(parameters: Record<string, string | number | undefined>): string {
  const pairs = Object.entries(parameters).filter(([, value]) => value !== undefined);
  return pairs.length === 0 ? "" : "?" + new URLSearchParams(pairs.map(([k, v]) => [k, String(v)]));
}

// One call; the body is T on the status expected, the API's Error otherwise.
async function call<T>(
  method: "GET" | "POST",
  path: string,
  expectedStatus: number,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer: unknown = await response.json();
  if (response.status !== expectedStatus) {
    const error = answer as ApiError;
    throw new Error(`${method} ${path}: ${response.status} ${error.error}: ${error.message}`);
  }
  return answer as T;
}

async function main(): Promise<void> {
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
  const createHeaders: CreateOrderHeaders = { "Idempotency-Key": `sdk-example-${Date.now()}` };
  const created = await call<LabOrder>("POST", "/v1/labs/orders", 201, order, createHeaders);
  console.log(`created order ${created.id}: ${created.status}`);

  const wait: GetOrderQuery = { wait_status: "appointment_scheduled,failed", wait_ms: 20000 };
  const current = await call<LabOrder>("GET", `/v1/labs/orders/${created.id}${query(wait)}`, 200);
  const appointment = current.appointment;
  console.log(
    `order ${current.id}: ${current.status}` +
      (appointment ? `, appointment ${appointment.status} at ${appointment.start_at}` : ""),
  );

  const listed: ListOrdersQuery = { limit: 5 };
  const page = await call<LabOrderList>("GET", `/v1/labs/orders${query(listed)}`, 200);
  if (!page.data.some((listedOrder) => listedOrder.id === created.id)) {
    throw new Error("the new order is not in the list");
  }
  if (current.status !== "appointment_scheduled") {
    throw new Error(`the order ended ${current.status}, not appointment_scheduled`);
  }
  console.log("ok");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
