// The booking links and the patient's page (issue 19) against schemas/openapi.json, over sockets
// with the real lab-orders and junction-sim: every documented answer of POST
// /v1/labs/orders/{id}/booking-url, GET and POST /book/{token} and GET /book/{token}/status is
// provoked and checked against the document. On the way, what the page guarantees: a newer link
// retires the older; a form from another site, or without the page's form token, books nothing;
// a form sent twice books once; the token never appears in the service's log.

#include "integration/openapi_conformance_fixture.h"
#include "support/poll.h"

namespace lab_orders::testing {
namespace {

class OpenApiBookingConformanceTest : public OpenApiConformanceTest {
 protected:
  // An order the patient books (auto_book false), or with channel fields of its own.
  std::string Order(const std::string& key, json fields = {{"auto_book", false}}) {
    json body = WorkflowOrderBody(key);
    body.update(fields);
    HttpReply created = CreateOrder(body, key);
    EXPECT_EQ(created.status, 201) << created.body;
    return created.Json().value("id", "");
  }

  // POST .../booking-url: the link's path (/book/{token}).
  std::string Link(const std::string& order_id, const std::string& body = "",
                   std::map<std::string, std::string> headers = {}) {
    HttpReply minted = Call("POST", kMint, "/v1/labs/orders/" + order_id + "/booking-url", body,
                            std::move(headers));
    EXPECT_EQ(minted.status, 201) << minted.body;
    const std::string url = minted.Json().value("url", "");
    return url.substr(url.find("/book/"));
  }

  HttpReply Page(const std::string& path) { return Call("GET", kPage, path, "", {}); }

  // The page's form, as the browser sends it from the page.
  HttpReply Form(const std::string& path, const std::string& fields,
                 std::map<std::string, std::string> headers = {}) {
    headers.emplace("Content-Type", "application/x-www-form-urlencoded");
    headers.emplace("Origin", "http://127.0.0.1:" + std::to_string(service_->port()));
    headers.emplace("Sec-Fetch-Site", "same-origin");
    return Call("POST", kPage, path, fields, std::move(headers));
  }

  // The value of the page's input named name ("" when the page has none).
  static std::string InputValue(const std::string& html, const std::string& name) {
    const std::string marker = "name=\"" + name + "\"";
    size_t at = html.find(marker);
    if (at == std::string::npos) return "";
    at = html.find("value=\"", at);
    const size_t end = html.find('"', at + 7);
    return html.substr(at + 7, end - at - 7);
  }

  // The page once the order can be booked: its times (the workflow learns of the requisition
  // within milliseconds; until then the page says the order is being prepared).
  std::string ChoosingPage(const std::string& path) {
    HttpReply page;
    EXPECT_TRUE(PollUntil(
        [&] {
          page = Page(path);
          return page.body.find("name=\"booking_key\"") != std::string::npos;
        },
        std::chrono::seconds(20)));
    return page.body;
  }

