/* The model behind the register, as text: every component and data flow with where the
 * text said so (its quotes) or why it was inferred. It is also the data-flow diagram's text
 * alternative. */
import { cardLabels, clear, el, words } from "./core.js";

function source(item) {
  const quotes = (item.evidence || []).map((e) => e.quote).filter(Boolean);
  if (item.inferred) return el("span", { class: "help", text: "inferred: " + (item.inferred_reason || "") });
  if (!quotes.length) return el("span", { class: "help", text: "given in the model" });
  const unique = [...new Set(quotes)];
  const shown = unique.slice(0, 3).map((q) => `“${q}”`).join(" · ");
  return el("span", { text: shown + (unique.length > 3 ? ` (+${unique.length - 3} more)` : "") });
}

function fill(table, rows) {
  const tbody = table.querySelector("tbody");
  clear(tbody);
  for (const cells of rows) tbody.append(el("tr", {}, ...cells.map((c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c)))));
  cardLabels(table);
}

export function modelTables(result, tables) {
  const names = new Map((result.components || []).map((c) => [c.id, c.name]));
  const zones = new Map((result.trust_boundaries || []).map((z) => [z.id, z.name]));
  fill(tables.components, (result.components || []).map((c) => [
    el("strong", { text: c.name }),
    words(c.type),
    [c.technology, ...(c.facets || [])].filter(Boolean).join(", ") || "-",
    zones.get(c.zone) || c.zone || "-",
    source(c),
  ]));
  fill(tables.flows, (result.flows || []).map((f, i) => [
    String(i + 1),
    `${names.get(f.source) || f.source} → ${names.get(f.target) || f.target}`,
    [f.label, f.protocol].filter(Boolean).join(", ") || "-",
    f.crosses_boundary ? el("strong", { text: "yes" }) : "no",
    source(f),
  ]));
}
