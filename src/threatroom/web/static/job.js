/* The job page while it runs: status and progress, the conversation as it happens
 * (server-sent events read from a fetch stream, so the API key travels in a header),
 * then the results. */
import { $, FINISHED, JOB_ID, apiJSON, api, clear, el, errorText, report, roleClass, say, when, words } from "./core.js";
import { renderMarkdown } from "./markdown.js";
import { loadResults } from "./results.js";

const ROLE_LABEL = {
  leader: "Leader", engineer: "Engineer", architect: "Architect", compliance_officer: "Compliance officer",
  business_stakeholder: "Business stakeholder", threat_modeler: "Threat modeler", user: "Task", human: "Person",
};
const LONG = 1200; // characters: longer messages start folded

export function roleLabel(role) {
  return ROLE_LABEL[role] || words(role || "unknown");
}

export function messageNode(m) {
  const role = String(m.role || "unknown");
  const art = el("article", { class: "msg " + roleClass(role) });
  const head = el("header", {},
    el("span", { class: "speaker", text: String(m.speaker || "") }),
    el("span", { class: "tag", text: roleLabel(role) }));
  if (m.team) head.append(el("span", { class: "team", text: "team " + m.team }));
  if (m.addressee) head.append(el("span", { class: "to", text: "→ " + m.addressee }));
  if (m.terminate) head.append(el("span", { class: "to", text: "ended the discussion" }));
  if (m.agent && !["offline", "human"].includes(m.agent)) head.append(el("span", { class: "tag llm", text: "LLM: " + m.agent }));
  const content = String(m.content || "");
  const body = el("div", { class: "body md" }, renderMarkdown(content));
  art.append(head, body);
  if (m.note) art.append(el("p", { class: "help", text: "Note: " + m.note }));
  if (m.handover_rejected) art.append(el("p", { class: "help", text: "Hand-over refused: " + m.handover_rejected }));
  if (content.length > LONG) {
    body.classList.add("folded");
    const toggle = el("button", { type: "button", class: "link", "aria-expanded": "false", text: "Show the whole message" });
    toggle.addEventListener("click", () => {
      const open = body.classList.toggle("folded") === false;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "Fold the message" : "Show the whole message";
    });
    art.append(toggle);
  }
  return art;
}

export function jobPage() {
  const id = document.body.dataset.jobId;
  if (!JOB_ID.test(id || "")) return () => {};
  const base = "/v1/analyses/" + id;
  let streaming = false;
  let loaded = false;
  let lastEvent = 0;
  let messages = 0;

  function showStatus(job) {
    const title = job.name && job.name !== "input" ? job.name : "Analysis";  // "input" is the unnamed default
    if (!loaded) say($("#job-title"), title);
    if (!loaded) document.title = `${title} · threatroom`;
    say($("#job-status"), job.status);
    say($("#job-stage"), job.stage);
    say($("#job-created"), when(job.created_at));
    const bar = $("#job-progress");
    bar.value = job.progress;
    bar.textContent = job.progress + "%";
    bar.hidden = FINISHED.includes(job.status);
    say($("#job-error"), job.error || "");
    $("#cancel").hidden = FINISHED.includes(job.status);
    $("#again").hidden = !FINISHED.includes(job.status);
    $("#again").setAttribute("href", "/?from=" + id);
    if (job.based_on) {
      clear($("#based-on"));
      $("#based-on").append("Revision of ", el("a", { href: "/analyses/" + job.based_on, text: job.based_on.slice(0, 8) }));
      if (job.status === "succeeded") {
        $("#based-on").append(" · ", el("a", { href: `/analyses/${id}/compare/${job.based_on}`, text: "what changed" }));
      }
    }
    if (job.status === "succeeded" && !loaded) { loaded = true; loadResults(id, job); }
  }

  async function refresh() {
    const job = await apiJSON(base);
    showStatus(job);
    return job;
  }

  function handle(kind, data) {
    let payload = {};
    try { payload = JSON.parse(data || "{}"); } catch (_) { return; }
    if (kind === "message") {
      $("#conversation").append(messageNode(payload));
      messages += 1;
      /* a screen reader hears who spoke and their first line, not whole tables */
      const first = String(payload.content || "").split("\n").find((l) => l.trim()) || "";
      say($("#live-status"), `${payload.speaker}, ${roleLabel(payload.role)}: ${first.slice(0, 160)}`);
      say($("#message-count"), `${messages} message${messages === 1 ? "" : "s"}`);
    } else if (kind === "progress") {
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
    } catch (_) { /* reconnect below */ }
    streaming = false;
    const job = await refresh().catch(() => null);
    if (job && FINISHED.includes(job.status)) {
      const why = { succeeded: "No discussion was recorded (agents were off).", failed: "No discussion: the analysis failed.",
        cancelled: "The analysis was cancelled." };
      if (!messages) say($("#conversation"), why[job.status]);
      return;
    }
    if (!ended || (job && !FINISHED.includes(job.status))) setTimeout(stream, 2000);
  }

  $("#cancel").addEventListener("click", async () => {
    try { showStatus(await apiJSON(base, { method: "DELETE" })); } catch (e) { report($("#job-error"))(e); }
  });

  return async function start() {
    try {
      const job = await refresh();
      if (job) stream();
    } catch (e) {
      report($("#job-error"))(e);
    }
  };
}
