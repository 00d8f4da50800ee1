/* Editing an agency: name, credit code, level, approved office area (核定面积) and the
   staffing table per rank. If-Match on every write; stale edits explained; errors beside
   their field; the agency's history below. */
import {el, clear, append} from "./dom.js";
import {field, history, input, read, save, select} from "./forms.js";

const cfg = JSON.parse(document.body.dataset.config);
const L = cfg.labels;
const lang = cfg.lang;
const app = document.getElementById("app");
const url = `/api/v1/agencies/${cfg.agencyId}`;
const detailsCard = el("section", {class: "om-card", id: "agency-form"});
const staffCard = el("section", {class: "om-card", id: "staffing"});
const histCard = el("section", {class: "om-card", id: "history"});
append(app, detailsCard, staffCard, histCard);
const state = {etag: null};

const load = () => read(url);
const values = (f) => ({
  name: f.properties.name, credit_code: f.properties.credit_code, level: f.properties.level,
  approved_office_area_m2: f.properties.approved_office_area_m2,
});

function renderDetails(f) {
  const p = f.properties;
  clear(detailsCard);
  const name = input({value: p.name || "", maxlength: 200});
  const credit = input({value: p.credit_code || "", maxlength: 18});
  const level = select(cfg.levels.map((o) => [o.code, o.label]), p.level);
  const area = input({type: "number", step: "0.01", min: 0, value: p.approved_office_area_m2 ?? ""});
  const form = el("form", {id: "agency", novalidate: true}, el("h2", {}, p.name || ""),
    field("name", L.name, name), field("credit_code", L.credit_code, credit),
    field("level", L.level, level), field("approved_office_area_m2", L.approved_office_area_m2, area),
    el("button", {type: "submit"}, L.save));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {name: name.value, level: level.value,
      approved_office_area_m2: area.value === "" ? null : area.value};
    if (credit.value) { body.credit_code = credit.value; }
    const ok = await save({root: form, method: "PATCH", url, body, state, lang, L, reload: load, show: values});
    if (ok) { await history(histCard, "agency", cfg.agencyId, L); }
  });
  append(detailsCard, form);
}

function renderStaffing(f) {
  clear(staffCard);
  const rows = el("tbody");
  const addRow = (r) => {
    const rank = select(cfg.ranks.map((o) => [o.code, o.label]), r.rank_code);
    const quota = input({type: "number", min: 0, value: r.quota ?? 0});
    const head = input({type: "number", min: 0, value: r.headcount ?? 0});
    const k = rows.children.length;
    const tr = el("tr", {}, el("td", {}, rank), el("td", {}, quota), el("td", {}, head),
      el("td", {}, el("button", {type: "button", on: {click: () => tr.remove()}}, L.remove),
        el("span", {class: "om-error", dataset: {errorFor: `staffing.${k}.rank_code`}}),
        el("span", {class: "om-error", dataset: {errorFor: `staffing.${k}.quota`}})));
    tr.read = () => ({rank_code: rank.value, quota: Number(quota.value), headcount: Number(head.value)});
    rows.append(tr);
  };
  for (const r of f.properties.staffing || []) { addRow(r); }
  const form = el("form", {id: "staffing-form", novalidate: true}, el("h2", {}, L.staffing),
    el("table", {class: "om-table"},
      el("thead", {}, el("tr", {}, [L.rank_code, L.quota, L.headcount, ""].map((h) => el("th", {}, h)))), rows),
    el("span", {class: "om-error", dataset: {errorFor: "staffing"}}),
    el("p", {}, el("button", {type: "button", on: {click: () => addRow({rank_code: cfg.ranks[0]?.code})}}, L.add_rank),
      " ", el("button", {type: "submit"}, L.save_staffing)));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const staffing = [...rows.children].map((tr) => tr.read());
    const ok = await save({root: form, method: "PUT", url: url + "/staffing", body: {staffing}, state,
      lang, L, reload: load, show: () => ({})});
    if (ok) { await history(histCard, "agency", cfg.agencyId, L); }
  });
  append(staffCard, form);
}

(async () => {
  const f = await load();
  state.etag = f.etag;
  renderDetails(f.data);
  renderStaffing(f.data);
  await history(histCard, "agency", cfg.agencyId, L);
})();
