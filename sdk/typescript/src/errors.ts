// The errors a call can end in: the API's own answer (LabOrdersError, with the code to branch
// on), or no answer at all (LabOrdersConnectionError).

import type { ErrorCode, FieldViolation } from "./types";

/** The service answered with an error: `code` says which (see ErrorCode), `status` its status. */
export class LabOrdersError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly requestId: string;
  /** validation_error: what was wrong where (JSON pointers into the request body). */
  readonly details: FieldViolation[];
  /** Seconds the service asked to wait before a retry (Retry-After), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    body: { error: ErrorCode; message: string; request_id: string; details?: FieldViolation[] },
    retryAfterSeconds?: number,
  ) {
    super(`${status} ${body.error}: ${body.message}`);
    this.name = "LabOrdersError";
    this.status = status;
    this.code = body.error;
    this.requestId = body.request_id;
    this.details = body.details ?? [];
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** No answer: the connection failed or was cut, or the call timed out. */
export class LabOrdersConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LabOrdersConnectionError";
  }
}

/** A webhook whose signature, timestamp or body does not check out: answer it 400 and drop it. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}