  static constexpr const char* kMint = "/v1/labs/orders/{id}/booking-url";
  static constexpr const char* kPage = "/book/{token}";
  static constexpr const char* kStatus = "/book/{token}/status";
};

TEST_F(OpenApiBookingConformanceTest, EveryDocumentedAnswerOfTheBookingRoutes) {
  const std::string home = Order("booking-home");
  const std::string mint_path = "/v1/labs/orders/" + home + "/booking-url";

  // Minting: the body optional; under a key, the same link again.
  const std::string retired = Link(home);
  const std::string keyed =
      Link(home, R"({"expires_in_seconds": 3600})", {{"Idempotency-Key", "l-1"}});
  HttpReply replayed = Call("POST", kMint, mint_path, R"({"expires_in_seconds": 3600})",
                            {{"Idempotency-Key", "l-1"}});
  EXPECT_EQ(replayed.status, 201);
  EXPECT_EQ(replayed.headers["Idempotent-Replayed"], "true");
  EXPECT_EQ(replayed.Json()["url"].get<std::string>().substr(
                replayed.Json()["url"].get<std::string>().find("/book/")),
            keyed);
  EXPECT_EQ(Call("POST", kMint, mint_path, "{}", {{"Idempotency-Key", "l-1"}}).status, 422);
  EXPECT_EQ(Call("POST", kMint, mint_path, R"({"expires_in_seconds": 0})").status, 400);
  EXPECT_EQ(Call("POST", kMint, mint_path, R"({"expires_at": "tomorrow"})").status, 400);
  EXPECT_EQ(Call("POST", kMint, mint_path, "", {{"Authorization", ""}}).status, 401);
  EXPECT_EQ(Call("POST", kMint, mint_path, "", Auth(read_only_token_)).status, 403);
  EXPECT_EQ(Call("POST", kMint, "/v1/labs/orders/no-such-order/booking-url").status, 404);
  const std::string kit =
      Order("booking-kit", {{"collection_method", "testkit"}, {"panel_slug", "hashimotos"}});
  EXPECT_EQ(Call("POST", kMint, "/v1/labs/orders/" + kit + "/booking-url").status, 409);
  // Per API token: a token of its own, so the others go on.
  const std::string busy_token = service_->Token(kBrand, "user-busy", kWriteScope);
  HttpReply limited;
  for (int i = 0; i < 25 && limited.status != 429; ++i) {
    limited = Call("POST", kMint, mint_path, "", Auth(busy_token));
  }
  EXPECT_EQ(limited.status, 429);
  EXPECT_TRUE(limited.headers.contains("Retry-After"));

  // The newest link is the live one; the older ones say they were replaced.
  const std::string link = Link(home);
  EXPECT_EQ(Page(retired).status, 410);
  EXPECT_EQ(Page(keyed).status, 410);
  EXPECT_EQ(Page("/book/" + std::string(43, 'A')).status, 404);
  EXPECT_EQ(Page("/book/short").status, 404);

  // The status route follows the page.
  EXPECT_EQ(Call("GET", kStatus, link + "/status?wait_ms=99999").status, 400);
  EXPECT_EQ(Call("GET", kStatus, "/book/" + std::string(43, 'A') + "/status").status, 404);

  // Choosing: the page's form, refused from elsewhere or without its token; booked once.
  const std::string page = ChoosingPage(link);
  EXPECT_EQ(Call("GET", kStatus, link + "/status").Json()["state"], "choose");
  const std::string form_token = InputValue(page, "form_token");
  const std::string booking_key = InputValue(page, "booking_key");
  ASSERT_FALSE(form_token.empty());
  ASSERT_FALSE(booking_key.empty());
  const std::string fields = "form_token=" + form_token + "&booking_key=" + booking_key;
  EXPECT_EQ(Form(link, fields, {{"Origin", "https://evil.example"}}).status, 403);
  EXPECT_EQ(Form(link, fields, {{"Sec-Fetch-Site", "cross-site"}}).status, 403);
  EXPECT_EQ(Form(link, "form_token=wrong&booking_key=" + booking_key).status, 403);
  EXPECT_EQ(Form(link, fields, {{"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(Form(link, "form_token=" + form_token).status, 400);
  EXPECT_TRUE(sim_->Calls("book_appointment").empty()) << "a refused form booked";
  // A time Junction will not book (taken since): the day's times again.
  EXPECT_EQ(Form(link, "form_token=" + form_token + "&booking_key=bk_not_a_slot").status, 409);
  HttpReply booked = Form(link, fields);
  EXPECT_EQ(booked.status, 303);
  EXPECT_EQ(booked.headers["Location"], link);
  EXPECT_EQ(Form(link, fields).status, 303);              // sent twice: booked once
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 2u);  // the refused time, and this one
  EXPECT_EQ(Page(link).status, 200);
  HttpReply state = Call("GET", kStatus, link + "/status?known=choose&wait_ms=5000");
  EXPECT_NE(state.Json()["state"], "choose");
  EXPECT_EQ(Form(retired, fields).status, 410);
  EXPECT_EQ(Form("/book/" + std::string(43, 'B'), fields).status, 404);

  // Junction failing: the page says nothing was booked (502).
  const std::string second = Order("booking-second");
  const std::string second_link = Link(second);
  const std::string second_page = ChoosingPage(second_link);
  sim_->LoadScript({{"operations",
                     {{"book_appointment", {{{"status", 503}, {"body", {{"detail", "down"}}}}}},
                      {"availability", {{{"status", 500}, {"body", {{"detail", "down"}}}}}}}}});
  EXPECT_EQ(Page(second_link).status, 502);
  EXPECT_EQ(Form(second_link, "form_token=" + InputValue(second_page, "form_token") +
                                  "&booking_key=" + InputValue(second_page, "booking_key"))
                .status,
            502);
  sim_->LoadScript(json::object());

  // Per link: a link asked for past its burst is told to wait.
  const std::string forged = "/book/" + std::string(43, 'C');
  HttpReply slowed;
  for (int i = 0; i < 35 && slowed.status != 429; ++i) slowed = Page(forged);
  EXPECT_EQ(slowed.status, 429);
  EXPECT_TRUE(slowed.headers.contains("Retry-After"));
  // The status route and the form count against the same link.
  HttpReply status_slowed = Call("GET", kStatus, forged + "/status");
  EXPECT_EQ(status_slowed.status, 429);
  HttpReply form_slowed = Form(forged, fields);
  EXPECT_EQ(form_slowed.status, 429);

  // A link is a secret: the service's log names the order, never the token.
  const std::string log = service_->Log();
  EXPECT_EQ(log.find(link.substr(6)), std::string::npos);
  EXPECT_EQ(log.find(form_token), std::string::npos);

  EXPECT_EQ(surface_->Unseen(IsBookingRoute), std::vector<std::string>{})
      << "documented responses of the booking routes the service was never seen to give";
}

}  // namespace
}  // namespace lab_orders::testing
