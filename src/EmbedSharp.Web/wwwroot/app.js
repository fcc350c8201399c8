// EmbedSharp explorer: a canvas map of a projected subset of a table, and panels that ask the
// server's JSON API for neighbours, analogies, quantized comparisons and table facts. The server
// does all the maths; this file only draws and asks.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  table: null,
  points: [],          // {word, x, y} in projection space
  selected: null,      // word
  highlight: new Map(),// word -> rank among the selected word's neighbours
  view: { scale: 1, tx: 0, ty: 0 },
  hover: null,
  method: "pca",
};

// ---------- API ----------

async function api(path, params) {
  const url = path + "?" + new URLSearchParams(params).toString();
  const response = await fetch(url);
  const body = await response.json().catch(() => ({ error: `[api] ${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `[api] ${response.status}`);
  return body;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
}

async function guarded(work) {
  try {
    clearError();
    return await work();
  } catch (e) {
    showError(e.message);
    return undefined;
  }
}

// ---------- tables ----------

async function loadTables() {
  const list = await api("/api/tables", {});
  const select = $("table");
  select.replaceChildren();
  for (const t of list.tables) select.append(new Option(`${t.name}  (${t.numEmbeddings.toLocaleString()} × ${t.dims})`, t.name));
  for (const name of list.available) if (!list.tables.some((t) => t.name === name)) select.append(new Option(name, name));
  state.table = select.value || null;
}

// ---------- projection ----------

async function project(word) {
  if (!state.table) return;
  const method = $("method").value;
  const count = Math.max(10, Math.min(5000, parseInt($("count").value, 10) || 500));
  const params = { table: state.table, method, n: count, progress: "true" };
  if (word) params.word = word;
  setProgress(method === "tsne" ? 0 : null, method === "tsne" ? "t-SNE 0%" : "PCA…");
  try {
    const response = await fetch("/api/projection?" + new URLSearchParams(params));
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || `[projection] ${response.status}`);
    }
    // NDJSON: progress lines, then the result.
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", result = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        const message = JSON.parse(line);
        if (message.error) throw new Error(message.error);
        if (message.points) result = message;
        else if (message.progress !== undefined) setProgress(message.progress, `t-SNE ${Math.round(message.progress * 100)}%`);
      }
      if (done) break;
    }
    if (!result) throw new Error("[projection] the server closed the stream without a result");
    state.points = result.points;
    state.method = result.method;
    fitView();
    const what = result.word ? `“${result.word}” and its ${result.n - 1} nearest words` : `the first ${result.n.toLocaleString()} rows`;
    $("map-caption").textContent = `${result.method === "tsne" ? "t-SNE" : "PCA"} of ${what} · ${result.seconds.toFixed(2)} s · scroll to zoom, drag to pan, click a point`;
    draw();
  } finally {
    setProgress(undefined);
  }
}

function setProgress(fraction, text) {
  const box = $("progress");
  if (fraction === undefined) { box.hidden = true; return; }
  box.hidden = false;
  $("progress-bar").style.setProperty("--done", fraction === null ? "100%" : `${Math.round(fraction * 100)}%`);
  $("progress-text").textContent = text;
}

// ---------- map drawing ----------

const canvas = $("map");
const ctx = canvas.getContext("2d");

function resize() {
  const ratio = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  canvas.width = Math.round(rect.width * ratio);
  canvas.height = Math.round(rect.height * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  draw();
}

function fitView() {
  if (state.points.length === 0) return;
  const rect = canvas.getBoundingClientRect();
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (const p of state.points) {
    minX = Math.min(minX, p.x); maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y); maxY = Math.max(maxY, p.y);
  }
  const pad = 40;
  const sx = (rect.width - 2 * pad) / Math.max(maxX - minX, 1e-9);
  const sy = (rect.height - 2 * pad) / Math.max(maxY - minY, 1e-9);
  const scale = Math.min(sx, sy);
  state.view = {
    scale,
    tx: rect.width / 2 - scale * (minX + maxX) / 2,
    ty: rect.height / 2 + scale * (minY + maxY) / 2,
  };
}

// Projection space → CSS pixels (y up on the map).
function toScreen(p) {
  const v = state.view;
  return { x: v.tx + v.scale * p.x, y: v.ty - v.scale * p.y };
}

function draw() {
  const rect = canvas.getBoundingClientRect();
  ctx.clearRect(0, 0, rect.width, rect.height);
  if (state.points.length === 0) {
    ctx.fillStyle = "#6a737d";
    ctx.font = "14px system-ui, sans-serif";
    ctx.fillText("Press Project to map the table.", 20, 30);
    return;
  }
  const many = state.points.length > 1500;
  // Plain points first, highlighted ones on top.
  ctx.fillStyle = "rgba(87, 96, 106, 0.55)";
  for (const p of state.points) {
    if (state.highlight.has(p.word) || p.word === state.selected) continue;
    const s = toScreen(p);
    if (s.x < -5 || s.y < -5 || s.x > rect.width + 5 || s.y > rect.height + 5) continue;
    ctx.beginPath();
    ctx.arc(s.x, s.y, many ? 2 : 3, 0, 2 * Math.PI);
    ctx.fill();
  }
  // Labels: as many as fit without overlapping, highlighted words first.
  const taken = [];
  const fits = (x, y, w, h) => {
    for (const r of taken) if (x < r.x + r.w && r.x < x + w && y < r.y + r.h && r.y < y + h) return false;
    taken.push({ x, y, w, h });
    return true;
  };
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  const label = (p, colour, weight) => {
    const s = toScreen(p);
    ctx.font = `${weight} 12px system-ui, sans-serif`;
    const w = ctx.measureText(p.word).width + 4;
    if (s.x < 0 || s.y < 0 || s.x > rect.width || s.y > rect.height) return;
    if (!fits(s.x + 5, s.y - 8, w, 16)) return;
    ctx.fillStyle = "rgba(255,255,255,0.8)";
    ctx.fillRect(s.x + 5, s.y - 8, w, 16);
    ctx.fillStyle = colour;
    ctx.fillText(p.word, s.x + 7, s.y);
  };
  const selected = state.points.find((p) => p.word === state.selected);
  const highlighted = state.points.filter((p) => state.highlight.has(p.word));
  for (const p of highlighted) dot(p, "#1f6feb", 4.5);
  if (selected) dot(selected, "#d1242f", 6);
  if (selected) label(selected, "#d1242f", 700);
  for (const p of highlighted) label(p, "#0b4fbf", 600);
  if (state.hover) label(state.hover, "#1f2328", 600);
  // Other labels only when zoomed in enough for them to be readable (a sample of the visible ones).
  let budget = 120;
  for (const p of state.points) {
    if (budget-- <= 0) break;
    if (p === selected || state.highlight.has(p.word)) continue;
    label(p, "#444c56", 400);
  }
}

function dot(p, colour, radius) {
  const s = toScreen(p);
  ctx.beginPath();
  ctx.arc(s.x, s.y, radius, 0, 2 * Math.PI);
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 1.5;
  ctx.stroke();
}

function pointAt(x, y) {
  let best = null, bestD = 10 * 10;
  for (const p of state.points) {
    const s = toScreen(p);
    const d = (s.x - x) ** 2 + (s.y - y) ** 2;
    if (d < bestD) { bestD = d; best = p; }
  }
  return best;
}

// Zoom about the cursor, drag to pan, hover for labels, click to select.
let drag = null;
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const rect = canvas.getBoundingClientRect();
  const x = e.clientX - rect.left, y = e.clientY - rect.top;
  const factor = Math.exp(-e.deltaY * 0.0015);
  const v = state.view;
  v.tx = x - (x - v.tx) * factor;
  v.ty = y - (y - v.ty) * factor;
  v.scale *= factor;
  draw();
}, { passive: false });
canvas.addEventListener("mousedown", (e) => {
  drag = { x: e.clientX, y: e.clientY, tx: state.view.tx, ty: state.view.ty, moved: false };
  canvas.classList.add("dragging");
});
window.addEventListener("mouseup", (e) => {
  if (!drag) return;
  canvas.classList.remove("dragging");
  const wasClick = !drag.moved;
  drag = null;
  if (wasClick) {
    const rect = canvas.getBoundingClientRect();
    const p = pointAt(e.clientX - rect.left, e.clientY - rect.top);
    if (p) select(p.word);
  }
});
canvas.addEventListener("mousemove", (e) => {
  const rect = canvas.getBoundingClientRect();
  if (drag) {
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    state.view.tx = drag.tx + dx;
    state.view.ty = drag.ty + dy;
    draw();
    return;
  }
  const p = pointAt(e.clientX - rect.left, e.clientY - rect.top);
  if (p !== state.hover) {
    state.hover = p;
    const tip = $("tooltip");
    if (p) {
      const s = toScreen(p);
      tip.textContent = p.word;
      tip.style.left = `${s.x + 10}px`;
      tip.style.top = `${s.y - 28}px`;
    }
    tip.hidden = !p;
    draw();
  }
});
canvas.addEventListener("mouseleave", () => { state.hover = null; $("tooltip").hidden = true; draw(); });

// ---------- selection, neighbours, comparison ----------

function scoreItem(word, score, onClick) {
  const li = document.createElement("li");
  const w = document.createElement("span");
  w.className = "word";
  w.textContent = word;
  const s = document.createElement("span");
  s.className = "score";
  s.textContent = score.toFixed(4);
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.style.setProperty("--w", `${Math.max(0, Math.min(1, score)) * 100}%`);
  li.append(w, bar, s);
  li.dataset.word = word;
  if (onClick) li.addEventListener("click", () => onClick(word));
  return li;
}

async function select(word) {
  state.selected = word;
  await guarded(async () => {
    const result = await api("/api/neighbors", { table: state.table, word, k: 15 });
    state.highlight = new Map(result.neighbors.map((n, i) => [n.word, i]));
    $("neighbours-title").textContent = `Nearest to “${word}”${result.subword ? " (from subwords)" : ""}${result.approximate ? " (approximate)" : ""}`;
    $("neighbours-method").textContent = result.search;
    $("neighbours").replaceChildren(...result.neighbors.map((n) => scoreItem(n.word, n.score, select)));
    draw();
    if (activeView() === "compare") await compare();
  });
}

async function compare() {
  const word = state.selected;
  const box = $("compare");
  if (!word) {
    $("compare-title").textContent = "Float32 against 8-bit and 4-bit";
    box.replaceChildren();
    return;
  }
  const result = await api("/api/compare", { table: state.table, word, k: 10 });
  $("compare-title").textContent = `“${word}”: float32 against 8-bit and 4-bit`;
  const exact = new Set(result.float32.map((n) => n.word));
  const column = (title, meta, overlap, list) => {
    const div = document.createElement("div");
    div.className = "column";
    const h = document.createElement("h4");
    h.textContent = title;
    const m = document.createElement("div");
    m.className = "meta";
    const o = document.createElement("span");
    if (overlap !== null) {
      o.className = "overlap " + (overlap >= 0.9 ? "good" : overlap >= 0.6 ? "fair" : "poor");
      o.textContent = `overlap ${Math.round(overlap * 100)}%`;
    } else {
      o.textContent = "reference";
    }
    m.append(o, document.createElement("br"), meta);
    const ol = document.createElement("ol");
    for (const n of list) {
      const li = document.createElement("li");
      if (!exact.has(n.word)) li.className = "missing";
      const w = document.createElement("span");
      w.className = "word";
      w.textContent = n.word;
      const s = document.createElement("span");
      s.className = "score";
      s.textContent = n.score.toFixed(3);
      li.append(w, s);
      ol.append(li);
    }
    div.append(h, m, ol);
    return div;
  };
  const columns = [column("float32", "4 bytes a value", null, result.float32)];
  for (const q of result.quantized) {
    columns.push(column(`${q.bits}-bit`, `${q.report.compressionRatio.toFixed(1)}× smaller · cos ${q.report.meanCosine.toFixed(4)}`, q.overlap, q.neighbors));
  }
  box.replaceChildren(...columns);
  box.title = result.quantized.map((q) => q.scheme).join("; ");
}

// ---------- analogy ----------

$("analogy-form").addEventListener("submit", (e) => {
  e.preventDefault();
  guarded(async () => {
    const a = $("analogy-a").value.trim(), b = $("analogy-b").value.trim(), c = $("analogy-c").value.trim();
    const result = await api("/api/analogy", { table: state.table, a, b, c, k: 10 });
    $("analogy").replaceChildren(...result.results.map((n) => scoreItem(n.word, n.score, (w) => { showView("neighbours"); select(w); })));
  });
});

// ---------- facts ----------

async function facts() {
  const f = await api("/api/tables", { table: state.table });
  $("facts-title").textContent = `Table facts: ${f.table.name}`;
  const rows = [
    ["format", f.table.format],
    ["shape", `${f.table.numEmbeddings.toLocaleString()} × ${f.table.dims}`],
    ["dtype", f.table.dtype],
    ["size", `${(f.bytes / 1048576).toFixed(2)} MiB`],
    ["subwords", f.table.hasSubwords ? "yes (fastText)" : "no"],
    ...(f.table.stored ? [["stored as", f.table.stored]] : []),
    ["neighbours", f.table.search],
    ["norms", `${f.norms.min.toFixed(3)} … ${f.norms.max.toFixed(3)}`],
    ["first words", f.firstWords.slice(0, 8).join(", ")],
  ];
  const dl = $("facts");
  dl.replaceChildren();
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  histogram($("norms"), f.norms);
  const table = $("quantization");
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ["form", "ratio", "RMS err", "mean cos", "min cos"]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  for (const q of f.quantization) {
    const r = table.insertRow();
    r.title = q.scheme;
    for (const v of [`${q.bits}-bit`, `${q.compressionRatio.toFixed(2)}×`, q.rmsError.toExponential(2), q.meanCosine.toFixed(5), q.minCosine.toFixed(5)]) r.insertCell().textContent = v;
  }
}

function histogram(c, norms) {
  const g = c.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const w = 340, h = 140;
  c.width = w * ratio;
  c.height = h * ratio;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  const counts = norms.counts, top = Math.max(1, ...counts);
  const left = 8, bottom = h - 22, width = w - 16, height = bottom - 10;
  const bw = width / counts.length;
  g.fillStyle = "#1f6feb";
  counts.forEach((n, i) => {
    const bh = (n / top) * height;
    g.fillRect(left + i * bw + 0.5, bottom - bh, Math.max(bw - 1, 1), bh);
  });
  g.strokeStyle = "#d8dadd";
  g.beginPath(); g.moveTo(left, bottom + 0.5); g.lineTo(left + width, bottom + 0.5); g.stroke();
  g.fillStyle = "#6a737d";
  g.font = "11px system-ui, sans-serif";
  g.textBaseline = "top";
  g.fillText(norms.min.toFixed(2), left, bottom + 5);
  const maxText = norms.max.toFixed(2);
  g.fillText(maxText, left + width - g.measureText(maxText).width, bottom + 5);
  const mid = "row norm";
  g.fillText(mid, left + width / 2 - g.measureText(mid).width / 2, bottom + 5);
}

// ---------- tabs ----------

function activeView() {
  return document.querySelector(".tab.active").dataset.view;
}

function showView(view) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === view);
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== `view-${view}`;
  if (view === "compare") guarded(compare);
  if (view === "facts") guarded(facts);
}

for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));

// ---------- search with completion ----------

let suggestTimer = 0, suggestion = -1;
const search = $("search");
search.addEventListener("input", () => {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(suggest, 120);
});
search.addEventListener("keydown", (e) => {
  const items = [...$("suggestions").children];
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    if (items.length === 0) return;
    suggestion = (suggestion + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    items.forEach((li, i) => li.classList.toggle("active", i === suggestion));
  } else if (e.key === "Enter") {
    e.preventDefault();
    const word = suggestion >= 0 && items[suggestion] ? items[suggestion].textContent : search.value.trim();
    if (word) choose(word);
  } else if (e.key === "Escape") {
    $("suggestions").hidden = true;
  }
});
search.addEventListener("blur", () => setTimeout(() => { $("suggestions").hidden = true; }, 150));

async function suggest() {
  const prefix = search.value.trim();
  const list = $("suggestions");
  suggestion = -1;
  if (!prefix || !state.table) { list.hidden = true; return; }
  await guarded(async () => {
    const result = await api("/api/complete", { table: state.table, prefix, limit: 8 });
    list.replaceChildren(...result.words.map((w) => {
      const li = document.createElement("li");
      li.textContent = w;
      li.setAttribute("role", "option");
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(w); });
      return li;
    }));
    list.hidden = result.words.length === 0;
  });
}

// A searched word: map it with its neighbourhood when it is not on the map, then select it.
async function choose(word) {
  $("suggestions").hidden = true;
  search.value = word;
  await guarded(async () => {
    if (!state.points.some((p) => p.word === word)) await project(word);
    await select(word);
  });
}

// ---------- start ----------

$("project").addEventListener("click", () => guarded(() => project(null)));
$("table").addEventListener("change", () => {
  state.table = $("table").value;
  state.selected = null;
  state.highlight = new Map();
  state.points = [];
  guarded(() => project(null));
  if (activeView() === "facts") guarded(facts);
});
window.addEventListener("resize", resize);

// For tests and the curious: where a word is drawn, in page pixels.
window.explorer = {
  screenOf(word) {
    const p = state.points.find((q) => q.word === word);
    if (!p) return null;
    const rect = canvas.getBoundingClientRect();
    const s = toScreen(p);
    return { x: rect.left + s.x, y: rect.top + s.y };
  },
  get pointCount() { return state.points.length; },
  // The visible point farthest from its nearest neighbour on screen: one a click cannot miss.
  isolatedPoint() {
    const rect = canvas.getBoundingClientRect();
    const screen = state.points.map((p) => ({ word: p.word, ...toScreen(p) }))
      .filter((s) => s.x > 20 && s.y > 20 && s.x < rect.width - 20 && s.y < rect.height - 20);
    let best = null, bestGap = -1;
    for (const a of screen) {
      let gap = Infinity;
      for (const b of screen) if (a !== b) gap = Math.min(gap, (a.x - b.x) ** 2 + (a.y - b.y) ** 2);
      if (gap > bestGap) { bestGap = gap; best = a; }
    }
    return best && { word: best.word, x: rect.left + best.x, y: rect.top + best.y };
  },
};

(async () => {
  resize();
  await guarded(async () => {
    await loadTables();
    await project(null);
  });
  document.body.dataset.ready = "true";
})();
