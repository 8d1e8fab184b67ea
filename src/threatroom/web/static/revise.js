/* Revise a finished analysis: edit its model as YAML and run it again (the new run
 * remembers this one, so the two can be compared), or pick another run to compare with. */
import { $, AuthNeeded, JOB_ID, allAnalyses, api, apiJSON, el, errorText, postJSON, report, say, when } from "./core.js";

export function initRevise(id, job) {
  const editor = $("#model-yaml");
  const status = $("#revise-status");
  const error = $("#revise-error");
  let loaded = false;

  $("#revise").addEventListener("toggle", async () => {
    if (!$("#revise").open || loaded) return;
    loaded = true;
    say(status, "Loading the model…");
    try {
      const res = await api(`/v1/analyses/${id}/model.yaml`);
      if (!res.ok) throw new Error(await errorText(res));
      editor.value = await res.text();
      say(status, "Edit the YAML, then check it or run it again.");
    } catch (e) {
      loaded = false;
      say(status, "");
      report(error)(e);
    }
  });

  function parsed() {
    say(error, "");
    return postJSON("/web/parse-model", { text: editor.value });
  }

  $("#check-model").addEventListener("click", async () => {
    try {
      const model = await parsed();
      say(status, `The model is valid: ${(model.components || []).length} components, ${(model.flows || []).length} flows.`);
    } catch (e) {
      say(status, "");
      report(error, "The model has a problem: ")(e);
    }
  });

  $("#rerun").addEventListener("click", async () => {
    const button = $("#rerun");
    button.disabled = true;
    try {
      const model = await parsed();
      const before = await apiJSON(`/v1/analyses/${id}/request`);
      const body = { model, name: job.name, based_on: id, agents: before.agents, formats: before.formats, goals: before.goals || [] };
      if (before.llm) { body.llm = before.llm; body.max_cost = before.max_cost; body.max_tokens = before.max_tokens; }
      const next = await postJSON("/v1/analyses", body);
      if (!JOB_ID.test(next.id)) throw new Error("unexpected answer from the server");
      location.assign("/analyses/" + next.id);
    } catch (e) {
      if (!(e instanceof AuthNeeded)) say(error, "Not re-run: " + e.message);
    } finally {
      button.disabled = false;
    }
  });

  comparePicker(id, job);
}

async function comparePicker(id, job) {
  const select = $("#compare-with");
  try {
    const others = (await allAnalyses()).filter((j) => j.id !== id && j.status === "succeeded");
    for (const j of others) {
      const mark = j.id === job.based_on ? " (the run this revises)" : "";
      select.append(el("option", { value: j.id, text: `${j.name} · ${j.id.slice(0, 8)} · ${when(j.created_at)}${mark}` }));
    }
    if (job.based_on && others.some((j) => j.id === job.based_on)) select.value = job.based_on;
    $("#compare-form").hidden = others.length === 0;
    $("#compare-none").hidden = others.length > 0;
  } catch (e) {
    report($("#compare-error"))(e);
  }
  $("#compare-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (JOB_ID.test(select.value)) location.assign(`/analyses/${id}/compare/${select.value}`);
  });
}
