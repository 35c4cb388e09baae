// lab-orders' TypeScript client: LabOrdersClient for the API, verifyWebhook for the events it
// sends, the errors both throw, and the API's types (generated from its OpenAPI document).

export { LabOrdersClient } from "./client";
export type { LabOrdersClientOptions, PostOptions } from "./client";
export { LabOrdersConnectionError, LabOrdersError, WebhookVerificationError } from "./errors";
export { verifyWebhook, verifyWebhookSignature } from "./webhooks";
export type { VerifiedEvent, VerifyOptions, WebhookHeaders, WebhookTestEvent } from "./webhooks";
export type * from "./types";
export type { components, operations, paths } from "../v1";
