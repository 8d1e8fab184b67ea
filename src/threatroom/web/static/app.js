/* threatroom web UI. Hand-written, no framework.
 * Rule: data from the API (user text, LLM text) is only ever put into the page with
 * textContent / createElement / attribute setters -- never as HTML. */
"use strict";

const KEY = "threatroom.apiKey";
const JOB_ID = /^[0-9a-f]{32}$/;
const SEVERITIES = ["Critical", "High", "Medium", "Low"];
const TRIAGE = ["open", "mitigated", "accepted", "false_positive"];
const $ = (sel, root = document) => root.querySelector(sel);

/* ---------- small DOM helpers ---------- */

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function say(node, message) {
  if (node) node.textContent = message || "";
}

/* ---------- API access: one header, no cookies ---------- */

class AuthNeeded extends Error {}

function headers(extra = {}) {
  const h = { ...extra };
  const key = sessionStorage.getItem(KEY);
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, credentials: "omit", headers: headers(options.headers) });
  if (res.status === 401) {
    showAuth(sessionStorage.getItem(KEY) ? "That key was refused." : "");
    throw new AuthNeeded("an API key is needed");
  }
  return res;
}

async function apiJSON(path, options = {}) {
  const res = await api(path, options);
  if (!res.ok) throw new Error(await errorText(res));
  return res.json();
}

async function errorText(res) {
  try {
    const body = await res.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
  } catch (_) { /* not JSON */ }
  return `${res.status} ${res.statusText}`;
}

function showAuth(message) {
  $("#auth").hidden = false;
  say($("#auth-error"), message);
  $("#api-key").focus();
}

function setupAuth(start) {
  $("#auth-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = $("#api-key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    $("#api-key").value = "";
    $("#auth").hidden = true;
    $("#forget-key").hidden = false;
    start();
  });
  const forget = $("#forget-key");
  forget.hidden = !sessionStorage.getItem(KEY);
  forget.addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/* ---------- New analysis ---------- */

function newPage() {
  const form = $("#new-form");
  const text = $("#text");
  const fileInput = $("#model-file");
  const status = $("#model-status");
  const error = $("#form-error");
  let model = null;

  $("#example").addEventListener("change", (ev) => {
    const opt = ev.target.selectedOptions[0];
    if (opt && opt.value) {
      text.value = opt.dataset.text || "";
      $("#name").value = opt.value;
      model = null;
      fileInput.value = "";
      say(status, "");
    }
  });
  text.addEventListener("input", () => {
    if (model) { model = null; fileInput.value = ""; say(status, "Using the text; the uploaded model was dropped."); }
  });

  fileInput.addEventListener("change", async () => {
    model = null;
    say(error, "");
    const file = fileInput.files[0];
    if (!file) return;
    say(status, "Reading " + file.name + "…");
    try {
      const raw = await file.text();
      let parsed = null;
      try { parsed = JSON.parse(raw); } catch (_) { parsed = null; }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        const res = await api("/web/parse-model", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: raw }),
        });
        if (!res.ok) throw new Error(await errorText(res));
        parsed = await res.json();
      }
      model = parsed;
      $("#name").value = file.name.slice(0, 200);
      say(status, `Using the model from ${file.name} (${(model.components || []).length} components).`);
    } catch (e) {
      fileInput.value = "";
      say(status, "");
      if (!(e instanceof AuthNeeded)) say(error, "Could not read the model: " + e.message);
    }
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say(error, "");
    const body = {
      name: $("#name").value.trim() || "input",
      agents: $("#agents").checked,
      llm: $("#llm").value || null,
      formats: [...form.querySelectorAll('input[name="formats"]:checked')].map((c) => c.value),
      goals: $("#goals").value.split(",").map((g) => g.trim()).filter(Boolean),
    };
    if (model) body.model = model;
    else if (text.value.trim()) body.text = text.value;
    else { say(error, "Describe the architecture, pick an example or upload a model."); text.focus(); return; }
    const button = $("#submit");
    button.disabled = true;
    try {
      const job = await apiJSON("/v1/analyses", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (!JOB_ID.test(job.id)) throw new Error("unexpected answer from the server");
      location.assign("/analyses/" + job.id);
    } catch (e) {
      if (!(e instanceof AuthNeeded)) say(error, e.message);
    } finally {
      button.disabled = false;
    }
  });

  async function start() {
    try {
      const info = await apiJSON("/v1/info");
      const select = $("#llm");
      while (select.options.length > 1) select.remove(1);
      for (const m of info.llm_models || []) select.append(el("option", { value: m, text: m }));
    } catch (e) {
      if (!(e instanceof AuthNeeded)) say(error, e.message);
    }
  }
  return start;
}

