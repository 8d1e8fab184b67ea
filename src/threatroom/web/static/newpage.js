/* New analysis: an example, plain words or an uploaded YAML/JSON model; options; submit. */
import { $, AuthNeeded, JOB_ID, apiJSON, el, postJSON, say } from "./core.js";

export function newPage() {
  const form = $("#new-form");
  const text = $("#text");
  const fileInput = $("#model-file");
  const status = $("#model-status");
  const error = $("#form-error");
  let model = null;
  let basedOn = null;  // set when the form starts from an earlier analysis (?from=<id>)

  $("#example").addEventListener("change", (ev) => {
    const opt = ev.target.selectedOptions[0];
    if (opt && opt.value) {
      text.value = opt.dataset.text || "";
      $("#name").value = opt.textContent.split(" (")[0].trim();  // "Mobile game on AWS"
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
        parsed = await postJSON("/web/parse-model", { text: raw });
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

  $("#llm").addEventListener("change", () => { $("#llm-options").hidden = !$("#llm").value; });

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
    if (body.llm) {
      const budget = Number($("#max-cost").value);
      if ($("#max-cost").value && !(budget > 0 && budget <= 100)) { say(error, "The budget is a number of dollars between 0.01 and 100."); $("#max-cost").focus(); return; }
      if (budget) body.max_cost = budget;
      body.llm_extract = $("#llm-extract").checked && !model;
    }
    if (basedOn) body.based_on = basedOn;
    if (model) body.model = model;
    else if (text.value.trim()) body.text = text.value;
    else { say(error, "Describe the architecture, pick an example or upload a model."); text.focus(); return; }
    const button = $("#submit");
    button.disabled = true;
    try {
      const job = await postJSON("/v1/analyses", body);
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
      const models = info.llm_models || [];
      for (const m of models) select.append(el("option", { value: m, text: m === "test" ? "test (the built-in fake LLM, $0)" : m }));
      $("#llm-field").hidden = models.length === 0;
      const from = new URLSearchParams(location.search).get("from");
      if (from && JOB_ID.test(from)) await startFrom(from);
    } catch (e) {
      if (!(e instanceof AuthNeeded)) say(error, e.message);
    }
  }
  /* Fill the form with an earlier analysis' request: its text (or model) and options. */
  async function startFrom(id) {
    const req = await apiJSON(`/v1/analyses/${id}/request`);
    if (req.model) {
      model = req.model;
      say(status, `Using the model of the earlier run (${(model.components || []).length} components); typing a description replaces it.`);
    } else text.value = req.text || "";
    $("#name").value = req.name || "input";
    $("#agents").checked = req.agents !== false;
    $("#goals").value = (req.goals || []).join(", ");
    for (const box of form.querySelectorAll('input[name="formats"]')) box.checked = (req.formats || []).includes(box.value);
    if (req.llm && [...$("#llm").options].some((o) => o.value === req.llm)) {
      $("#llm").value = req.llm;
      $("#llm-options").hidden = false;
      if (req.max_cost) $("#max-cost").value = String(req.max_cost);
      $("#llm-extract").checked = !!req.llm_extract;
    }
    basedOn = id;
    const note = $("#from-note");
    note.append("Starting from ", el("a", { href: "/analyses/" + id, text: `${req.name || "input"} · ${id.slice(0, 8)}` }),
      ". The new run is linked to it, so the two can be compared.");
    note.hidden = false;
  }
  return start;
}
