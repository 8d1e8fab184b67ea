/* History: the tenant's analyses, newest first; pick two finished ones to compare. */
import { $, $$, FINISHED, JOB_ID, analysisLink, apiJSON, cardLabels, clear, el, report, say, when } from "./core.js";

export function historyPage() {
  let next = null;
  const more = $("#more");
  const compare = $("#compare-selected");
  const created = new Map();

  function picked() {
    return $$("#history input[type=checkbox]:checked").map((c) => c.value);
  }

  function updateCompare() {
    const n = picked().length;
    compare.disabled = n !== 2;
    say($("#compare-hint"), n === 2 ? "Ready to compare." : `Select two finished analyses to compare (${n} selected).`);
  }

  const rows = new Map();  // job id -> its cells that change while it runs

  function row(job) {
    const pick = el("input", { type: "checkbox", value: job.id, id: "pick-" + job.id,
      "aria-label": `Select ${job.name} (${job.id.slice(0, 8)}) for comparison` });
    pick.disabled = job.status !== "succeeded";
    pick.addEventListener("change", updateCompare);
    const revision = job.based_on ? el("a", { href: "/analyses/" + job.based_on, text: job.based_on.slice(0, 8) }) : "-";
    const status = el("td", { class: "status-" + job.status, text: job.status });
    const done = el("td", { text: when(job.finished_at) });
    rows.set(job.id, { pick, status, done, state: job.status });
    return el("tr", {}, el("td", {}, pick), el("td", {}, analysisLink(job)), status, el("td", { text: when(job.created_at) }), done,
      el("td", {}, revision));
  }

  /* Queued and running analyses are followed until they finish, in place (selection kept). */
  async function follow() {
    const open = [...rows].filter(([, r]) => !FINISHED.includes(r.state));
    if (!open.length) return;
    for (const [id, r] of open) {
      try {
        const job = await apiJSON("/v1/analyses/" + id);
        r.state = job.status;
        r.status.className = "status-" + job.status;
        say(r.status, job.status);
        say(r.done, when(job.finished_at));
        r.pick.disabled = job.status !== "succeeded";
      } catch (_) { return; }
    }
    setTimeout(follow, 3000);
  }

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
        created.set(job.id, job.created_at);
        tbody.append(row(job));
      }
      cardLabels($("#history"));
      $("#history-empty").hidden = !!tbody.firstChild;
      next = page.next;
      more.hidden = !next;
      updateCompare();
      if (!before) setTimeout(follow, 3000);
    } catch (e) {
      report($("#history-error"))(e);
    }
  }

  more.addEventListener("click", () => load(next));
  compare.addEventListener("click", () => {
    const ids = picked();
    if (ids.length !== 2) return;
    ids.sort((a, b) => String(created.get(b)).localeCompare(String(created.get(a))));  // newer first
    location.assign(`/analyses/${ids[0]}/compare/${ids[1]}`);
  });
  return () => load(null);
}
