/* markdown.js: render the Markdown subset that threatroom's stakeholder agents write (and,
 * in LLM mode, a language model: untrusted text) into DOM nodes.
 *
 * Safety rule: the DOM is built only with createElement / createTextNode / append, and the
 * only attributes are class and scope, with fixed values chosen here. Nothing from the input
 * ever becomes markup, a URL or an attribute value: raw HTML shows as text, links and images
 * show their text only, and character references decode to text. The parser runs in linear
 * time (no backtracking regexes), caps its input and renders deep nesting as plain text. */

const MAX_INPUT = 100000;
const MAX_DEPTH = 8;        // quotes and lists nested deeper than this render as text
const MAX_PAD = 20000;      // empty cells added to short table rows, per render
const ENTITIES = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'", nbsp: "\u00a0" };
const ENTITY = /&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z]{2,8}));/y;
const ASCII_PUNCT = /[!-/:-@[-`{-~]/;
const PUNCT = /[\p{P}\p{S}]/u;
const SPACE = /\s/;
const SPECIAL = /[\\`&*_~![\]\n]/g;
const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})(?=[ \t]|$)/;
const QUOTE = /^ {0,3}> ?/;
const MARKER = /^([ \t]*)([-*+]|\d{1,9}[.)])(?=[ \t]|$)/;
const DELIM_LINE = /^[ \t|:-]+$/;
const DELIM_CELL = /^(:?)-+(:?)$/;

let padBudget = 0;

export function renderMarkdown(text) {
  let src = String(text ?? "").replace(/\r\n?/g, "\n");
  if (src.length > MAX_INPUT) {
    const cut = /[\ud800-\udbff]/.test(src[MAX_INPUT - 1]) ? MAX_INPUT - 1 : MAX_INPUT;
    src = src.slice(0, cut) + "…";
  }
  padBudget = MAX_PAD;
  const frag = document.createDocumentFragment();
  for (const node of parseBlocks(src.split("\n"), 0)) frag.append(node);
  return frag;
}

/* ---------- DOM helpers ---------- */

/* Kids are nodes or strings; append() turns a string into a text node, never into markup. */
function el(tag, kids = [], cls = null) {
  const node = document.createElement(tag);
  if (cls) node.setAttribute("class", cls);
  for (const kid of kids) node.append(kid);
  return node;
}

const isBlank = (line) => line.trim() === "";

function indentOf(line) {
  let col = 0;
  for (const ch of line) if (ch === " ") col++; else if (ch === "\t") col += 4 - (col % 4); else break;
  return col;
}

function stripIndent(line, n) {
  let col = 0, i = 0;
  for (; i < line.length && col < n; i++) {
    if (line[i] === " ") col++;
    else if (line[i] === "\t") {
      const width = 4 - (col % 4);
      if (col + width > n) return " ".repeat(col + width - n) + line.slice(i + 1);
      col += width;
    } else break;
  }
  return line.slice(i);
}

/* ---------- blocks ---------- */

function parseBlocks(lines, depth) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let spec;
    if (isBlank(line)) i++;
    else if (depth >= MAX_DEPTH) i = paragraph(lines, i, out, true);
    else if (isFence(line)) i = fence(lines, i, out);
    else if (HEADING.test(line)) { out.push(heading(line)); i++; }
    else if (isRule(line)) { out.push(el("hr")); i++; }
    else if (QUOTE.test(line)) i = quote(lines, i, out, depth);
    else if ((spec = tableStart(lines, i))) i = table(lines, i, out, spec);
    else if (listMarker(line)) i = list(lines, i, out, depth);
    else i = paragraph(lines, i, out, false);
  }
  return out;
}

function isFence(line) {
  const m = FENCE.exec(line);
  return Boolean(m) && !(m[1][0] === "`" && m[2].includes("`"));
}

function isRule(line) {
  const s = line.replace(/[ \t]/g, "");
  return indentOf(line) < 4 && s.length >= 3 && /^(?:-+|\*+|_+)$/.test(s);
}

/* Can this line end a paragraph? (An ordered list must start at 1 to do so.) */
function blockStart(lines, i) {
  const line = lines[i], mk = listMarker(line);
  return isFence(line) || HEADING.test(line) || isRule(line) || QUOTE.test(line) ||
    (mk !== null && !mk.empty && (!mk.ordered || mk.num === 1)) || tableStart(lines, i) !== null;
}

