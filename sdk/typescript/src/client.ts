// A client for the lab-orders API: one method per operation, typed by the generated ../v1.d.ts.
// Every call carries the bearer token; every POST an Idempotency-Key (yours, or one made here and
// reused by this call's retries). Answers refused before anything was done (409 while the same
// key's first request runs, 429, 503 server_busy or shutting_down) are retried after the
// Retry-After the service gives; a 502, a 503 store_unavailable or no answer too, since a repeat
// cannot act twice: a GET reads, a DELETE of a thing gone is done, and the service answers a POST
// repeated under its key with its first answer. Every other error answer is thrown as a
// LabOrdersError. (409 order_busy is retried under its key too: the action may have reached
// Junction before the service's own write lost a race, and the key's resumed attempt finds that.)

import { randomUUID } from "node:crypto";

import { LabOrdersConnectionError, LabOrdersError } from "./errors";
import type {
  AppointmentAvailability,
  ApiErrorBody,
  AvailabilityQuery,
  BookingLink,
  BookingLinkRequest,
  CancelAppointmentRequest,
  CancellationReasonList,
  CancellationReasonsQuery,
  GetOrderQuery,
  LabOrder,
  LabOrderList,
  LabOrderRequest,
  LabResult,
  ListDeliveriesQuery,
  ListOrdersQuery,
  VenueList,
  VenuesQuery,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookEndpointList,
  WebhookEndpointRequest,
  WebhookEndpointWithSecret,
  WebhookTestResult,
} from "./types";

export interface LabOrdersClientOptions {
  /** The service's origin, e.g. "https://lab-orders.example.com". */
  baseUrl: string;
  /** A bearer token (JWT), or a function that returns a fresh one for each call. */
  token: string | (() => string | Promise<string>);
  /** Retries after the first attempt (default 3). 0 turns retrying off. */
  maxRetries?: number;
  /** Per attempt, in milliseconds (default 30 000; a long poll's wait is added). */
  timeoutMs?: number;
  /** The longest wait between two attempts, whatever Retry-After says (default 30 000 ms). */
  maxRetryDelayMs?: number;
  /** A fetch of your own (a proxy agent, a test double). Default: the global fetch. */
  fetch?: typeof fetch;
  /** How the client waits between attempts (tests pass one that records). Default: a timer. */
  sleep?: (milliseconds: number) => Promise<void>;
}

/** Options of a POST: the Idempotency-Key to send (default: a new random one per call). */
export interface PostOptions {
  idempotencyKey?: string;
}

type Method = "GET" | "POST" | "DELETE";
type Query = Record<string, string | number | undefined>;

interface Call {
  method: Method;
  path: string;
  query?: Query;
  body?: unknown;
  // Every POST has one: the service answers a repeat under it with the first answer, so a retry
  // after no answer or a 502 cannot act twice.
  idempotencyKey?: string;
  extraTimeoutMs?: number;
  // An answer read as bytes rather than JSON (the lab's PDF report): the media type asked for and
  // expected. An error answer is the service's JSON envelope all the same.
  bytesOf?: string;
}

// 503s answered before the request was looked at.
const NOT_STARTED = new Set(["server_busy", "shutting_down"]);

export class LabOrdersClient {
  private readonly baseUrl: string;
  private readonly token: LabOrdersClientOptions["token"];
  private readonly maxRetries: number;
  private readonly timeoutMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (milliseconds: number) => Promise<void>;

