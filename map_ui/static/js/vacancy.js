/* /map/vacancy — idle-area heatmap binned on the server per zoom, region and agency-level
   filters, and the leaders' panel. */
import { getJSON } from "./api.js";
import { leafletMap, pageConfig } from "./boot.js";
import { busyWhile, clear, el, setBusy } from "./dom.js";
import { enumerations, label } from "./enums.js";
import { fmtArea, fmtPct } from "./format.js";
import { bboxParam, fitTo, panel, prepare } from "./leaflet-kit.js";

function vacancy(map, cfg) {
  const T = cfg.texts;
  prepare(map);
  // busy while the bins or the leaders' figures are on their way
  const container = setBusy(map.getContainer(), true);
  const loading = (promise) => busyWhile(container, promise);

  const region = el("select", {id: "om-region"}, el("option", {value: ""}, T.whole_province));
  const level = el("select", {id: "om-level"}, el("option", {value: ""}, T.all_levels));
  enumerations().then((all) => level.append(...all.agency_level.map(
    (l) => el("option", {value: l.value}, label(l, cfg.lang))))).catch((err) => console.error(err));
  const idle = cfg.idleDays === null ? null : el("input", {type: "checkbox", id: "om-idle"});
  panel(map, "topleft", [
    el("div", {}, el("a", {href: `${cfg.holdingsPage}?lang=${cfg.lang}`}, T.back_to_map)),
    el("h1", {}, T["title.vacancy"]),
    el("div", {class: "om-row"}, el("label", {}, T.region, " ", region)),
    el("div", {class: "om-row"}, el("label", {}, T.agency_level, " ", level)),
    idle && el("div", {class: "om-row"},
      el("label", {}, idle, " ", T.idle_only.replace("{days}", cfg.idleDays))),
    el("div", {class: "om-hint"}, T.heat_hint),
    cfg.basemap ? null : el("div", {class: "om-hint"}, T.no_basemap),
  ]);
  const summary = el("div", {id: "om-summary"}, T.loading);
  panel(map, "topright", [el("h2", {}, T.leaders_panel), summary]);

  const outlines = L.geoJSON(null, {style: {color: "#666", weight: 1, fill: false}}).addTo(map);
  // bins are already aggregated per zoom on the server: no extra zoom fading (maxZoom 1)
  const heat = L.heatLayer([], {radius: 25, blur: 15, maxZoom: 1, max: 1, minOpacity: 0.3,
                                gradient: {0.2: "#2c7bb6", 0.45: "#abd9e9", 0.65: "#fdae61", 0.9: "#d7191c"}});
  heat.addTo(map);
  // (the heat layer stays out of the layer control: its maxZoom of 1 would grey it out)
  L.control.layers(null, {}, {collapsed: false}).addOverlay(outlines, T["layer.cities"]).addTo(map);

  function filters() {
    return (region.value ? "&region=" + region.value : "") + (level.value ? "&agency_level=" + level.value : "");
  }
  let seq = 0;
  function refresh() {
    const mine = ++seq;
    const idleOnly = idle && idle.checked ? "&min_idle_days=" + cfg.idleDays : "";
    loading(getJSON(`${cfg.api}/map/vacancy-bins?z=${map.getZoom()}&bbox=${bboxParam(map, 0.25)}${filters()}${idleOnly}`)
      .then((d) => {
        if (mine !== seq) { return; }
        const max = d.max_m2 || 1;
        heat.setLatLngs(d.bins.map((x) => [x[0], x[1], Math.sqrt(x[2] / max)]));
      })).catch((err) => console.error(err));
  }
  function refreshSummary() {
    loading(getJSON(`${cfg.api}/map/summary?${filters().replace(/^&/, "")}`).then((s) => {
      const kpis = [
        [T.total_area, fmtArea(s.usable_area_m2)],
        [T.office_area, fmtArea(s.office_area_m2)],
        [T.vacant_office_area, fmtArea(s.vacant_office_area_m2)],
        [T.vacancy_rate, fmtPct(s.vacancy_rate)],
        [T.over_standard_area, s.findings_available ? fmtArea(s.over_standard_m2) : T.no_findings_evaluated],
        [T.open_findings, s.findings_available ? s.open_findings : "—"],
      ];
      clear(summary).append(el("div", {class: "om-kpis"}, kpis.map(([label, value]) =>
        el("div", {class: "om-kpi"}, el("div", {class: "om-kpi-label"}, label),
           el("div", {class: "om-kpi-value"}, value)))));
    })).catch((err) => console.error(err));
  }
  for (const control of [region, level, idle]) {
    if (!control) { continue; }  // no idle filter when no threshold is configured
    control.addEventListener("change", () => {
      refresh();
      refreshSummary();
      const l = region.value && outlines.getLayers()
        .find((x) => String(x.feature.properties.adcode) === region.value);
      if (l && control === region) { map.fitBounds(l.getBounds(), {animate: false}); }
    });
  }
  if (cfg.bounds) {
    fitTo(map, cfg.bounds);
    refresh();
    refreshSummary();
  }
  map.on("moveend", refresh);
  const regionQs = cfg.province ? "&parent=" + cfg.province : "";
  getJSON(`${cfg.api}/regions?level=city&simplify=0.002&limit=1000${regionQs}`).then((fc) => {
    outlines.addData(fc);
    for (const f of fc.features) { region.append(el("option", {value: f.properties.adcode}, f.properties.name)); }
    if (!cfg.bounds) {
      if (fc.features.length) { map.fitBounds(outlines.getBounds(), {padding: [10, 10], animate: false}); }
      refresh();
      refreshSummary();
    }
  }).catch((err) => console.error(err));
}

const cfg = pageConfig();
vacancy(leafletMap(cfg), cfg);