function paragraph(lines, i, out, plain) {
  const buf = [lines[i++].trim()];
  while (i < lines.length && !isBlank(lines[i]) && (plain || !blockStart(lines, i))) buf.push(lines[i++].trim());
  out.push(el("p", inline(buf.join("\n"))));
  return i;
}

function heading(line) {
  const m = HEADING.exec(line), level = m[1].length;
  let s = line.slice(m[0].length).trim(), j = s.length;
  while (j > 0 && s[j - 1] === "#") j--;  // an optional closing run of #
  if (j === 0) s = "";
  else if (j < s.length && (s[j - 1] === " " || s[j - 1] === "\t")) s = s.slice(0, j).trim();
  return el(level <= 2 ? "h4" : level === 3 ? "h5" : "h6", inline(s));
}

function fence(lines, i, out) {
  const mark = FENCE.exec(lines[i])[1], indent = indentOf(lines[i]), body = [];
  const closing = mark[0] === "`" ? /^`+$/ : /^~+$/;
  for (i++; i < lines.length; i++) {
    const s = lines[i].trim();
    if (indentOf(lines[i]) < 4 && s.length >= mark.length && closing.test(s)) { i++; break; }
    body.push(stripIndent(lines[i], indent));
  }
  out.push(el("pre", [el("code", [body.join("\n")])]));
  return i;
}

function quote(lines, i, out, depth) {
  const inner = [];
  let lazy = false;  // a paragraph line may continue without its ">"
  for (; i < lines.length; i++) {
    const m = QUOTE.exec(lines[i]);
    if (m) {
      inner.push(lines[i].slice(m[0].length));
      lazy = !isBlank(inner[inner.length - 1]);
    } else if (lazy && !isBlank(lines[i]) && !blockStart(lines, i)) inner.push(lines[i]);
    else break;
  }
  out.push(el("blockquote", parseBlocks(inner, depth + 1)));
  return i;
}

/* ---------- lists ---------- */

function listMarker(line) {
  const m = MARKER.exec(line);
  if (!m) return null;
  const indent = indentOf(m[1]), start = indent + m[2].length, rest = line.slice(m[0].length);
  const gap = indentOf(rest), empty = isBlank(rest), ordered = /\d/.test(m[2][0]);
  const col = empty || gap > 4 ? start + 1 : start + gap;
  const content = empty ? "" : gap > 4 ? stripIndent(rest, 1) : rest.trimStart();
  return { indent, col, content, empty, ordered, num: ordered ? parseInt(m[2], 10) : 0 };
}

function list(lines, i, out, depth) {
  const ordered = listMarker(lines[i]).ordered, node = el(ordered ? "ol" : "ul");
  let item = listMarker(lines[i]);
  while (item) {
    const body = [item.content];
    let blanks = 0, lazy = !item.empty;
    for (i++; i < lines.length; i++) {
      const line = lines[i];
      if (isBlank(line)) { blanks++; lazy = false; continue; }
      const ind = indentOf(line), mk = listMarker(line);
      if (ind >= item.col || (mk && ind > item.indent)) {  // indented under the item, or a nested list
        for (; blanks > 0; blanks--) body.push("");
        body.push(stripIndent(line, Math.min(ind, item.col)));
      } else if (lazy && !mk && !blockStart(lines, i)) body.push(line.trim());
      else break;
      lazy = true;
    }
    node.append(listItem(body, depth));
    const next = i < lines.length ? listMarker(lines[i]) : null;
    item = next && next.ordered === ordered ? next : null;
  }
  out.push(node);
  return i;
}

function listItem(body, depth) {
  const li = el("li"), kids = parseBlocks(body, depth + 1);
  if (kids.length && kids[0].tagName === "P") {  // a tight item: its first paragraph without <p>
    const p = kids.shift();
    while (p.firstChild) li.append(p.firstChild);
  }
  for (const kid of kids) li.append(kid);
  return li;
}

/* ---------- tables ---------- */

function splitRow(line) {
  const s = line.trim(), cells = [];
  let cur = "", k = s[0] === "|" ? 1 : 0, endsWithPipe = false;
  for (; k < s.length; k++) {
    endsWithPipe = false;
    if (s[k] === "\\" && s[k + 1] === "|") { cur += "|"; k++; }  // \| is a pipe, even in code
    else if (s[k] === "\\") { cur += s.slice(k, k + 2); k++; }   // other escapes: for inline()
    else if (s[k] === "|") { cells.push(cur.trim()); cur = ""; endsWithPipe = true; }
    else cur += s[k];
  }
  if (!endsWithPipe || cells.length === 0) cells.push(cur.trim());
  return cells;
}

function delimiterRow(line) {
  if (!DELIM_LINE.test(line) || !line.includes("|") || !line.includes("-")) return null;
  const aligns = [];
  for (const cell of splitRow(line)) {
    const m = DELIM_CELL.exec(cell);
    if (!m) return null;
    aligns.push(m[1] && m[2] ? "align-center" : m[2] ? "align-right" : null);
  }
  return aligns;
}

function tableStart(lines, i) {
  if (i + 1 >= lines.length || !lines[i].includes("|")) return null;
  const aligns = delimiterRow(lines[i + 1]);
  if (!aligns) return null;
  const head = splitRow(lines[i]);
  return head.length === aligns.length ? { head, aligns } : null;
}

function table(lines, i, out, { head, aligns }) {
  const cell = (tag, text, k) => el(tag, inline(text), aligns[k]);
  const headRow = el("tr", head.map((text, k) => cell("th", text, k)));
  for (const th of headRow.children) th.setAttribute("scope", "col");
  const parts = [el("thead", [headRow])], tbody = el("tbody");
  for (i += 2; i < lines.length && !isBlank(lines[i]) && lines[i].includes("|"); i++) {
    const cells = splitRow(lines[i]).slice(0, head.length);
    for (; cells.length < head.length && padBudget > 0; padBudget--) cells.push("");
    tbody.append(el("tr", cells.map((text, k) => cell("td", text, k))));
  }
  if (tbody.firstChild) parts.push(tbody);
  out.push(el("div", [el("table", parts)], "md-table"));
  return i;
}

/* ---------- inline: a flat list of items, emphasis matched as closers arrive ---------- */

function inline(src) {
  const items = [], brackets = [], stacks = { "*": [], _: [], "~": [] };
  const bottoms = { "*": [0, 0, 0, 0, 0, 0], _: [0, 0, 0, 0, 0, 0], "~": [0, 0, 0, 0, 0, 0] };
  const closer = backtickRuns(src);
  let paren = -2, newline = -2;  // cached positions of the next ")" and "\n"
  const text = (s) => {
    const last = items[items.length - 1];
    if (last && last.kind === "text") last.s += s;
    else items.push({ kind: "text", s });
  };
  const closeParen = (from) => {
    if (paren !== -1 && paren < from) paren = src.indexOf(")", from);
    if (newline !== -1 && newline < from) newline = src.indexOf("\n", from);
    return paren >= 0 && (newline < 0 || paren < newline) ? paren : -1;
  };

  for (let p = 0; p < src.length;) {
    SPECIAL.lastIndex = p;
    const next = SPECIAL.exec(src)?.index ?? src.length;
    if (next > p) { text(src.slice(p, next)); p = next; continue; }
    const ch = src[p];
    if (ch === "\\") {
      const c = src[p + 1];
      if (c === "\n") { items.push({ kind: "br" }); p += 2; }
      else if (c && ASCII_PUNCT.test(c)) { text(c); p += 2; }
      else { text("\\"); p++; }
    } else if (ch === "`") {
      let n = 1;
      while (src[p + n] === "`") n++;
      const q = closer(n, p);
      if (q < 0) text("`".repeat(n));
      else items.push({ kind: "node", node: codeSpan(src.slice(p + n, q)) });
      p = q < 0 ? p + n : q + n;
    } else if (ch === "&") {
      const hit = entity(src, p);
      text(hit ? hit[0] : "&");
      p = hit ? hit[1] : p + 1;
    } else if (ch === "*" || ch === "_" || ch === "~") {
      let n = 1;
      while (src[p + n] === ch) n++;
      delimiter(items, stacks, bottoms, ch, n, src[p - 1] ?? "\n", src[p + n] ?? "\n", text);
      p += n;
    } else if (ch === "!" || ch === "[") {
      const s = ch === "!" ? (src[p + 1] === "[" ? "![" : null) : "[";
      if (s) { items.push({ kind: "bracket", s }); brackets.push(items[items.length - 1]); } else text("!");
      p += s ? s.length : 1;
    } else if (ch === "]") {
      const opener = brackets.pop(), close = opener && src[p + 1] === "(" ? closeParen(p + 2) : -1;
      if (close >= 0) { opener.s = ""; p = close + 1; }  // a link or image: keep its text only
      else { text("]"); p++; }
    } else { items.push({ kind: "br" }); p++; }  // "\n"
  }
  return toNodes(items);
}