  constructor(options: LabOrdersClientOptions) {
    if (!options.baseUrl) throw new TypeError("baseUrl is required");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.maxRetries = options.maxRetries ?? 3;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  // ---- Orders (scopes labs:orders:write, labs:orders:read) ----

  /** Creates a lab order (201). A retry under the same key answers the first order again. */
  createOrder(order: LabOrderRequest, options: PostOptions = {}): Promise<LabOrder> {
    return this.send({
      method: "POST",
      path: "/v1/labs/orders",
      body: order,
      ...this.key(options),
    });
  }

  /** The order as it stands; with `wait_status`, waits up to `wait_ms` for one of them. */
  getOrder(id: string, query: GetOrderQuery = {}): Promise<LabOrder> {
    return this.send({
      method: "GET",
      path: `/v1/labs/orders/${encodeURIComponent(id)}`,
      query,
      extraTimeoutMs: query.wait_ms,
    });
  }

  /** One page of the brand's orders, newest first. */
  listOrders(query: ListOrdersQuery = {}): Promise<LabOrderList> {
    return this.send({ method: "GET", path: "/v1/labs/orders", query });
  }

  /** Every order of the brand (matching the query), newest first, page after page. */
  async *listAllOrders(query: Omit<ListOrdersQuery, "cursor"> = {}): AsyncGenerator<LabOrder> {
    let cursor: string | undefined;
    do {
      const page = await this.listOrders({ ...query, cursor });
      yield* page.data;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** Cancels the order at Junction; an order already cancelled answers as it stands. */
  cancelOrder(id: string, options: PostOptions = {}): Promise<LabOrder> {
    return this.action(`/v1/labs/orders/${encodeURIComponent(id)}/cancel`, {}, options);
  }

  /**
   * Bookable slots, each with its booking_key: home visits at the order's address, or for a
   * walk_in order the service centers' near the patient (`site_code`: one site's only), each
   * with its `service_center`.
   */
  getAvailability(id: string, query: AvailabilityQuery = {}): Promise<AppointmentAvailability> {
    return this.send({
      method: "GET",
      path: `/v1/labs/orders/${encodeURIComponent(id)}/appointment/availability`,
      query,
    });
  }

  /** Books the slot (or reschedules the appointment to it). */
  bookAppointment(id: string, bookingKey: string, options: PostOptions = {}): Promise<LabOrder> {
    const path = `/v1/labs/orders/${encodeURIComponent(id)}/appointment`;
    return this.action(path, { booking_key: bookingKey }, options);
  }

  /** Cancels the appointment only (a reason from listCancellationReasons); the order goes on. */
  cancelAppointment(
    id: string,
    request: CancelAppointmentRequest,
    options: PostOptions = {},
  ): Promise<LabOrder> {
    const path = `/v1/labs/orders/${encodeURIComponent(id)}/appointment/cancel`;
    return this.action(path, request, options);
  }

  /**
   * A single-use link (valid a day, or `expires_in_seconds`) to the booking page lab-orders
   * serves, for the order's patient to choose a time themselves; a newer link retires the older.
   * Send `url` to the patient. The booking's appointment.booked event says booked_by: patient.
   */
  createBookingLink(
    id: string,
    request: BookingLinkRequest = {},
    options: PostOptions = {},
  ): Promise<BookingLink> {
    const path = `/v1/labs/orders/${encodeURIComponent(id)}/booking-url`;
    return this.action(path, request, options);
  }

  /** Junction's reasons for cancelling an appointment: a home visit's, or a service center's. */
  listCancellationReasons(query: CancellationReasonsQuery = {}): Promise<CancellationReasonList> {
    return this.send({ method: "GET", path: "/v1/labs/cancellation-reasons", query });
  }

  /** The patient service centers near a ZIP code, nearest first. */
  listVenues(query: VenuesQuery): Promise<VenueList> {
    return this.send({ method: "GET", path: "/v1/labs/venues", query });
  }

  // ---- Results (scope labs:results:read) ----

  /**
   * The order's latest result version: every marker as the lab wrote it, and the ones it could
   * not report. 404 `result_not_ready` until the order has a result.
   */
  getOrderResult(id: string): Promise<LabResult> {
    return this.send({
      method: "GET",
      path: `/v1/labs/orders/${encodeURIComponent(id)}/result`,
    });
  }

  /**
   * The lab's own report, a PDF, as bytes (fetched from Junction on each call). 404
   * `result_not_ready` until the order has a result and the lab has issued its report.
   */
  getOrderResultPdf(id: string): Promise<Uint8Array> {
    return this.send({
      method: "GET",
      path: `/v1/labs/orders/${encodeURIComponent(id)}/result/pdf`,
      bytesOf: "application/pdf",
    });
  }

  // ---- Brand webhooks (scope labs:webhooks:manage) ----

  /** Registers an endpoint; its secret is in this answer only. */
  createWebhookEndpoint(
    endpoint: WebhookEndpointRequest,
    options: PostOptions = {},
  ): Promise<WebhookEndpointWithSecret> {
    return this.action("/v1/webhooks/endpoints", endpoint, options);
  }

  listWebhookEndpoints(): Promise<WebhookEndpointList> {
    return this.send({ method: "GET", path: "/v1/webhooks/endpoints" });
  }

  async deleteWebhookEndpoint(id: string): Promise<void> {
    await this.send({ method: "DELETE", path: `/v1/webhooks/endpoints/${encodeURIComponent(id)}` });
  }

  /** A new secret (in this answer only); the old one goes on signing beside it for 24 hours. */
  rotateWebhookEndpointSecret(
    id: string,
    options: PostOptions = {},
  ): Promise<WebhookEndpointWithSecret> {
    const path = `/v1/webhooks/endpoints/${encodeURIComponent(id)}/rotate-secret`;
    return this.action(path, {}, options);
  }

  /** Sends one signed webhook.test event to the endpoint now, and says what the receiver did. */
  sendWebhookTestEvent(id: string, options: PostOptions = {}): Promise<WebhookTestResult> {
    return this.action(`/v1/webhooks/endpoints/${encodeURIComponent(id)}/test`, {}, options);
  }

  /** The endpoint's delivery log, newest first. */
  listWebhookDeliveries(id: string, query: ListDeliveriesQuery = {}): Promise<WebhookDeliveryList> {
    return this.send({
      method: "GET",
      path: `/v1/webhooks/endpoints/${encodeURIComponent(id)}/deliveries`,
      query,
    });
  }

  /** Sends a delivery again now, with a fresh retry schedule. */
  resendWebhookDelivery(id: string, options: PostOptions = {}): Promise<WebhookDelivery> {
    return this.action(`/v1/webhooks/deliveries/${encodeURIComponent(id)}/resend`, {}, options);
  }

  // ---- The one way a call is made ----

  private key(options: PostOptions): { idempotencyKey: string } {
    return { idempotencyKey: options.idempotencyKey ?? randomUUID() };
  }

  // A POST that acts on something that exists (an order, an endpoint, a delivery).
  private action<T>(path: string, body: unknown, options: PostOptions): Promise<T> {
    return this.send({ method: "POST", path, body, ...this.key(options) });
  }

  private async send<T>(call: Call): Promise<T> {
    const url = new URL(this.baseUrl + call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    // Without an answer a retry is safe only where repeating the request cannot do twice.
    const safeToRepeat = call.method !== "POST" || call.idempotencyKey !== undefined;
    // Whether an earlier attempt may have taken effect unseen (no answer, a 502 or 503).
    let mayHaveActed = false;
    for (let attempt = 0; ; ++attempt) {
      // A token function that fails is the caller's own error, not a lost answer: not retried.
      const token = typeof this.token === "function" ? await this.token() : this.token;
      let response: Response;
      let body: string | Uint8Array;
      try {
        response = await this.attempt(url, call, token);
        // The body is part of the answer: one cut off is no answer.
        body = call.bytesOf ? new Uint8Array(await response.arrayBuffer()) : await response.text();
      } catch (cause) {
        if (safeToRepeat && attempt < this.maxRetries) {
          mayHaveActed = true;
          await this.pause(attempt, undefined);
          continue;
        }
        throw new LabOrdersConnectionError(`${call.method} ${call.path}: no answer`, { cause });
      }
      if (response.ok) return this.bodyOf<T>(call, response, body);
      const text = typeof body === "string" ? body : new TextDecoder().decode(body);
      const error = this.errorOf(response, text);
      // A DELETE whose earlier attempt took effect unseen finds the thing gone: it is done.
      if (call.method === "DELETE" && error.status === 404 && mayHaveActed) return undefined as T;
      if (this.retried(error, safeToRepeat) && attempt < this.maxRetries) {
        mayHaveActed ||= error.status === 502 || error.code === "store_unavailable";
        await this.pause(attempt, error.retryAfterSeconds);
        continue;
      }
      throw error;
    }
  }

  private attempt(url: URL, call: Call, token: string): Promise<Response> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      // An error answer is JSON whatever was asked for.
      Accept: call.bytesOf ? `${call.bytesOf}, application/json` : "application/json",
    };
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    if (call.idempotencyKey !== undefined) headers["Idempotency-Key"] = call.idempotencyKey;
    return this.fetchImpl(url, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      // A redirect would turn a POST into a GET of another thing: the API sends none.
      redirect: "error",
      signal: AbortSignal.timeout(this.timeoutMs + (call.extraTimeoutMs ?? 0)),
    });
  }

  private bodyOf<T>(call: Call, response: Response, body: string | Uint8Array): T {
    if (response.status === 204) return undefined as T;
    if (typeof body !== "string") {
      // Bytes are what was asked for only when they say so: else something between us and the
      // service answered (a proxy's page, say), as with a JSON answer that is not JSON.
      const type = response.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
      if (type === call.bytesOf) return body as T;
      throw new LabOrdersConnectionError(
        `${call.method} ${call.path}: an answer ${response.status} that is not ${call.bytesOf}`,
      );
    }
    try {
      return JSON.parse(body) as T;
    } catch (cause) {
      // Something between us and the service answered: what the request did is unknown.
      throw new LabOrdersConnectionError(
        `${call.method} ${call.path}: an answer ${response.status} that is not JSON`,
        { cause },
      );
    }
  }

  private errorOf(response: Response, text: string): LabOrdersError {
    // Retry-After in seconds; the HTTP-date form (the service never sends it) is left to backoff.
    const retryAfter = response.headers.get("retry-after")?.trim() ?? "";
    const seconds = /^\d{1,6}$/.test(retryAfter) ? Number(retryAfter) : undefined;
    let body: ApiErrorBody | undefined;
    try {
      const parsed = JSON.parse(text) as Partial<ApiErrorBody>;
      if (typeof parsed.error === "string" && typeof parsed.message === "string") {
        body = parsed as ApiErrorBody;
      }
    } catch {
      // Not JSON: below.
    }
    // Not the service's envelope (a proxy in the way, say): keep what can be known.
    body ??= {
      error: "internal_error",
      message: `an answer ${response.status} without the service's error body`,
      request_id: response.headers.get("x-request-id") ?? "",
    };
    return new LabOrdersError(response.status, body, seconds);
  }

  private retried(error: LabOrdersError, safeToRepeat: boolean): boolean {
    // Refused before anything was done: the same key still running, a rate limit, a full
    // server, a server stopping.
    // order_busy: a worker held the order, or the order's write lost a race after Junction acted;
    // under the same key the service finds what was done, and does not do it twice.
    if (error.status === 409) {
      return (
        error.code === "idempotency_request_in_progress" ||
        (error.code === "order_busy" && safeToRepeat)
      );
    }
    if (error.status === 429 || NOT_STARTED.has(error.code)) return true;
    // A 502 may have reached Junction, a 503 store_unavailable may have stopped half-way: only a
    // request that cannot do twice goes again.
    return (error.status === 502 || error.status === 503) && safeToRepeat;
  }

  // Retry-After when the service gave one, else exponential backoff with full jitter.
  private pause(attempt: number, retryAfterSeconds: number | undefined): Promise<void> {
    const backoff = Math.random() * Math.min(8_000, 500 * 2 ** attempt);
    const wait = retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : backoff;
    return this.sleep(Math.min(wait, this.maxRetryDelayMs));
  }
}
