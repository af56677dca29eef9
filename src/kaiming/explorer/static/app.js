// kaiming explorer — the page's logic: controls <-> URL state, API calls, hand-written SVG charts.
// No library, no build step; the server validates every parameter and we show its messages.
"use strict";

(() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  // Okabe–Ito colour-blind-safe palette; the primary init is always the first colour.
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  const HEALTH_ORDER = ["exploding", "vanishing", "dying", "healthy"];
  const PARAM_LABELS = { negative_slope: "Negative slope", alpha: "ELU alpha", beta: "Softplus beta" };
  const DEBOUNCE_MS = 150;
  const NO_MODE = ["orthogonal", "random"];  // not variance scaling: the server ignores their fan mode
  const $ = (id) => document.getElementById(id);

  // Query keys of the page (a superset of the API's): the order used in the URL.
  const KEYS = ["init", "act", "slope", "std", "mode", "depth", "width", "bias", "bn", "batch", "input", "seed",
    "layer", "overlay", "inits"];
  // Control of each text/select parameter (the id of its element).
  const FIELD = { init: "init", act: "act", slope: "slope", std: "std", mode: "mode", depth: "depth-num",
    width: "width", bias: "bias", batch: "batch", input: "input", seed: "seed", layer: "layer" };

  let options = null;           // GET api/options
  let labels = {};              // init name -> label
  let state = {};               // the current view, values as strings (the server validates)
  let timer = null;
  let controller = null;
  let requestNo = 0;
  let lastRuns = null;

  // ---------- small helpers ----------
  function el(tag, attrs, parent) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, attrs) {
    const t = el("text", Object.assign({ x, y }, attrs || {}), parent);
    t.textContent = content;
    return t;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return v.toExponential(2);
    return Number(v.toPrecision(3)).toString();
  }
  // Axis ticks: as short as possible ("5e-5", "1.5e-4", "0.25", "1200").
  function fmtTick(v) {
    const a = Math.abs(v);
    if (v !== 0 && (a >= 1e4 || a < 1e-3)) return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
    return Number(v.toPrecision(3)).toString();
  }
  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1); }
  function labelOf(name) { return labels[name] || name; }
  function actInfo(name) { return (options.activations || []).find((a) => a.name === name) || null; }
  function unique(list) { return list.filter((x, i) => list.indexOf(x) === i); }
  function niceTicks(lo, hi, n) {
    const span = hi - lo;
    if (!(span > 0)) return [lo];
    const raw = span / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const r = raw / mag;
    const step = (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1) * mag;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
    return ticks;
  }

  // ---------- state <-> controls <-> URL ----------
  function defaults() {
    const p = options.params;
    return {
      init: p.init.default, act: p.act.default, slope: "", std: String(p.std.default), mode: p.mode.default,
      depth: String(p.depth.default), width: String(p.width.default), bias: String(p.bias.default),
      bn: false, batch: String(p.batch.default), input: p.input.default, seed: String(p.seed.default),
      layer: "", overlay: false, inits: String(p.inits.default).split(","),
    };
  }

  function readURL() {
    const q = new URLSearchParams(window.location.search);
    for (const key of KEYS) {
      if (!q.has(key)) continue;
      const v = q.get(key);
      if (key === "bn" || key === "overlay") state[key] = ["1", "true", "on", "yes"].includes(v.toLowerCase());
      else if (key === "inits") state.inits = v.split(",").filter(Boolean);
      else state[key] = v;
    }
  }

  function relevant() {
    const info = actInfo(state.act);
    const series = seriesInits();
    return { slope: !!(info && info.param), std: series.includes("random") };
  }

  function seriesInits() {
    return state.overlay ? unique([state.init, ...state.inits]) : [state.init];
  }

  // The API query for the current state (irrelevant parameters left out).
  function apiQuery() {
    const q = new URLSearchParams();
    const rel = relevant();
    if (state.overlay) q.set("inits", seriesInits().join(","));
    else q.set("init", state.init);
    q.set("act", state.act);
    if (rel.slope && state.slope !== "") q.set("slope", state.slope);
    if (rel.std) q.set("std", state.std);
    for (const k of ["mode", "depth", "width", "bias", "batch", "input", "seed"]) q.set(k, state[k]);
    if (state.bn) q.set("bn", "1");
    if (state.layer !== "") q.set("layer", state.layer);
    return q;
  }

  function writeURL() {
    const q = new URLSearchParams();
    const rel = relevant();
    for (const key of KEYS) {
      if (key === "slope" && !(rel.slope && state.slope !== "")) continue;
      if (key === "std" && !rel.std) continue;
      if (key === "layer" && state.layer === "") continue;
      if (key === "inits" && !state.overlay) continue;
      const v = state[key];
      if (key === "bn" || key === "overlay") { if (v) q.set(key, "1"); continue; }
      q.set(key, Array.isArray(v) ? v.join(",") : v);
    }
    const url = window.location.pathname + "?" + q.toString();
    window.history.replaceState(null, "", url);
  }

  function addOption(select, value, label) {
    const opt = document.createElement("option");
    opt.value = value;
    opt.textContent = label;
    select.appendChild(opt);
  }

  // A value from the URL that the menu lacks (e.g. an alias like "he") is added, not dropped.
  function ensureOption(select, value) {
    if (value && ![...select.options].some((o) => o.value === value)) addOption(select, value, value);
  }

  function writeControls() {
    for (const [key, id] of Object.entries(FIELD)) {
      const node = $(id);
      if (node.tagName === "SELECT") ensureOption(node, state[key]);
      node.value = state[key];
    }
    $("depth").value = state.depth;
    $("bn").checked = state.bn;
    $("overlay").checked = state.overlay;
    for (const box of $("compare-list").querySelectorAll("input")) box.checked = state.inits.includes(box.value);
    syncDependent();
  }

  // Show/hide and relabel the controls that depend on others.
  function syncDependent() {
    const info = actInfo(state.act);
    const rel = relevant();
    $("slope-field").hidden = !rel.slope;
    if (info && info.param) {
      $("slope-label").textContent = PARAM_LABELS[info.param] || info.param;
      $("slope").placeholder = String(info.default_param);
    }
    $("std-field").hidden = !rel.std;
    $("mode").disabled = seriesInits().every((name) => NO_MODE.includes(name));
    $("compare-list").classList.toggle("off", !state.overlay);
    const depth = parseInt(state.depth, 10);
    if (depth >= 1) $("layer").max = String(depth);
    $("layer").placeholder = depth >= 1 ? String(depth) : "";
  }

  function onControl(event) {
    const t = event.target;
    if (t.id === "depth") { state.depth = t.value; $("depth-num").value = t.value; }
    else if (t.id === "depth-num") { state.depth = t.value; if (t.value !== "") $("depth").value = t.value; }
    else if (t.id === "bn" || t.id === "overlay") state[t.id] = t.checked;
    else if (t.closest("#compare-list")) {
      state.inits = [...$("compare-list").querySelectorAll("input:checked")].map((b) => b.value);
    } else if (t.id === "act") { state.act = t.value; state.slope = ""; $("slope").value = ""; }
    else if (t.id in FIELD) state[t.id] = t.value;
    else return;
    if (t.id === "depth" || t.id === "depth-num") {
      const depth = parseInt(state.depth, 10);
      if (state.layer !== "" && depth >= 1 && parseInt(state.layer, 10) > depth) {
        state.layer = "";
        $("layer").value = "";
      }
    }
    t.removeAttribute("aria-invalid");
    syncDependent();
    writeURL();
    schedule(DEBOUNCE_MS);
  }

  function pickLayer(layer) {
    state.layer = String(layer);
    $("layer").value = state.layer;
    writeURL();
    schedule(0);
  }

  // ---------- fetching ----------
  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  }

  async function refresh() {
    const no = ++requestNo;
    if (controller) controller.abort();
    controller = new AbortController();
    const path = state.overlay ? "api/compare" : "api/probe";
    $("status").textContent = "computing…";
    let body;
    try {
      const response = await fetch(path + "?" + apiQuery().toString(), { signal: controller.signal });
      body = await response.json().catch(() => ({ error: "HTTP " + response.status + " (no JSON body)" }));
      if (no !== requestNo) return;
      if (!response.ok) { showError(body.error || "HTTP " + response.status); return; }
    } catch (err) {
      if (err.name === "AbortError" || no !== requestNo) return;
      showError("Cannot reach the explorer server: " + err.message);
      return;
    }
    const runs = state.overlay ? body.runs : [Object.assign({ init: state.init }, body)];
    hideError();
    render(runs, body.elapsed_ms);
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = false;
    $("status").textContent = "not updated: fix the setting above";
    for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    const m = /^(?:Invalid |Parameter ')?(\w+)/.exec(message);
    const key = m ? m[1] : null;
    const target = key === "inits" ? $("compare-list") : key in FIELD ? $(FIELD[key]) : null;
    if (target) target.setAttribute("aria-invalid", "true");
    if (/too large/.test(message)) for (const id of ["depth-num", "width", "batch"]) $(id).setAttribute("aria-invalid", "true");
    document.querySelector(".results").classList.add("stale-results");
    for (const node of document.querySelectorAll(".charts, .table-wrap, .legend")) node.classList.add("stale");
  }

  function hideError() {
    $("error").hidden = true;
    $("error").textContent = "";
    for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    for (const node of document.querySelectorAll(".stale")) node.classList.remove("stale");
  }

  // ---------- rendering ----------
  function worstHealth(layers) {
    for (const h of HEALTH_ORDER) if (layers.some((l) => l.health === h)) return h;
    return "healthy";
  }

  function render(runs, elapsed) {
    lastRuns = runs;
    const primary = runs.find((r) => r.init === state.init) || runs[0];
    const layers = primary.layers;
    const colors = {};
    runs.forEach((r, i) => { colors[r.init] = PALETTE[i % PALETTE.length]; });

    const summary = $("summary");
    clear(summary);
    const who = document.createElement("strong");
    who.textContent = labelOf(primary.init) + ": ";
    summary.append(who, primary.summary);
    const box = summary.parentElement;
    box.className = "summary h-" + worstHealth(layers);
    $("summary-extra").textContent = runs.filter((r) => r !== primary)
      .map((r) => labelOf(r.init) + ": " + r.summary).join(" · ");
    const cached = runs.every((r) => r.cached) ? " (cached)" : "";
    $("status").textContent = `${layers.length} layers × width ${state.width} × ${state.batch} examples · ` +
      `server time ${elapsed === undefined ? "?" : elapsed.toFixed(0)} ms${cached}`;

    renderLegend(runs, colors);
    const depth = layers.length;
    const selected = primary.histogram ? primary.histogram.layer : depth;
    const pick = (layer) => pickLayer(layer);
    const series = (field, theoryField) => runs.flatMap((r) => [
      { label: labelOf(r.init), color: colors[r.init], values: r.layers.map((l) => l[field]) },
      ...(theoryField ? [{ label: labelOf(r.init) + " (theory)", color: colors[r.init], dash: "6 4", thin: true,
        values: r.layers.map((l) => l[theoryField]) }] : []),
    ]);
    lineChart($("chart-std"), { series: series("post_std", "theory_post_std"), depth, log: true, selected, pick,
      yLabel: "std of activations" });
    lineChart($("chart-grad"), { series: series("grad_std", "theory_grad_std"), depth, log: true, selected, pick,
      yLabel: "std of dL/d(pre-act.)" });
    const dead = runs.map((r) => ({ label: labelOf(r.init), color: colors[r.init],
      values: r.layers.map((l) => l.dead_units_fraction) }));
    lineChart($("chart-dead"), { series: dead, depth, log: false, yMin: 0, yMax: 1, selected, pick,
      yLabel: "dead units", percent: true });
    histChart($("chart-hist"), primary.histogram, colors[primary.init]);
    $("layer").value = state.layer;
    renderTable(layers, selected);
  }

  function renderLegend(runs, colors) {
    const legend = $("legend");
    clear(legend);
    const item = (label, color, dash) => {
      const span = document.createElement("span");
      const svg = el("svg", { width: 28, height: 10, "aria-hidden": "true" }, span);
      el("line", { x1: 1, y1: 5, x2: 27, y2: 5, stroke: color, "stroke-width": 2.5,
        "stroke-dasharray": dash || "none" }, svg);
      span.appendChild(document.createTextNode(label));
      legend.appendChild(span);
    };
    for (const r of runs) item(labelOf(r.init), colors[r.init]);
    item("mean-field theory", "#5b6573", "6 4");
  }

  function renderTable(layers, selected) {
    const body = document.querySelector("#layers tbody");
    clear(body);
    const frag = document.createDocumentFragment();
    for (const l of layers) {
      const tr = document.createElement("tr");
      tr.tabIndex = 0;
      tr.dataset.layer = l.layer;
      tr.setAttribute("aria-selected", String(l.layer === selected));
      const cells = [l.layer, fmt(l.pre_mean), fmt(l.pre_std), fmt(l.post_mean), fmt(l.post_std),
        fmt(l.theory_post_std), fmt(l.grad_std), pct(l.dead_fraction), pct(l.dead_units_fraction)];
      for (const c of cells) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      }
      tr.children[4].className = l.health;
      const td = document.createElement("td");
      const badge = document.createElement("span");
      badge.className = "badge " + l.health;
      badge.textContent = l.health;
      td.appendChild(badge);
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    body.appendChild(frag);
  }

  // ---------- charts (hand-written SVG) ----------
  const W = 560, H = 260, M = { l: 62, r: 14, t: 12, b: 40 };

  function frame(svg, yLabel) {
    clear(svg);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const g = el("g", {}, svg);
    text(g, 14, M.t + (H - M.t - M.b) / 2, yLabel, { class: "axis-label", "text-anchor": "middle",
      transform: `rotate(-90 14 ${M.t + (H - M.t - M.b) / 2})` });
    return g;
  }

  function empty(svg, message) {
    clear(svg);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    text(svg, W / 2, H / 2, message, { class: "empty", "text-anchor": "middle" });
  }

  function powerLabel(parent, x, y, k) {
    if (k === 0) return text(parent, x, y, "1", { "text-anchor": "end" });
    const t = text(parent, x, y, "10", { "text-anchor": "end" });
    const sup = el("tspan", { dy: "-5", "font-size": "8.5" }, t);
    sup.textContent = String(k);
    return t;
  }

  function lineChart(svg, cfg) {
    const pw = W - M.l - M.r, ph = H - M.t - M.b;
    const ok = (v) => v !== null && v !== undefined && Number.isFinite(v) && (!cfg.log || v > 0);
    const all = cfg.series.flatMap((s) => s.values.filter(ok));
    if (all.length === 0) { empty(svg, cfg.log ? "no positive finite values to plot" : "no data"); return; }
    const g = frame(svg, cfg.yLabel);
    let lo, hi;
    if (cfg.log) {
      lo = Math.floor(Math.log10(Math.min(...all)));
      hi = Math.ceil(Math.log10(Math.max(...all)));
      if (hi - lo < 2) { lo -= 1; hi += 1; }
    } else { lo = cfg.yMin; hi = cfg.yMax; }
    const depth = cfg.depth;
    const x = (layer) => M.l + (depth === 1 ? pw / 2 : ((layer - 1) / (depth - 1)) * pw);
    const y = (v) => M.t + ph - (((cfg.log ? Math.log10(v) : v) - lo) / (hi - lo)) * ph;

    // grid and y ticks
    if (cfg.log) {
      const step = Math.max(1, Math.ceil((hi - lo) / 6));
      for (let k = lo; k <= hi; k += step) {
        const yy = y(Math.pow(10, k));
        el("line", { x1: M.l, x2: M.l + pw, y1: yy, y2: yy, class: k === 0 ? "unit" : "grid" }, g);
        powerLabel(g, M.l - 6, yy + 4, k);
      }
    } else {
      for (const t of niceTicks(lo, hi, 4)) {
        const yy = y(t);
        el("line", { x1: M.l, x2: M.l + pw, y1: yy, y2: yy, class: "grid" }, g);
        text(g, M.l - 6, yy + 4, cfg.percent ? Math.round(t * 100) + "%" : fmtTick(t), { "text-anchor": "end" });
      }
    }
    // x ticks
    for (const t of niceTicks(1, depth, Math.min(10, depth)).filter((t) => Number.isInteger(t) && t >= 1)) {
      text(g, x(t), M.t + ph + 16, String(t), { "text-anchor": "middle" });
    }
    text(g, M.l + pw / 2, H - 6, "layer", { class: "axis-label", "text-anchor": "middle" });
    el("line", { x1: M.l, x2: M.l, y1: M.t, y2: M.t + ph, class: "axis" }, g);
    el("line", { x1: M.l, x2: M.l + pw, y1: M.t + ph, y2: M.t + ph, class: "axis" }, g);

    // selected layer
    if (cfg.selected >= 1 && cfg.selected <= depth) {
      el("line", { x1: x(cfg.selected), x2: x(cfg.selected), y1: M.t, y2: M.t + ph, class: "pick" }, g);
    }

    // series: theory (thin, dashed) first so that measurements are drawn on top
    // Measured series get decreasing widths, so that coinciding lines (e.g. the dead units of
    // ReLU nets that differ only by a weight scale) still show each colour as a halo.
    const measured = cfg.series.filter((s) => !s.thin);
    measured.forEach((s, i) => { s.width = 2.2 + 1.5 * (measured.length - 1 - i); });
    const ordered = [...cfg.series.filter((s) => s.thin), ...measured];
    for (const s of ordered) {
      let d = "";
      let pen = false;
      s.values.forEach((v, i) => {
        if (!ok(v)) { pen = false; return; }
        d += (pen ? "L" : "M") + x(i + 1).toFixed(1) + " " + y(v).toFixed(1);
        pen = true;
      });
      if (d) {
        el("path", { d, fill: "none", stroke: s.color, "stroke-width": s.thin ? 1.6 : s.width,
          "stroke-dasharray": s.dash || "none", "stroke-linejoin": "round", opacity: s.thin ? 0.8 : 1 }, g);
      }
      if (!s.thin && depth <= 60) {
        s.values.forEach((v, i) => {
          if (ok(v)) el("circle", { cx: x(i + 1), cy: y(v), r: 2.6, fill: s.color }, g);
        });
      }
    }

    // a transparent column per layer: tooltip with the values, click to pick the layer
    const colW = depth === 1 ? pw : pw / (depth - 1);
    for (let layer = 1; layer <= depth; layer++) {
      const rect = el("rect", { x: x(layer) - colW / 2, y: M.t, width: colW, height: ph, fill: "transparent",
        class: "pt", "data-layer": layer }, g);
      const title = el("title", {}, rect);
      title.textContent = `layer ${layer}\n` + cfg.series.map((s) => {
        const v = s.values[layer - 1];
        return `${s.label}: ${cfg.percent && v !== null ? pct(v) + "%" : fmt(v)}`;
      }).join("\n");
      rect.addEventListener("click", () => cfg.pick(layer));
    }
  }

  function histChart(svg, hist, color) {
    if (!hist || !hist.counts || hist.counts.length === 0) { empty(svg, "no histogram"); return; }
    const pw = W - M.l - M.r, ph = H - M.t - M.b;
    const edges = hist.edges, counts = hist.counts;
    const total = counts.reduce((a, b) => a + b, 0);
    const g = frame(svg, "share of values");
    let lo = edges[0], hi = edges[edges.length - 1];
    if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
    const top = Math.max(...counts) / Math.max(total, 1) || 1;
    const x = (v) => M.l + ((v - lo) / (hi - lo)) * pw;
    const y = (share) => M.t + ph - (share / top) * ph;
    for (const t of niceTicks(0, top, 4)) {
      el("line", { x1: M.l, x2: M.l + pw, y1: y(t), y2: y(t), class: "grid" }, g);
      text(g, M.l - 6, y(t) + 4, (t * 100).toFixed(t * 100 < 10 && t > 0 ? 1 : 0) + "%", { "text-anchor": "end" });
    }
    counts.forEach((c, i) => {
      const share = c / Math.max(total, 1);
      const x0 = x(edges[i]), x1 = x(edges[i + 1]);
      const bar = el("rect", { x: x0 + 0.5, y: y(share), width: Math.max(0.5, x1 - x0 - 1),
        height: M.t + ph - y(share), fill: color, class: "bar" }, g);
      const title = el("title", {}, bar);
      title.textContent = `[${fmt(edges[i])}, ${fmt(edges[i + 1])}): ${c} values (${pct(share)}%)`;
    });
    for (const t of niceTicks(lo, hi, 6)) {
      if (t < lo || t > hi) continue;
      text(g, x(t), M.t + ph + 16, fmtTick(t), { "text-anchor": "middle" });
    }
    text(g, M.l + pw / 2, H - 6, `activation value at layer ${hist.layer}`, { class: "axis-label",
      "text-anchor": "middle" });
    el("line", { x1: M.l, x2: M.l, y1: M.t, y2: M.t + ph, class: "axis" }, g);
    el("line", { x1: M.l, x2: M.l + pw, y1: M.t + ph, y2: M.t + ph, class: "axis" }, g);
  }

  // ---------- setup ----------
  function buildControls() {
    for (const item of options.inits) {
      labels[item.name] = item.label;
      addOption($("init"), item.name, item.label);
    }
    for (const a of options.activations) addOption($("act"), a.name, a.name);
    const list = $("compare-list");
    for (const item of options.inits) {
      const row = document.createElement("div");
      row.className = "check";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.id = "cmp-" + item.name;
      box.value = item.name;
      const lab = document.createElement("label");
      lab.htmlFor = box.id;
      lab.textContent = item.label;
      row.append(box, lab);
      list.appendChild(row);
    }
    const p = options.params;
    for (const [key, id] of [["width", "width"], ["batch", "batch"], ["bias", "bias"], ["std", "std"],
      ["seed", "seed"], ["depth", "depth-num"], ["depth", "depth"]]) {
      if (p[key].maximum !== undefined) $(id).max = p[key].maximum;
    }
  }

  function attach() {
    const form = $("controls");
    form.addEventListener("input", onControl);
    form.addEventListener("change", onControl);
    form.addEventListener("submit", (e) => e.preventDefault());
    $("layer").addEventListener("input", (e) => {
      state.layer = e.target.value;
      e.target.removeAttribute("aria-invalid");
      writeURL();
      schedule(DEBOUNCE_MS);
    });
    $("reseed").addEventListener("click", () => {
      state.seed = String(Math.floor(Math.random() * 2147483647));
      $("seed").value = state.seed;
      writeURL();
      schedule(0);
    });
    $("copy-link").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(window.location.href);
        $("copy-status").textContent = "copied";
      } catch (err) {
        $("copy-status").textContent = "copy the address bar: the URL holds this view";
      }
    });
    const body = document.querySelector("#layers tbody");
    body.addEventListener("click", (e) => {
      const tr = e.target.closest("tr");
      if (tr) pickLayer(Number(tr.dataset.layer));
    });
    body.addEventListener("keydown", (e) => {
      const tr = e.target.closest("tr");
      if (!tr) return;
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pickLayer(Number(tr.dataset.layer)); }
      else if (e.key === "ArrowDown" && tr.nextElementSibling) { e.preventDefault(); tr.nextElementSibling.focus(); }
      else if (e.key === "ArrowUp" && tr.previousElementSibling) { e.preventDefault(); tr.previousElementSibling.focus(); }
    });
  }

  async function start() {
    try {
      const response = await fetch("api/options");
      if (!response.ok) throw new Error("HTTP " + response.status);
      options = await response.json();
    } catch (err) {
      showError("Cannot load the explorer's options from the server: " + err.message);
      return;
    }
    buildControls();
    state = defaults();
    readURL();
    writeControls();
    writeURL();
    attach();
    refresh();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