function delimiter(items, stacks, bottoms, ch, n, before, after, text) {
  const left = !SPACE.test(after) && (!PUNCT.test(after) || SPACE.test(before) || PUNCT.test(before));
  const right = !SPACE.test(before) && (!PUNCT.test(before) || SPACE.test(after) || PUNCT.test(after));
  if (ch === "~" && n !== 2) { text("~".repeat(n)); return; }
  const canOpen = ch === "_" ? left && (!right || PUNCT.test(before)) : left;
  const canClose = ch === "_" ? right && (!left || PUNCT.test(after)) : right;
  const d = { kind: "delim", ch, n, orig: n, canOpen, canClose, at: -1 };
  const stack = stacks[ch], key = (n % 3) * 2 + (canOpen ? 1 : 0);
  while (canClose && d.n > 0) {
    let j = stack.length - 1;
    for (; j >= bottoms[ch][key]; j--) {  // CommonMark's "rule of 3"
      const op = stack[j];
      if (!((op.canClose || canOpen) && (op.orig + n) % 3 === 0 && (op.orig % 3 || n % 3))) break;
    }
    if (j < bottoms[ch][key]) { bottoms[ch][key] = stack.length; break; }
    wrap(items, stacks, bottoms, stack[j], d);
  }
  if (d.n === 0) return;
  items.push(d);
  d.at = items.length - 1;
  if (canOpen) stack.push(d);
}

