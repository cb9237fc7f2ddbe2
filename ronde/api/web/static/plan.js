// The estate plan's zoom and pan: the SVG's viewBox changes, nothing else is loaded.
// Buttons (+, −, whole plan), keys + − 0 while the plan has focus, the mouse wheel, dragging when
// zoomed in, and keyboard focus: a checkpoint reached with Tab while zoomed in is brought into view.
// The wheel zooms only with Ctrl held (a trackpad's pinch too) or once the plan was clicked or
// focused: a plain wheel over the plan scrolls the page, and the hint above the plan lights up.
"use strict";
(function () {
  var MIN_W = 90; // at most 10× on a 900-unit plan
  function setup(tools) {
    var svg = document.getElementById(tools.getAttribute("data-plan"));
    if (!svg || svg.getAttribute("data-zoomable")) { return; }
    svg.setAttribute("data-zoomable", "1");
    var base = svg.getAttribute("viewBox").split(/\s+/).map(Number);
    var view = base.slice();
    function apply() {
      svg.setAttribute("viewBox", view.map(function (n) { return n.toFixed(1); }).join(" "));
      svg.setAttribute("data-zoom", (base[2] / view[2]).toFixed(2));
    }
    function clamp() {
      view[2] = Math.min(base[2], Math.max(MIN_W, view[2]));
      view[3] = view[2] * base[3] / base[2];
      view[0] = Math.min(base[0] + base[2] - view[2], Math.max(base[0], view[0]));
      view[1] = Math.min(base[1] + base[3] - view[3], Math.max(base[1], view[1]));
    }
    function zoom(factor, cx, cy) {
      if (cx === undefined) { cx = view[0] + view[2] / 2; cy = view[1] + view[3] / 2; }
      var w = view[2] / factor;
      var h = view[3] / factor;
      view = [cx - (cx - view[0]) / factor, cy - (cy - view[1]) / factor, w, h];
      clamp();
      apply();
    }
    function toPlan(evt) {
      var box = svg.getBoundingClientRect();
      return [view[0] + (evt.clientX - box.left) / box.width * view[2],
              view[1] + (evt.clientY - box.top) / box.height * view[3]];
    }
    function reset() { view = base.slice(); apply(); }
    var figure = svg.closest("figure") || svg.parentNode;
    var hint = figure.querySelector(".plan-hint");
    var flash = null;
    var engaged = false; // clicked or focused: the wheel zooms without Ctrl until the plan is left
    function engage(on) { engaged = on; svg.setAttribute("data-engaged", on ? "1" : "0"); }
    engage(false);
    tools.hidden = false;
    if (hint) { hint.hidden = false; }
    tools.addEventListener("click", function (evt) {
      var button = evt.target.closest("button[data-zoom]");
      if (!button) { return; }
      var how = button.getAttribute("data-zoom");
      if (how === "in") { zoom(1.5); } else if (how === "out") { zoom(1 / 1.5); } else { reset(); }
    });
    figure.addEventListener("pointerdown", function () { engage(true); });
    figure.addEventListener("focusin", function () { engage(true); });
    figure.addEventListener("focusout", function (evt) {
      if (!evt.relatedTarget || !figure.contains(evt.relatedTarget)) { engage(false); }
    });
    document.addEventListener("pointerdown", function (evt) { if (!figure.contains(evt.target)) { engage(false); } });
    figure.addEventListener("keydown", function (evt) {
      if (evt.altKey || evt.ctrlKey || evt.metaKey) { return; }
      if (evt.key === "+" || evt.key === "=") { zoom(1.5); } else if (evt.key === "-" || evt.key === "−") {
        zoom(1 / 1.5);
      } else if (evt.key === "0") { reset(); } else { return; }
      evt.preventDefault();
    });
    svg.addEventListener("wheel", function (evt) {
      if (!evt.ctrlKey && !engaged) { // the page scrolls; say how to zoom
        if (hint) {
          hint.classList.add("plan-hint-flash");
          clearTimeout(flash);
          flash = setTimeout(function () { hint.classList.remove("plan-hint-flash"); }, 2000);
        }
        return;
      }
      evt.preventDefault();
      var p = toPlan(evt);
      zoom(evt.deltaY < 0 ? 1.25 : 1 / 1.25, p[0], p[1]);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (evt) {
      if (view[2] >= base[2] || evt.target.closest("a")) { return; }
      drag = { x: evt.clientX, y: evt.clientY, view: view.slice() };
      svg.setPointerCapture(evt.pointerId);
    });
    svg.addEventListener("pointermove", function (evt) {
      if (!drag) { return; }
      var box = svg.getBoundingClientRect();
      view[0] = drag.view[0] - (evt.clientX - drag.x) / box.width * view[2];
      view[1] = drag.view[1] - (evt.clientY - drag.y) / box.height * view[3];
      clamp();
      apply();
    });
    svg.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("focusin", function (evt) {
      var circle = evt.target.querySelector && evt.target.querySelector("circle");
      if (!circle || view[2] >= base[2]) { return; }
      var x = Number(circle.getAttribute("cx"));
      var y = Number(circle.getAttribute("cy"));
      if (x < view[0] || x > view[0] + view[2] || y < view[1] || y > view[1] + view[3]) {
        view[0] = x - view[2] / 2;
        view[1] = y - view[3] / 2;
        clamp();
        apply();
      }
    });
  }
  function init() { document.querySelectorAll(".plan-tools[data-plan]").forEach(setup); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
