/* Diagrams with zoom and pan: buttons, mouse wheel, drag, and the keyboard
 * (arrows move, + and - zoom, 0 resets) once the picture has focus. */
import { $, $$, el } from "./core.js";

export function diagramViewer(title, url, { heading = "h3" } = {}) {
  const zoom = el("div", { class: "zoom row" },
    el("button", { type: "button", "data-zoom": "in", text: "Zoom in" }),
    el("button", { type: "button", "data-zoom": "out", text: "Zoom out" }),
    el("button", { type: "button", "data-zoom": "reset", text: "Reset" }),
    el("a", { href: url, download: title.replace(/[^a-z0-9]+/gi, "-").toLowerCase() + ".svg", text: "Save SVG" }));
  const img = el("img", { alt: title, src: url });
  const canvas = el("div", { class: "canvas", tabindex: "0", role: "group",
    "aria-label": `${title}: arrow keys move, + and - zoom, 0 resets` }, img);
  const viewer = el("div", { class: "viewer" }, el(heading, { text: title }), zoom, canvas);
  zoomable(viewer);
  return viewer;
}

export function zoomable(viewer) {
  const img = $("img", viewer);
  const canvas = $(".canvas", viewer);
  const view = { s: 1, x: 0, y: 0, fit: 1 };
  const apply = () => { img.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.s})`; };
  const zoom = (f) => { view.s = Math.min(8, Math.max(0.05, view.s * f)); apply(); };
  const reset = () => { view.s = view.fit; view.x = 0; view.y = 0; apply(); };
  /* Start with the whole picture in view (never enlarged), and no taller a box than it needs. */
  const fit = () => {
    const w = img.naturalWidth, h = img.naturalHeight;
    if (!w || !h) return;
    view.fit = Math.min(1, (canvas.clientWidth - 2) / w);
    canvas.style.height = Math.min(Math.ceil(h * view.fit) + 4, Math.round(window.innerHeight * 0.7)) + "px";
    view.fit = Math.min(view.fit, (canvas.clientHeight - 4) / h);
    reset();
  };
  if (img.complete) fit(); else img.addEventListener("load", fit, { once: true });
  for (const b of $$("[data-zoom]", viewer)) {
    b.addEventListener("click", () => {
      if (b.dataset.zoom === "in") zoom(1.25);
      else if (b.dataset.zoom === "out") zoom(0.8);
      else reset();
    });
  }
  canvas.addEventListener("wheel", (ev) => { ev.preventDefault(); zoom(ev.deltaY < 0 ? 1.1 : 0.9); }, { passive: false });
  let drag = null;
  canvas.addEventListener("pointerdown", (ev) => { drag = { x: ev.clientX - view.x, y: ev.clientY - view.y }; canvas.setPointerCapture(ev.pointerId); });
  canvas.addEventListener("pointermove", (ev) => { if (drag) { view.x = ev.clientX - drag.x; view.y = ev.clientY - drag.y; apply(); } });
  canvas.addEventListener("pointerup", () => { drag = null; });
  canvas.addEventListener("keydown", (ev) => {
    const step = 40;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[ev.key]) { view.x += moves[ev.key][0]; view.y += moves[ev.key][1]; apply(); ev.preventDefault(); }
    else if (ev.key === "+" || ev.key === "=") zoom(1.25);
    else if (ev.key === "-") zoom(0.8);
    else if (ev.key === "0") reset();
  });
}
