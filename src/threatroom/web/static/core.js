/* Shared by every page: DOM helpers, API access with the key, downloads.
 * Rule for the whole UI: data from the API (user text, LLM text) is only ever put into
 * the page with textContent / createElement / attribute setters -- never as HTML. */

const KEY = "threatroom.apiKey";
export const JOB_ID = /^[0-9a-f]{32}$/;
export const FINISHED = ["succeeded", "failed", "cancelled"];
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function say(node, message) {
  if (node) node.textContent = message || "";
}

/* At phone width the tables become stacked cards (app.css); each cell then shows its
 * column's name, copied here from the table's own header. */
export function cardLabels(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const tr of table.querySelectorAll("tbody tr")) {
    [...tr.children].forEach((cell, i) => { if (names[i]) cell.setAttribute("data-label", names[i]); });
  }
}

/* snake_case vocabulary (roles, types, statuses) as words */
export function words(s) {
  return String(s ?? "").replace(/_/g, " ");
}

/* The class that gives a role its colour (app.css: .role-<role>). */
export function roleClass(role) {
  return "role-" + String(role || "unknown").replace(/[^a-z0-9_]/gi, "_");
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "-";
}

export function analysisLink(job) {
  const label = `${job.name || "input"} · ${job.id.slice(0, 8)}`;
  return el("a", { href: "/analyses/" + job.id, text: label });
}

/* ---------- API access: one header, no cookies ---------- */

export class AuthNeeded extends Error {}

function headers(extra = {}) {
  const h = { ...extra };
  const key = sessionStorage.getItem(KEY);
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

export async function api(path, options = {}) {
  const res = await fetch(path, { ...options, credentials: "omit", headers: headers(options.headers) });
  if (res.status === 401) {
    const refused = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);  // a refused key is not kept, nor offered to forget
    $("#forget-key").hidden = true;
    showAuth(refused ? "That key was refused." : "");
    throw new AuthNeeded("an API key is needed");
  }
  return res;
}

export async function apiJSON(path, options = {}) {
  const res = await api(path, options);
  if (!res.ok) throw new Error(await errorText(res));
  return res.json();
}

export function postJSON(path, body, extraHeaders = {}) {
  return apiJSON(path, { method: "POST", headers: { "Content-Type": "application/json", ...extraHeaders }, body: JSON.stringify(body) });
}

export async function errorText(res) {
  try {
    const body = await res.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
  } catch (_) { /* not JSON */ }
  return `${res.status} ${res.statusText}`;
}

/* An error shown to the person, unless it was the key prompt (which speaks for itself). */
export function report(node, prefix = "") {
  return (e) => { if (!(e instanceof AuthNeeded)) say(node, prefix + e.message); };
}

function showAuth(message) {
  $("#auth").hidden = false;
  say($("#auth-error"), message);
  $("#api-key").focus();
}

export function setupAuth(start) {
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

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/* SVG results are fetched with the header and shown through a Blob URL in an <img>,
 * which keeps any script inside the SVG inert. */
export async function svgURL(path) {
  try {
    const res = await api(path);
    if (!res.ok) return null;
    const text = await res.text();
    return URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  } catch (_) {
    return null;
  }
}

/* Every analysis of this tenant, newest first (pages through the list). */
export async function allAnalyses(limit = 200) {
  const out = [];
  let before = null;
  while (out.length < limit) {
    const q = new URLSearchParams({ limit: "100" });
    if (before) q.set("before", before);
    const page = await apiJSON("/v1/analyses?" + q.toString());
    out.push(...page.items.filter((j) => JOB_ID.test(j.id)));
    if (!page.next) break;
    before = page.next;
  }
  return out;
}
