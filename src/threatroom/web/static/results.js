/* The job page once the analysis has succeeded: what the input raised, the summary,
 * downloads, diagrams, the register, the roles' analyses, and the revise tools. */
import { $, AuthNeeded, api, apiJSON, clear, el, errorText, report, roleClass, saveBlob, say, svgURL, words } from "./core.js";
import { renderMarkdown } from "./markdown.js";
import { register, summary } from "./register.js";
import { modelTables } from "./model.js";
import { initRevise } from "./revise.js";
import { diagramViewer } from "./viewer.js";

const ROLE_ORDER = ["threat_modeler", "engineer", "architect", "compliance_officer", "business_stakeholder", "leader"];

export async function loadResults(id, job) {
  const base = "/v1/analyses/" + id;
  $("#results").hidden = false;
  $("#results-nav").hidden = false;
  setupDownloads(id);
  try {
    const result = await apiJSON(base + "/threats");
    const system = (result.system && result.system.name) || "";
    if (system && system !== job.name) {
      say($("#job-title"), system);
      if (job.name !== "input" && system.toLowerCase() !== String(job.name).toLowerCase()) say($("#job-input"), "input: " + job.name);
      document.title = `${system} · threatroom`;
    }
    warnings(result.warnings || []);
    modelTables(result, { components: $("#components"), flows: $("#flows") });
    summary(result);
    register(result.threats || [], id);
  } catch (e) {
    report($("#job-error"))(e);
  }
  initRevise(id, job);
  await diagrams(base);
  await roles(base);
}

function warnings(list) {
  const box = $("#warnings");
  const ul = $("#warning-list");
  clear(ul);
  box.hidden = list.length === 0;
  const injection = list.filter((w) => w.code === "prompt-injection").length;
  say($("#warning-lead"), injection
    ? `The input contains ${injection} instruction-like passage${injection === 1 ? "" : "s"} (possible prompt injection). They were treated as data, never as instructions; check them below.`
    : "What the reader was unsure about. Correct the model below and re-run if something is wrong.");
  for (const w of list) {
    const li = el("li", { class: w.code === "prompt-injection" ? "warn-injection" : "" },
      el("code", { text: w.code }), " ", w.message);
    if (w.path) li.append(" ", el("span", { class: "help", text: "(" + w.path + ")" }));
    ul.append(li);
  }
}

function setupDownloads(id) {
  for (const b of document.querySelectorAll("button.download")) {
    b.addEventListener("click", async () => {
      const suffix = b.dataset.suffix;
      say($("#download-error"), "");
      b.disabled = true;
      try {
        const res = await api(`/v1/analyses/${id}/report.${suffix}`);
        if (!res.ok) throw new Error(res.status === 404 ? "this format was not asked for when the analysis was submitted" : await errorText(res));
        saveBlob(await res.blob(), `threatroom-${id.slice(0, 8)}.${suffix}`);
      } catch (e) {
        if (!(e instanceof AuthNeeded)) say($("#download-error"), `${suffix}: ${e.message}`);
      } finally {
        b.disabled = false;
      }
    });
  }
}

async function diagrams(base) {
  const dfdBox = $("#dfd-box");
  const dfd = await svgURL(base + "/dfd.svg");
  if (dfd) dfdBox.append(diagramViewer("Data-flow diagram", dfd, { heading: "h3" }));
  else dfdBox.append(el("p", { text: "No diagram." }));
  const trees = $("#trees");
  for (let n = 1; n <= 20; n++) {
    const url = await svgURL(`${base}/attack-trees/${n}.svg`);
    if (!url) break;
    trees.append(diagramViewer(`Attack tree ${n}`, url));
  }
  if (!trees.firstChild) trees.append(el("p", { text: "No attack trees." }));
}

async function roles(base) {
  const tbody = $("#roles tbody");
  let record = null;
  try { record = await apiJSON(base + "/conversation"); } catch (_) { record = null; }
  const list = (record && record.roles) || [];
  $("#roles-section").hidden = list.length === 0;
  const rank = (r) => { const i = ROLE_ORDER.indexOf(r.role); return i < 0 ? 99 : i; };
  for (const r of [...list].sort((a, b) => rank(a) - rank(b))) {
    const text = String(r.analysis || "");
    const lines = text.split("\n");
    const short = lines.find((l) => l.startsWith("In short:")) || lines[1] || lines[0] || "";
    const details = el("details", {}, el("summary", { text: "Full analysis" }), el("div", { class: "md" }, renderMarkdown(text)));
    tbody.append(el("tr", { class: roleClass(r.role) },
      el("th", { scope: "row" }, el("span", { class: "speaker", text: r.member }), el("br"), words(r.role)),
      el("td", {}, el("p", { text: short.replace(/^In short:\s*/, "") }), details)));
  }
}
