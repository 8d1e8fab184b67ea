/* threatroom web UI: hand-written ES modules, no framework. This file picks the page's
 * code from <body data-page> and starts it once an API key (if the server needs one) is known. */
import { setupAuth } from "./core.js";
import { comparePage } from "./compare.js";
import { historyPage } from "./history.js";
import { jobPage } from "./job.js";
import { newPage } from "./newpage.js";

const PAGES = { new: newPage, job: jobPage, history: historyPage, compare: comparePage };

function boot() {
  const make = PAGES[document.body.dataset.page];
  const start = make ? make() : async () => {};
  setupAuth(start);
  start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
