// kaiming explorer — the page's logic: controls <-> URL state and history, API calls, charts.
// Charts: uPlot (vendored in static/vendor/uplot, MIT); the phase diagram: a plain canvas.
// No build step; the server validates every parameter and we show its messages.
"use strict";

(() => {
  // Okabe–Ito colour-blind-safe palette; the primary init is always the first colour.
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  const HEALTH_ORDER = ["exploding", "vanishing", "dying", "healthy"];
  const PARAM_LABELS = { negative_slope: "Negative slope", alpha: "ELU alpha", beta: "Softplus beta" };
  const TYPE_DEBOUNCE_MS = 120;   // number fields: wait for the typing to pause
  const NO_MODE = ["orthogonal", "random"];  // not variance scaling: the server ignores their fan mode
  const CACHE_SIZE = 64;
  const STREAM_LABELS = { counter: "counter stream", generator: "NumPy Generator" };  // which numbers are shown
  const $ = (id) => document.getElementById(id);

  // Query keys of the page (a superset of the API's): the order used in the URL.
  const KEYS = ["init", "act", "slope", "std", "gain", "mode", "depth", "width", "bias", "bn", "batch", "input",
    "seed", "stream", "layer", "overlay", "inits"];
  // Control of each text/select parameter (the id of its element).
  const FIELD = { init: "init", act: "act", slope: "slope", std: "std", gain: "gain", mode: "mode",
    depth: "depth-num", width: "width", bias: "bias", batch: "batch", input: "input", seed: "seed", stream: "stream", layer: "layer" };

  let options = null;           // GET api/options
  let labels = {};              // init name -> label
  let state = {};               // the current view, values as strings (the server validates)
  let timer = null;
  let dragging = false;         // the depth slider is held: redraw continuously, keep history
  const responses = new Map();  // API query -> parsed body (most recent last)
  let inflight = null;          // { query, controller }
  let shown = null;             // the query whose results are on screen
  let phaseShown = null, phaseInflight = null, phaseData = null;
  const charts = {};            // id -> { plot, key }
  window.__explorer = { renders: 0, lastRender: 0, ticks: {} };  // read by tests and benchmarks

  // ---------- small helpers ----------
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return v.toExponential(2);
    return Number(v.toPrecision(3)).toString();
  }
  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1); }
  function labelOf(name) { return labels[name] || name; }
  function actInfo(name) { return (options.activations || []).find((a) => a.name === name) || null; }
  function unique(list) { return list.filter((x, i) => list.indexOf(x) === i); }
  const SUP = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  function decade(k) { return k === 0 ? "1" : k === 1 ? "10" : "10" + String(k).split("").map((c) => SUP[c]).join(""); }
  // A linear tick: 0 when it is rounding noise (e.g. -2.78e-17 on a [-1, 1] axis), else short.
  function linearTick(v, span) {
    if (Math.abs(v) < span * 1e-9) return "0";
    const a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace("e+", "e");
    return Number(v.toPrecision(4)).toString();
  }

  // ---------- state <-> controls <-> URL ----------
  function defaults() {
    const p = options.params;
    return {
      init: p.init.default, act: p.act.default, slope: "", std: String(p.std.default), gain: "", mode: p.mode.default,
      depth: String(p.depth.default), width: String(p.width.default), bias: String(p.bias.default),
      bn: false, batch: String(p.batch.default), input: p.input.default, seed: String(p.seed.default),
      stream: p.stream.default, layer: "", overlay: false, inits: String(p.inits.default).split(","),
    };
  }

  function readURL() {
    state = defaults();
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
    return { slope: !!(info && info.param), std: series.includes("random"),
      gain: series.some((name) => name !== "random") };
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
    if (rel.gain && state.gain !== "") q.set("gain", state.gain);
    for (const k of ["mode", "depth", "width", "bias", "batch", "input", "seed", "stream"]) q.set(k, state[k]);
    if (state.bn) q.set("bn", "1");
    if (state.layer !== "") q.set("layer", state.layer);
    q.set("weight_grad", "0");  // not shown on the page: a third of the server's multiply-adds
    return (state.overlay ? "api/compare?" : "api/probe?") + q.toString();
  }

  function pageQuery() {
    const q = new URLSearchParams();
    const rel = relevant();
    for (const key of KEYS) {
      if (key === "slope" && !(rel.slope && state.slope !== "")) continue;
      if (key === "std" && !rel.std) continue;
      if (key === "gain" && !(rel.gain && state.gain !== "")) continue;
      if (key === "layer" && state.layer === "") continue;
      if (key === "inits" && !state.overlay) continue;
      const v = state[key];
      if (key === "bn" || key === "overlay") { if (v) q.set(key, "1"); continue; }
      q.set(key, Array.isArray(v) ? v.join(",") : v);
    }
    return "?" + q.toString();
  }

  // A settled view becomes a history entry (Back undoes it); the first one replaces the entry.
  function commitHistory(replace) {
    if (dragging) return;
    const search = pageQuery();
    if (search === window.location.search && !replace) return;
    const url = window.location.pathname + search;
    if (replace) window.history.replaceState(null, "", url);
    else window.history.pushState(null, "", url);
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
    $("gain-field").hidden = !rel.gain;
    $("mode").disabled = seriesInits().every((name) => NO_MODE.includes(name));
    $("compare-list").classList.toggle("off", !state.overlay);
    const depth = parseInt(state.depth, 10);
    if (depth >= 1) $("layer").max = String(depth);
    $("layer").placeholder = depth >= 1 ? String(depth) : "";
  }

  function onControl(event) {
    const t = event.target;
    const typed = t.type === "number" && event.type === "input";
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
    if (t.id === "depth" && event.type === "change") dragging = false;
    t.removeAttribute("aria-invalid");
    syncDependent();
    schedule(typed ? TYPE_DEBOUNCE_MS : 0);
  }

  function pickLayer(layer) {
    state.layer = String(layer);
    $("layer").value = state.layer;
    schedule(0);
  }

  // ---------- fetching: cache, one request in flight, stale ones cancelled ----------
  function schedule(delay) {
    clearTimeout(timer);
    if (delay > 0) timer = setTimeout(update, delay);
    else update();
  }

  function update() {
    timer = null;
    const query = apiQuery();
    refreshPhase();
    if (responses.has(query)) { show(query, responses.get(query), true); return; }
    if (inflight && inflight.query === query) return;           // already on its way
    if (inflight && dragging) return;                           // drawn when the one in flight lands
    if (inflight) inflight.controller.abort();                  // stale: the server stops its work
    fetchQuery(query);
  }

  async function fetchQuery(query) {
    const controller = new AbortController();
    const mine = { query, controller };
    inflight = mine;
    $("status").textContent = "computing…";
    let response, body;
    try {
      response = await fetch(query, { signal: controller.signal });
      body = await response.json().catch((err) => {
        if (err.name === "AbortError") throw err;  // cancelled while the body was read: stale
        return { error: "HTTP " + response.status + " (no JSON body)" };
      });
    } catch (err) {
      if (inflight === mine) inflight = null;
      if (err.name !== "AbortError") showError("Cannot reach the explorer server: " + err.message);
      return;
    }
    if (inflight === mine) inflight = null;
    const current = query === apiQuery();
    if (response.ok && !body.error) {
      remember(query, body);
      // While the slider is dragged, an older depth is still worth drawing: it keeps moving.
      if (current || sameKind(query)) show(query, body, current);
    } else if (current) {
      const retry = response.headers.get("retry-after");
      showError((body.error || "HTTP " + response.status) + (retry ? ` (retry in ${retry} s)` : ""));
    }
    if (!current && !timer) update();  // the view moved on meanwhile: fetch (or show) the latest
  }

  function sameKind(query) {
    return query.startsWith(state.overlay ? "api/compare?" : "api/probe?");
  }

  function remember(query, body) {
    responses.delete(query);
    responses.set(query, body);
    while (responses.size > CACHE_SIZE) responses.delete(responses.keys().next().value);
  }

  function show(query, body, current) {
    const runs = state.overlay ? body.runs : [Object.assign({ init: state.init }, body)];
    hideError();
    shown = query;
    render(runs, body.elapsed_ms, body.cached);
    // pushState costs Chromium ~30 ms (measured, docs/explorer.md): after the charts are painted.
    if (current) afterPaint(() => { if (shown === query && query === apiQuery()) commitHistory(false); });
  }

  function afterPaint(fn) { requestAnimationFrame(() => setTimeout(fn, 0)); }

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
    for (const node of document.querySelectorAll(".charts, .table-wrap, .legend")) node.classList.add("stale");
  }

  function hideError() {
    $("error").hidden = true;
    $("error").textContent = "";
    for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    for (const node of document.querySelectorAll(".stale")) node.classList.remove("stale");
  }

  // ---------- rendering ----------
  function worstHealth(layers, field) {
    for (const h of HEALTH_ORDER) if (layers.some((l) => l[field] === h)) return h;
    return "healthy";
  }

  function render(runs, elapsed, cached) {
    const renderStart = performance.now();
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
    box.className = "summary h-" + worstHealth(layers, "health");
    const chips = $("summary-health");
    clear(chips);
    for (const [label, field] of [["forward", "forward_health"], ["backward", "backward_health"]]) {
      const worst = layers.some((l) => l[field]) ? worstHealth(layers, field) : null;
      const chip = document.createElement("span");
      chip.className = "badge " + (worst || "none");
      chip.dataset.pass = label;
      chip.textContent = label + ": " + (worst || "not simulated");
      chips.appendChild(chip);
    }
    $("summary-extra").textContent = runs.filter((r) => r !== primary)
      .map((r) => labelOf(r.init) + ": " + r.summary).join(" · ");
    const fromCache = cached || runs.every((r) => r.cached) ? " (cached)" : "";
    const stream = STREAM_LABELS[primary.config.stream] || primary.config.stream;
    $("status").textContent = `${layers.length} layers × width ${state.width} × ${state.batch} examples · ` +
      `${stream}, seed ${primary.config.seed} · server time ${elapsed === undefined ? "?" : elapsed.toFixed(0)} ms${fromCache}`;

    renderLegend(runs, colors);
    const depth = layers.length;
    const selected = primary.histogram ? primary.histogram.layer : depth;
    const series = (field, theoryField) => runs.flatMap((r) => [
      { label: labelOf(r.init), color: colors[r.init], values: r.layers.map((l) => l[field]) },
      ...(theoryField ? [{ label: labelOf(r.init) + " (theory)", color: colors[r.init], theory: true,
        values: r.layers.map((l) => l[theoryField]) }] : []),
    ]);
    lineChart("std", { series: series("post_std", "theory_post_std"), depth, log: true, selected });
    lineChart("grad", { series: series("grad_std", "theory_grad_std"), depth, log: true, selected });
    lineChart("dead", { series: series("dead_units_fraction"), depth, range: [0, 1], percent: true, selected });
    lineChart("corr", { series: series("pre_corr", "theory_pre_corr"), depth, range: [null, 1], selected });
    histChart(primary.histogram, colors[primary.init]);
    $("layer").value = state.layer;
    renderTable(layers, selected);
    window.__explorer.renders += 1;
    window.__explorer.lastRender = performance.now();
    window.__explorer.renderMs = window.__explorer.lastRender - renderStart;
    window.__explorer.serverMs = elapsed;
    window.__explorer.query = shown;
    document.dispatchEvent(new Event("explorer:rendered"));  // for tests and benchmarks: no polling
  }

  function renderLegend(runs, colors) {
    const legend = $("legend");
    clear(legend);
    const item = (label, color, dashed) => {
      const span = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.className = "swatch" + (dashed ? " dashed" : "");
      swatch.style.borderTopColor = color;
      span.append(swatch, document.createTextNode(label));
      legend.appendChild(span);
    };
    for (const r of runs) item(labelOf(r.init), colors[r.init], false);
    item("mean-field theory", "#5b6573", true);
  }

  function badge(health) {
    const span = document.createElement("span");
    span.className = "badge " + (health || "none");
    span.textContent = health || "—";
    return span;
  }

  function renderTable(layers, selected) {
    const body = document.querySelector("#layers tbody");
    clear(body);
    const frag = document.createDocumentFragment();
    for (const l of layers) {
      const tr = document.createElement("tr");
      tr.tabIndex = 0;
      tr.dataset.layer = l.layer;
      tr.className = "h-" + l.health;
      tr.setAttribute("aria-selected", String(l.layer === selected));
      const cells = [l.layer, fmt(l.pre_std), fmt(l.post_std), fmt(l.theory_post_std), fmt(l.grad_std),
        fmt(l.theory_grad_std), fmt(l.pre_corr), pct(l.dead_units_fraction), pct(l.dead_fraction)];
      for (const c of cells) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      }
      tr.title = `layer ${l.layer}: pre-activation mean ${fmt(l.pre_mean)}, post-activation mean ${fmt(l.post_mean)}`;
      tr.children[2].className = l.forward_health || l.health;
      tr.children[4].className = l.backward_health || "";
      for (const h of [l.forward_health || l.health, l.backward_health]) {
        const td = document.createElement("td");
        td.appendChild(badge(h));
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    }
    body.appendChild(frag);
  }

  // ---------- charts (uPlot) ----------
  function chartSize(id) {
    const node = $("chart-" + id);
    const width = Math.max(240, Math.floor(node.clientWidth || 520));
    return { width, height: Math.round(Math.min(260, Math.max(180, width * 0.46))) };
  }

  // Log axis: whole decades only, a step of 1, 2, 5, 10, ... decades so that at most ~7 show.
  function logSplits(u, axis, min, max) {
    const lo = Math.ceil(Math.log10(min) - 1e-9), hi = Math.floor(Math.log10(max) + 1e-9);
    const steps = [1, 2, 5, 10, 20, 50, 100];
    const step = steps.find((s) => (hi - lo) / s <= 6) || 100;
    const out = [];
    for (let k = Math.ceil(lo / step) * step; k <= hi; k += step) out.push(Math.pow(10, k));
    return out;
  }

  function recordTicks(id, axis, labels) {
    window.__explorer.ticks[id + "-" + axis] = labels;
    $("chart-" + id).dataset[axis + "ticks"] = labels.join("|");
    return labels;
  }

  function lineChart(id, cfg) {
    const ok = (v) => v !== null && v !== undefined && Number.isFinite(v) && (!cfg.log || v > 0);
    const xs = Array.from({ length: cfg.depth }, (_, i) => i + 1);
    const data = [xs, ...cfg.series.map((s) => s.values.map((v) => (ok(v) ? v : null)))];
    const all = data.slice(1).flat().filter((v) => v !== null);
    const fig = $("fig-" + id);
    fig.classList.toggle("no-data", all.length === 0);
    $("chart-" + id).dataset.empty = all.length === 0 ? "1" : "";
    let lo, hi;
    if (cfg.log) {
      lo = all.length ? Math.floor(Math.log10(Math.min(...all))) : -1;
      hi = all.length ? Math.ceil(Math.log10(Math.max(...all))) : 1;
      if (hi - lo < 2) { lo -= 1; hi += 1; }
      lo = Math.pow(10, lo); hi = Math.pow(10, hi);
    } else {
      lo = cfg.range[0] !== null ? cfg.range[0] : Math.min(0, ...all);
      hi = cfg.range[1] !== null ? cfg.range[1] : Math.max(1, ...all);
      if (lo < 0) lo = Math.max(-1, Math.floor(lo * 10) / 10);
    }
    // Rebuilt only when the shape changes; labels and colours are read from the current cfg
    // (a new uPlot costs ~10 ms: switching the init must not rebuild all four charts).
    const key = [id, cfg.log, cfg.percent, cfg.depth <= 60, ...cfg.series.map((s) => (s.theory ? "t" : "m"))].join("|");
    window.__explorer.series = Object.assign(window.__explorer.series || {}, { [id]: cfg.series.map((s) => s.label) });
    const entry = charts[id];
    entry && (entry.selected = cfg.selected, entry.cfg = cfg);
    if (entry && entry.key === key) {
      entry.range = [lo, hi];
      entry.plot.batch(() => {
        entry.plot.setData(data, false);
        entry.plot.setScale("x", { min: cfg.depth === 1 ? 0.5 : 1, max: cfg.depth === 1 ? 1.5 : cfg.depth });
        entry.plot.setScale("y", { min: lo, max: hi });
      });
      return;
    }
    if (entry) entry.plot.destroy();
    const measured = cfg.series.filter((s) => !s.theory).length;
    let rank = 0;
    const seriesOpts = cfg.series.map((s) => {
      const width = s.theory ? 1.6 : 2.2 + 1.5 * (measured - 1 - rank++);
      const color = (u, i) => state_.cfg.series[i - 1].color;
      return { label: s.label, stroke: color, width, dash: s.theory ? [6, 4] : undefined,
        alpha: s.theory ? 0.8 : 1, spanGaps: false,
        points: { show: !s.theory && cfg.depth <= 60, size: 5, fill: color },
        value: (u, v) => (cfg.percent && v !== null ? pct(v) + "%" : fmt(v)) };
    });
    const state_ = { key, range: [lo, hi], selected: cfg.selected, cfg };
    const size = chartSize(id);
    const opts = {
      width: size.width, height: size.height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: (u, min, max) => [min, max] },
        y: cfg.log ? { distr: 3, log: 10, range: () => state_.range } : { range: () => state_.range },
      },
      axes: [
        { label: "layer", size: 36, values: (u, splits) => recordTicks(id, "x", splits.map((v) => String(v))),
          incrs: [1, 2, 5, 10, 20, 50] },
        cfg.log
          ? { size: 52, splits: logSplits, filter: (u, splits) => splits,
            values: (u, splits) => recordTicks(id, "y", splits.map((v) => (v > 0 ? decade(Math.round(Math.log10(v))) : ""))) }
          : { size: 52, values: (u, splits) => recordTicks(id, "y", splits.map((v) => (cfg.percent ? Math.round(v * 100) + "%" : linearTick(v, state_.range[1] - state_.range[0])))) },
      ],
      series: [{ label: "layer" }, ...seriesOpts],
      hooks: {
        draw: [(u) => drawPick(u, state_)],
        setCursor: [(u) => readout(id, u, state_)],
        setSelect: [(u) => { if (u.select.width > 0) state_.zoomed = true; }],
      },
    };
    const plot = new uPlot(opts, data, $("chart-" + id));
    state_.plot = plot;
    charts[id] = state_;
    plot.setScale("x", { min: cfg.depth === 1 ? 0.5 : 1, max: cfg.depth === 1 ? 1.5 : cfg.depth });
    plot.over.addEventListener("click", () => {
      if (state_.zoomed) { state_.zoomed = false; return; }   // the end of a drag-to-zoom
      const idx = plot.cursor.idx;
      if (idx !== null && idx !== undefined) pickLayer(idx + 1);
    });
  }

  function drawPick(u, st) {
    const layer = st.selected;
    if (!(layer >= 1)) return;
    const x = u.valToPos(layer, "x", true);
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "rgba(255, 191, 71, 0.55)";
    ctx.lineWidth = 8 * (window.devicePixelRatio || 1);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.restore();
  }

  function readout(id, u, st) {
    const idx = u.cursor.idx;
    const out = $("readout-" + id);
    if (idx === null || idx === undefined) { out.textContent = ""; return; }
    out.textContent = `layer ${idx + 1}: ` + st.cfg.series.map((s) => {
      const v = s.values[idx];
      return `${s.label} ${st.cfg.percent && v !== null ? pct(v) + "%" : fmt(v)}`;
    }).join(" · ");
  }

  function histChart(hist, color) {
    const id = "hist";
    const fig = $("fig-hist");
    if (!hist || !hist.counts || hist.counts.length === 0) { fig.classList.add("no-data"); return; }
    fig.classList.remove("no-data");
    const edges = hist.edges, counts = hist.counts;
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    const xs = edges.slice(0, -1);
    const shares = counts.map((c) => c / total);
    let lo = edges[0], hi = edges[edges.length - 1];
    if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
    $("readout-hist").dataset.layer = hist.layer;
    $("hist-caption").textContent = `activation value at layer ${hist.layer}`;
    const entry = charts[id];
    if (entry) {
      entry.range = [lo, hi];
      entry.hist = hist;
      entry.plot.setSeries(1, { stroke: color, fill: color + "b0" });
      entry.plot.batch(() => {
        entry.plot.setData([xs, shares], false);
        entry.plot.setScale("x", { min: lo, max: hi });
        entry.plot.setScale("y", { min: 0, max: Math.max(...shares) * 1.05 || 1 });
      });
      return;
    }
    const st = { range: [lo, hi], hist };
    const size = chartSize(id);
    const plot = new uPlot({
      width: size.width, height: size.height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { show: false } },
      scales: { x: { time: false, range: () => st.range }, y: { range: (u, min, max) => [0, max * 1.05 || 1] } },
      axes: [
        { size: 36, values: (u, splits) => recordTicks(id, "x", splits.map((v) => linearTick(v, st.range[1] - st.range[0]))) },
        { size: 52, values: (u, splits) => recordTicks(id, "y", splits.map((v) => linearTick(v * 100, 100) + "%")) },
      ],
      series: [{}, { label: "share", stroke: color, fill: color + "b0", paths: uPlot.paths.bars({ align: 1, size: [1, Infinity], gap: 1 }) }],
      hooks: { setCursor: [(u) => {
        const i = u.cursor.idx;
        const h = st.hist;
        $("readout-hist").textContent = i === null || i === undefined ? "" :
          `[${fmt(h.edges[i])}, ${fmt(h.edges[i + 1])}): ${h.counts[i]} values (${pct(u.data[1][i])}%)`;
      }] },
    }, [xs, shares], $("chart-" + id));
    st.plot = plot;
    charts[id] = st;
  }

  function resizeCharts() {
    for (const [id, entry] of Object.entries(charts)) entry.plot.setSize(chartSize(id));
    drawPhase();
  }

  // ---------- phase diagram (canvas) ----------
  function phaseQuery() {
    const q = new URLSearchParams();
    const rel = relevant();
    q.set("init", state.init);
    q.set("act", state.act);
    if (rel.slope && state.slope !== "") q.set("slope", state.slope);
    if (state.init === "random") q.set("std", state.std);
    else if (state.gain !== "") q.set("gain", state.gain);
    for (const k of ["mode", "width", "bias"]) q.set(k, state[k]);
    return "api/phase?" + q.toString();
  }

  async function refreshPhase() {
    const query = phaseQuery();
    if (query === phaseShown || query === phaseInflight) return;
    if (responses.has(query)) { phaseShown = query; phaseData = responses.get(query); drawPhase(); return; }
    phaseInflight = query;
    $("readout-phase").textContent = "computing the phase diagram…";
    try {
      const response = await fetch(query);
      const body = await response.json();
      if (phaseInflight === query) phaseInflight = null;
      if (!response.ok) { $("readout-phase").textContent = body.error || "HTTP " + response.status; return; }
      remember(query, body);
      if (query !== phaseQuery()) { refreshPhase(); return; }
      phaseShown = query;
      phaseData = body;
      drawPhase();
    } catch (err) {
      if (phaseInflight === query) phaseInflight = null;
    }
  }

  const PM = { l: 48, r: 12, t: 10, b: 34 };
  function chiColor(chi) {
    if (chi === null || !Number.isFinite(chi)) return "#7f0000";
    const t = Math.max(-1, Math.min(1, Math.log2(chi) / 2));   // chi 1/4 .. 4
    const a = Math.abs(t);
    const [r, g, b] = t < 0 ? [255 - 180 * a, 255 - 120 * a, 255] : [255, 255 - 170 * a, 255 - 190 * a];
    return `rgb(${r | 0},${g | 0},${b | 0})`;
  }

  function phaseGeometry(canvas) {
    const d = phaseData.diagram;
    const w = canvas.width, h = canvas.height;
    const sw = d.sigma_w2, sb = d.sigma_b2;
    const x = (v) => PM.l + ((v - sw[0]) / (sw[sw.length - 1] - sw[0])) * (w - PM.l - PM.r);
    const y = (v) => h - PM.b - ((v - sb[0]) / (sb[sb.length - 1] - sb[0])) * (h - PM.t - PM.b);
    return { d, w, h, sw, sb, x, y };
  }

  function drawPhase() {
    const canvas = $("phase");
    if (!phaseData) return;
    const width = Math.max(240, Math.floor(canvas.parentElement.clientWidth - 22));
    if (canvas.width !== width) { canvas.width = width; canvas.height = Math.round(Math.min(260, width * 0.46)); }
    const { d, w, h, sw, sb, x, y } = phaseGeometry(canvas);
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    for (let i = 0; i < sb.length; i++) {
      for (let j = 0; j < sw.length; j++) {
        const x0 = x(j === 0 ? sw[0] : (sw[j - 1] + sw[j]) / 2), x1 = x(j === sw.length - 1 ? sw[j] : (sw[j] + sw[j + 1]) / 2);
        const y0 = y(i === 0 ? sb[0] : (sb[i - 1] + sb[i]) / 2), y1 = y(i === sb.length - 1 ? sb[i] : (sb[i] + sb[i + 1]) / 2);
        ctx.fillStyle = chiColor(d.chi_1[i][j]);
        ctx.fillRect(x0, y1, x1 - x0 + 1, y0 - y1 + 1);
      }
    }
    // critical line chi_1 = 1
    ctx.strokeStyle = "#1d232b"; ctx.lineWidth = 2; ctx.setLineDash([]);
    ctx.beginPath();
    let pen = false;
    d.critical_sigma_w2.forEach((v, i) => {
      if (v === null || v < sw[0] || v > sw[sw.length - 1]) { pen = false; return; }
      if (pen) ctx.lineTo(x(v), y(sb[i])); else ctx.moveTo(x(v), y(sb[i]));
      pen = true;
    });
    ctx.stroke();
    // axes
    ctx.fillStyle = "#5b6573"; ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "center";
    for (const v of [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]) if (v >= sw[0] && v <= sw[sw.length - 1]) ctx.fillText(String(v), x(v), h - PM.b + 14);
    ctx.fillText("σw² (weight variance × fan_in)", (PM.l + w - PM.r) / 2, h - 4);
    ctx.textAlign = "right";
    for (const v of [0, 0.1, 0.2, 0.3, 0.4, 0.5]) if (v <= sb[sb.length - 1]) ctx.fillText(String(v), PM.l - 6, y(v) + 4);
    ctx.save(); ctx.translate(11, (PM.t + h - PM.b) / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
    ctx.fillText("σb²", 0, 0); ctx.restore();
    // named inits and the current point
    ctx.textAlign = "left";
    const marks = new Map();   // inits at the same point share one label ("Xavier/LeCun")
    for (const init of d.inits) {
      const at = init.sigma_w2.toFixed(6) + "," + init.sigma_b2.toFixed(6);
      const name = labelOf(init.name).split(" ")[0];
      marks.set(at, marks.has(at) ? { ...marks.get(at), name: marks.get(at).name + "/" + name } : { init, name });
    }
    for (const { init, name } of marks.values()) {
      const px = x(init.sigma_w2), py = y(init.sigma_b2);
      ctx.fillStyle = "#1d232b"; ctx.beginPath(); ctx.arc(px, py, 3.5, 0, 2 * Math.PI); ctx.fill();
      ctx.fillText(name, px + 5, py - 5);
    }
    const p = phaseData.point;
    const inside = p.sigma_w2 >= sw[0] && p.sigma_w2 <= sw[sw.length - 1] && p.sigma_b2 <= sb[sb.length - 1];
    const cx = x(Math.min(Math.max(p.sigma_w2, sw[0]), sw[sw.length - 1]));
    const cy = y(Math.min(p.sigma_b2, sb[sb.length - 1]));
    ctx.strokeStyle = "#000"; ctx.lineWidth = 2.5; ctx.fillStyle = "#ffbf47";
    ctx.beginPath(); ctx.arc(cx, cy, 7, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    const phase = p.chi_1 === null ? "" : p.chi_1 < 0.98 ? " (ordered: gradients vanish)" : p.chi_1 > 1.02 ? " (chaotic: gradients explode)" : " (critical)";
    $("readout-phase").textContent = `this network: σw² = ${fmt(p.sigma_w2)}, σb² = ${fmt(p.sigma_b2)}, ` +
      `χ₁ = ${fmt(p.chi_1)}${phase}` + (p.xi_c !== null && p.xi_c !== undefined ? `, ξc = ${fmt(p.xi_c)} layers` : "") +
      (inside ? "" : " — outside the chart, marked at its edge") + (state.bn ? "; batch norm is not in this diagram" : "");
    canvas.dataset.point = `${p.sigma_w2},${p.sigma_b2}`;
  }

  function onPhaseClick(event) {
    if (!phaseData) return;
    const canvas = $("phase");
    const rect = canvas.getBoundingClientRect();
    const px = (event.clientX - rect.left) * (canvas.width / rect.width);
    const py = (event.clientY - rect.top) * (canvas.height / rect.height);
    const { w, h, sw, sb } = phaseGeometry(canvas);
    const w2 = sw[0] + ((px - PM.l) / (w - PM.l - PM.r)) * (sw[sw.length - 1] - sw[0]);
    const b2 = sb[0] + ((h - PM.b - py) / (h - PM.t - PM.b)) * (sb[sb.length - 1] - sb[0]);
    if (!(w2 > 0)) return;
    if (state.init === "random") state.init = "he_normal";   // random has no gain: take a variance-scaling init
    state.gain = String(Number(Math.sqrt(w2).toPrecision(3)));
    state.bias = String(Number(Math.sqrt(Math.max(b2, 0)).toPrecision(3)));
    writeControls();
    schedule(0);
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
      ["seed", "seed"], ["depth", "depth-num"], ["depth", "depth"], ["gain", "gain"]]) {
      if (p[key] && p[key].maximum !== undefined) $(id).max = p[key].maximum;
    }
  }

  function attach() {
    const form = $("controls");
    form.addEventListener("input", onControl);
    form.addEventListener("change", onControl);
    form.addEventListener("submit", (e) => e.preventDefault());
    $("depth").addEventListener("pointerdown", () => { dragging = true; });
    window.addEventListener("pointerup", () => {
      if (!dragging) return;
      dragging = false;
      schedule(0);
    });
    $("layer").addEventListener("input", (e) => {
      state.layer = e.target.value;
      e.target.removeAttribute("aria-invalid");
      schedule(TYPE_DEBOUNCE_MS);
    });
    $("reseed").addEventListener("click", () => {
      state.seed = String(Math.floor(Math.random() * 2147483647));
      $("seed").value = state.seed;
      schedule(0);
    });
    $("copy-link").addEventListener("click", async () => {
      commitHistory(false);
      try {
        await navigator.clipboard.writeText(window.location.href);
        $("copy-status").textContent = "copied";
      } catch (err) {
        $("copy-status").textContent = "copy the address bar: the URL holds this view";
      }
    });
    $("phase").addEventListener("click", onPhaseClick);
    window.addEventListener("popstate", () => {   // Back/Forward: show that entry's view
      readURL();
      writeControls();
      schedule(0);
    });
    let resizeTimer = null;
    window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(resizeCharts, 100); });
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
    readURL();
    writeControls();
    commitHistory(true);
    attach();
    update();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