/* Match opener `op` with closer `d`: everything between becomes <strong>, <em> or <del>. */
function wrap(items, stacks, bottoms, op, d) {
  const use = op.ch === "~" ? 2 : op.n >= 2 && d.n >= 2 ? 2 : 1;
  const node = el(op.ch === "~" ? "del" : use === 2 ? "strong" : "em", toNodes(items.splice(op.at + 1)));
  op.n -= use;
  d.n -= use;
  for (const ch of Object.keys(stacks)) {  // delimiters inside the match can no longer match
    const stack = stacks[ch];
    while (stack.length && stack[stack.length - 1].at > op.at) stack.pop();
    if (op.n === 0 && stack[stack.length - 1] === op) stack.pop();
    bottoms[ch] = bottoms[ch].map((b) => Math.min(b, stack.length));
  }
  if (op.n === 0) items.pop();
  items.push({ kind: "node", node });
}

function toNodes(items) {
  return items.map((it) => it.kind === "node" ? it.node : it.kind === "br" ? el("br")
    : it.kind === "delim" ? it.ch.repeat(it.n) : it.s);
}

/* Every run of backticks by length, so each opener finds its closer without rescanning. */
function backtickRuns(src) {
  const runs = new Map(), cursor = new Map();
  for (let p = src.indexOf("`"); p >= 0; p = src.indexOf("`", p)) {
    let n = 1;
    while (src[p + n] === "`") n++;
    if (!runs.has(n)) runs.set(n, []);
    runs.get(n).push(p);
    p += n;
  }
  return (n, from) => {  // the next run of exactly n after `from`, each used once
    const list = runs.get(n) ?? [];
    let k = cursor.get(n) ?? 0;
    while (k < list.length && list[k] <= from) k++;
    cursor.set(n, k + 1);
    return k < list.length ? list[k] : -1;
  };
}

function codeSpan(s) {
  s = s.replace(/\n/g, " ");  // one space stripped from each side, unless all spaces
  return el("code", [s[0] === " " && s.at(-1) === " " && s.trim() ? s.slice(1, -1) : s]);
}

function entity(src, p) {
  ENTITY.lastIndex = p;
  const m = ENTITY.exec(src);
  if (!m) return null;
  if (m[3]) return Object.hasOwn(ENTITIES, m[3]) ? [ENTITIES[m[3]], ENTITY.lastIndex] : null;
  const cp = m[1] ? parseInt(m[1], 16) : parseInt(m[2], 10);
  const bad = cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff);
  return [bad ? "\ufffd" : String.fromCodePoint(cp), ENTITY.lastIndex];
}
