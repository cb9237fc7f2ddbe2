// Ronde terrain: the team's phone app. Vanilla JS, no framework, no CDN; French; works offline
// (the service worker keeps the shell and reference data, queue.js keeps the records to send).
"use strict";
(function () {
  var Q = window.RondeQueue;
  var RETRY_TICK_MS = 5000;
  var SUGGESTION_WAIT_MS = 2500;
  var state = {
    token: null, team: null, places: null, vocab: null, partners: [], requests: [], records: [],
    place: { report: null, solli: null }, pickingFor: null, category: null, request: null, photo: null
  };

  function $(id) { return document.getElementById(id); }
  function node(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else if (k.indexOf("on") === 0) {
        e.addEventListener(k.slice(2), attrs[k]);
      } else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }
  function fold(s) { return (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  function items(list) {
    return (list || []).map(function (v) { return typeof v === "string" ? { id: v, label: v } : v; });
  }

  function teamTitle(team) { return /^[ée]quipe\b/i.test(team || "") ? team : "Équipe " + team; }

  function show(name) {
    document.querySelectorAll(".screen").forEach(function (s) { s.hidden = s.id !== "screen-" + name; });
    document.body.setAttribute("data-screen", name);
    window.scrollTo(0, 0);
  }
  var FLASH_MS = { ok: 6000, warn: 8000, error: 15000 };
  var flashTimer = null;
  function flash(text, kind) {
    var f = $("flash");
    f.textContent = text;
    f.className = kind || "";
    f.hidden = !text;
    f.style.top = $("bar").getBoundingClientRect().bottom + "px"; // just under the bar, whatever its height
    clearTimeout(flashTimer);
    if (text) { flashTimer = setTimeout(function () { f.hidden = true; }, FLASH_MS[kind] || 6000); }
  }

  // ---- talking to the server ------------------------------------------------------------------

  function api(path, options) {
    var opts = Object.assign({ cache: "no-store" }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (state.token) { opts.headers.Authorization = "Bearer " + state.token; }
    return fetch(path, opts).then(function (resp) {
      reachable(resp.headers.get("X-Ronde-Offline") !== "1"); // a cached copy from the worker: no server
      return resp.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = { detail: text }; }
        if (!resp.ok) {
          var err = new Error((body && body.detail) || ("HTTP " + resp.status));
          err.status = resp.status;
          throw err;
        }
        return body;
      });
    }, function (err) { reachable(false); throw err; });
  }

  // "en ligne" means the server answered, not only that the phone has a network (navigator.onLine).
  function reachable(yes) {
    if (state.reachable !== yes) { state.reachable = yes; netState(); }
  }

  // Reference data: from the network when there is one, else the copy kept in IndexedDB.
  function cached(key, path) {
    return api(path).then(function (body) { return Q.set(key, body).then(function () { return body; }); },
      function (err) {
        if (err.status === 401) { throw err; }
        return Q.get(key);
      });
  }

  function loadData() {
    return Promise.all([
      cached("places", "/api/v1/terrain/places"),
      cached("vocabulary", "/api/v1/terrain/vocabulary"),
      cached("partners", "/api/v1/terrain/partners"),
      cached("requests", "/api/v1/terrain/requests"),
      cached("records", "/api/v1/terrain/records")
    ]).then(function (r) {
      state.places = r[0]; state.vocab = r[1]; state.partners = r[2] || [];
      state.requests = (r[3] && (r[3].items || r[3])) || [];
      state.records = r[4] || [];
      renderRequests();
      renderMine();
      fillEmptyForm();
      return refreshOutbox(); // the cards name their places now that the list is known
    }, function (err) {
      if (err.status === 401) { return revoked(); }
      flash("Données non disponibles hors ligne : ouvrez l'application une fois avec du réseau.", "error");
    });
  }

  function revoked() {
    flash("Ce téléphone n'est plus autorisé (révoqué ?) : demandez un nouveau code au superviseur.", "error");
    show("enrol");
  }

  // ---- places -----------------------------------------------------------------------------------

  function placeIndex() {
    var out = [];
    ((state.places && state.places.estates) || []).forEach(function (e) {
      (e.buildings || []).forEach(function (b) {
        out.push({ kind: "building", id: b.id, label: b.name + " (tout le bâtiment)", estate: e.name, building: b.name,
                   search: fold([e.name, b.name, b.address || ""].join(" ")) });
        (b.checkpoints || []).forEach(function (c) {
          out.push({ kind: "checkpoint", id: c.id, label: c.name, estate: e.name, building: b.name,
                     search: fold([e.name, b.name, b.address || "", c.name].join(" ")) });
        });
      });
      (e.checkpoints_outside_buildings || []).forEach(function (c) {
        out.push({ kind: "checkpoint", id: c.id, label: c.name, estate: e.name, building: "Espaces extérieurs",
                   search: fold([e.name, c.name].join(" ")) });
      });
    });
    return out;
  }

  function placeLabel(p) {
    if (!p) { return "Lieu : à choisir"; }
    var building = p.kind === "checkpoint" && p.building && p.label.indexOf(p.building) < 0 ? " — " + p.building : "";
    return "Lieu : " + p.label + building +
      (p.estate ? " (" + p.estate + ")" : "") + (p.suggested ? " · proposé par le scanner" : "");
  }
  function renderPlaces() {
    $("report-place").textContent = placeLabel(state.place.report);
    $("solli-place").textContent = placeLabel(state.place.solli);
  }
  function findPlace(ref) {
    if (!ref) { return null; }
    var idx = placeIndex();
    var kind = ref.checkpoint ? "checkpoint" : "building";
    var id = ref.checkpoint || ref.building;
    for (var i = 0; i < idx.length; i++) { if (idx[i].kind === kind && idx[i].id === id) { return idx[i]; } }
    return { kind: kind, id: id, label: ref.name || id };
  }

  function openPicker(forWhat) {
    state.pickingFor = forWhat;
    $("place-search").value = "";
    drawPlaceList("");
    show("places");
  }
  function drawPlaceList(query) {
    var list = $("place-list");
    list.textContent = "";
    var words = fold(query).split(/\s+/).filter(Boolean);
    var groups = {};
    var order = [];
    placeIndex().forEach(function (p) {
      if (!words.every(function (w) { return p.search.indexOf(w) >= 0; })) { return; }
      var key = p.estate + " — " + p.building;
      if (!groups[key]) { groups[key] = []; order.push(key); }
      groups[key].push(p);
    });
    if (!order.length) { list.appendChild(node("p", { text: "Aucun lieu ne correspond.", class: "hint" })); }
    order.forEach(function (key) {
      list.appendChild(node("h2", { text: key }));
      groups[key].forEach(function (p) {
        list.appendChild(node("button", {
          type: "button", class: "big place-choice", "data-kind": p.kind, "data-id": p.id, text: p.label,
          onclick: function () { choosePlace(p); }
        }));
      });
    });
  }
  function choosePlace(p) {
    state.place[state.pickingFor] = Object.assign({}, p, { suggested: false });
    Q.set("lastPlace", state.place[state.pickingFor]);
    renderPlaces();
    show(state.pickingFor === "report" ? "report" : "solli");
  }

  // The checkpoint the team's scanner saw in the last minutes, if the network answers quickly.
  function suggest(forWhat) {
    var timeout = new Promise(function (resolve) { setTimeout(resolve, SUGGESTION_WAIT_MS, null); });
    var ask = api("/api/v1/terrain/suggestion").then(function (b) { return b; }, function () { return null; });
    return Promise.race([ask, timeout]).then(function (body) {
      if (body && body.checkpoint) {
        var p = findPlace({ checkpoint: body.checkpoint.id, name: body.checkpoint.name });
        state.place[forWhat] = Object.assign({}, p, { suggested: true });
        renderPlaces();
      }
    });
  }

  // ---- technical report: three taps -----------------------------------------------------------

  function startReport() {
    state.category = null;
    state.photo = null;
    state.photoReady = null;
    $("report-urgent").checked = false;
    $("report-text").value = "";
    $("report-photo").value = "";
    $("report-photo-name").textContent = "";
    $("report-details").hidden = true;
    $("categories").hidden = false;
    $("report-step-title").textContent = "Catégorie";
    var grid = $("categories");
    grid.textContent = "";
    items(state.vocab && state.vocab.categories).forEach(function (c) {
      grid.appendChild(node("button", { type: "button", class: "big cat", "data-id": c.id, text: c.label,
        onclick: function () { chooseCategory(c); } }));
    });
    renderPlaces();
    show("report");
    suggest("report");
  }
  function chooseCategory(c) {
    state.category = c;
    $("categories").hidden = true;
    $("report-step-title").textContent = "Signalement technique";
    $("report-category").textContent = c.label;
    $("report-details").hidden = false;
  }

  // A camera photo is 3 to 12 MB: re-drawn at most PHOTO_MAX_PX wide as JPEG it is a few hundred KB, quick to
  // send on a weak signal, and the re-drawing drops its EXIF (GPS included) before it leaves the phone. The
  // server re-encodes it anyway; if the browser cannot decode it, the original goes and the server decides.
  var PHOTO_MAX_PX = 1600;
  function shrink(file) {
    if (!window.createImageBitmap) { return Promise.resolve(file); }
    return createImageBitmap(file).then(function (bmp) {
      var scale = Math.min(1, PHOTO_MAX_PX / Math.max(bmp.width, bmp.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bmp.width * scale));
      canvas.height = Math.max(1, Math.round(bmp.height * scale));
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  function nowIso() { return new Date().toISOString(); }
  function placeRef(p) { return p.kind === "checkpoint" ? { checkpoint: p.id } : { building: p.id }; }

  function sendReport() {
    var p = state.place.report;
    if (!p) { openPicker("report"); return; }
    var text = $("report-text").value.trim();
    var body = {
      id: Q.ulid(), created_at: nowIso(), place: placeRef(p), category: state.category.id,
      urgency: $("report-urgent").checked ? "urgent" : "normal"
    };
    if (text) { body.text = text; }
    Promise.resolve(state.photoReady).then(function () {
      queueAndSend("report", body, state.photo, "Signalement enregistré");
    });
  }

  // ---- sollicitation --------------------------------------------------------------------------

  function choiceGroup(containerId, name, list, value, onchange) {
    var box = $(containerId);
    box.textContent = "";
    items(list).forEach(function (v) {
      var input = node("input", { type: "radio", name: name, value: v.id, id: name + "-" + v.id });
      input.checked = v.id === value;
      if (onchange) { input.addEventListener("change", onchange); }
      box.appendChild(node("label", { class: "pill", for: name + "-" + v.id }, [input, node("span", { text: v.label })]));
    });
  }
  function picked(name) {
    var e = document.querySelector("input[name=" + name + "]:checked");
    return e ? e.value : null;
  }

  function startSolli(request) {
    state.request = request || null;
    fillSolliChoices(request);
    $("solli-text").value = "";
    $("solli-contact").value = "";
    $("solli-consent").checked = false;
    $("solli-error").hidden = true;
    $("solli-request").hidden = !request;
    if (request) {
      $("solli-request").textContent = "Réponse à la demande : " + request.text;
      state.place.solli = findPlace(request.place);
    }
    renderPlaces();
    show("solli");
    if (!request) { suggest("solli"); }
  }
  function fillSolliChoices(request) {
    var v = state.vocab || {};
    choiceGroup("solli-origin", "origin", v.origins, request ? "commanditaire" : null);
    choiceGroup("solli-type", "type", v.types, null);
    choiceGroup("solli-response", "response", v.responses, null, onResponse);
    choiceGroup("solli-status", "status", v.sollicitation_statuses || v.statuses, "ouverte");
    var sel = $("solli-partner");
    sel.textContent = "";
    sel.appendChild(node("option", { value: "", text: "— choisir —" }));
    (state.partners || []).forEach(function (x) {
      sel.appendChild(node("option", { value: x.id, text: x.name + (x.kind ? " (" + x.kind + ")" : "") }));
    });
    $("solli-partner-box").hidden = true;
  }
  // A form opened before the vocabulary arrived (a tap in the app's first seconds, a slow network) was drawn
  // empty: fill what is still empty once the data is here, never touching what the mediator already entered.
  function fillEmptyForm() {
    var screen = document.body.getAttribute("data-screen");
    if (screen === "report" && !state.category && !$("categories").children.length) { startReport(); }
    if (screen === "solli" && !document.querySelector("input[name=origin]")) { fillSolliChoices(state.request); }
  }
  function onResponse() {
    var orient = picked("response") === "orientation";
    $("solli-partner-box").hidden = !orient;
    if (orient) {
      var s = document.querySelector("input[name=status][value=orientee]");
      if (s) { s.checked = true; }
    }
  }

  // The directory's own id (a number today), not the select's string.
  function partnerId(value) {
    var hit = (state.partners || []).filter(function (x) { return String(x.id) === value; })[0];
    return hit ? hit.id : null;
  }

  function solliError(text) {
    $("solli-error").textContent = text;
    $("solli-error").hidden = false;
    $("solli-error").scrollIntoView({ block: "center" });
  }

  function sendSolli(ev) {
    ev.preventDefault();
    var p = state.place.solli;
    var body = {
      id: null, created_at: nowIso(), place: p ? placeRef(p) : null, origin: picked("origin"), type: picked("type"),
      response: picked("response"), partner: partnerId($("solli-partner").value), status: picked("status"),
      contact: null, request: state.request ? state.request.id : null
    };
    if (!p) { openPicker("solli"); return; }
    if (!body.origin || !body.type || !body.response || !body.status) {
      solliError("Choisissez l'origine, le type, la réponse et le statut."); return;
    }
    if (body.response === "orientation" && !body.partner) {
      solliError("Une orientation demande un partenaire."); return;
    }
    var contact = $("solli-contact").value.trim();
    if (contact) {
      if (!$("solli-consent").checked) { solliError("Cochez le consentement, ou effacez le contact."); return; }
      body.contact = { value: contact, consent: true };
    }
    var text = $("solli-text").value.trim();
    if (text) { body.text = text; }
    body.id = Q.ulid();
    queueAndSend("sollicitation", body, null, "Sollicitation enregistrée");
  }

  // ---- the outbox -----------------------------------------------------------------------------

  function queueAndSend(kind, body, photo, done, record) {
    Q.enqueue(kind, body, photo, record).then(function () {
      show("home");
      flash(done + " : envoi en cours…", "ok");
      return refreshOutbox();
    }).then(function () { return flushNow(false); }).then(function (r) {
      if (r && (r.unauthorized || r.errors)) { return; } // flushNow said why
      if (r && r.left === 0) { flash(done + " et envoyé.", "ok"); } else if (r && r.left > 0) {
        flash(done + " : il partira dès que le réseau revient.", "warn");
      }
    });
  }

  function flushNow(force) {
    return Q.flush(force).then(function (r) {
      if (r && r.unreachable) { reachable(false); } else if (r && r.sent > 0) { reachable(true); }
      if (r && r.unauthorized) {
        flash("Ce téléphone n'est plus autorisé : ses envois restent gardés ici. Demandez au superviseur de le " +
              "réenrôler.", "error");
      } else if (r && r.sent > 0 && r.left === 0 && !r.errors) {
        flash(r.sent + " envoi(s) parti(s) : tout est envoyé.", "ok");
      } else if (r && r.errors) {
        flash(r.errors + " envoi(s) refusé(s) : voir « Envois » pour corriger.", "error");
      }
      if (r && r.sent > 0) { refreshRecords(); }
      return refreshOutbox().then(function () { return r; });
    }, function () { return refreshOutbox(); });
  }

  var KIND_LABELS = { report: "Signalement", sollicitation: "Sollicitation", status: "Statut" };
  function labelOf(list, id) {
    var hit = items(list).filter(function (x) { return x.id === id; })[0];
    return hit ? hit.label : id;
  }

  function refreshOutbox() {
    return Q.all().then(function (all) {
      var pending = all.filter(function (i) { return i.state !== "error"; }).length;
      var errors = all.length - pending;
      var btn = $("pending");
      btn.hidden = all.length === 0;
      btn.textContent = (pending ? pending + " envoi(s) en attente" : "") + (pending && errors ? " · " : "") +
        (errors ? errors + " erreur(s)" : "");
      btn.className = "pending" + (errors ? " has-error" : "");
      btn.setAttribute("data-pending", String(pending));
      btn.setAttribute("data-errors", String(errors));
      var list = $("outbox");
      list.textContent = "";
      if (!all.length) { list.appendChild(node("li", { class: "hint", text: "Tout est envoyé." })); }
      all.forEach(function (i) {
        var v = state.vocab || {};
        var what = i.kind === "report" ? labelOf(v.categories, i.body.category) :
          i.kind === "status" ? labelOf(v.sollicitation_statuses, i.body.status) : labelOf(v.types, i.body.type);
        var target = i.kind === "status" ? recordById(i.record) : null;
        var p = findPlace(target ? target.place : i.body.place);
        var li = node("li", { class: "card state-" + i.state, "data-id": i.id, "data-state": i.state }, [
          node("strong", { text: KIND_LABELS[i.kind] + " · " + what }),
          node("span", { text: p ? p.label : "" }),
          node("span", { class: "status", text: i.state === "error" ? "À corriger : " + i.error : "En attente d'envoi" +
            (i.attempts ? " (" + i.attempts + " essai(s))" : "") })
        ]);
        if (i.state === "error") {
          li.appendChild(node("button", { type: "button", class: "big secondary", text: "Réessayer",
            onclick: function () { Q.retry(i.id).then(function () { return flushNow(true); }); } }));
          li.appendChild(node("button", { type: "button", class: "big danger", text: "Supprimer",
            onclick: function () { Q.remove(i.id).then(refreshOutbox); } }));
        }
        list.appendChild(li);
      });
    });
  }

  // ---- the team's own sollicitations: orient or close them from the list (two taps at most) ---------------

  function recordById(id) { return (state.records || []).filter(function (x) { return x.id === id; })[0] || null; }

  function renderMine() {
    var list = $("mine");
    list.textContent = "";
    var v = state.vocab || {};
    var open = (state.records || []).filter(function (x) { return x.kind === "sollicitation" && x.status !== "close"; });
    if (!open.length) { list.appendChild(node("li", { class: "hint", text: "Aucune sollicitation en cours." })); }
    open.forEach(function (x) {
      var p = findPlace(x.place);
      var li = node("li", { class: "card mine", "data-id": x.id, "data-status": x.status }, [
        node("strong", { text: labelOf(v.types, x.type) }),
        node("span", { text: p ? p.label : "" }),
        node("span", { class: "status", text: "Statut : " + labelOf(v.sollicitation_statuses, x.status) +
          (x.pending ? " (en attente d'envoi)" : "") })
      ]);
      if (x.status === "ouverte") {
        li.appendChild(node("button", { type: "button", class: "big secondary orient", text: "Orienter",
          onclick: function () { orient(x, li); } }));
      }
      li.appendChild(node("button", { type: "button", class: "big primary close", text: "Clore",
        onclick: function () { step(x, "close", null); } }));
      list.appendChild(li);
    });
  }

  // The server's list, with the steps still in the outbox laid over it (they are what the team did last).
  function refreshRecords() {
    return api("/api/v1/terrain/records").then(function (found) {
      return Q.all().then(function (queued) {
        queued.forEach(function (i) {
          var x = i.kind === "status" ? found.filter(function (f) { return f.id === i.record; })[0] : null;
          if (x) { x.status = i.body.status; x.pending = true; if (i.body.partner) { x.partner = i.body.partner; } }
        });
        state.records = found;
        renderMine();
        return Q.set("records", found);
      });
    }, function () { /* offline: the list kept */ });
  }

  // "Orienter": the record's partner if it has one, else one tap on the partner it goes to.
  function orient(x, li) {
    if (x.partner) { step(x, "orientee", null); return; }
    if (li.querySelector(".partners")) { return; }
    var box = node("div", { class: "partners", role: "group", "aria-label": "Orientée vers" },
      [node("span", { text: "Orientée vers :" })]);
    (state.partners || []).forEach(function (pt) {
      box.appendChild(node("button", { type: "button", class: "big secondary", "data-partner": String(pt.id),
        text: pt.name, onclick: function () { step(x, "orientee", pt.id); } }));
    });
    li.insertBefore(box, li.querySelector("button.close")); // under "Orienter", above "Clore"
  }

  // Queue the step (sent now if the network allows, else when it returns) and show it at once.
  function step(x, status, partner) {
    var body = { id: Q.ulid(), status: status, at: nowIso() };
    if (partner) { body.partner = partner; }
    x.status = status;
    x.pending = true;
    if (partner) { x.partner = partner; }
    Q.set("records", state.records).then(function () {
      renderMine();
      queueAndSend("status", body, null, status === "close" ? "Sollicitation close" : "Sollicitation orientée",
        x.id);
    });
  }

  function renderRequests() {
    var list = $("requests");
    list.textContent = "";
    var open = (state.requests || []).filter(function (r) { return r.status !== "close" && r.status !== "traitee"; });
    if (!open.length) { list.appendChild(node("li", { class: "hint", text: "Aucune demande en cours." })); }
    open.forEach(function (r) {
      var p = findPlace(r.place);
      list.appendChild(node("li", { class: "card request", "data-id": r.id }, [
        node("strong", { text: r.text }),
        node("span", { text: p ? p.label : "" }),
        node("button", { type: "button", class: "big primary", text: "Répondre",
          onclick: function () { startSolli(r); } })
      ]));
    });
  }

  function netState() {
    var n = $("net");
    var on = navigator.onLine && state.reachable !== false;
    n.textContent = !navigator.onLine ? "hors ligne" : (on ? "en ligne" : "serveur injoignable");
    n.className = "net " + (on ? "on" : "off");
  }

  // ---- enrolment and start --------------------------------------------------------------------

  function enrol(ev) {
    ev.preventDefault();
    var code = $("enrol-code").value.trim();
    $("enrol-error").hidden = true;
    state.token = null;
    api("/api/v1/terrain/devices", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code, label: $("enrol-label").value.trim() || "Téléphone de l'équipe" })
    }).then(function (b) {
      state.token = b.token; state.team = b.team;
      return Promise.all([Q.set("token", b.token), Q.set("team", b.team), Q.set("device", b.device_id)]);
    }).then(function () {
      history.replaceState(null, "", "/terrain/");
      $("team").textContent = teamTitle(state.team);
      flash("Téléphone enrôlé : " + teamTitle(state.team) + ".", "ok");
      show("home");
      return loadData();
    }).catch(function (err) {
      $("enrol-error").textContent = err.status ? err.message : "Pas de réseau : l'enrôlement demande une connexion.";
      $("enrol-error").hidden = false;
    });
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register("/terrain/sw.js", { scope: "/terrain/" }).catch(function () { /* optional */ });
  }

  // Background Sync for when the app is put away with records still queued (the page retries itself while open).
  function askBackgroundSync() {
    if (!("serviceWorker" in navigator)) { return; }
    Q.counts().then(function (c) {
      if (!c.pending) { return; }
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.sync) { return reg.sync.register("ronde-outbox"); }
      }).catch(function () { /* not available: the next opening sends */ });
    });
  }

  function wire() {
    $("enrol-form").addEventListener("submit", enrol);
    $("go-home").addEventListener("click", function () { if (state.token) { show("home"); } });
    $("new-report").addEventListener("click", startReport);
    $("new-solli").addEventListener("click", function () { startSolli(null); });
    $("report-send").addEventListener("click", sendReport);
    $("report-back").addEventListener("click", startReport);
    $("report-photo").addEventListener("change", function () {
      var f = this.files && this.files[0];
      state.photo = null;
      $("report-photo-name").textContent = f ? "Photo en préparation…" : "";
      state.photoReady = f ? shrink(f).then(function (blob) {
        state.photo = blob;
        $("report-photo-name").textContent = "Photo jointe (" + Math.round(blob.size / 1024) + " Ko)";
      }) : null;
    });
    document.querySelectorAll(".change-place").forEach(function (b) {
      b.addEventListener("click", function () { openPicker(b.getAttribute("data-for")); });
    });
    $("place-search").addEventListener("input", function () { drawPlaceList(this.value); });
    $("places-back").addEventListener("click", function () { show(state.pickingFor === "report" ? "report" : "solli"); });
    $("solli-form").addEventListener("submit", sendSolli);
    $("solli-form").addEventListener("change", function () { $("solli-error").hidden = true; });
    $("pending").addEventListener("click", function () { show("home"); flushNow(true); });
    window.addEventListener("online", function () { netState(); flushNow(true); });
    window.addEventListener("offline", netState);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { askBackgroundSync(); return; }
      if (state.token) { flushNow(false); loadData(); } // back to the app: new assigned requests too
    });
    setInterval(function () { if (state.token) { flushNow(false); } }, RETRY_TICK_MS);
  }

  function start() {
    wire();
    netState();
    registerWorker();
    var m = /[#&]enrol=([^&]+)/.exec(location.hash);
    Promise.all([Q.get("token"), Q.get("team"), Q.get("lastPlace")]).then(function (r) {
      state.token = r[0] || null; state.team = r[1] || null;
      state.place.report = r[2] || null; state.place.solli = r[2] || null;
      if (m) {
        $("enrol-code").value = decodeURIComponent(m[1]);
        show("enrol");
        return refreshOutbox();
      }
      if (!state.token) { show("enrol"); return refreshOutbox(); }
      $("team").textContent = teamTitle(state.team);
      show("home");
      return refreshOutbox().then(loadData).then(function () { return flushNow(true); });
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
