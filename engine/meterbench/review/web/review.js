// The page of `meterbench review`: the inventory of incidents, one incident with its series' expected range, the
// two verdicts and the action log. Every text from the data goes into the page as text (textContent), never as
// HTML, so a customer or meter name cannot inject markup.
"use strict";

const PAGE_SIZE = 50;
const state = { session: null, page: 0, actionsPage: 0, incident: null, chart: null };

const $ = (id) => document.getElementById(id);

// An element with attributes and children; string children become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  return node;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function postJson(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": state.session.csrf_token },
    body: JSON.stringify(body),
  });
}

function money(value, currency) {
  if (value === null || value === undefined) return "unknown";
  return `${value.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })} ${currency || "USD"}`;
}

function number(value) {
  return value === null || value === undefined ? "" : Number(value).toLocaleString("en-US", { maximumFractionDigits: 3 });
}

function statusText(row) {
  if (!row.verdict) return "Not reviewed";
  return row.verdict.verdict === "anomaly" ? "Anomaly" : "Not an anomaly";
}

function statusCell(row) {
  return el("td", { class: row.verdict ? `status-${row.verdict.verdict}` : "" }, statusText(row));
}

function actByCell(row) {
  const overdue = row.days_left < 0 && !row.verdict;
  return el("td", { class: overdue ? "overdue" : "", title: `first reported ${row.first_reported}` }, row.act_by);
}

// ------------------------------------------------------------------------------------------------ inventory

function filterParams() {
  const params = new URLSearchParams();
  params.set("min_impact", $("f-impact").value);
  params.set("days", $("f-days").value);
  params.set("status", $("f-status").value);
  for (const name of ["offer", "meter", "customer", "kind", "direction"]) {
    const value = $(`f-${name}`).value.trim();
    if (value) params.set(name, value);
  }
  params.set("page", String(state.page));
  params.set("page_size", String(PAGE_SIZE));
  return params;
}

async function loadInventory() {
  const result = await api(`/api/incidents?${filterParams()}`);
  const rows = $("inventory-rows");
  rows.replaceChildren();
  for (const row of result.rows) {
    const open = () => { location.hash = `#incident/${row.id}`; };
    const tr = el("tr", { class: "link", "data-id": row.id, onclick: open },
      el("td", { class: "num" }, money(row.impact, row.currency)), el("td", {}, row.customer), el("td", {}, row.meter),
      el("td", { class: "offer-col" }, row.offer), el("td", {}, row.kind), el("td", {}, row.direction),
      el("td", {}, row.start), el("td", {}, row.end), el("td", { class: "num" }, number(row.days)), actByCell(row), statusCell(row));
    rows.append(tr);
  }
  const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
  $("inventory-count").textContent = `${result.total.toLocaleString("en-US")} incidents`;
  $("page-text").textContent = `page ${state.page + 1} of ${pages}`;
  $("page-prev").disabled = state.page === 0;
  $("page-next").disabled = state.page + 1 >= pages;
  document.body.dataset.inventoryTotal = String(result.total);
  if (window.inventoryReadyMs === undefined) window.inventoryReadyMs = performance.now();
}

// ------------------------------------------------------------------------------------------------ one incident

function fact(name, value) {
  return el("tr", {}, el("td", { class: "muted" }, name), el("td", {}, value));
}

function showIncidentFacts(f) {
  $("incident-title").textContent = `${f.customer} / ${f.meter}: ${f.kind}, ${money(f.impact, f.currency)}`;
  const facts = $("incident-facts").tBodies[0];
  facts.replaceChildren(fact("Customer", f.customer), fact("Meter", f.meter), ...(f.offer ? [fact("Offer", f.offer)] : []),
    fact("Kind", f.kind), fact("Direction", f.direction), fact("Period", `${f.start} to ${f.end} (${number(f.days)} days)`),
    fact("Observed usage", number(f.observed_total)), fact("Expected usage", number(f.expected_total)),
    fact("Impact", money(f.impact, f.currency)), fact("Peak score", number(f.peak_score)));
  const window_ = state.session.action_window_days;
  const left = f.days_left >= 0 ? `${f.days_left} days left as of ${state.session.dataset.as_of}` : `overdue by ${-f.days_left} days as of ${state.session.dataset.as_of}`;
  $("incident-window").textContent = `First reported ${f.first_reported}: to be acted on within ${window_} days, by ${f.act_by} (${left}).`;
  const status = $("incident-status");
  status.replaceChildren();
  if (f.verdict) {
    const v = f.verdict;
    const what = v.verdict === "anomaly" ? `Marked as anomaly (corrected usage ${number(v.corrected_usage)})` : `Not an anomaly: ${v.reason}`;
    status.append(el("span", { class: `status-${v.verdict}` }, what), ` by ${v.user} at ${v.time}`);
  } else {
    status.textContent = "Not reviewed yet.";
  }
  const locked = f.verdict && f.verdict.verdict === "anomaly";
  $("mark-not-anomaly").disabled = !!locked;
  $("rule-note").textContent = locked ? "Marked as an anomaly: it cannot be changed to \"not an anomaly\"." : "";
}

