// Verifying the events lab-orders POSTs to a brand's endpoint, signed the Standard Webhooks way:
// webhook-id, webhook-timestamp (Unix seconds) and webhook-signature ("v1,<base64>" entries,
// space-separated: during a secret rotation the old and the new secret both sign). The signed
// content is "<id>.<timestamp>.<body>", HMAC-SHA256 with the base64 key after "whsec_".

import { createHmac, timingSafeEqual } from "node:crypto";

import { WebhookVerificationError } from "./errors";
import type { WebhookEvent } from "./types";

/** The event POST /v1/webhooks/endpoints/{id}/test sends. */
export interface WebhookTestEvent {
  type: "webhook.test";
  timestamp: string;
  data: { endpoint_id: string };
}

/** What a verified delivery holds: a brand event, or the test event. */
export type VerifiedEvent = WebhookEvent | WebhookTestEvent;

/** Header lookups: a fetch Headers, or Node's IncomingHttpHeaders (names in lower case). */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** How far the timestamp may be from now, either way (default 300 s): older is a replay. */
  toleranceSeconds?: number;
  /** Now, for tests. */
  now?: Date;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

function secretKey(secret: string): Buffer {
  if (!secret.startsWith("whsec_")) throw new TypeError('a webhook secret starts with "whsec_"');
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  if (key.length < 16) throw new TypeError("the webhook secret is too short");
  return key;
}

/**
 * Checks a delivery's signature and timestamp; throws WebhookVerificationError when they do not
 * check out. `payload` must be the body's exact bytes as received (not re-serialized JSON).
 * `secret` may list the old and the new secret while you switch over after a rotation.
 */
export function verifyWebhookSignature(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | string[],
  options: VerifyOptions = {},
): void {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError("a webhook-id, -timestamp or -signature header is missing");
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw new WebhookVerificationError("the timestamp is not a number");
  }
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(now - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError("the timestamp is too far from now (a replay?)");
  }

  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, "utf8"), bytesOf(payload)]);
  const offered = signatures
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => Buffer.from(entry.slice(3), "base64"));
  const secrets = Array.isArray(secret) ? secret : [secret];
  const matches = secrets.some((candidate) => {
    const expected = createHmac("sha256", secretKey(candidate)).update(signed).digest();
    return offered.some(
      (given) => given.length === expected.length && timingSafeEqual(given, expected),
    );
  });
  if (!matches) throw new WebhookVerificationError("no signature matches the secret");
}

/**
 * Checks a delivery (verifyWebhookSignature) and returns its event. Throws
 * WebhookVerificationError when it does not check out: answer such a request 400 and do not act
 * on it.
 */
export function verifyWebhook(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | string[],
  options: VerifyOptions = {},
): VerifiedEvent {
  verifyWebhookSignature(payload, headers, secret, options);
  let event: unknown;
  try {
    event = JSON.parse(bytesOf(payload).toString("utf8"));
  } catch {
    throw new WebhookVerificationError("the body is not JSON");
  }
  const type =
    typeof event === "object" && event !== null ? (event as { type?: unknown }).type : null;
  if (typeof type !== "string") throw new WebhookVerificationError("the body is not an event");
  return event as VerifiedEvent;
}

function bytesOf(payload: string | Uint8Array): Buffer {
  return typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
}
