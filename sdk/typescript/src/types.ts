// Names for the API's shapes, all taken from the generated ../v1.d.ts (scripts/check-openapi.sh
// keeps that file in step with schemas/openapi.json): nothing here is written by hand twice.

import type { components, operations } from "../v1";

type Schemas = components["schemas"];

export type LabOrderRequest = Schemas["LabOrderRequest"];
export type LabOrder = Schemas["LabOrder"];
export type LabOrderList = Schemas["LabOrderList"];
export type LabOrderStatus = LabOrder["status"];
export type Appointment = Schemas["Appointment"];
export type AppointmentAvailability = Schemas["AppointmentAvailability"];
export type AppointmentSlot = Schemas["AppointmentSlot"];
/** A walk_in order's slot: the patient service center it is at. */
export type ServiceCenterSlotSite = Schemas["ServiceCenterSlotSite"];
export type CancelAppointmentRequest = Schemas["CancelAppointmentRequest"];
export type BookingLink = Schemas["BookingLink"];
export type BookingLinkRequest = Schemas["BookingLinkRequest"];
export type CancellationReason = Schemas["CancellationReason"];
export type CancellationReasonList = Schemas["CancellationReasonList"];
/** A patient service center near a ZIP code (GET /v1/labs/venues). */
export type Venue = Schemas["Venue"];
export type VenueList = Schemas["VenueList"];
/** One version of an order's lab result (scope labs:results:read). */
export type LabResult = Schemas["LabResult"];
export type LabResultMarker = Schemas["LabResultMarker"];
export type LabResultMissingMarker = Schemas["LabResultMissingMarker"];
/** partial, final or corrected: each a version of its own, all kept. */
export type LabResultStatus = LabResult["status"];
export type WebhookEndpointRequest = Schemas["WebhookEndpointRequest"];
export type WebhookEndpoint = Schemas["WebhookEndpoint"];
export type WebhookEndpointWithSecret = Schemas["WebhookEndpointWithSecret"];
export type WebhookEndpointList = Schemas["WebhookEndpointList"];
export type WebhookDelivery = Schemas["WebhookDelivery"];
export type WebhookDeliveryList = Schemas["WebhookDeliveryList"];
export type WebhookTestResult = Schemas["WebhookTestResult"];
/** A brand event as delivered to a webhook endpoint. */
export type WebhookEvent = Schemas["WebhookEvent"];
/** Every type of brand event (what an endpoint's event_types lists). */
export type WebhookEventType = WebhookEvent["type"];
export type ApiErrorBody = Schemas["Error"];
/** Every code an error answer can carry: branch on these, not on messages. */
export type ErrorCode = ApiErrorBody["error"];
export type FieldViolation = Schemas["FieldViolation"];

/** The query of GET /v1/labs/orders. */
export type ListOrdersQuery = NonNullable<operations["listLabOrders"]["parameters"]["query"]>;
/** The query of GET /v1/labs/orders/{id}: a long poll for one of the statuses. */
export type GetOrderQuery = NonNullable<operations["getLabOrder"]["parameters"]["query"]>;
/** The query of GET /v1/labs/orders/{id}/appointment/availability (a walk_in order's site). */
export type AvailabilityQuery = NonNullable<
  operations["getAppointmentAvailability"]["parameters"]["query"]
>;
/** The query of GET /v1/labs/cancellation-reasons: whose reasons. */
export type CancellationReasonsQuery = NonNullable<
  operations["listCancellationReasons"]["parameters"]["query"]
>;
/** The query of GET /v1/labs/venues. */
export type VenuesQuery = operations["listVenues"]["parameters"]["query"];
/** The query of GET /v1/webhooks/endpoints/{id}/deliveries. */
export type ListDeliveriesQuery = NonNullable<
  operations["listWebhookDeliveries"]["parameters"]["query"]
>;