function showNeighbours(document_) {
  const rows = $("neighbour-rows");
  rows.replaceChildren();
  const all = [document_.incident, ...document_.neighbours].sort((a, b) => a.start_seconds - b.start_seconds);
  for (const row of all) {
    const attrs = row.id === document_.incident.id ? { class: "current" } : { class: "link", onclick: () => { location.hash = `#incident/${row.id}`; } };
    rows.append(el("tr", attrs, el("td", { class: "num" }, money(row.impact, row.currency)), el("td", {}, row.kind),
      el("td", {}, row.start), el("td", {}, row.end), statusCell(row)));
  }
}

async function loadIncident(id) {
  const document_ = await api(`/api/incidents/${encodeURIComponent(id)}`);
  state.incident = document_;
  showIncidentFacts(document_.incident);
  showNeighbours(document_);
  const fit = document_.range && document_.range.fit_status !== "ok" ? `The detector's fit of this series: ${document_.range.fit_status}.` : "";
  $("range-problem").hidden = !(document_.range_problem || fit);
  $("range-problem").textContent = document_.range_problem || fit;
  drawChart(document_);
}

// The service's drawing: the expected range as a yellow band, usage inside it as green stars, outside it as red
// dots; the incident (red) and the series' other incidents (grey) as shaded spans.
function drawChart(document_) {
  if (state.chart) { state.chart.destroy(); state.chart = null; }
  const box = $("chart");
  box.replaceChildren();
  delete box.dataset.drawn;
  const range = document_.range;
  if (!range) return;
  const n = range.observed.length;
  const x = new Array(n), inside = new Array(n), outside = new Array(n);
  for (let i = 0; i < n; ++i) {
    x[i] = range.start_seconds + i * range.step_seconds;
    const y = range.observed[i], lo = range.lower[i], hi = range.upper[i];
    const within = y !== null && lo !== null && hi !== null && y >= lo && y <= hi;
    inside[i] = within ? y : null;
    outside[i] = y !== null && !within ? y : null;
  }
  const spans = [document_.incident, ...document_.neighbours].map((f) => ({
    from: f.start_seconds, to: f.end_seconds + range.step_seconds, current: f.id === document_.incident.id }));
  const markers = { inside: 0, outside: 0 };
  const options = {
    width: Math.max(600, box.clientWidth || 900), height: 360,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [{}, { size: 90, values: (u, ticks) => ticks.map((v) => v.toLocaleString("en-US", { notation: "compact", maximumFractionDigits: 3 })) }],
    series: [
      {},
      { label: "lower", stroke: "rgba(230, 180, 0, 0.9)", width: 1, points: { show: false } },
      { label: "upper", stroke: "rgba(230, 180, 0, 0.9)", width: 1, points: { show: false } },
      { label: "expected", stroke: "rgba(150, 120, 0, 0.6)", width: 1, dash: [4, 4], points: { show: false } },
      { label: "usage inside", stroke: "#1a9e1a", paths: () => null, points: { show: false } },
      { label: "usage outside", stroke: "#d11", paths: () => null, points: { show: false } },
    ],
    bands: [{ series: [2, 1], fill: "rgba(255, 204, 0, 0.35)" }],
    hooks: {
      drawAxes: [(u) => drawSpans(u, spans)],
      draw: [(u) => {
        markers.inside = drawMarkers(u, 4, "#1a9e1a", star);
        markers.outside = drawMarkers(u, 5, "#d11", dot);
        box.dataset.drawn = String(markers.inside + markers.outside);
        box.dataset.inside = String(markers.inside);
        box.dataset.outside = String(markers.outside);
      }],
    },
  };
  state.chart = new uPlot(options, [x, range.lower, range.upper, range.expected, inside, outside], box);
  state.chartSpan = { from: x[0], to: x[n - 1], incident: spans.find((s) => s.current) };
}

