/* Floor plan upload: choose the file, CRS, mapping / georeference; the dry run is drawn on
   the map (rooms coloured by error / warning, numbers and areas labelled) with its report;
   rooms of the current version whose occupants match no new room are decided here; then
   the surveyor commits (Idempotency-Key: a retried click imports once). */
import {el, clear, append, busyWhile} from "./dom.js";
import {ApiError} from "./api.js";
import {field, input, notice, read, select, showError, clearMessages} from "./forms.js";

const cfg = JSON.parse(document.body.dataset.config);
const T = cfg.labels;
const lang = cfg.lang;
const map = window[cfg.mapName];
const app = document.getElementById("app");
// busy (aria-busy) while loading or saving
const loading = (promise) => busyWhile(app, promise);
const COLOURS = {error: "#d7301f", warning: "#f0a30a", ok: "#2c7fb8"};
let preview = null;
let lastReport = null;

if (cfg.bounds) { map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]]); }
read(`/api/v1/buildings/${cfg.buildingId}`).then(({data}) => {
  L.geoJSON(data, {style: {color: "#555", weight: 2, fill: false, dashArray: "4 4"}, interactive: false}).addTo(map);
}).catch(() => {});

const file = input({type: "file", accept: ".geojson,.json,.zip,.gpkg,.dxf,.imdf"});
const level = input({type: "number", value: cfg.level, min: -20, max: 200});
const crs = select(cfg.crsOptions.map((o) => [o.code, o.label]), cfg.crs);
const mapping = el("textarea", {placeholder: '{"number": "ROOM_NO", "category": "TYPE"}'});
const georef = el("textarea", {placeholder: '{"control_points": [{"local": [x, y], "target": [X, Y]}, …]}'});
const form = el("form", {id: "plan", novalidate: true},
  field("file", T.file, file), field("level", T.floor, level), field("crs", T.crs, crs),
  field("mapping", T.mapping, mapping), field("georef", T.georef, georef),
  el("p", {}, el("button", {type: "button", id: "dry-run", on: {click: () => loading(upload(true))}}, T.dry_run), " ",
    el("button", {type: "button", id: "commit", disabled: true, on: {click: () => loading(upload(false))}}, T.commit)));
const reportCard = el("section", {class: "om-card", id: "report"});
append(app, el("section", {class: "om-card"}, form), reportCard);

function formData(dryRun) {
  const data = new FormData();
  if (file.files[0]) { data.append("file", file.files[0]); }
  data.append("crs", crs.value);
  if (mapping.value.trim()) { data.append("mapping", mapping.value.trim()); }
  if (georef.value.trim()) { data.append("georef", georef.value.trim()); }
  if (dryRun) { data.append("dry_run", "true"); data.append("preview", "true"); }
  const decisions = {};
  for (const s of reportCard.querySelectorAll("select[data-old-room]")) {
    if (s.value !== "") { decisions[s.dataset.oldRoom] = s.value === "end" ? "end" : Number(s.value); }
  }
  if (Object.keys(decisions).length) { data.append("carry_over", JSON.stringify(decisions)); }
  return data;
}

/* The upload answers a report also when it rejects the plan (422, same shape). */
async function post(url, data, headers) {
  const response = await fetch(url, {method: "POST", body: data, credentials: "same-origin",
    headers: {Accept: "application/json", ...headers}});
  const body = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
  return {status: response.status, body};
}

async function upload(dryRun) {
  clearMessages(form);
  const url = `/api/v1/buildings/${cfg.buildingId}/floors/${Number(level.value)}/plan`;
  // a commit names the floor version it replaces (seen in the dry run): If-Match, or
  // If-None-Match: * for a level without a floor yet
  const previous = lastReport && lastReport.floor ? lastReport.floor.previous_version : null;
  const headers = dryRun ? {} : {"Idempotency-Key": crypto.randomUUID(),
    ...(previous ? {"If-Match": `"${previous}"`} : {"If-None-Match": "*"})};
  const {status, body} = await post(url, formData(dryRun), headers);
  if (status === 201) {
    clear(reportCard);
    notice(reportCard, "ok", T.imported + String(body.floor.version));
    document.getElementById("commit").disabled = true;
  } else if (body && Array.isArray(body.rooms)) {
    showReport(body);
  } else {
    showError(form, new ApiError(status, body), T, lang);
  }
}

function issueList(title, items, kind) {
  if (!items.length) { return null; }
  return el("div", {}, el("h3", {}, title, " (", String(items.length), ")"),
    el("ul", {}, items.map((i) => el("li", {class: "om-issue-" + kind},
      i.feature === null || i.feature === undefined ? "" : `#${i.feature} `, i.code, ": ", i.message))));
}

function carryOver(report) {
  const c = report.carry_over;
  if (!c) { return null; }
  const options = [["", "—"], ["end", T.end_uses],
    ...report.rooms.map((r) => [String(r.feature), `${T.to_feature} #${r.feature} ${r.number || ""}`])];
  const rows = [
    ...c.matched.map((m) => el("tr", {}, el("td", {}, `${m.old_room_id} ${m.old_number || ""}`),
      el("td", {}, `#${m.new_feature} ${m.new_number || ""}`), el("td", {}, m.by),
      el("td", {}, String(m.occupancies + m.leases + m.approved_uses + m.findings)))),
    ...[...c.unmatched, ...c.ended].map((u) => {
      const s = select(options, u.by === "end" ? "end" : "");
      s.dataset.oldRoom = String(u.old_room_id);
      return el("tr", {class: "om-issue-error"}, el("td", {}, `${u.old_room_id} ${u.old_number || ""}`),
        el("td", {}, s), el("td", {}, T.unmatched),
        el("td", {}, String(u.occupancies + u.leases + u.approved_uses + u.findings)));
    }),
  ];
  return el("div", {id: "carry-over"}, el("h3", {}, T.carry_over),
    el("table", {class: "om-table"},
      el("thead", {}, el("tr", {}, [T.old_room, T.new_room, T.by, T.occupancies].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)));
}

function draw(report) {
  if (preview) { preview.remove(); preview = null; }
  if (!report.preview) { return; }
  const labels = report.preview.features.length <= 400;
  preview = L.geoJSON(report.preview, {
    style: (f) => ({color: COLOURS[f.properties.issue], weight: 1.5, fillOpacity: 0.35}),
    onEachFeature: (f, layer) => {
      const text = `${f.properties.number || "#" + f.properties.feature} · ${f.properties.usable_area_m2.toFixed(2)} m²`;
      layer.bindTooltip(text, {permanent: labels, direction: "center", className: "om-room-label"});
    },
  }).addTo(map);
  if (preview.getBounds().isValid()) { map.fitBounds(preview.getBounds(), {maxZoom: 21}); }
}

function showReport(report) {
  lastReport = report;
  clear(reportCard);
  const f = report.floor || {};
  append(reportCard, el("h2", {}, T.report, " · ", report.status),
    el("p", {}, `${T.rooms_n}: ${report.rooms.length} · ${T.usable_total}: ${f.usable_area_m2 ?? "—"} m²`),
    issueList(T.errors, report.errors || [], "error"),
    issueList(T.warnings, report.warnings || [], "warning"),
    carryOver(report));
  draw(report);
  const blocking = (report.errors || []).filter((e) => e.code !== "carry_over_undecided");
  // a commit refused only for undecided rooms can be retried once they are decided
  document.getElementById("commit").disabled = blocking.length > 0;
}
