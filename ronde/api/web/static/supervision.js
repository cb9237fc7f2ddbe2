// The supervision page refreshes itself: every data-poll-s seconds it asks data-live for its
// sections (HTML built and escaped by the server, the same code as the page) and swaps them in.
// Without JavaScript the page is complete and its "refresh" link reloads it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("supervision");
  if (!root) { return; }
  var url = root.getAttribute("data-live");
  var period = 1000 * (parseInt(root.getAttribute("data-poll-s"), 10) || 15);
  var stamp = document.getElementById("live-updated");
  var poll = function () {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        Object.keys(data.sections).forEach(function (key) {
          var box = document.getElementById("live-" + key);
          if (box) { box.innerHTML = data.sections[key]; }
        });
        if (stamp) { stamp.textContent = data.updated; }
        root.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { root.setAttribute("data-stale", "true"); })  // signed out, or server away: keep what is shown
      .then(function () { window.setTimeout(poll, period); });
  };
  window.setTimeout(poll, period);
});
