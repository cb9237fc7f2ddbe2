// Ronde pages work without JavaScript; this only adds small conveniences.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Highlight the table row of a checkpoint when its circle on the plan is hovered.
  document.querySelectorAll("svg.plan circle.cp").forEach(function (circle) {
    var id = circle.getAttribute("data-checkpoint");
    var row = document.querySelector('tr[data-checkpoint="' + CSS.escape(id) + '"]');
    if (!row) { return; }
    circle.addEventListener("mouseenter", function () { row.style.background = "#fff3c4"; });
    circle.addEventListener("mouseleave", function () { row.style.background = ""; });
  });
  // Audit form: keep the download links in step with the chosen landlord and period.
  var form = document.getElementById("audit-form");
  if (form) {
    // the form shows dd/mm/yyyy (as people here write dates); the API takes ISO dates
    var iso = function (text) {
      var m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(text || "");
      return m ? m[3] + "-" + ("0" + m[2]).slice(-2) + "-" + ("0" + m[1]).slice(-2) : (text || "");
    };
    var update = function () {
      var data = new FormData(form);
      var q = "?first=" + encodeURIComponent(iso(data.get("first"))) + "&last=" + encodeURIComponent(iso(data.get("last"))) +
              "&lang=" + encodeURIComponent(data.get("lang") || "fr");
      var base = "/api/v1/audit/landlords/" + encodeURIComponent(data.get("landlord")) + "/report";
      document.querySelectorAll("a[data-ext]").forEach(function (a) {
        a.setAttribute("href", base + "." + a.getAttribute("data-ext") + q);
      });
    };
    form.addEventListener("change", update);
  }
});