function drawSpans(u, spans) {
  const ctx = u.ctx;
  const top = u.bbox.top, height = u.bbox.height;
  ctx.save();
  for (const span of spans) {
    const a = u.valToPos(span.from, "x", true), b = u.valToPos(span.to, "x", true);
    if (b < u.bbox.left || a > u.bbox.left + u.bbox.width) continue;
    ctx.fillStyle = span.current ? "rgba(220, 60, 60, 0.15)" : "rgba(120, 120, 120, 0.15)";
    ctx.strokeStyle = span.current ? "rgba(220, 60, 60, 0.6)" : "rgba(120, 120, 120, 0.5)";
    ctx.fillRect(a, top, Math.max(2, b - a), height);
    ctx.strokeRect(a, top, Math.max(2, b - a), height);
  }
  ctx.restore();
}

function star(ctx, x, y, r) {
  ctx.beginPath();
  for (let k = 0; k < 10; ++k) {
    const radius = k % 2 === 0 ? r : r * 0.45;
    const angle = -Math.PI / 2 + (k * Math.PI) / 5;
    ctx.lineTo(x + radius * Math.cos(angle), y + radius * Math.sin(angle));
  }
  ctx.closePath();
  ctx.fill();
}

function dot(ctx, x, y, r) {
  ctx.beginPath();
  ctx.arc(x, y, r * 0.7, 0, 2 * Math.PI);
  ctx.fill();
}

// Draws series `s`'s points within the visible x range; returns how many.
function drawMarkers(u, s, color, shape) {
  const ctx = u.ctx, xs = u.data[0], ys = u.data[s];
  const min = u.scales.x.min, max = u.scales.x.max;
  const r = 5 * devicePixelRatio;
  let count = 0;
  ctx.save();
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  for (let i = 0; i < xs.length; ++i) {
    if (ys[i] === null || xs[i] < min || xs[i] > max) continue;
    shape(ctx, u.valToPos(xs[i], "x", true), u.valToPos(ys[i], "y", true), r);
    ++count;
  }
  ctx.restore();
  return count;
}

function zoomToIncident() {
  if (!state.chart || !state.chartSpan) return;
  const { incident } = state.chartSpan;
  const pad = Math.max(14 * 86400, (incident.to - incident.from) * 2);
  state.chart.setScale("x", { min: incident.from - pad, max: incident.to + pad });
}

function zoomAll() {
  if (state.chart && state.chartSpan) state.chart.setScale("x", { min: state.chartSpan.from, max: state.chartSpan.to });
}

// ------------------------------------------------------------------------------------------------ verdicts

function openDialog(id) {
  $("anomaly-error").textContent = "";
  $("not-anomaly-error").textContent = "";
  $(id).showModal();
}

async function submitVerdict(body, dialog, errorBox) {
  try {
    await postJson(`/api/incidents/${state.incident.incident.id}/verdict`, body);
    $(dialog).close();
    await loadIncident(state.incident.incident.id);
  } catch (e) {
    $(errorBox).textContent = e.message;
  }
}

// ------------------------------------------------------------------------------------------------ action log

async function loadActions() {
  const result = await api(`/api/actions?page=${state.actionsPage}&page_size=100`);
  $("actions-file").textContent = `Feedback file: ${state.session.feedback_file} (${result.total} actions, newest first)`;
  const rows = $("action-rows");
  rows.replaceChildren();
  for (const r of result.rows) {
    rows.append(el("tr", { "data-seq": r.seq }, el("td", {}, r.seq), el("td", {}, r.time), el("td", {}, r.user),
      el("td", { class: `status-${r.verdict}` }, r.verdict === "anomaly" ? "Marked as anomaly" : "Not an anomaly"),
      el("td", {}, r.customer), el("td", {}, r.meter), el("td", {}, r.start), el("td", {}, r.end),
      el("td", { class: "num" }, number(r.corrected_usage)), el("td", {}, r.reason)));
  }
  const pages = Math.max(1, Math.ceil(result.total / 100));
  $("actions-page-text").textContent = `page ${state.actionsPage + 1} of ${pages}`;
  $("actions-prev").disabled = state.actionsPage === 0;
  $("actions-next").disabled = state.actionsPage + 1 >= pages;
  showProblems(result.problems);
}

