/**
 * The status page served at `/`: one self-contained HTML document (inline
 * CSS and script, no external resource, works offline). It polls
 * `api/status` every 2 s and draws, per pipeline: totals, records/s over the
 * last hour (inline SVG), queue lag per partition, last file, recent
 * quarantines with reasons, and a partition browser (rows per hour per
 * table). Data is inserted with textContent only (file names and reasons
 * come from inputs).
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spot-ingest status</title>
<style>
  :root { --fg:#1d2630; --mute:#66707a; --line:#d9dee3; --bg:#f6f7f9; --card:#fff; --accent:#2b6cb0; --bad:#c53030; --ok:#2f855a; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:#1d2630; color:#fff; }
  header h1 { font-size:18px; margin:0; }
  header .meta { color:#b8c2cc; font-size:12px; }
  #conn.bad { color:#feb2b2; }
  main { padding:16px 24px; display:grid; gap:20px; }
  section.pipeline { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px 20px; }
  section.pipeline h2 { margin:0 0 12px; font-size:17px; }
  section.pipeline h2 .type { color:var(--mute); font-weight:normal; font-size:13px; margin-left:6px; }
  h3 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--mute); margin:16px 0 6px; }
  .tiles { display:grid; grid-template-columns:repeat(auto-fill, minmax(140px, 1fr)); gap:10px; }
  .tile { border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
  .tile .v { font-size:20px; font-weight:600; font-variant-numeric:tabular-nums; }
  .tile .k { color:var(--mute); font-size:12px; }
  .tile.warn .v { color:var(--bad); }
  .row2 { display:grid; grid-template-columns:minmax(0,2fr) minmax(0,1fr); gap:20px; }
  @media (max-width: 900px) { .row2 { grid-template-columns:1fr; } }
  svg.chart { width:100%; height:160px; display:block; }
  svg.chart .bar { fill:var(--accent); }
  svg.chart text { fill:var(--mute); font-size:10px; }
  svg.chart line { stroke:var(--line); }
  table { border-collapse:collapse; width:100%; font-size:13px; }
  th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { color:var(--mute); font-weight:600; }
  td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
  td.reason { color:var(--bad); word-break:break-word; }
  .browser { max-height:320px; overflow:auto; }
  .fill { display:inline-block; height:8px; background:var(--accent); opacity:.35; border-radius:2px; vertical-align:middle; margin-left:6px; }
  .empty { color:var(--mute); font-style:italic; }
  .last { word-break:break-all; }
  select { font:inherit; }
</style>
</head>
<body>
<header><h1>spot-ingest</h1><span class="meta" id="updated">loading…</span><span class="meta" id="conn"></span></header>
<main id="pipelines"></main>
<script>
"use strict";
const fmt = new Intl.NumberFormat("en-US");
const num = (n) => fmt.format(Math.round(n));
const filters = new Map();
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}
function tile(key, value, testid, warn) {
  return el("div", { class: "tile" + (warn ? " warn" : ""), "data-testid": testid }, el("div", { class: "v" }, value), el("div", { class: "k" }, key));
}
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
function chart(perMinute) {
  const W = 600, H = 160, L = 44, B = 18, T = 8;
  const rates = perMinute.map((m) => m.rows / 60);
  const max = Math.max(1, ...rates);
  const s = svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", "data-testid": "chart", role: "img", "aria-label": "records per second, last hour" });
  for (const f of [0, 0.5, 1]) {
    const y = T + (H - B - T) * (1 - f);
    s.append(svg("line", { x1: L, x2: W, y1: y, y2: y }));
    s.append(svg("text", { x: L - 4, y: y + 3, "text-anchor": "end" }, num(max * f)));
  }
  const bw = (W - L) / rates.length;
  rates.forEach((r, i) => {
    const h = (H - B - T) * (r / max);
    const bar = svg("rect", { class: "bar", x: L + i * bw + 0.5, y: H - B - h, width: Math.max(1, bw - 1), height: h });
    bar.append(svg("title", {}, new Date(perMinute[i].t).toISOString().slice(11, 16) + " UTC: " + num(r) + " records/s"));
    s.append(bar);
  });
  s.append(svg("text", { x: L, y: H - 4 }, "-60 min"));
  s.append(svg("text", { x: W, y: H - 4, "text-anchor": "end" }, "now"));
  s.append(svg("text", { x: L + (W - L) / 2, y: H - 4, "text-anchor": "middle" }, "records/s per minute"));
  return s;
}
function lagTable(p) {
  if (p.partitions.length === 0) return el("p", { class: "empty" }, "no queue topic yet");
  return el("table", { "data-testid": "lag" },
    el("thead", {}, el("tr", {}, el("th", {}, "partition"), el("th", { class: "num" }, "committed"), el("th", { class: "num" }, "end"), el("th", { class: "num" }, "lag"))),
    el("tbody", {}, ...p.partitions.map((b) => el("tr", {}, el("td", {}, b.partition), el("td", { class: "num" }, num(b.committed)), el("td", { class: "num" }, num(b.end)), el("td", { class: "num" }, num(b.lag))))));
}
function quarantineTable(p) {
  if (p.quarantine.length === 0) return el("p", { class: "empty", "data-testid": "quarantine" }, "nothing quarantined");
  return el("table", { "data-testid": "quarantine" },
    el("thead", {}, el("tr", {}, el("th", {}, "when"), el("th", {}, "what"), el("th", {}, "input"), el("th", {}, "reason"), el("th", { class: "num" }, "records"))),
    el("tbody", {}, ...p.quarantine.map((q) => el("tr", {}, el("td", {}, ago(q.at)), el("td", {}, q.kind), el("td", { class: "last" }, q.name), el("td", { class: "reason" }, q.reason), el("td", { class: "num" }, q.kind === "lines" ? num(q.count) : "")))));
}
function browser(p) {
  const tables = [...new Set(p.hours.map((h) => h.table))];
  const chosen = filters.get(p.pipeline) || "";
  const select = el("select", { "data-testid": "table-filter" }, el("option", { value: "" }, "all tables"), ...tables.map((t) => el("option", { value: t }, t)));
  select.value = tables.includes(chosen) ? chosen : "";
  select.addEventListener("change", () => { filters.set(p.pipeline, select.value); refresh(); });
  const hours = p.hours.filter((h) => !select.value || h.table === select.value);
  const max = Math.max(1, ...hours.map((h) => h.rows));
  const body = hours.length === 0 ? el("p", { class: "empty" }, "no partition written yet") : el("table", { "data-testid": "hours" },
    el("thead", {}, el("tr", {}, el("th", {}, "table"), el("th", {}, "hour (UTC)"), el("th", { class: "num" }, "parts"), el("th", { class: "num" }, "rows"), el("th", {}, ""), el("th", {}, "last write"))),
    el("tbody", {}, ...hours.map((h) => el("tr", { "data-dir": h.dir }, el("td", {}, h.table), el("td", {}, h.hour), el("td", { class: "num" }, h.parts), el("td", { class: "num" }, num(h.rows)),
      el("td", {}, el("span", { class: "fill", style: "width:" + Math.max(2, Math.round(80 * h.rows / max)) + "px" })), el("td", {}, ago(h.writtenAt))))));
  return el("div", {}, el("div", {}, select), el("div", { class: "browser" }, body));
}
function countsTable(p) {
  const entries = Object.entries(p.dissectorCounts || {});
  if (entries.length === 0) return el("p", { class: "empty", "data-testid": "counts" }, "none");
  return el("table", { "data-testid": "counts" },
    el("thead", {}, el("tr", {}, el("th", {}, "counter"), el("th", { class: "num" }, "count"))),
    el("tbody", {}, ...entries.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, num(v))))));
}
function listenTable(p) {
  const l = p.listen;
  if (!l) return el("p", { class: "empty", "data-testid": "listen" }, "listener not started yet");
  return el("div", { "data-testid": "listen" },
    el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "socket"), el("th", { class: "num" }, "receive buffer"), el("th", { class: "num" }, "kernel drops"))),
      el("tbody", {}, ...l.sockets.map((s) => el("tr", {}, el("td", {}, s.listen), el("td", { class: "num" }, num(s.receiveBufferBytes)), el("td", { class: "num" }, num(s.kernelDrops)))))),
    el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "exporter"), el("th", {}, "protocol"), el("th", { class: "num" }, "domain"), el("th", { class: "num" }, "datagrams"), el("th", { class: "num" }, "lost (sequence)"), el("th", { class: "num" }, "undecodable"), el("th", {}, "last"))),
      el("tbody", {}, ...l.exporters.map((e) => el("tr", {}, el("td", {}, e.exporter), el("td", {}, e.label), el("td", { class: "num" }, e.domain), el("td", { class: "num" }, num(e.datagrams)), el("td", { class: "num" }, num(e.sequenceLost)), el("td", { class: "num" }, num(e.undecodable)), el("td", {}, ago(e.lastMs)))))));
}
function section(p) {
  return el("section", { class: "pipeline", "data-pipeline": p.pipeline },
    el("h2", {}, p.pipeline, el("span", { class: "type" }, "table " + p.type + " · " + p.collectorPath)),
    el("div", { class: "tiles" },
      tile("records written", num(p.recordsWritten), "records-written"),
      tile("records/s (last min)", num(p.recordsPerSecond), "rate"),
      tile("files ingested", num(p.filesQueued), "files-ingested"),
      tile("files in progress", num(p.filesInProgress), "files-in-progress"),
      tile("files quarantined", num(p.filesQuarantined), "files-quarantined", p.filesQuarantined > 0),
      tile("records rejected", num(p.recordsRejected), "records-rejected", p.recordsRejected > 0),
      tile("symlinks / special files skipped", num(p.symlinksSkipped) + " / " + num(p.specialFilesSkipped), "inputs-skipped", p.symlinksSkipped + p.specialFilesSkipped > 0),
      tile("queue backlog (messages)", num(p.backlogMessages), "backlog", p.backlogMessages > 0),
      tile("Parquet parts", num(p.partsWritten), "parts")),
    el("div", { class: "row2" },
      el("div", {}, el("h3", {}, "records/s, last hour"), chart(p.perMinute)),
      el("div", {}, el("h3", {}, "consumer lag"), lagTable(p),
        el("h3", {}, "last file ingested"),
        p.lastFile ? el("div", { class: "last", "data-testid": "last-file" }, p.lastFile.name, el("div", { class: "k" }, ago(p.lastFile.at))) : el("p", { class: "empty", "data-testid": "last-file" }, "none yet"))),
    ...(p.listen ? [el("h3", {}, "live collection"), listenTable(p)] : []),
    el("h3", {}, "recent quarantines"), quarantineTable(p),
    el("h3", {}, "dissector counts (not rejections: skipped lines, values out of range, ...)"), countsTable(p),
    el("h3", {}, "partition browser: rows per hour"), browser(p));
}
let last = null;
function render() {
  if (!last) return;
  const root = document.getElementById("pipelines");
  const y = window.scrollY;
  root.replaceChildren(...last.pipelines.map(section));
  window.scrollTo(0, y);
  document.getElementById("updated").textContent = "updated " + new Date(last.generatedAt).toLocaleTimeString();
}
async function refresh() {
  try {
    const res = await fetch("api/status", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    last = await res.json();
    document.getElementById("conn").textContent = "";
    document.getElementById("conn").className = "meta";
  } catch (err) {
    document.getElementById("conn").textContent = "not reachable: " + err.message;
    document.getElementById("conn").className = "meta bad";
  }
  render();
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
