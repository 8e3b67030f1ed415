/* The status page (aggregator/api/page.py, docs/api.md "Status page"). Reads
 * /api/health/detailed and /summary (from memory: cheap) after each evaluation the stream
 * announces, and /api/health/overview (sparklines, strips, availability) every 30 s. Follows
 * /api/health/stream; while it is down, or open but silent (a proxy that buffers it), polls
 * every 5 s. Text is set with textContent only. */
"use strict";
(() => {
  const WORST_FIRST = ["unhealthy", "rate_limited", "degraded", "unknown", "healthy"];
  const POLL_MS = 5000;
  const OVERVIEW_MS = 30000;
  const REOPEN_MS = 15000;
  const SVGNS = "http://www.w3.org/2000/svg";
  const ROWS_MARK = "llmhealth:rows";  // when the rows were first drawn (bench/page.py reads it)
  const $ = (id) => document.getElementById(id);
  const rows = new Map();
  const state = {
    detailed: null, summary: null, overview: null, series: new Map(), source: null, closedAt: 0,
    lastMessage: 0, lastPoll: 0, lastOverview: 0, failed: false, busy: false, again: false,
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  function worst(a, b) {
    if (!a) return b;
    if (!b) return a;
    return WORST_FIRST.indexOf(a) <= WORST_FIRST.indexOf(b) ? a : b;
  }

  const words = (status) => (status || "unknown").replace("_", " ");

  function seconds(value) {
    if (value === null || value === undefined) return "–";
    return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(value < 10 ? 2 : 1)} s`;
  }

  function percent(ratio) {
    if (ratio === null || ratio === undefined) return "–";
    return ratio >= 1 ? "100%" : `${(Math.floor(ratio * 10000) / 100).toFixed(2)}%`;
  }

  function ago(iso) {
    if (!iso) return "–";
    let s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 60) return `${Math.round(s)} s`;
    s = Math.round(s / 60);
    if (s < 60) return `${s} min`;
    if (s < 48 * 60) return `${Math.floor(s / 60)} h ${s % 60} min`;
    return `${Math.floor(s / 1440)} d`;
  }

  function clock(iso) {
    const t = new Date(iso);
    const today = new Date().toDateString() === t.toDateString();
    return t.toLocaleString([], today ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function setLight(node, status) {
    node.className = `light status-${status || "unknown"}`;
    node.title = words(status);
  }

  async function getJSON(url) {
    const answer = await fetch(url, { cache: "no-store", headers: { accept: "application/json" } });
    if (!answer.ok) throw new Error(`${url}: HTTP ${answer.status}`);
    return answer.json();
  }

  /* ---- rows ---- */

  function makeRow(name, kind) {
    const root = el("div", "row");
    root.setAttribute("role", "row");
    root.dataset.name = name;
    root.dataset.kind = kind;
    const cell = (cls, label) => {
      const c = el("span", cls);
      c.setAttribute("role", "cell");
      if (label) c.dataset.label = label;
      root.append(c);
      return c;
    };
    const nameCell = cell("c-name");
    const title = el("div", "title");
    const r = { root, light: el("span", "light"), name: el("span", "name", name), status: el("span", "tag") };
    title.append(r.light, r.name, r.status);
    if (kind === "pool") title.append(el("span", "tag", "pool"));
    r.sub = el("div", "reason");
    r.reason = el("div", "reason why");
    nameCell.append(title, r.reason, r.sub);
    const spark = cell("c-spark");
    r.spark = svgEl("svg", { viewBox: "0 0 59 20", preserveAspectRatio: "none", role: "img" });
    r.sparkNow = el("span", "now");
    spark.append(r.spark, r.sparkNow);
    r.strip = svgEl("svg", { viewBox: "0 0 96 1", preserveAspectRatio: "none", role: "img" });
    cell("c-strip").append(r.strip);
    r.avail = {};
    for (const w of ["24h", "7d", "30d", "90d"]) r.avail[w] = cell("c-num", w);
    r.ttft = cell("c-num c-ttft", "TTFT p50");
    r.tps = cell("c-num c-tps", "tokens/s");
    return r;
  }

  function entries(detailed) {
    const targets = new Map(detailed.targets.map((t) => [t.target, t]));
    const listed = [];
    const placed = new Set();
    const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
    for (const pool of [...detailed.pools].sort((a, b) => byName(a.pool, b.pool))) {
      listed.push({ name: pool.pool, kind: "pool", data: pool, member: false });
      for (const m of [...pool.members].sort(byName)) {
        if (targets.has(m) && !placed.has(m)) {
          listed.push({ name: m, kind: "target", data: targets.get(m), member: true });
          placed.add(m);
        }
      }
    }
    for (const name of [...targets.keys()].sort(byName)) {
      if (!placed.has(name)) listed.push({ name, kind: "target", data: targets.get(name), member: false });
    }
    return listed;
  }

  function setStatus(r, status, reason) {
    r.root.dataset.status = status;
    setLight(r.light, status);
    r.status.textContent = words(status);
    if (reason !== undefined) {
      r.reason.textContent = reason;
      r.reason.title = reason;
    }
  }

  function renderRows() {
    const box = $("rows");
    const listed = entries(state.detailed);
    const seen = new Set();
    listed.forEach((e, i) => {
      let r = rows.get(e.name);
      if (!r || r.root.dataset.kind !== e.kind) {
        if (r) r.root.remove();
        r = makeRow(e.name, e.kind);
        rows.set(e.name, r);
      }
      seen.add(e.name);
      if (box.children[i] !== r.root) box.insertBefore(r.root, box.children[i] || null);
      r.root.classList.toggle("member", e.member);
      const d = e.data;
      setStatus(r, d.status, d.reason);
      r.sub.textContent = e.kind === "pool" ? `${d.members.length} members`
        : [d.provider, d.model].filter(Boolean).join(" · ");
      r.ttft.textContent = e.kind === "pool" ? "–" : seconds(d.ttft_s && d.ttft_s.p50);
      const tps = e.kind === "pool" ? null : d.tokens_per_second_p50;
      r.tps.textContent = tps === null || tps === undefined ? "–" : `${Math.round(tps)}/s`;
      renderSeries(r, e.name, d.status);
    });
    for (const [name, r] of rows) {
      if (!seen.has(name)) {
        r.root.remove();
        rows.delete(name);
      }
    }
    if (!performance.getEntriesByName(ROWS_MARK).length) performance.mark(ROWS_MARK);
  }

  function renderSeries(r, name, status) {
    const s = state.series.get(name) || null;
    if (r.drawn && r.drawn.s === s && r.drawn.status === status) return;
    r.drawn = { s, status };
    for (const w of Object.keys(r.avail)) r.avail[w].textContent = percent(s && s.availability[w]);
    drawSpark(r, s);
    drawStrip(r, s, status);
  }

  function drawSpark(r, s) {
    r.spark.replaceChildren();
    const p50 = s ? s.latency_p50_s : [];
    const p90 = s ? s.latency_p90_s : [];
    const known = [...p50, ...p90].filter((v) => v !== null);
    const last = [...p50].reverse().find((v) => v !== null);
    r.sparkNow.textContent = last === undefined ? "no data" : seconds(last);
    if (!known.length) return;
    const top = Math.max(...known) || 1;
    const path = (values) => {
      let d = "";
      let open = false;
      values.forEach((v, i) => {
        if (v === null) { open = false; return; }
        d += `${open ? "L" : "M"}${i} ${(19 - (v / top) * 18).toFixed(2)}`;
        if (!open && (i + 1 >= values.length || values[i + 1] === null)) d += "h0.01";
        open = true;
      });
      return d;
    };
    const title = svgEl("title");
    title.textContent = `latency per minute, last hour: p50 ${seconds(Math.min(...p50.filter((v) => v !== null)))}`
      + ` to ${seconds(Math.max(...p50.filter((v) => v !== null)))}, p90 up to ${seconds(top)}`;
    r.spark.append(title, svgEl("path", { d: path(p90), class: "spark90" }),
      svgEl("path", { d: path(p50), class: "spark50" }));
  }

  function drawStrip(r, s, status) {
    r.strip.replaceChildren();
    if (!s) return;
    const segments = [...s.strip];
    segments[segments.length - 1] = worst(segments[segments.length - 1], status);
    const start = Date.parse(state.overview.strip_start);
    const step = state.overview.strip_step_s * 1000;
    let from = 0;
    for (let i = 1; i <= segments.length; i += 1) {
      if (i < segments.length && segments[i] === segments[from]) continue;
      const rect = svgEl("rect", { x: from, y: 0, width: i - from, height: 1,
        class: `seg${segments[from] ? ` status-${segments[from]}` : ""}` });
      const title = svgEl("title");
      const t0 = new Date(start + from * step).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const t1 = new Date(start + i * step).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      title.textContent = `${t0}–${t1}: ${segments[from] ? words(segments[from]) : "no status"}`;
      rect.append(title);
      r.strip.append(rect);
      from = i;
    }
  }

  /* ---- header and incidents ---- */

  function renderHeader() {
    const { summary, detailed } = state;
    if (summary) {
      setLight($("overall-light"), summary.overall);
      $("overall").textContent = words(summary.overall);
      document.body.dataset.overall = summary.overall;
      const counts = $("counts");
      counts.replaceChildren();
      for (const status of WORST_FIRST.slice().reverse()) {
        const n = summary.counts[status];
        if (!n) continue;
        const li = el("li");
        const light = el("span");
        setLight(light, status);
        li.append(light, el("span", "", `${n} ${words(status)}`));
        counts.append(li);
      }
    }
    if (detailed) {
      const at = detailed.freshness.evaluated_at;
      document.body.dataset.evaluatedAt = at || "";
      $("evaluated-at").textContent = at ? `${clock(at)} (${ago(at)} ago)` : "not yet";
      if (at) $("evaluated-at").dateTime = at;
    }
  }

  function renderIncidents() {
    const d = state.detailed;
    const open = [
      ...d.pools.map((p) => ({ name: p.pool, kind: "pool", ...p })),
      ...d.targets.map((t) => ({ name: t.target, kind: "target", ...t })),
    ].filter((x) => x.status !== "healthy");
    open.sort((a, b) => WORST_FIRST.indexOf(a.status) - WORST_FIRST.indexOf(b.status)
      || (a.status_since || "").localeCompare(b.status_since || "") || a.name.localeCompare(b.name));
    const list = $("incidents");
    list.replaceChildren();
    for (const x of open) {
      const li = el("li");
      li.dataset.name = x.name;
      li.dataset.status = x.status;
      const light = el("span");
      setLight(light, x.status);
      const since = el("span", "since", x.status_since ? `for ${ago(x.status_since)}` : "");
      if (x.status_since) since.title = `since ${clock(x.status_since)}`;
      li.append(light, el("span", "name", x.kind === "pool" ? `${x.name} (pool)` : x.name),
        el("span", "", words(x.status)), since, el("span", "reason", x.reason));
      list.append(li);
    }
    $("no-incidents").hidden = open.length > 0;
  }

  function renderLive() {
    const now = Date.now();
    const interval = state.detailed ? state.detailed.freshness.stale_after_s / 3 : 2;
    const silentMs = Math.max(10000, interval * 2500);
    const streaming = state.source && state.source.readyState === EventSource.OPEN
      && now - state.lastMessage < silentMs;
    let mode = "reconnecting";
    let text = "reconnecting: polling every 5 s";
    if (state.detailed && state.detailed.freshness.stale) {
      mode = "stale";
      text = "stale data";
    } else if (!state.detailed && !state.failed) {
      mode = "connecting";
      text = "connecting";
    } else if (streaming && !state.failed) {
      mode = "live";
      text = "live";
    }
    document.body.dataset.live = mode;
    $("live").textContent = text;
    return streaming;
  }

  function render() {
    if (state.detailed) {
      renderRows();
      renderIncidents();
    }
    renderHeader();
    renderLive();
  }

  /* ---- data ---- */

  async function refresh() {
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    state.lastPoll = Date.now();
    try {
      const [detailed, summary] = await Promise.all([
        getJSON("/api/health/detailed"), getJSON("/api/health/summary")]);
      Object.assign(state, { detailed, summary, failed: false });
    } catch (err) {
      state.failed = true;
    } finally {
      state.busy = false;
    }
    render();
    if (state.again) {
      state.again = false;
      refresh();
    }
  }

  async function loadOverview() {
    state.lastOverview = Date.now();
    try {
      const overview = await getJSON("/api/health/overview");
      state.overview = overview;
      state.series = new Map([...overview.targets, ...overview.pools].map((x) => [x.name, x]));
      render();
    } catch (err) {
      /* the store cannot answer now: keep the series shown, try again in OVERVIEW_MS */
    }
  }

  function connect() {
    if (!window.EventSource) return;
    const source = new EventSource("/api/health/stream");
    state.source = source;
    const heard = () => { state.lastMessage = Date.now(); };
    source.onopen = () => { heard(); renderLive(); };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        state.source = null;
        state.closedAt = Date.now();
      }
      renderLive();
    };
    source.addEventListener("status", (event) => {
      heard();
      const change = JSON.parse(event.data);
      const r = rows.get(change.target);
      if (r) setStatus(r, change.status, change.reason);
      refresh();
    });
    source.addEventListener("breaker", heard);
    source.addEventListener("evaluated", () => { heard(); refresh(); });
  }

  function tick() {
    const now = Date.now();
    const streaming = renderLive();
    if (!streaming && now - state.lastPoll >= POLL_MS) refresh();
    if (now - state.lastOverview >= OVERVIEW_MS) loadOverview();
    if (!state.source && now - state.closedAt >= REOPEN_MS) connect();
    if (state.detailed) {
      renderHeader();
      renderIncidents();
    }
  }

  connect();
  refresh();
  loadOverview();
  setInterval(tick, 1000);
})();
