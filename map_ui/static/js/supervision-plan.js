/* Inspection plan: inspections in scope and the form that plans one and draws its sample. */
import {ApiError, getJSON, send} from "./api.js";
import {clear, el} from "./dom.js";
import {enumerations, label} from "./enums.js";
import {API, T, app, card, field, ids, lang, loading, showError, t, today} from "./supervision-common.js";

function row(i) {
  const link = el("a", {href: `/supervision/inspections/${i.id}?lang=${lang}`}, i.title);
  return el("tr", {},
    el("td", {class: "om-num"}, String(i.id)),
    el("td", {}, lang === "zh" ? i.kind_name_zh : i.kind_name_en),
    el("td", {}, link),
    el("td", {class: "om-num"}, String(i.region_adcode)),
    el("td", {}, `${i.starts_on} – ${i.ends_on}`),
    el("td", {}, t("status." + i.status)));
}

function planForm(kinds) {
  const msg = el("div");
  const kind = el("select", {name: "kind"},
    kinds.map((k) => el("option", {value: k.value}, label(k, lang))));
  const inputs = {
    title: el("input", {name: "title", required: true, maxlength: 200}),
    region: el("input", {name: "region_adcode", inputmode: "numeric", value: "330000", required: true}),
    regions: el("input", {name: "scope_regions", inputmode: "numeric"}),
    buildings: el("input", {name: "scope_buildings", inputmode: "numeric"}),
    team: el("input", {name: "team"}),
    starts: el("input", {name: "starts_on", type: "date", value: today(), required: true}),
    ends: el("input", {name: "ends_on", type: "date", value: today(30), required: true}),
    share: el("input", {name: "share", inputmode: "decimal"}),
    seed: el("input", {name: "seed", inputmode: "numeric", value: "1"}),
  };
  const weighting = el("select", {name: "weighting"},
    ["open_findings", "uniform"].map((k) => el("option", {value: k}, t("weighting." + k))));
  const form = el("form", {class: "om-form", id: "om-plan-form"},
    field(t("kind"), kind), field(t("title"), inputs.title), field(t("region"), inputs.region),
    field(t("scope_regions"), inputs.regions), field(t("scope_buildings"), inputs.buildings),
    field(t("team"), inputs.team), field(t("starts_on"), inputs.starts), field(t("ends_on"), inputs.ends),
    field(t("share"), inputs.share), field(t("seed"), inputs.seed), field(t("weighting"), weighting),
    el("div", {class: "om-actions"}, el("button", {type: "submit"}, t("create"))), el("div", {class: "om-wide"}, msg));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      kind: kind.value, title: inputs.title.value, region_adcode: Number(inputs.region.value),
      scope_regions: ids(inputs.regions.value), scope_buildings: ids(inputs.buildings.value),
      team: inputs.team.value.split(/[,，\s]+/).filter(Boolean),
      starts_on: inputs.starts.value, ends_on: inputs.ends.value,
    };
    if (inputs.share.value.trim()) {
      body.sampling = {share: Number(inputs.share.value), seed: Number(inputs.seed.value), weighting: weighting.value};
    }
    try {
      const res = await send("POST", `${API}/inspections`, body);
      window.location.assign(`/supervision/inspections/${res.data.id}?lang=${lang}`);
    } catch (err) { showError(msg, err); }
  });
  return form;
}

async function main() {
  clear(app);
  try {
    const list = await getJSON(`${API}/inspections?limit=200`);
    const table = el("table", {class: "om-table", id: "om-inspections"},
      el("thead", {}, el("tr", {}, ["#", t("kind"), t("title"), t("region"), t("dates"), t("status")].map((h) => el("th", {}, h)))),
      el("tbody", {}, list.items.map(row)));
    app.append(card(t("inspections"), list.items.length ? table : el("p", {}, t("none"))));
    if (cfg_can_write()) {
      const {inspection_kind: kinds} = await enumerations();
      app.append(card(t("new_inspection"), planForm(kinds)));
    }
  } catch (err) {
    const box = el("div");
    app.append(card(T["title.plan"], box));
    if (err instanceof ApiError && err.status === 403) { box.append(el("p", {}, t("forbidden"))); }
    else { showError(box, err); }
  }
}

function cfg_can_write() {
  const roles = JSON.parse(document.body.dataset.config).roles || [];
  return roles.includes("inspector") || roles.includes("admin");
}

loading(main());