/* ---------- Job page ---------- */

const FINISHED = ["succeeded", "failed", "cancelled"];

function jobPage() {
  const id = document.body.dataset.jobId;
  if (!JOB_ID.test(id || "")) return () => {};
  const base = "/v1/analyses/" + id;
  let streaming = false;
  let loaded = false;
  let lastEvent = 0;
  let messages = 0;

  function showStatus(job) {
    say($("#job-status"), job.status);
    say($("#job-stage"), job.stage);
    const bar = $("#job-progress");
    bar.value = job.progress;
    bar.textContent = job.progress + "%";
    say($("#job-error"), job.error || "");
    $("#cancel").hidden = FINISHED.includes(job.status);
    if (job.status === "succeeded" && !loaded) { loaded = true; loadResults(); }
  }

  async function refresh() {
    const job = await apiJSON(base);
    showStatus(job);
    return job;
  }

  function appendMessage(m) {
    const box = $("#conversation");
    const role = String(m.role || "unknown");
    const art = el("article", { class: "msg" });
    art.classList.add("role-" + role.replace(/[^a-z0-9_]/gi, "_"));
    const head = el("header", {},
      el("span", { class: "speaker", text: String(m.speaker || "") }),
      el("span", { class: "role", text: role.replace(/_/g, " ") }));
    if (m.addressee) head.append(el("span", { class: "role", text: "→ " + m.addressee }));
    if (m.agent && m.agent !== "offline") head.append(el("span", { class: "role", text: "(" + m.agent + ")" }));
    art.append(head, el("p", { class: "body", text: String(m.content || "") }));
    box.append(art);
    messages += 1;
  }

  function handle(kind, data) {
    let payload = {};
    try { payload = JSON.parse(data || "{}"); } catch (_) { return; }
    if (kind === "message") appendMessage(payload);
    else if (kind === "progress") {
      say($("#job-stage"), payload.stage);
      $("#job-progress").value = payload.progress;
    } else if (kind === "status") say($("#job-status"), payload.status);
  }

  async function stream() {
    if (streaming) return;
    streaming = true;
    let ended = false;
    try {
      const extra = lastEvent ? { "Last-Event-ID": String(lastEvent) } : {};
      const res = await api(base + "/events", { headers: extra });
      if (!res.ok || !res.body) throw new Error(await errorText(res));
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let kind = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") kind = val;
            else if (field === "data") data.push(val);
            else if (field === "id" && /^[0-9]+$/.test(val)) lastEvent = Number(val);
          }
          if (kind === "end") ended = true;
          else handle(kind, data.join("\n"));
        }
      }
    } catch (e) {
      if (e instanceof AuthNeeded) { streaming = false; return; }
    }
    streaming = false;
    const job = await refresh().catch(() => null);
    if (job && FINISHED.includes(job.status)) {
      if (!messages) say($("#conversation"), job.status === "succeeded" ? "No discussion was recorded." : "");
      return;
    }
    if (!ended || (job && !FINISHED.includes(job.status))) setTimeout(stream, 2000);
  }

  $("#cancel").addEventListener("click", async () => {
    try { showStatus(await apiJSON(base, { method: "DELETE" })); } catch (e) { say($("#job-error"), e.message); }
  });

  for (const b of document.querySelectorAll("button.download")) {
    b.addEventListener("click", async () => {
      const suffix = b.dataset.suffix;
      say($("#download-error"), "");
      try {
        const res = await api(`${base}/report.${suffix}`);
        if (!res.ok) throw new Error(await errorText(res));
        saveBlob(await res.blob(), `${id}.${suffix}`);
      } catch (e) {
        if (!(e instanceof AuthNeeded)) say($("#download-error"), `${suffix}: ${e.message}`);
      }
    });
  }

  async function loadResults() {
    $("#results").hidden = false;
    try {
      const result = await apiJSON(base + "/threats");
      summary(result);
      register(result.threats || []);
    } catch (e) {
      say($("#job-error"), e.message);
    }
    const dfd = await svgURL(base + "/dfd.svg");
    if (dfd) { $("#dfd").src = dfd; zoomable($('[data-viewer="dfd"]')); } else $('[data-viewer="dfd"]').hidden = true;
    const trees = $("#trees");
    for (let n = 1; n <= 20; n++) {
      const url = await svgURL(`${base}/attack-trees/${n}.svg`);
      if (!url) break;
      const viewer = treeViewer(n, url);
      trees.append(viewer);
      zoomable(viewer);
    }
    if (!trees.firstChild) trees.append(el("p", { text: "No attack trees." }));
  }

  return async function start() {
    try {
      const job = await refresh();
      if (job) stream();
    } catch (e) {
      if (!(e instanceof AuthNeeded)) say($("#job-error"), e.message);
    }
  };
}

