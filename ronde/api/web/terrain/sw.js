// Ronde terrain service worker (scope /terrain/): the app shell from the cache so the app opens
// with no signal; the team's reference data (places, vocabulary, partners, requests) network
// first with the cached copy as fallback; record writes are never intercepted (the page's outbox
// owns them); a Background Sync sends the outbox when the app was closed before the signal returned.
"use strict";
importScripts("/terrain/queue.js");

var VERSION = "ronde-terrain-v1";
var SHELL = [
  "/terrain/", "/terrain/app.js", "/terrain/queue.js", "/terrain/app.css",
  "/terrain/manifest.webmanifest", "/terrain/icon.svg", "/terrain/icon-192.png"
];
var DATA = [
  "/api/v1/terrain/places", "/api/v1/terrain/vocabulary", "/api/v1/terrain/partners",
  "/api/v1/terrain/requests", "/api/v1/terrain/me"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(VERSION).then(function (c) { return c.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== VERSION && k.indexOf("ronde-terrain-") === 0; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function networkFirst(request) {
  return fetch(request).then(function (resp) {
    if (resp.ok) {
      var copy = resp.clone();
      caches.open(VERSION).then(function (c) { return c.put(request.url, copy); });
    }
    return resp;
  }, function () {
    return caches.match(request.url).then(function (hit) {
      if (hit) {
        var headers = new Headers(hit.headers);
        headers.set("X-Ronde-Offline", "1"); // the cached copy: the server did not answer
        return hit.blob().then(function (b) { return new Response(b, { status: hit.status, headers: headers }); });
      }
      return new Response(JSON.stringify({ detail: "hors ligne", code: "offline" }), {
        status: 503, headers: { "Content-Type": "application/json", "X-Ronde-Offline": "1" }
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  if (DATA.indexOf(url.pathname) >= 0) {
    event.respondWith(networkFirst(req));
  } else if (url.pathname === "/terrain/" || url.pathname === "/terrain/index.html") {
    event.respondWith(networkFirst(new Request("/terrain/")));
  } else if (SHELL.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(url.pathname).then(function (hit) { return hit || fetch(req); }));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "ronde-outbox") {
    event.waitUntil(self.RondeQueue.flush(true).then(function (r) {
      if (r.left > 0) { throw new Error("still " + r.left + " queued"); } // the browser retries the sync later
    }));
  }
});