function showProblems(problems) {
  const box = $("problems");
  box.replaceChildren();
  box.hidden = !problems.length;
  if (!problems.length) return;
  box.append(`The feedback file ${state.session.feedback_file} has ${problems.length} damaged line(s), skipped: `);
  box.append(problems.slice(0, 10).map((p) => `line ${p.line}: ${p.reason}`).join("; "));
}

// ------------------------------------------------------------------------------------------------ routing

async function route() {
  showError("");
  const hash = location.hash || "#inventory";
  const incident = /^#incident\/(\d+)$/.exec(hash);
  const view = incident ? "incident" : hash === "#actions" ? "actions" : "inventory";
  for (const name of ["inventory", "incident", "actions"]) $(`view-${name}`).hidden = name !== view;
  try {
    if (view === "incident") await loadIncident(incident[1]);
    else if (view === "actions") await loadActions();
    else await loadInventory();
  } catch (e) {
    showError(e.message);
  }
}

async function start() {
  try {
    state.session = await api("/api/session");
  } catch (e) {
    showError(`cannot start: ${e.message}`);
    return;
  }
  const s = state.session;
  $("dataset-line").textContent = `${s.incidents} incidents from ${s.incidents_file}; dataset ${s.dataset.path} ` +
    `(${s.dataset.series} series, ${s.dataset.start}, step ${s.dataset.step}, data until ${s.dataset.as_of}); model ${s.model}; reviewer ${s.user}`;
  for (const kind of s.kinds) $("f-kind").append(el("option", { value: kind }, kind));
  if (!s.has_offer) {
    $("f-offer-label").hidden = true;
    document.body.classList.add("no-offer");  // hides the offer column (review.css)
  }
  showProblems(s.feedback_problems);
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); state.page = 0; route(); });
  for (const id of ["f-impact", "f-days", "f-status", "f-kind", "f-direction"]) $(id).addEventListener("change", () => { state.page = 0; route(); });
  $("page-prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); loadInventory().catch((e) => showError(e.message)); });
  $("page-next").addEventListener("click", () => { state.page += 1; loadInventory().catch((e) => showError(e.message)); });
  $("actions-prev").addEventListener("click", () => { state.actionsPage = Math.max(0, state.actionsPage - 1); loadActions(); });
  $("actions-next").addEventListener("click", () => { state.actionsPage += 1; loadActions(); });
  $("mark-anomaly").addEventListener("click", () => {
    $("corrected-usage").value = state.incident.incident.expected_total;
    openDialog("dialog-anomaly");
  });
  $("mark-not-anomaly").addEventListener("click", () => { $("not-anomaly-reason").value = ""; openDialog("dialog-not-anomaly"); });
  $("anomaly-cancel").addEventListener("click", () => $("dialog-anomaly").close());
  $("not-anomaly-cancel").addEventListener("click", () => $("dialog-not-anomaly").close());
  $("form-anomaly").addEventListener("submit", (e) => {
    e.preventDefault();
    const usage = Number($("corrected-usage").value);
    submitVerdict({ verdict: "anomaly", corrected_usage: usage }, "dialog-anomaly", "anomaly-error");
  });
  $("form-not-anomaly").addEventListener("submit", (e) => {
    e.preventDefault();
    submitVerdict({ verdict: "not_anomaly", reason: $("not-anomaly-reason").value }, "dialog-not-anomaly", "not-anomaly-error");
  });
  $("zoom-incident").addEventListener("click", zoomToIncident);
  $("zoom-all").addEventListener("click", zoomAll);
  window.addEventListener("hashchange", route);
  await route();
}

document.addEventListener("DOMContentLoaded", start);