/* SVG results are fetched with the header and shown through a Blob URL in an <img>,
 * which keeps any script inside the SVG inert. */
async function svgURL(path) {
  try {
    const res = await api(path);
    if (!res.ok) return null;
    const text = await res.text();
    return URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  } catch (_) {
    return null;
  }
}

function treeViewer(n, url) {
  const zoom = el("div", { class: "zoom row" },
    el("button", { type: "button", "data-zoom": "in", text: "Zoom in" }),
    el("button", { type: "button", "data-zoom": "out", text: "Zoom out" }),
    el("button", { type: "button", "data-zoom": "reset", text: "Reset" }));
  const img = el("img", { alt: `Attack tree ${n}`, src: url });
  const canvas = el("div", { class: "canvas", tabindex: "0", "aria-label": `Attack tree ${n}, use the zoom buttons or the mouse wheel and drag` }, img);
  return el("div", { class: "viewer" }, el("h3", { text: `Attack tree ${n}` }), zoom, canvas);
}

function zoomable(viewer) {
  const img = $("img", viewer);
  const canvas = $(".canvas", viewer);
  const view = { s: 1, x: 0, y: 0 };
  const apply = () => { img.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.s})`; };
  const zoom = (f) => { view.s = Math.min(8, Math.max(0.2, view.s * f)); apply(); };
  for (const b of viewer.querySelectorAll("[data-zoom]")) {
    b.addEventListener("click", () => {
      if (b.dataset.zoom === "in") zoom(1.25);
      else if (b.dataset.zoom === "out") zoom(0.8);
      else { view.s = 1; view.x = 0; view.y = 0; apply(); }
    });
  }
  canvas.addEventListener("wheel", (ev) => { ev.preventDefault(); zoom(ev.deltaY < 0 ? 1.1 : 0.9); }, { passive: false });
  let drag = null;
  canvas.addEventListener("pointerdown", (ev) => { drag = { x: ev.clientX - view.x, y: ev.clientY - view.y }; canvas.setPointerCapture(ev.pointerId); });
  canvas.addEventListener("pointermove", (ev) => { if (drag) { view.x = ev.clientX - drag.x; view.y = ev.clientY - drag.y; apply(); } });
  canvas.addEventListener("pointerup", () => { drag = null; });
  canvas.addEventListener("keydown", (ev) => {
    const step = 40;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[ev.key]) { view.x += moves[ev.key][0]; view.y += moves[ev.key][1]; apply(); ev.preventDefault(); }
    else if (ev.key === "+") zoom(1.25);
    else if (ev.key === "-") zoom(0.8);
  });
}

function summary(result) {
  const counts = $("#summary-counts");
  clear(counts);
  const by = (result.summary && result.summary.by_severity) || {};
  counts.append(el("li", { text: `Total: ${(result.summary && result.summary.total) || 0}` }));
  for (const s of SEVERITIES) counts.append(el("li", { class: "sev-" + s.toLowerCase(), text: `${s}: ${by[s] || 0}` }));
  const top = $("#top3");
  clear(top);
  const byId = new Map((result.threats || []).map((t) => [t.id, t]));
  for (const tid of (result.top_priorities || []).slice(0, 3)) {
    const t = byId.get(tid);
    if (t) top.append(el("li", { text: `${t.title} (${t.element_name}, ${t.severity})` }));
  }
}

function register(threats) {
  const tbody = $("#register tbody");
  const filters = { component: $("#f-component"), stride: $("#f-stride"), severity: $("#f-severity") };
  const sortState = { key: "severity", dir: -1 };
  const fill = (select, values) => { for (const v of values) select.append(el("option", { value: v, text: v })); };
  const components = new Map();
  for (const t of threats) components.set(t.component_id || t.element_name, t.element_name);
  for (const [value, label] of [...components].sort((a, b) => a[1].localeCompare(b[1]))) filters.component.append(el("option", { value, text: label }));
  fill(filters.stride, [...new Set(threats.map((t) => t.stride))].sort());
  fill(filters.severity, SEVERITIES.filter((s) => threats.some((t) => t.severity === s)));

  const sevRank = (s) => SEVERITIES.length - SEVERITIES.indexOf(s);
  const sortValue = (t, key) => {
    if (key === "severity") return sevRank(t.severity);
    if (key === "dread") return (t.dread && t.dread.score) || 0;
    if (key === "triage") return t.triage ? t.triage.status : "";
    return String(t[key] || "").toLowerCase();
  };

  function triageCell(t) {
    const select = el("select", { id: "tri-" + threats.indexOf(t), "aria-label": `Triage status for ${t.id}` });
    for (const s of TRIAGE) select.append(el("option", { value: s, text: s.replace("_", " ") }));
    select.value = t.triage ? t.triage.status : "open";
    const note = el("input", { type: "text", maxlength: "2000", "aria-label": `Triage note for ${t.id}` });
    note.value = t.triage ? t.triage.note || "" : "";
    const state = el("span", { class: "help", role: "status" });
    const shown = () => say(state, t.triage ? `Saved: ${t.triage.status}${t.triage.updated_by ? " by " + t.triage.updated_by : ""}` : "Not triaged");
    shown();
    const save = el("button", { type: "button", text: "Save" });
    save.addEventListener("click", async () => {
      save.disabled = true;
      try {
        const base = "/v1/analyses/" + document.body.dataset.jobId;
        t.triage = await apiJSON(`${base}/threats/${encodeURIComponent(t.id)}/triage`, {
          method: "PUT", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ status: select.value, note: note.value }),
        });
        shown();
      } catch (e) {
        if (!(e instanceof AuthNeeded)) say(state, "Not saved: " + e.message);
      } finally {
        save.disabled = false;
      }
    });
    return el("td", {}, el("div", { class: "triage" }, select, note, save, state));
  }

  function row(t) {
    const mits = el("ul");
    for (const m of t.mitigations || []) mits.append(el("li", { text: m.title }));
    return el("tr", {},
      el("td", { class: "tid", text: t.id }),
      el("td", { text: t.element_name }),
      el("td", { text: t.stride }),
      el("td", { text: t.title }),
      el("td", { class: "sev-" + String(t.severity).toLowerCase(), text: t.severity }),
      el("td", { text: t.dread ? String(t.dread.score) : "" }),
      el("td", {}, mits),
      el("td", { text: (t.cwe || []).join(", ") }),
      triageCell(t));
  }

  function render() {
    const f = { c: filters.component.value, s: filters.stride.value, v: filters.severity.value };
    const shown = threats.filter((t) => (!f.c || (t.component_id || t.element_name) === f.c) && (!f.s || t.stride === f.s) && (!f.v || t.severity === f.v));
    shown.sort((a, b) => {
      const x = sortValue(a, sortState.key), y = sortValue(b, sortState.key);
      return (x < y ? -1 : x > y ? 1 : 0) * sortState.dir;
    });
    clear(tbody);
    for (const t of shown) tbody.append(row(t));
    say($("#register-count"), `${shown.length} of ${threats.length} threats shown`);
    for (const th of document.querySelectorAll("#register th")) {
      const b = $("button", th);
      if (b && b.dataset.sort === sortState.key) th.setAttribute("aria-sort", sortState.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  for (const s of Object.values(filters)) s.addEventListener("change", render);
  for (const b of document.querySelectorAll("#register th button")) {
    b.addEventListener("click", () => {
      if (sortState.key === b.dataset.sort) sortState.dir = -sortState.dir;
      else { sortState.key = b.dataset.sort; sortState.dir = 1; }
      render();
    });
  }
  render();
}

/* ---------- History ---------- */

function historyPage() {
  let next = null;
  const more = $("#more");

  async function load(before) {
    say($("#history-error"), "");
    try {
      const q = new URLSearchParams({ limit: "20" });
      if (before) q.set("before", before);
      const page = await apiJSON("/v1/analyses?" + q.toString());
      const tbody = $("#history tbody");
      if (!before) clear(tbody);
      for (const job of page.items) {
        if (!JOB_ID.test(job.id)) continue;
        const link = el("a", { href: "/analyses/" + job.id, text: job.id.slice(0, 12) });
        tbody.append(el("tr", {},
          el("td", {}, link),
          el("td", { text: job.status }),
          el("td", { text: new Date(job.created_at).toLocaleString() }),
          el("td", { text: job.finished_at ? new Date(job.finished_at).toLocaleString() : "-" })));
      }
      $("#history-empty").hidden = !!tbody.firstChild;
      next = page.next;
      more.hidden = !next;
    } catch (e) {
      if (!(e instanceof AuthNeeded)) say($("#history-error"), e.message);
    }
  }
  more.addEventListener("click", () => load(next));
  return () => load(null);
}

/* ---------- boot ---------- */

document.addEventListener("DOMContentLoaded", () => {
  const pages = { new: newPage, job: jobPage, history: historyPage };
  const make = pages[document.body.dataset.page];
  const start = make ? make() : async () => {};
  setupAuth(start);
  start();
});
