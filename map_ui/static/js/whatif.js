/* What-if: pick a standards version, edit a draft of its allowances and the idle
   threshold, run a named scenario (the live findings are never touched) and read the
   comparison per city / county / agency; export it to Excel. Text stays text. */
import {el, clear, append, busyWhile} from "./dom.js";
import {getJSON, send} from "./api.js";
import {field, input, notice, select, showError, clearMessages} from "./forms.js";
import {enumerations, label} from "./enums.js";

const cfg = JSON.parse(document.body.dataset.config);
const T = cfg.labels;
const lang = cfg.lang;
const app = document.getElementById("app");
// busy (aria-busy) while loading or saving
const loading = (promise) => busyWhile(app, promise);
const formCard = el("section", {class: "om-card", id: "whatif-form"});
const resultCard = el("section", {class: "om-card", id: "whatif-result"});
const listCard = el("section", {class: "om-card", id: "whatif-list"});
append(app, formCard, resultCard, listCard);

const name = input({maxlength: 120});
const version = select(cfg.versions.map((v) => [v.code, `${v.code} — ${v.label}`]), cfg.versions[0]?.code);
const threshold = input({type: "number", min: 1, max: 3650});
const allowances = el("tbody");
let base = null;

async function loadVersion() {
  base = await getJSON(`/api/v1/whatif/standards/${encodeURIComponent(version.value)}`);
  threshold.placeholder = String(base.settings.idle_threshold_days ?? "");
  clear(allowances);
  for (const a of base.allowances) {
    const m2 = input({type: "number", step: "0.01", min: 0, value: a.max_usable_m2});
    m2.dataset.level = a.agency_level;
    m2.dataset.rank = a.rank_code;
    m2.dataset.base = String(a.max_usable_m2);
    allowances.append(el("tr", {}, el("td", {}, a.agency_level),
      el("td", {}, cfg.rankNames[`${a.agency_level}/${a.rank_code}`] || a.rank_code), el("td", {}, m2)));
  }
}

function draft() {
  const rows = [];
  for (const m2 of allowances.querySelectorAll("input")) {
    if (m2.value !== m2.dataset.base) {
      rows.push({agency_level: m2.dataset.level, rank_code: m2.dataset.rank,
        max_usable_m2: m2.value === "" ? null : m2.value});
    }
  }
  return rows.length ? {allowances: rows} : null;
}

// what a comparison groups by: the server's levels and names (GET /enumerations)
const level = select([], null);
async function loadLevels() {
  const all = await enumerations();
  level.append(...all.comparison_level.map((l) => el("option", {value: l.value}, label(l, lang))));
  level.value = "city";
}
const form = el("form", {id: "whatif", novalidate: true},
  field("name", T.scenario_name, name), field("version", T.base_version, version),
  field("idle_threshold_days", T.idle_threshold_days, threshold),
  el("details", {}, el("summary", {}, T.allowance),
    el("table", {class: "om-table"}, allowances)),
  field("level", T.group_level, level),
  el("p", {}, el("button", {type: "submit"}, T.run)));
append(formCard, form);
version.addEventListener("change", loadVersion);

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  loading(run());
});

async function run() {
  clearMessages(form);
  const body = {name: name.value, version: version.value};
  const d = draft();
  if (d) { body.draft = d; }
  if (threshold.value) { body.idle_threshold_days = Number(threshold.value); }
  try {
    const {data} = await send("POST", "/api/v1/whatif/scenarios", body);
    await showComparison(data.id);
    await listScenarios();
  } catch (err) { showError(form, err, T, lang); }
}

function row(g, label) {
  return el("tr", {}, el("td", {}, label), el("td", {}, String(g.live_findings)),
    el("td", {}, String(g.scenario_findings)), el("td", {}, String(g.gained)), el("td", {}, String(g.lost)),
    el("td", {}, `${g.over_standard_m2_live} → ${g.over_standard_m2_scenario}`),
    el("td", {}, `${g.idle_m2_live} → ${g.idle_m2_scenario}`));
}

async function showComparison(id) {
  const c = await getJSON(`/api/v1/whatif/scenarios/${id}?level=${level.value}`);
  clear(resultCard);
  append(resultCard, el("h2", {}, c.scenario.name, " · ", c.scenario.base_version),
    el("table", {class: "om-table", id: "comparison"},
      el("thead", {}, el("tr", {}, ["", T.live, T.scenario, T.gained, T.lost, T.over_m2, T.idle_m2].map((h) => el("th", {}, h)))),
      el("tbody", {}, c.groups.map((g) => row(g, g.name || String(g.key)))),
      el("tfoot", {}, row(c.total, T.total))),
    el("p", {}, el("a", {href: `/api/v1/whatif/scenarios/${id}/export.xlsx?level=${level.value}`, id: "export"}, T.export)));
  notice(resultCard, "ok", `${T.gained} ${c.total.gained} · ${T.lost} ${c.total.lost}`);
}

async function listScenarios() {
  const items = await getJSON("/api/v1/whatif/scenarios?limit=20");
  clear(listCard);
  append(listCard, el("h2", {}, T.scenarios), el("ul", {}, items.map((s) => el("li", {},
    el("a", {href: "#", on: {click: (e) => { e.preventDefault(); loading(showComparison(s.id)); }}}, s.name),
    " · ", s.base_version, " · ", s.created_by))));
}

loading(loadLevels().then(loadVersion).then(listScenarios)).catch((err) => showError(app, err, T, lang));
