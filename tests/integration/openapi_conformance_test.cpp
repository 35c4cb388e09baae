// schemas/openapi.json against the real lab-orders binary and a real junction-sim, over sockets:
// every request example in the document is sent, every documented response (operation and
// status) is provoked, and each answer's status, headers and body are checked against what the
// document says. A response the service gives but the document lacks fails as well.

#include "integration/openapi_conformance_fixture.h"

namespace lab_orders::testing {
namespace {

TEST_F(OpenApiConformanceTest, ServesTheCommittedDocument) {
  HttpReply reply = Call("GET", "/openapi.json", "/openapi.json");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, CommittedDocumentText());
}

// The page a person reads (a real browser checks it renders: tests/browser/reference-page.js).
TEST_F(OpenApiConformanceTest, ServesTheCommittedReferencePageAllowingNoOtherOrigin) {
  HttpReply reply = Call("GET", "/docs", "/docs");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, CommittedFile("docs/reference.html"));
  EXPECT_EQ(reply.headers.at("Content-Type"), "text/html; charset=utf-8");
  const std::string policy = reply.headers.at("Content-Security-Policy");
  EXPECT_EQ(policy.rfind("default-src 'none';", 0), 0u) << policy;
  EXPECT_EQ(policy.find("http"), std::string::npos) << policy;
  EXPECT_EQ(reply.headers.at("X-Content-Type-Options"), "nosniff");
  HttpReply posted = HttpCall(service_->port(), "POST", "/docs", "{}", {});
  EXPECT_EQ(posted.status, 405);
  EXPECT_EQ(posted.headers.at("Allow"), "GET");
}

TEST_F(OpenApiConformanceTest, EveryRequestExampleGetsADocumentedAnswer) {
  HttpReply created = CreateOrder(WorkflowOrderBody("patient-examples"), "key-examples");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string order_id = created.Json()["id"];
  service_->WaitForOrderStatus(read_write_token_, order_id, "appointment_scheduled");
  SendEveryRequestExample(order_id);
}

