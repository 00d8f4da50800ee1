/* A building's details (title, ownership, status …) and, for a new building, its
   location: click the map to draw the footprint. If-Match on updates, stale edits
   explained, errors beside their field, the building's history below. */
import {el, clear, append, busyWhile} from "./dom.js";
import {send} from "./api.js";
import {field, history, input, notice, read, save, select, showError, clearMessages} from "./forms.js";

const cfg = JSON.parse(document.body.dataset.config);
const T = cfg.labels;
const lang = cfg.lang;
const map = window[cfg.mapName];
const app = document.getElementById("app");
// busy (aria-busy) while loading or saving
const loading = (promise) => busyWhile(app, promise);
const formCard = el("section", {class: "om-card"});
const histCard = el("section", {class: "om-card", id: "history"});
append(app, formCard, histCard);
const state = {etag: null};
const url = cfg.buildingId ? `/api/v1/buildings/${cfg.buildingId}` : null;
if (cfg.bounds) { map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]]); }

const TEXT = ["name", "address", "registered_owner", "land_certificate_no", "building_certificate_no"];
const NUMBERS = ["agency_id", "year_built", "storeys_above", "storeys_below"];
const inputs = {};
for (const k of TEXT) { inputs[k] = input({maxlength: k === "address" ? 300 : 200}); }
for (const k of NUMBERS) { inputs[k] = input({type: "number"}); }
inputs.ownership = select(cfg.ownership.map((o) => [o.code, o.label]), "owned");
inputs.status = select(cfg.statuses.map((o) => [o.code, o.label]), "in_use");
const region = input({type: "number", min: 100000, max: 999999});

function fill(p) {
  for (const [k, node] of Object.entries(inputs)) { node.value = p[k] === null || p[k] === undefined ? "" : String(p[k]); }
}

function values() {
  const out = {};
  for (const k of TEXT) { out[k] = inputs[k].value.trim() || null; }
  for (const k of NUMBERS) { out[k] = inputs[k].value === "" ? null : Number(inputs[k].value); }
  out.ownership = inputs.ownership.value;
  out.status = inputs.status.value;
  if (!out.name) { out.name = ""; }
  return out;
}

/* the footprint of a new building: the points clicked on the map, in order */
const points = [];
let outline = null;
function redraw() {
  if (outline) { outline.remove(); }
  outline = points.length ? L.polygon(points, {color: "#d7301f"}).addTo(map) : null;
}

const fields = [
  ...["name", "address"].map((k) => field(k, T["b_" + k], inputs[k])),
  field("agency_id", T.agency_id, inputs.agency_id),
  field("ownership", T.b_ownership, inputs.ownership),
  field("registered_owner", T.b_registered_owner, inputs.registered_owner),
  field("land_certificate_no", T.b_land_certificate_no, inputs.land_certificate_no),
  field("building_certificate_no", T.b_building_certificate_no, inputs.building_certificate_no),
  field("year_built", T.b_year_built, inputs.year_built),
  field("storeys_above", T.b_storeys_above, inputs.storeys_above),
  field("storeys_below", T.b_storeys_below, inputs.storeys_below),
  field("status", T.b_status, inputs.status),
];
const form = el("form", {id: "building", novalidate: true}, fields);
if (!url) {
  append(form, field("region_adcode", T.b_region, region),
    el("div", {class: "om-field", dataset: {field: "footprint"}}, el("span", {}, T.b_footprint),
      el("button", {type: "button", id: "clear-footprint", on: {click: () => { points.length = 0; redraw(); }}}, T.b_clear),
      el("span", {class: "om-error", dataset: {errorFor: "footprint"}})));
  map.on("click", (e) => { points.push([e.latlng.lat, e.latlng.lng]); redraw(); });
}
append(form, el("button", {type: "submit"}, T.save));
append(formCard, form);

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  loading(submit());
});

async function submit() {
  if (url) {
    const ok = await save({root: form, method: "PATCH", url, body: values(), state, lang, L: T,
      reload: () => read(url), show: (f) => f.properties});
    if (ok) { await history(histCard, "building", cfg.buildingId, T); }
    return;
  }
  clearMessages(form);
  const ring = points.map(([lat, lon]) => [lon, lat]);
  if (ring.length) { ring.push(ring[0]); }
  const body = {...values(), region_adcode: Number(region.value) || 0,
    footprint: {type: "Polygon", coordinates: [ring]}};
  try {
    await send("POST", "/api/v1/buildings", body);
    notice(form, "ok", T.saved);
  } catch (err) { showError(form, err, T, lang); }
}

loading((async () => {
  if (!url) { redraw(); return; }
  try {
    const f = await read(url);
    state.etag = f.etag;
    fill(f.data.properties);
    L.geoJSON(f.data, {style: {color: "#2c7fb8"}}).addTo(map);
    await history(histCard, "building", cfg.buildingId, T);
  } catch (err) { showError(app, err, T, lang); }
})());
