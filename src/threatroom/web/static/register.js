/* The executive summary and the threat register: filters, sorting, triage per threat. */
import { $, $$, AuthNeeded, apiJSON, cardLabels, clear, el, say, words } from "./core.js";

const SEVERITIES = ["Critical", "High", "Medium", "Low"];
const TRIAGE = ["open", "mitigated", "accepted", "false_positive"];

export function summary(result) {
  const counts = $("#summary-counts");
  clear(counts);
  const by = (result.summary && result.summary.by_severity) || {};
  counts.append(el("li", { text: `${(result.summary && result.summary.total) || 0} threats` }));
  for (const s of SEVERITIES) counts.append(el("li", { class: "sev-" + s.toLowerCase(), text: `${s}: ${by[s] || 0}` }));
  counts.append(el("li", { text: `${(result.components || []).length} components, ${(result.flows || []).length} flows` }));
  const top = $("#top3");
  clear(top);
  const byId = new Map((result.threats || []).map((t) => [t.id, t]));
  for (const tid of (result.top_priorities || []).slice(0, 3)) {
    const t = byId.get(tid);
    if (!t) continue;
    const fix = (t.mitigations || [])[0];
    top.append(el("li", {},
      el("strong", { text: t.title }), ` (${t.element_name}, `, el("span", { class: "sev-" + t.severity.toLowerCase(), text: t.severity }), ")",
      fix ? el("br") : "", fix ? el("span", { class: "help", text: "First fix: " + fix.title }) : ""));
  }
}

export function register(threats, jobId) {
  const tbody = $("#register tbody");
  const filters = { component: $("#f-component"), stride: $("#f-stride"), severity: $("#f-severity"), triage: $("#f-triage") };
  const search = $("#f-text");
  const haystack = new Map(threats.map((t) => [t, [t.id, t.title, t.element_name, t.description, ...(t.cwe || []), ...(t.capec || []),
    ...(t.mitigations || []).map((m) => m.title), t.triage ? t.triage.note : ""].join(" ").toLowerCase()]));
  const sortState = { key: "severity", dir: -1 };
  const components = new Map();
  for (const t of threats) components.set(t.component_id || t.element_name, t.element_name);
  for (const [value, text] of [...components].sort((a, b) => a[1].localeCompare(b[1]))) filters.component.append(el("option", { value, text }));
  for (const v of [...new Set(threats.map((t) => t.stride))].sort()) filters.stride.append(el("option", { value: v, text: v }));
  for (const v of SEVERITIES.filter((s) => threats.some((t) => t.severity === s))) filters.severity.append(el("option", { value: v, text: v }));
  for (const v of TRIAGE) filters.triage.append(el("option", { value: v, text: words(v) }));

  const status = (t) => (t.triage ? t.triage.status : "open");
  const sortValue = (t, key) => {
    if (key === "severity") return SEVERITIES.length - SEVERITIES.indexOf(t.severity);
    if (key === "dread") return (t.dread && t.dread.score) || 0;
    if (key === "triage") return status(t);
    return String(t[key] || "").toLowerCase();
  };

  function triageCell(t, n) {
    const select = el("select", { id: `tri-${n}`, "aria-label": `Triage status of ${t.title}` });
    for (const s of TRIAGE) select.append(el("option", { value: s, text: words(s) }));
    select.value = status(t);
    const note = el("input", { type: "text", maxlength: "2000", placeholder: "note", "aria-label": `Triage note for ${t.title}` });
    note.value = t.triage ? t.triage.note || "" : "";
    const state = el("span", { class: "help", role: "status" });
    const shown = () => say(state, !t.triage ? "Not triaged"
      : `Saved: ${words(t.triage.status)}${t.triage.updated_by ? " by " + t.triage.updated_by : ""}`
        + (t.triage.carried_from ? ` (in run ${String(t.triage.carried_from).slice(0, 8)})` : ""));
    shown();
    const save = el("button", { type: "button", text: "Save", "aria-label": `Save triage of ${t.title}` });
    save.addEventListener("click", async () => {
      save.disabled = true;
      try {
        t.triage = await apiJSON(`/v1/analyses/${jobId}/threats/${encodeURIComponent(t.id)}/triage`, {
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
    note.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); save.click(); } });
    return el("td", {}, el("div", { class: "triage" }, select, note, save, state));
  }

  function row(t, n) {
    const mits = el("ul");
    for (const m of t.mitigations || []) mits.append(el("li", { text: m.title }));
    const title = el("td", {}, t.title);
    if (t.source === "llm") title.append(" ", el("span", { class: "badge", text: "LLM" }));
    title.append(el("span", { class: "tid", text: [t.id, ...(t.cwe || [])].join(" · ") }));
    const dread = el("td", { class: "dread" });
    if (t.dread) {
      const why = el("ul");
      for (const [factor, reason] of Object.entries(t.dread.rationale || {})) why.append(el("li", { text: `${words(factor)} ${reason}` }));
      dread.append(why.firstChild ? el("details", {}, el("summary", { text: String(t.dread.score) }), why) : String(t.dread.score));
    }
    return el("tr", {},
      title,
      el("td", { text: t.element_name }),
      el("td", { text: t.stride }),
      el("td", { class: "sev-" + String(t.severity).toLowerCase(), text: t.severity }),
      dread,
      el("td", {}, mits),
      triageCell(t, n));
  }

  function render() {
    const f = { c: filters.component.value, s: filters.stride.value, v: filters.severity.value, t: filters.triage.value };
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = threats.filter((t) => (!f.c || (t.component_id || t.element_name) === f.c) && (!f.s || t.stride === f.s)
      && (!f.v || t.severity === f.v) && (!f.t || status(t) === f.t) && words.every((w) => haystack.get(t).includes(w)));
    shown.sort((a, b) => {
      const x = sortValue(a, sortState.key), y = sortValue(b, sortState.key);
      return (x < y ? -1 : x > y ? 1 : 0) * sortState.dir;
    });
    clear(tbody);
    for (const t of shown) tbody.append(row(t, threats.indexOf(t)));
    cardLabels($("#register"));
    say($("#register-count"), `${shown.length} of ${threats.length} threats shown`);
    for (const th of $$("#register th")) {
      const b = $("button", th);
      if (b && b.dataset.sort === sortState.key) th.setAttribute("aria-sort", sortState.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  for (const s of Object.values(filters)) s.addEventListener("change", render);
  search.addEventListener("input", render);
  for (const b of $$("#register th button")) {
    b.addEventListener("click", () => {
      if (sortState.key === b.dataset.sort) sortState.dir = -sortState.dir;
      else { sortState.key = b.dataset.sort; sortState.dir = 1; }
      render();
    });
  }
  render();
}