TEST_F(OpenApiConformanceTest, EveryDocumentedResponseIsWhatTheServiceReturns) {
  const std::string orders = "/v1/labs/orders";
  const std::string order_template = "/v1/labs/orders/{id}";
  const std::string cancel_template = "/v1/labs/orders/{id}/cancel";
  const std::string availability_template = "/v1/labs/orders/{id}/appointment/availability";
  const std::string appointment_template = "/v1/labs/orders/{id}/appointment";
  const std::string appointment_cancel_template = "/v1/labs/orders/{id}/appointment/cancel";
  const std::string reasons_route = "/v1/labs/cancellation-reasons";
  const std::string venues_route = "/v1/labs/venues";
  // The simulator's first cancellation reason (also the request example's).
  const std::string appointment_cancel_body =
      json{{"reason_id", "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a01"}}.dump();
  const std::string webhook = "/v1/webhooks/junction";
  const auto no_token = std::map<std::string, std::string>{{"Authorization", ""}};

  // The probes.
  EXPECT_EQ(Call("GET", "/healthz", "/healthz").status, 200);
  EXPECT_EQ(Call("GET", "/readyz", "/readyz").status, 200);
  EXPECT_EQ(Call("GET", "/metrics", "/metrics").status, 200);
  EXPECT_EQ(Call("GET", "/openapi.json", "/openapi.json").status, 200);
  EXPECT_EQ(Call("GET", "/docs", "/docs").status, 200);

  // A brand webhook endpoint, registered before the order so that its events have deliveries
  // (to a port nobody listens on: each attempt fails, and is logged).
  const std::string endpoints = "/v1/webhooks/endpoints";
  const auto webhooks_auth = Auth(webhooks_token_);
  const json endpoint_body = {{"url", "http://127.0.0.1:9/lab-orders"}};
  HttpReply registered = Call("POST", endpoints, endpoints, endpoint_body.dump(), webhooks_auth);
  ASSERT_EQ(registered.status, 201) << registered.body;
  const std::string endpoint_path = endpoints + "/" + registered.Json()["id"].get<std::string>();

  // POST /v1/labs/orders: every answer but 409 and 502 (below).
  HttpReply created = CreateOrder(WorkflowOrderBody("patient-tour"), "key-tour");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string order_id = created.Json()["id"];
  const std::string order_path = orders + "/" + order_id;
  EXPECT_EQ(
      CreateOrder(WorkflowOrderBody("patient-tour"), "key-tour").headers["Idempotent-Replayed"],
      "true");
  EXPECT_EQ(CreateOrder(WorkflowOrderBody("patient-other"), "key-tour").status, 422);
  json invalid = WorkflowOrderBody("patient-tour");
  invalid["patient"]["dob"] = "2020-01-01";
  EXPECT_EQ(CreateOrder(invalid, "key-invalid").status, 400);
  EXPECT_EQ(Call("POST", orders, orders, WorkflowOrderBody("p").dump()).status, 400);  // no key
  EXPECT_EQ(CreateOrder(WorkflowOrderBody("p"), "key-401", no_token).status, 401);
  EXPECT_EQ(CreateOrder(WorkflowOrderBody("p"), "key-403", Auth(read_only_token_)).status, 403);
  EXPECT_EQ(CreateOrder(WorkflowOrderBody("p"), "key-415", {{"Content-Type", "text/plain"}}).status,
            415);
  EXPECT_EQ(
      Call("POST", orders, orders, std::string(70 * 1024, ' '), {{"Idempotency-Key", "key-413"}})
          .status,
      413);

  // The order and the list.
  json scheduled =
      service_->WaitForOrderStatus(read_write_token_, order_id, "appointment_scheduled");
  ASSERT_EQ(scheduled["status"], "appointment_scheduled") << scheduled.dump();
  EXPECT_EQ(Call("GET", order_template, order_path).status, 200);
  EXPECT_EQ(Call("GET", order_template, order_path + "?wait_status=failed&wait_ms=0").status, 200);
  EXPECT_EQ(Call("GET", order_template, order_path + "?wait_status=failed&wait_ms=99999").status,
            400);
  EXPECT_EQ(Call("GET", order_template, order_path, "", no_token).status, 401);
  EXPECT_EQ(Call("GET", order_template, order_path, "", Auth(write_only_token_)).status, 403);
  EXPECT_EQ(Call("GET", order_template, orders + "/no-such-order").status, 404);
  EXPECT_EQ(Call("GET", orders, orders + "?limit=1").status, 200);
  EXPECT_EQ(Call("GET", orders, orders + "?limit=0").status, 400);
  EXPECT_EQ(Call("GET", orders, orders, "", no_token).status, 401);
  EXPECT_EQ(Call("GET", orders, orders, "", Auth(write_only_token_)).status, 403);

  // Brand webhooks: every answer of every route but the 503s (below).
  EXPECT_EQ(
      Call("POST", endpoints, endpoints, R"({"url": "ftp://example.com/"})", webhooks_auth).status,
      400);
  EXPECT_EQ(Call("POST", endpoints, endpoints, endpoint_body.dump(),
                 {{"Authorization", "Bearer " + webhooks_token_}, {"Content-Type", "text/plain"}})
                .status,
            415);
  EXPECT_EQ(Call("POST", endpoints, endpoints, std::string(70 * 1024, ' '), webhooks_auth).status,
            413);
  EXPECT_EQ(Call("GET", endpoints, endpoints, "", webhooks_auth).status, 200);
  const std::string deliveries_template = "/v1/webhooks/endpoints/{id}/deliveries";
  HttpReply log;
  // The order's first events are attempted (and fail) soon after they commit: the log is read
  // until its oldest delivery shows an attempt, or the deadline passes.
  const auto log_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < log_deadline) {
    log = Call("GET", deliveries_template, endpoint_path + "/deliveries?limit=100", "",
               webhooks_auth);
    ASSERT_EQ(log.status, 200) << log.body;
    const json data = log.Json()["data"];
    if (!data.empty() && !data.back()["attempts"].empty()) break;
  }
  ASSERT_FALSE(log.Json()["data"].empty()) << log.body;
  ASSERT_FALSE(log.Json()["data"].back()["attempts"].empty()) << log.body;
  EXPECT_EQ(
      Call("GET", deliveries_template, endpoint_path + "/deliveries?limit=0", "", webhooks_auth)
          .status,
      400);
  const std::string resend_template = "/v1/webhooks/deliveries/{id}/resend";
  const std::string resend_path =
      "/v1/webhooks/deliveries/" + log.Json()["data"].back()["id"].get<std::string>() + "/resend";
  EXPECT_EQ(Call("POST", resend_template, resend_path, "", webhooks_auth).status, 202);
  const std::string rotate_template = "/v1/webhooks/endpoints/{id}/rotate-secret";
  EXPECT_EQ(
      Call("POST", rotate_template, endpoint_path + "/rotate-secret", "", webhooks_auth).status,
      200);
  // A test event to the endpoint (nothing listens there): answered with what happened.
  const std::string test_template = "/v1/webhooks/endpoints/{id}/test";
  HttpReply tested = Call("POST", test_template, endpoint_path + "/test", "", webhooks_auth);
  EXPECT_EQ(tested.status, 200);
  EXPECT_EQ(tested.Json()["delivered"], false) << tested.body;
  // Every action under an Idempotency-Key: a retry replays (once it has acted: not again); a
  // malformed key is 400; the order's own key is another request's (422: one scope); a key whose
  // request is still at work is 409.
  const auto keyed = [&](const std::string& key) {
    auto headers = webhooks_auth;
    headers["Idempotency-Key"] = key;
    return headers;
  };
  struct KeyedAction {
    std::string path_template, path, body;
  };
  const std::vector<KeyedAction> keyed_actions = {
      {endpoints, endpoints, endpoint_body.dump()},
      {rotate_template, endpoint_path + "/rotate-secret", ""},
      {test_template, endpoint_path + "/test", ""},
      {resend_template, resend_path, ""}};
  for (std::size_t i = 0; i < keyed_actions.size(); ++i) {
    const KeyedAction& action = keyed_actions[i];
    SCOPED_TRACE(action.path);
    const std::string key = "key-action-" + std::to_string(i);
    HttpReply first = Call("POST", action.path_template, action.path, action.body, keyed(key));
    ASSERT_LT(first.status, 300) << first.body;
    HttpReply replay = Call("POST", action.path_template, action.path, action.body, keyed(key));
    EXPECT_EQ(replay.status, first.status);
    EXPECT_EQ(replay.body, first.body);
    EXPECT_EQ(replay.headers["Idempotent-Replayed"], "true");
    EXPECT_EQ(
        Call("POST", action.path_template, action.path, action.body, keyed(std::string(256, 'k')))
            .status,
        400);
    EXPECT_EQ(
        Call("POST", action.path_template, action.path, action.body, keyed("key-tour")).status,
        422);
    const std::string held = "key-held-" + std::to_string(i);
    HoldActionKey(
        *service_, held, action.path_template, action.path,
        action.body.empty() ? std::nullopt : std::optional<json>(json::parse(action.body)));
    HttpReply busy = Call("POST", action.path_template, action.path, action.body, keyed(held));
    EXPECT_EQ(busy.status, 409);
    EXPECT_EQ(busy.headers["Retry-After"], "1");
  }
  // The registration under a key made one endpoint, however often it was sent: the tour's first
  // endpoint and that one.
  EXPECT_EQ(Call("GET", endpoints, endpoints, "", webhooks_auth).Json()["data"].size(), 2u);

  const std::string endpoint_template = "/v1/webhooks/endpoints/{id}";
  const std::vector<std::tuple<std::string, std::string, std::string>> webhook_routes = {
      {"POST", endpoints, endpoints},
      {"GET", endpoints, endpoints},
      {"DELETE", endpoint_template, endpoint_path},
      {"POST", rotate_template, endpoint_path + "/rotate-secret"},
      {"POST", test_template, endpoint_path + "/test"},
      {"GET", deliveries_template, endpoint_path + "/deliveries"},
      {"POST", resend_template, resend_path}};
  for (const auto& [method, path_template, path] : webhook_routes) {
    const std::string body = path == endpoints && method == "POST" ? endpoint_body.dump() : "";
    EXPECT_EQ(Call(method, path_template, path, body, no_token).status, 401) << path;
    EXPECT_EQ(Call(method, path_template, path, body, Auth(read_write_token_)).status, 403) << path;
  }
  EXPECT_EQ(Call("DELETE", endpoint_template, endpoint_path, "", webhooks_auth).status, 204);
  EXPECT_EQ(Call("DELETE", endpoint_template, endpoint_path, "", webhooks_auth).status, 404);
  EXPECT_EQ(
      Call("POST", rotate_template, endpoint_path + "/rotate-secret", "", webhooks_auth).status,
      404);
  EXPECT_EQ(Call("POST", test_template, endpoint_path + "/test", "", webhooks_auth).status, 404);
  EXPECT_EQ(
      Call("GET", deliveries_template, endpoint_path + "/deliveries", "", webhooks_auth).status,
      404);
  EXPECT_EQ(Call("POST", resend_template, resend_path, "", webhooks_auth).status, 404);

  // A walk-in order's service-center slots, each with its site; a site asked of a home visit's
  // order is a query error.
  json walk_in = WorkflowOrderBody("patient-walk-in");
  walk_in["collection_method"] = "walk_in";
  HttpReply walk_in_order = CreateOrder(walk_in, "key-walk-in");
  ASSERT_EQ(walk_in_order.status, 201) << walk_in_order.body;
  HttpReply site_slots = Call(
      "GET", availability_template,
      orders + "/" + walk_in_order.Json()["id"].get<std::string>() + "/appointment/availability");
  ASSERT_EQ(site_slots.status, 200);
  ASSERT_FALSE(site_slots.Json()["slots"].empty()) << site_slots.body;
  EXPECT_TRUE(site_slots.Json()["slots"][0].contains("service_center")) << site_slots.body;
  EXPECT_EQ(
      Call("GET", availability_template, order_path + "/appointment/availability?site_code=Q1")
          .status,
      400);

  // Availability and booking on the scheduled order: a reschedule to the first slot listed.
  HttpReply availability =
      Call("GET", availability_template, order_path + "/appointment/availability");
  ASSERT_EQ(availability.status, 200);
  ASSERT_FALSE(availability.Json()["slots"].empty()) << availability.body;
  const json booking = {{"booking_key", availability.Json()["slots"][0]["booking_key"]}};
  HttpReply booked = Call("POST", appointment_template, order_path + "/appointment", booking.dump(),
                          {{"Idempotency-Key", "key-book"}});
  EXPECT_EQ(booked.status, 200);
  HttpReply booked_again = Call("POST", appointment_template, order_path + "/appointment",
                                booking.dump(), {{"Idempotency-Key", "key-book"}});
  EXPECT_EQ(booked_again.body, booked.body) << "replayed, not moved again";
  EXPECT_EQ(booked_again.headers["Idempotent-Replayed"], "true");
  EXPECT_EQ(Call("POST", appointment_template, order_path + "/appointment", "{}").status, 400);
  EXPECT_EQ(Call("POST", appointment_template, order_path + "/appointment", booking.dump(),
                 {{"Content-Type", "text/plain"}})
                .status,
            415);
  for (const auto& [path_template, suffix, method] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {availability_template, "/appointment/availability", "GET"},
           {appointment_template, "/appointment", "POST"},
           {appointment_cancel_template, "/appointment/cancel", "POST"},
           {cancel_template, "/cancel", "POST"}}) {
    const std::string body = path_template == appointment_cancel_template ? appointment_cancel_body
                             : method == "POST"                           ? booking.dump()
                                                                          : "";
    EXPECT_EQ(Call(method, path_template, order_path + suffix, body, no_token).status, 401);
    const std::string& wrong_scope = method == "POST" ? read_only_token_ : write_only_token_;
    EXPECT_EQ(Call(method, path_template, order_path + suffix, body, Auth(wrong_scope)).status,
              403);
    EXPECT_EQ(Call(method, path_template, orders + "/no-such-order" + suffix, body).status, 404);
  }

  // The order's actions under an Idempotency-Key: malformed, another request's, still at work.
  for (const auto& [path_template, suffix, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {appointment_template, "/appointment", booking.dump()},
           {appointment_cancel_template, "/appointment/cancel", appointment_cancel_body},
           {cancel_template, "/cancel", ""}}) {
    SCOPED_TRACE(suffix);
    const std::string path = order_path + suffix;
    EXPECT_EQ(Call("POST", path_template, path, body, {{"Idempotency-Key", std::string(256, 'k')}})
                  .status,
              400);
    EXPECT_EQ(Call("POST", path_template, path, body, {{"Idempotency-Key", "key-tour"}}).status,
              422);
    const std::string held = "key-held" + suffix;
    HoldActionKey(*service_, held, path_template, path,
                  body.empty() ? std::nullopt : std::optional<json>(json::parse(body)));
    HttpReply busy = Call("POST", path_template, path, body, {{"Idempotency-Key", held}});
    EXPECT_EQ(busy.status, 409);
    EXPECT_EQ(busy.headers["Retry-After"], "1");
  }

  // An order's result: none yet, none for an unknown order, no token, a token without the
  // results scope; then a result made at Junction (its webhook tells the service), its report,
  // and Junction failing to serve the report (502).
  const std::string result_template = "/v1/labs/orders/{id}/result";
  const std::string pdf_template = "/v1/labs/orders/{id}/result/pdf";
  const auto results_auth = Auth(results_token_);
  HttpReply not_ready = Call("GET", result_template, order_path + "/result", "", results_auth);
  EXPECT_EQ(not_ready.status, 404);
  EXPECT_EQ(not_ready.Json()["error"], "result_not_ready");
  EXPECT_EQ(Call("GET", pdf_template, order_path + "/result/pdf", "", results_auth).status, 404);
  EXPECT_EQ(Call("GET", result_template, orders + "/no-such-order/result", "", results_auth).status,
            404);
  EXPECT_EQ(
      Call("GET", pdf_template, orders + "/no-such-order/result/pdf", "", results_auth).status,
      404);
  EXPECT_EQ(Call("GET", result_template, order_path + "/result", "", no_token).status, 401);
  EXPECT_EQ(Call("GET", pdf_template, order_path + "/result/pdf", "", no_token).status, 401);
  EXPECT_EQ(Call("GET", result_template, order_path + "/result").status, 403);
  EXPECT_EQ(Call("GET", pdf_template, order_path + "/result/pdf").status, 403);
  {
    HttpReply made = CreateOrder(WorkflowOrderBody("patient-results"), "key-results");
    ASSERT_EQ(made.status, 201) << made.body;
    const std::string results_path = orders + "/" + made.Json()["id"].get<std::string>();
    service_->WaitForOrderStatus(read_write_token_, made.Json()["id"], "appointment_scheduled");
    sim_->Admin("POST", "/_sim/webhooks/config",
                {{"url", "http://127.0.0.1:" + std::to_string(service_->port()) + webhook},
                 {"secret", kWebhookSecret}});
    sim_->Admin("POST",
                "/_sim/orders/" + made.Json()["junction_order_id"].get<std::string>() + "/advance",
                {{"status", "completed"}});
    HttpReply result;
    for (int attempt = 0; attempt < 200000 && result.status != 200; ++attempt) {
      result = HttpCall(service_->port(), "GET", results_path + "/result", "", results_auth);
    }
    surface_->Check("GET", result_template, result);
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(Call("GET", pdf_template, results_path + "/result/pdf", "", results_auth).status,
              200);
    sim_->LoadScript({{"operations",
                       {{"get_result_pdf", {{{"status", 500}, {"body", {{"detail", "down"}}}}}}}}});
    EXPECT_EQ(Call("GET", pdf_template, results_path + "/result/pdf", "", results_auth).status,
              502);
    sim_->LoadScript(json::object());
    sim_->Admin("POST", "/_sim/webhooks/config", {{"url", nullptr}});
  }

  // Junction failing: each action answers 502.
  sim_->LoadScript(
      {{"operations",
        {{"availability", {{{"status", 500}, {"body", {{"detail", "down"}}}}}},
         {"reschedule_appointment", {{{"status", 500}, {"body", {{"detail", "down"}}}}}},
         {"cancel_order", {{{"status", 500}, {"body", {{"detail", "down"}}}}}}}}});
  EXPECT_EQ(Call("GET", availability_template, order_path + "/appointment/availability").status,
            502);
  EXPECT_EQ(Call("POST", appointment_template, order_path + "/appointment", booking.dump()).status,
            502);
  EXPECT_EQ(Call("POST", cancel_template, order_path + "/cancel").status, 502);
  // Junction refusing the cancel (the order moved on there): 409.
  sim_->LoadScript({{"operations",
                     {{"cancel_order",
                       {{{"status", 409}, {"body", {{"detail", "order is not cancellable"}}}}}}}}});
  EXPECT_EQ(Call("POST", cancel_template, order_path + "/cancel").status, 409);

  // The appointment alone: Junction's reasons (502 while Junction cannot give them), a cancel
  // Junction fails (502), a body that is not valid (400) or not JSON (415), the cancel and its
  // replay, and another cancel of the cancelled appointment (409).
  sim_->LoadScript(
      {{"operations",
        {{"cancellation_reasons", {{{"status", 500}, {"body", {{"detail", "down"}}}}}}}}});
  EXPECT_EQ(Call("GET", reasons_route, reasons_route).status, 502);
  sim_->LoadScript(
      {{"operations",
        {{"cancel_appointment", {{{"status", 500}, {"body", {{"detail", "down"}}}}}}}}});
  EXPECT_EQ(Call("GET", reasons_route, reasons_route).status, 200);
  // A service center's reasons; a channel that has none is a query error.
  EXPECT_EQ(Call("GET", reasons_route, reasons_route + "?collection_method=walk_in").status, 200);
  EXPECT_EQ(Call("GET", reasons_route, reasons_route + "?collection_method=testkit").status, 400);
  EXPECT_EQ(Call("GET", reasons_route, reasons_route, "", no_token).status, 401);
  EXPECT_EQ(Call("GET", reasons_route, reasons_route, "", Auth(write_only_token_)).status, 403);
  // Service centers near a ZIP: listed, a query that is not valid, no token, the wrong scope, and
  // Junction failing.
  EXPECT_EQ(Call("GET", venues_route, venues_route + "?zip=85004&radius=50").status, 200);
  EXPECT_EQ(Call("GET", venues_route, venues_route + "?zip=abc").status, 400);
  EXPECT_EQ(Call("GET", venues_route, venues_route + "?zip=85004", "", no_token).status, 401);
  EXPECT_EQ(
      Call("GET", venues_route, venues_route + "?zip=85004", "", Auth(write_only_token_)).status,
      403);
  const std::string appointment_cancel_path = order_path + "/appointment/cancel";
  EXPECT_EQ(
      Call("POST", appointment_cancel_template, appointment_cancel_path, appointment_cancel_body)
          .status,
      502);
  sim_->LoadScript(
      {{"operations", {{"psc_info", {{{"status", 500}, {"body", {{"detail", "down"}}}}}}}}});
  EXPECT_EQ(Call("GET", venues_route, venues_route + "?zip=85004").status, 502);
  sim_->LoadScript(json::object());
  EXPECT_EQ(Call("POST", appointment_cancel_template, appointment_cancel_path, "{}").status, 400);
  EXPECT_EQ(Call("POST", appointment_cancel_template, appointment_cancel_path,
                 appointment_cancel_body, {{"Content-Type", "text/plain"}})
                .status,
            415);
  HttpReply appointment_cancelled =
      Call("POST", appointment_cancel_template, appointment_cancel_path, appointment_cancel_body,
           {{"Idempotency-Key", "key-appointment-cancel"}});
  ASSERT_EQ(appointment_cancelled.status, 200) << appointment_cancelled.body;
  EXPECT_EQ(appointment_cancelled.Json()["appointment"]["cancelled_by"], "brand");
  EXPECT_EQ(Call("POST", appointment_cancel_template, appointment_cancel_path,
                 appointment_cancel_body, {{"Idempotency-Key", "key-appointment-cancel"}})
                .body,
            appointment_cancelled.body);
  EXPECT_EQ(
      Call("POST", appointment_cancel_template, appointment_cancel_path, appointment_cancel_body)
          .status,
      409);

  // POST /v1/labs/orders while Junction makes the order and its answer never comes: the same key
  // meanwhile is 409, and the first request ends in a 502 (the service's Junction timeout).
  sim_->LoadScript(
      {{"operations",
        {{"create_order",
          {{{"call", 1}, {"fault", "hang"}, {"hang_ms", 5000}, {"when", "after"}}}}}}});
  const size_t orders_made = sim_->Calls("create_order").size();
  auto hanging = std::async(std::launch::async, [&] {
    return HttpCall(service_->port(), "POST", orders, WorkflowOrderBody("patient-hang").dump(),
                    {{"Authorization", "Bearer " + read_write_token_},
                     {"Idempotency-Key", "key-hang"},
                     {"Content-Type", "application/json"}});
  });
  sim_->Admin("GET", "/_sim/calls?operation=create_order&wait_handled=" +
                         std::to_string(orders_made + 1) + "&timeout_ms=20000");
  EXPECT_EQ(CreateOrder(WorkflowOrderBody("patient-hang"), "key-hang").status, 409);
  HttpReply timed_out = hanging.get();
  surface_->Check("POST", orders, timed_out);
  EXPECT_EQ(timed_out.status, 502);

  // Cancelled: cancelling again answers the cancelled order (a retry whose answer was lost);
  // booking is refused. Under a key, the retry is a replay.
  sim_->LoadScript(json::object());
  HttpReply cancelled = Call("POST", cancel_template, order_path + "/cancel", "",
                             {{"Idempotency-Key", "key-cancel"}});
  EXPECT_EQ(cancelled.status, 200);
  HttpReply cancel_replay = Call("POST", cancel_template, order_path + "/cancel", "",
                                 {{"Idempotency-Key", "key-cancel"}});
  EXPECT_EQ(cancel_replay.body, cancelled.body);
  EXPECT_EQ(cancel_replay.headers["Idempotent-Replayed"], "true");
  HttpReply again = Call("POST", cancel_template, order_path + "/cancel");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.Json()["status"], "cancelled");
  EXPECT_EQ(Call("GET", availability_template, order_path + "/appointment/availability").status,
            409);
  EXPECT_EQ(Call("POST", appointment_template, order_path + "/appointment", booking.dump()).status,
            409);

  // Junction webhooks: a verified event (a type the workflow ignores), a verified body that is
  // not JSON (acknowledged: Junction would retry it for days), a forged signature.
  const std::string event = json{{"event_type", "labtest.order.deleted"},
                                 {"data", {{"id", created.Json()["junction_order_id"]}}}}
                                .dump();
  EXPECT_EQ(Call("POST", webhook, webhook, event,
                 SignedWebhookHeaders(kWebhookSecret, "msg_tour_1", event))
                .status,
            200);
  HttpReply unreadable = Call("POST", webhook, webhook, "not json",
                              SignedWebhookHeaders(kWebhookSecret, "msg_tour_2", "not json"));
  EXPECT_EQ(unreadable.status, 200);
  EXPECT_EQ(unreadable.Json()["unreadable"], true);
  auto forged = SignedWebhookHeaders(kWebhookSecret, "msg_tour_3", event);
  forged["svix-signature"] = "v1,AAAA";
  EXPECT_EQ(Call("POST", webhook, webhook, event, forged).status, 401);

  // A service without a webhook secret, then shutting down: its drain answers 503 everywhere
  // but /healthz. The signal's only outward sign is /readyz turning 503, so that is watched
  // (a bounded number of requests, no sleeping).
  ServiceProcess draining(sim_->base_url(), {{"LAB_ORDERS_SHUTDOWN_GRACE_MS", "30000"}});
  EXPECT_EQ(Call(draining, "POST", webhook, webhook, event,
                 SignedWebhookHeaders(kWebhookSecret, "msg_tour_4", event))
                .status,
            404);
  Poco::Process::requestTermination(Poco::Process::PID(draining.pid()));
  HttpReply ready;
  for (int attempt = 0; attempt < 100000; ++attempt) {
    ready = HttpCall(draining.port(), "GET", "/readyz");
    if (ready.status == 503) break;
  }
  surface_->Check("GET", "/readyz", ready);
  ASSERT_EQ(ready.status, 503);
  auto drained = [&](const std::string& method, const std::string& path_template,
                     const std::string& path) {
    HttpReply reply =
        Call(draining, method, path_template, path, "{}", {{"Idempotency-Key", "drained"}});
    EXPECT_EQ(reply.status, 503) << path;
  };
  drained("POST", orders, orders);
  drained("GET", orders, orders);
  drained("GET", order_template, order_path);
  drained("POST", cancel_template, order_path + "/cancel");
  drained("GET", availability_template, order_path + "/appointment/availability");
  drained("POST", appointment_template, order_path + "/appointment");
  drained("POST", appointment_cancel_template, order_path + "/appointment/cancel");
  drained("GET", reasons_route, reasons_route);
  drained("GET", venues_route, venues_route + "?zip=85004");
  drained("GET", result_template, order_path + "/result");
  drained("GET", pdf_template, order_path + "/result/pdf");
  drained("POST", webhook, webhook);
  for (const auto& [method, path_template, path] : webhook_routes) {
    drained(method, path_template, path);
  }
  EXPECT_EQ(Call(draining, "GET", "/healthz", "/healthz").status, 200);
  Poco::Process::requestTermination(Poco::Process::PID(draining.pid()));  // ends the drain
  EXPECT_EQ(draining.Wait(), 0);

  // The booking page's routes have a tour of their own (openapi_conformance_booking_test.cpp).
  EXPECT_EQ(surface_->Unseen([](const std::string& path) { return !IsBookingRoute(path); }),
            std::vector<std::string>{})
      << "documented responses the service was never seen to give";
}

}  // namespace
}  // namespace lab_orders::testing
