// Ronde terrain: the offline outbox (IndexedDB) and the device's little store of settings.
// Shared by the page (app.js) and the service worker (importScripts), so a Background Sync sends
// with the same rules as the page: a record is stored under its client ULID first, then sent;
// 201/200 removes it, a network failure, 5xx, 401, 408 or 429 keeps it for a later try (capped
// backoff), any other 4xx marks it "error" for the team to see, never retried on its own.
"use strict";
(function (root) {
  var DB_NAME = "ronde-terrain";
  var DB_VERSION = 1;
  var CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  var BACKOFF_MIN_MS = 5000;
  var BACKOFF_MAX_MS = 5 * 60 * 1000;
  var RETRY_STATUSES = [401, 408, 429];
  var dbPromise = null;

  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains("kv")) { db.createObjectStore("kv"); }
        if (!db.objectStoreNames.contains("outbox")) { db.createObjectStore("outbox", { keyPath: "id" }); }
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { dbPromise = null; reject(req.error); };
    });
    return dbPromise;
  }

  function tx(store, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result;
        var req = work(t.objectStore(store));
        if (req) { req.onsuccess = function () { result = req.result; }; }
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }

  function get(key) { return tx("kv", "readonly", function (s) { return s.get(key); }); }
  function set(key, value) { return tx("kv", "readwrite", function (s) { return s.put(value, key); }); }
  function del(key) { return tx("kv", "readwrite", function (s) { return s.delete(key); }); }

  // A ULID (github.com/ulid/spec): 48 bits of milliseconds then 80 random bits, Crockford base32,
  // monotonic within one millisecond like ronde/gateway/ulid.py.
  var lastMs = -1;
  var lastRand = null;
  function ulid(now) {
    var ms = Math.max(now === undefined ? Date.now() : now, 0);
    var rand;
    if (ms <= lastMs && lastRand) {
      ms = lastMs;
      rand = lastRand.slice();
      for (var i = rand.length - 1; i >= 0; i--) { if (rand[i] < 31) { rand[i]++; break; } rand[i] = 0; }
    } else {
      var bytes = new Uint8Array(16);
      (root.crypto || crypto).getRandomValues(bytes);
      rand = [];
      for (var j = 0; j < 16; j++) { rand.push(bytes[j] & 31); }
      rand[0] &= 15; // leaves room to increment within a millisecond
    }
    lastMs = ms;
    lastRand = rand;
    var time = "";
    var t = ms;
    for (var k = 0; k < 10; k++) { time = CROCKFORD.charAt(t % 32) + time; t = Math.floor(t / 32); }
    return time + rand.map(function (d) { return CROCKFORD.charAt(d); }).join("");
  }

  function backoff(attempts) {
    return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, Math.max(0, attempts - 1)));
  }

  // Store a record before any attempt to send it: kind "report" or "sollicitation", or "status" (a team's step
  // on its sollicitation ``record``; ``body.id`` is the step's own ULID, the outbox's key).
  function enqueue(kind, body, photo, record) {
    var item = {
      id: body.id, kind: kind, body: body, photo: photo || null, photoType: photo ? photo.type : null,
      record: record || null,
      recordSent: false, state: "pending", attempts: 0, nextAt: 0, error: null, queuedAt: Date.now()
    };
    return tx("outbox", "readwrite", function (s) { return s.put(item); }).then(function () { return item; });
  }

  function all() {
    return tx("outbox", "readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.id < b.id ? -1 : 1; });
    });
  }
  function put(item) { return tx("outbox", "readwrite", function (s) { return s.put(item); }); }
  function remove(id) { return tx("outbox", "readwrite", function (s) { return s.delete(id); }); }

  function counts() {
    return all().then(function (items) {
      var c = { pending: 0, error: 0 };
      items.forEach(function (i) { c[i.state === "error" ? "error" : "pending"]++; });
      return c;
    });
  }

  var ENDPOINTS = { report: "/api/v1/terrain/reports", sollicitation: "/api/v1/terrain/sollicitations" };

  // One HTTP attempt; resolves {ok, retry, status, detail}.
  function attempt(url, options) {
    return fetch(url, options).then(function (resp) {
      if (resp.status === 200 || resp.status === 201 || resp.status === 204) {
        return { ok: true, status: resp.status };
      }
      return resp.text().then(function (text) {
        var detail = text;
        try { detail = JSON.parse(text).detail || text; } catch (e) { /* not JSON: the text itself */ }
        if (typeof detail !== "string") { detail = JSON.stringify(detail); }
        var retry = resp.status >= 500 || RETRY_STATUSES.indexOf(resp.status) >= 0;
        return { ok: false, retry: retry, status: resp.status, detail: detail.slice(0, 300) };
      });
    }, function (err) {
      return { ok: false, retry: true, status: 0, detail: "réseau indisponible (" + err.message + ")" };
    });
  }

  function sendOne(item, token) {
    var auth = { Authorization: "Bearer " + token };
    var url = item.kind === "status" ?
      "/api/v1/terrain/sollicitations/" + encodeURIComponent(item.record) + "/status" : ENDPOINTS[item.kind];
    var first = item.recordSent ? Promise.resolve({ ok: true }) : attempt(url, {
      method: "POST", headers: Object.assign({ "Content-Type": "application/json" }, auth),
      body: JSON.stringify(item.body), cache: "no-store"
    });
    return first.then(function (r) {
      if (!r.ok || !item.photo) { return r; }
      item.recordSent = true;
      return attempt("/api/v1/terrain/reports/" + encodeURIComponent(item.id) + "/photo", {
        method: "PUT", headers: Object.assign({ "Content-Type": item.photoType || "image/jpeg" }, auth),
        body: item.photo, cache: "no-store"
      });
    }).then(function (r) {
      if (r.ok) { return remove(item.id).then(function () { return "sent"; }); }
      item.attempts++;
      item.error = (r.status ? "HTTP " + r.status + " : " : "") + r.detail;
      item.lastStatus = r.status;
      if (r.retry) {
        item.state = "pending";
        item.nextAt = Date.now() + backoff(item.attempts);
      } else {
        item.state = "error";
      }
      return put(item).then(function () { return r.retry ? "later" : "error"; });
    });
  }

  // Send every due item, oldest first; stops at the first network failure (the others would fail too).
  // ``force`` ignores the backoff (the ``online`` event, a tap on the counter).
  function flushUnlocked(force) {
    return get("token").then(function (token) {
      if (!token) { return { sent: 0, left: -1 }; }
      return all().then(function (items) {
        var sent = 0;
        var unauthorized = false;
        var unreachable = false;
        var now = Date.now();
        var due = items.filter(function (i) { return i.state === "pending" && (force || i.nextAt <= now); });
        var chain = Promise.resolve(true);
        due.forEach(function (item) {
          chain = chain.then(function (go) {
            if (!go) { return false; }
            return sendOne(item, token).then(function (outcome) {
              if (outcome === "sent") { sent++; }
              if (item.lastStatus === 401) { unauthorized = true; }
              if (outcome === "later" && item.lastStatus === 0) { unreachable = true; }
              return outcome !== "later" || item.lastStatus !== 0;
            });
          });
        });
        return chain.then(function () {
          return counts().then(function (c) { return {
            sent: sent, left: c.pending, errors: c.error, unauthorized: unauthorized, unreachable: unreachable
          }; });
        });
      });
    });
  }

  // One flush at a time across the page and the service worker (Web Locks where available).
  var running = null;
  function flush(force) {
    if (root.navigator && root.navigator.locks) {
      return root.navigator.locks.request("ronde-outbox", function () { return flushUnlocked(force); });
    }
    if (running) { return running; }
    running = flushUnlocked(force).finally(function () { running = null; });
    return running;
  }

  // An item the team corrected (or chose to try again): back to pending, due now.
  function retry(id) {
    return tx("outbox", "readonly", function (s) { return s.get(id); }).then(function (item) {
      if (!item) { return null; }
      item.state = "pending"; item.nextAt = 0; item.error = null;
      return put(item);
    });
  }

  root.RondeQueue = {
    ulid: ulid, backoff: backoff, enqueue: enqueue, all: all, remove: remove, retry: retry, counts: counts,
    flush: flush, get: get, set: set, del: del, BACKOFF_MIN_MS: BACKOFF_MIN_MS, BACKOFF_MAX_MS: BACKOFF_MAX_MS
  };
})(typeof self !== "undefined" ? self : this);
