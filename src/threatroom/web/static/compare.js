/* Compare two runs: threats new in this one, resolved since the other, and changed. */
import { $, JOB_ID, analysisLink, apiJSON, cardLabels, clear, el, report, say } from "./core.js";

const COLUMNS = [["title", "Threat"], ["element", "Element"], ["stride", "STRIDE"], ["severity", "Severity"], ["dread", "DREAD"]];

function table(rows, withChanges) {
  const head = el("tr", {}, ...COLUMNS.map(([, label]) => el("th", { scope: "col", text: label })));
  if (withChanges) head.append(el("th", { scope: "col", text: "What changed" }));
  const tbody = el("tbody");
  for (const t of rows) {
    const tr = el("tr", {}, ...COLUMNS.map(([key]) => el("td", { class: key === "severity" ? "sev-" + String(t.severity).toLowerCase() : "", text: String(t[key]) })));
    if (withChanges) {
      const ul = el("ul");
      for (const [field, [was, now]] of Object.entries(t.changes || {})) ul.append(el("li", { text: `${field}: ${was} → ${now}` }));
      tr.append(el("td", {}, ul));
    }
    tbody.append(tr);
  }
  const t = el("table", { class: "cards" }, el("thead", {}, head), tbody);
  cardLabels(t);
  return el("div", { class: "table-wrap" }, t);
}

export function comparePage() {
  const id = document.body.dataset.jobId;
  const other = document.body.dataset.otherId;
  if (!JOB_ID.test(id || "") || !JOB_ID.test(other || "")) return () => {};
  return async function start() {
    say($("#compare-error"), "");
    try {
      const [now, then, diff] = await Promise.all([
        apiJSON("/v1/analyses/" + id), apiJSON("/v1/analyses/" + other), apiJSON(`/v1/analyses/${id}/compare/${other}`)]);
      const head = $("#compare-runs");
      clear(head);
      head.append(el("li", {}, "This run: ", analysisLink(now)), el("li", {}, "Compared with: ", analysisLink(then)));
      say($("#compare-counts"), `${diff.new.length} new, ${diff.resolved.length} resolved, ${diff.changed.length} changed, ${diff.unchanged} unchanged.`);
      for (const [key, changes] of [["new", false], ["resolved", false], ["changed", true]]) {
        const box = $("#diff-" + key);
        clear(box);
        box.append(diff[key].length ? table(diff[key], changes) : el("p", { text: "None." }));
      }
      $("#swap").href = `/analyses/${other}/compare/${id}`;
      $("#diff").hidden = false;
    } catch (e) {
      report($("#compare-error"))(e);
    }
  };
}
