#include "http/booking_page_assets.h"

namespace lab_orders::http::booking_page {
namespace {

// Readable from 320 px up: one column, large targets, the system's fonts; colours keep a contrast
// of at least 4.5:1; focus always shows.
constexpr std::string_view kStyle = R"css(
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       font-size: 100%; line-height: 1.5; color: #1a1a1a; background: #f4f5f7; }
body { margin: 0; }
.masthead { background: #0b3d62; color: #fff; padding: 0.75rem 1rem; }
.masthead .brand { margin: 0; font-weight: 600; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.125rem; margin: 0 0 0.75rem; }
.card { background: #fff; border: 1px solid #d0d5dc; border-radius: 0.5rem; padding: 1rem;
        margin: 0 0 1rem; }
.facts { margin: 0; }
.facts div { display: flex; flex-wrap: wrap; gap: 0 0.5rem; padding: 0.25rem 0; }
.facts dt { font-weight: 600; min-width: 8rem; }
.facts dd { margin: 0; flex: 1 1 12rem; }
.notice { background: #fdecea; border: 1px solid #b3261e; color: #5c0f0a; border-radius: 0.5rem;
          padding: 0.75rem 1rem; }
.state { font-weight: 600; padding: 0.5rem 0.75rem; border-radius: 0.375rem; }
.state-pending { background: #fff4d6; color: #4d3600; }
.state-confirmed, .state-done { background: #e3f4e8; color: #0f4d22; }
.centers { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.5rem; }
.centers a { display: grid; padding: 0.75rem; border: 1px solid #8c96a3; border-radius: 0.5rem;
             color: #0b3d62; text-decoration: none; }
.centers a[aria-current="true"] { border: 2px solid #0b3d62; background: #e8f1f8; }
.center-name { font-weight: 600; text-decoration: underline; }
.center-address, .center-distance { color: #3d4550; font-size: 0.9375rem; }
.days { display: flex; align-items: center; justify-content: space-between; gap: 0.5rem;
        margin: 0 0 0.75rem; flex-wrap: wrap; }
.day { margin: 0; font-weight: 600; }
a { color: #0b4f80; }
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
legend { font-weight: 600; margin-bottom: 0.5rem; padding: 0; }
.slots { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: 0.5rem; }
.slot { position: relative; }
.slot input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.slot label { display: block; text-align: center; padding: 0.75rem 0.5rem; border: 1px solid #8c96a3;
              border-radius: 0.5rem; background: #fff; cursor: pointer; min-height: 2.75rem; }
.slot input:checked + label { background: #0b3d62; border-color: #0b3d62; color: #fff; font-weight: 600; }
.slot input:focus-visible + label, a:focus-visible, button:focus-visible {
  outline: 3px solid #c25e00; outline-offset: 2px; }
button { font: inherit; margin-top: 1rem; width: 100%; padding: 0.875rem 1rem; border: 0;
         border-radius: 0.5rem; background: #0b3d62; color: #fff; font-weight: 600; cursor: pointer; }
button:hover { background: #082c47; }
button[disabled] { background: #5a6572; cursor: progress; }
.footer { max-width: 40rem; margin: 0 auto; padding: 0 1rem 2rem; color: #3d4550; font-size: 0.875rem; }
@media (min-width: 48rem) {
  main { padding: 2rem 1rem; }
  h1 { font-size: 2rem; }
  button { width: auto; }
}
)css";

// Follows a booking while it waits for the lab, and a page while its order is being prepared:
// asks the service for the order's state (waiting there until it changes) and updates the page
// in place, or reloads it when there is something new to show. Stops the form from being sent
// twice. Without it the page still works: every page has a link to look again.
constexpr std::string_view kScript = R"js('use strict';
(function () {
  var body = document.body;
  var form = document.querySelector('form.slots-form');
  if (form) {
    form.addEventListener('submit', function () {
      var button = form.querySelector('button[type="submit"]');
      if (button) {
        button.disabled = true;
        button.textContent = 'Booking...';
      }
    });
  }
  var statusUrl = body.getAttribute('data-status-url');
  var state = body.getAttribute('data-state');
  if (!statusUrl || !state || state === 'confirmed' || state === 'done') return;
  var texts = {
    confirmed: 'Confirmed. You are all set.',
    done: 'Done: your blood has been drawn.'
  };
  var failures = 0;
  function follow() {
    var url = statusUrl + '?known=' + encodeURIComponent(state) + '&wait_ms=10000';
    fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('status ' + response.status);
        return response.json();
      })
      .then(function (answer) {
        failures = 0;
        if (answer.state === state) return follow();
        var shown = document.getElementById('booking-state');
        if (shown && state === 'pending' && texts[answer.state]) {
          state = answer.state;
          body.setAttribute('data-state', state);
          shown.textContent = texts[state];
          shown.className = 'state state-' + state;
          var again = document.querySelector('.again');
          if (again) again.remove();
          return;
        }
        window.location.reload();
      })
      .catch(function () {
        failures += 1;
        if (failures < 5) window.setTimeout(follow, 2000 * failures);
      });
  }
  follow();
})();
)js";

constexpr std::string_view kIcon =
    R"svg(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path fill="#b3261e" d="M16 2C16 2 6 14 6 20a10 10 0 0 0 20 0C26 14 16 2 16 2z"/></svg>)svg";

}  // namespace

Asset AssetNamed(std::string_view file) {
  if (file == "page.css") return {kStyle, "text/css; charset=utf-8"};
  if (file == "page.js") return {kScript, "text/javascript; charset=utf-8"};
  if (file == "icon.svg") return {kIcon, "image/svg+xml"};
  return {{}, ""};
}

}  // namespace lab_orders::http::booking_page
