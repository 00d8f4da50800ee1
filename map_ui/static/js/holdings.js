/* /map — the province: regions with a choropleth switch, buildings clustered on the server
   and as vector-tile footprints when zoomed in, compliance layers, search. */
import { getJSON } from "./api.js";
import { leafletMap, pageConfig } from "./boot.js";
import { clear, el, keyValueTable, setBusy } from "./dom.js";
import { enumerations, labels } from "./enums.js";
import { fmtArea, fmtPct } from "./format.js";
import {
  GROUP_COLOURS, STATUS_COLOURS, bboxParam, fitTo, legendRows, panel, prepare, vectorLayer,
} from "./leaflet-kit.js";

const CHORO_COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

function quantileBreaks(values, n) {
  const v = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!v.length) { return []; }
  const out = [];
  for (let i = 1; i < n; i++) { out.push(v[Math.min(v.length - 1, Math.floor(i * v.length / n))]); }
  return out;
}

function classOf(value, breaks) {
  let i = 0;
  while (i < breaks.length && value > breaks[i]) { i++; }
  return i;
}

// building status, ownership and rule names: the server's (GET /enumerations), loaded at start
const NAMES = {building_status: {}, ownership: {}, finding_rule: {}};

function buildingPopup(p, id, cfg) {
  const T = cfg.texts;
  return el("div", {class: "om-popup"},
    el("b", {}, p.name),
    keyValueTable([
      [T.address, p.address ?? ""],
      [T.status, NAMES.building_status[p.status] || p.status],
      [T.ownership, NAMES.ownership[p.ownership] || p.ownership],
      [T.year_built, p.year_built ?? ""],
      [T.floors, p.floors ?? ""],
      [T.building_area, fmtArea(p.building_area_m2)],
      [T.footprint_area, fmtArea(p.footprint_area_m2)],
    ]),
    el("a", {class: "om-open-building", href: `${cfg.buildingPage}${id}?lang=${cfg.lang}`},
      T.open_building + " →"));
}

function holdings(map, cfg) {
  const T = cfg.texts;
  prepare(map);
  enumerations().then((all) => {
    for (const name of Object.keys(NAMES)) { NAMES[name] = labels(all, name, cfg.lang); }
  }).catch((err) => console.error(err));
  // busy until the regions and the first buildings have arrived
  const container = setBusy(map.getContainer(), true);
  const loaded = {regions: false, points: false};
  function arrived(part) {
    loaded[part] = true;
    if (loaded.regions && loaded.points) { setBusy(container, false); }
  }
  const control = L.control.layers(null, null, {collapsed: false}).addTo(map);

  const count = el("div", {id: "om-count", class: "om-hint"}, T.loading);
  const search = el("input", {id: "om-search", class: "om-search", type: "search", placeholder: T.search});
  const results = el("div", {id: "om-results", class: "om-results"});
  const choro = el("select", {id: "om-choro"},
    ["none", "usable_area_m2", "vacancy_rate", "over_standard_m2"].map((k) =>
      el("option", {value: k}, T["choro." + k])));
  const choroLevel = el("select", {id: "om-choro-level"},
    el("option", {value: "city"}, T.by_city), el("option", {value: "county"}, T.by_county));
  const legend = el("div", {id: "om-legend", class: "om-legend"});
  panel(map, "topleft", [
    el("h1", {}, T["title.holdings"]), count, search, results,
    el("div", {class: "om-row"}, el("label", {}, T.choropleth, " ", choro), " ", choroLevel),
    legend,
    el("div", {class: "om-row"},
      el("a", {href: `${cfg.vacancyPage}?lang=${cfg.lang}`}, T.vacancy_page + " →")),
    cfg.basemap ? null : el("div", {class: "om-hint"}, T.no_basemap),
  ]);

  // regions: outlines, clickable (popup with totals and the buildings there), choropleth
  const stats = {};
  function regionStats(level) {
    if (!stats[level]) {
      stats[level] = getJSON(`${cfg.api}/map/region-stats?level=${level}`).then((d) =>
        Object.fromEntries(d.regions.map((r) => [r.adcode, r])));
    }
    return stats[level];
  }
  function regionPopup(feature, layer, level) {
    const p = feature.properties;
    const popup = L.popup({maxWidth: 320});
    layer.on("click", (e) => {
      popup.setLatLng(e.latlng).setContent(el("div", {}, T.loading)).openOn(map);
      Promise.all([regionStats(level), getJSON(`${cfg.api}/buildings?limit=8&region=${p.adcode}`)])
        .then(([byRegion, fc]) => {
          const s = byRegion[p.adcode] || {};
          const list = el("ul", {class: "om-list"}, fc.features.map((f) => el("li", {},
            el("a", {class: "om-building-link", href: `${cfg.buildingPage}${f.id}?lang=${cfg.lang}`},
              f.properties.name))));
          if (fc.numberMatched > fc.features.length) {
            list.append(el("li", {class: "om-hint"}, "… " + fc.numberMatched));
          }
          popup.setContent(el("div", {class: "om-popup om-region-popup"},
            el("b", {}, p.name),
            keyValueTable([
              [T["layer.buildings"], s.buildings || 0],
              [T.total_area, fmtArea(s.usable_area_m2)],
              [T.office_area, fmtArea(s.office_area_m2)],
              [T.vacancy_rate, fmtPct(s.vacancy_rate)],
              [T.over_standard_area, s.over_standard_m2 === null ? T.not_configured : fmtArea(s.over_standard_m2)],
            ]),
            el("div", {}, el("b", {}, T.buildings_here)), list));
        }).catch((err) => console.error(err));
    });
  }
  const regionStyle = {color: "#555", weight: 1.5, fill: true, fillOpacity: 0, fillColor: "#fff"};
  const cities = L.geoJSON(null, {
    style: () => ({...regionStyle}),
    onEachFeature: (f, l) => regionPopup(f, l, "city"),
  }).addTo(map);
  control.addOverlay(cities, T["layer.cities"]);
  const counties = L.geoJSON(null, {
    style: () => ({...regionStyle, color: "#999", weight: 0.7, dashArray: "3"}),
    onEachFeature: (f, l) => regionPopup(f, l, "county"),
  });
  control.addOverlay(counties, T["layer.counties"]);

  function applyChoropleth() {
    const metric = choro.value;
    const level = choroLevel.value;
    const layer = level === "city" ? cities : counties;
    const other = level === "city" ? counties : cities;
    other.eachLayer((l) => l.setStyle({fillOpacity: 0}));
    if (metric === "none") {
      layer.eachLayer((l) => l.setStyle({fillOpacity: 0}));
      clear(legend);
      return;
    }
    if (!map.hasLayer(layer)) { layer.addTo(map); }
    regionStats(level).then((by) => {
      const breaks = quantileBreaks(Object.values(by).map((r) => r[metric]), CHORO_COLOURS.length);
      layer.eachLayer((l) => {
        const s = by[l.feature.properties.adcode];
        const v = s ? s[metric] : null;
        if (v === null || v === undefined) { l.setStyle({fillOpacity: 0}); return; }
        l.setStyle({fillOpacity: 0.65, fillColor: CHORO_COLOURS[classOf(v, breaks)]});
      });
      const fmt = metric === "vacancy_rate" ? fmtPct : fmtArea;
      clear(legend).append(...(breaks.length
        ? legendRows(CHORO_COLOURS.map((c, i) => [c, i === 0 ? "≤ " + fmt(breaks[0]) : "> " + fmt(breaks[i - 1])]))
        : [T.not_configured]));
    }).catch((err) => console.error(err));
  }
  choro.addEventListener("change", applyChoropleth);
  choroLevel.addEventListener("change", applyChoropleth);

  // buildings: clustered on the server per zoom; vector-tile footprints when zoomed in
  const clusters = L.layerGroup().addTo(map);
  control.addOverlay(clusters, T["layer.buildings"]);
  let seq = 0;
  function openBuilding(id, latlng) {
    getJSON(`${cfg.api}/buildings/${id}`).then((f) => {
      L.popup({maxWidth: 320}).setLatLng(latlng).setContent(buildingPopup(f.properties, f.id, cfg)).openOn(map);
    }).catch((err) => console.error(err));
  }
  function refreshClusters() {
    if (map.getZoom() >= cfg.footprintZoom) { clusters.clearLayers(); return; }
    const mine = ++seq;
    getJSON(`${cfg.api}/map/building-clusters?z=${map.getZoom()}&bbox=${bboxParam(map, 0.2)}`)
      .then((d) => {
        if (mine !== seq) { return; }
        clusters.clearLayers();
        for (const [lon, lat, n, id, status, name] of d.clusters) {
          const ll = [lat, lon];
          let mk;
          if (n === 1) {
            mk = L.circleMarker(ll, {radius: 7, color: "#fff", weight: 1.5, fillOpacity: 0.95,
                                     fillColor: STATUS_COLOURS[status] || "#2b8cbe"});
            mk.bindTooltip(el("span", {}, name));
            mk.on("click", () => openBuilding(id, ll));
          } else {
            const size = n < 10 ? 28 : n < 100 ? 34 : 40;
            const icon = el("div", {}, el("span", {style: {lineHeight: (size - 4) + "px"}}, n));
            mk = L.marker(ll, {icon: L.divIcon({className: "om-cluster", iconSize: [size, size], html: icon})});
            mk.on("click", () => map.setView(ll, Math.min(map.getZoom() + 2, cfg.footprintZoom)));
          }
          clusters.addLayer(mk);
        }
        count.textContent = T.buildings_in_view + ": " + d.buildings;
        arrived("points");
      }).catch((err) => console.error(err));
  }

  const footprints = vectorLayer(map, cfg, "buildings", "", (p) => ({
    weight: 1, color: "#333", fill: true, fillOpacity: 0.6,
    fillColor: STATUS_COLOURS[p.status] || "#2b8cbe",
  }), {minZoom: cfg.footprintZoom});
  footprints.on("click", (e) => openBuilding(e.layer.properties.building_id, e.latlng));
  footprints.addTo(map);
  control.addOverlay(footprints, T["layer.footprints"]);

  // compliance layers: open findings by group, as vector tiles
  for (const g of cfg.complianceGroups) {
    const layer = vectorLayer(map, cfg, "compliance", "group=" + g, () => ({
      weight: 1.5, color: "#fff", fill: true, fillOpacity: 0.85, radius: 5, fillColor: GROUP_COLOURS[g],
    }), {minZoom: cfg.complianceZoom});
    layer.on("click", (e) => {
      const p = e.layer.properties;
      const pct = p.excess_pct ? ` (${Number(p.excess_pct).toFixed(1)} %)` : "";
      L.popup().setLatLng(e.latlng).setContent(el("div", {class: "om-popup"},
        el("b", {}, NAMES.finding_rule[p.rule_code] || p.rule_code),
        keyValueTable([[T.excess, fmtArea(p.excess_m2) + pct], [T.status, p.status]]),
        el("a", {href: `${cfg.buildingPage}${p.building_id}?lang=${cfg.lang}`}, T.open_building + " →"),
      )).openOn(map);
    });
    control.addOverlay(layer, T["layer." + g]);
  }

  // search by agency or building name (the list endpoints' q)
  let searchSeq = 0;
  function showBuildings(features) {
    for (const f of features) {
      results.append(el("a", {class: "om-result", href: "#", on: {click: (ev) => {
        ev.preventDefault();
        const center = L.geoJSON(f).getBounds().getCenter();
        map.setView(center, Math.max(map.getZoom(), 17));
        L.popup({maxWidth: 320}).setLatLng(center).setContent(buildingPopup(f.properties, f.id, cfg)).openOn(map);
      }}}, "🏢 " + f.properties.name));
    }
  }
  search.addEventListener("input", (ev) => {
    const q = ev.target.value.trim();
    const mine = ++searchSeq;
    if (!q) { clear(results); return; }
    setTimeout(() => {
      if (mine !== searchSeq) { return; }
      const qs = "q=" + encodeURIComponent(q);
      Promise.all([getJSON(`${cfg.api}/buildings?limit=6&${qs}`), getJSON(`${cfg.api}/agencies?limit=4&${qs}`)])
        .then(([buildings, agencies]) => {
          if (mine !== searchSeq) { return; }
          clear(results);
          showBuildings(buildings.features);
          for (const f of agencies.features) {
            results.append(el("a", {class: "om-result", href: "#", on: {click: (e2) => {
              e2.preventDefault();
              getJSON(`${cfg.api}/buildings?limit=20&agency=${f.id}`).then((fc) => {
                clear(results);
                showBuildings(fc.features);
              });
            }}}, "🏛 " + f.properties.name));
          }
          if (!buildings.features.length && !agencies.features.length) {
            results.append(el("span", {class: "om-hint"}, T.search_none));
          }
        }).catch((err) => console.error(err));
    }, 250);
  });

  // the province's bounds come with the page: fit at once, then fetch regions and
  // clusters in parallel (no round trip waits for another)
  if (cfg.bounds) { fitTo(map, cfg.bounds); }
  map.on("moveend", refreshClusters);
  if (cfg.bounds) { refreshClusters(); }
  const regionQs = cfg.province ? "&parent=" + cfg.province : "";
  getJSON(`${cfg.api}/regions?level=city&simplify=0.002&limit=1000${regionQs}`).then((fc) => {
    cities.addData(fc);
    if (!cfg.bounds && fc.features.length) {
      map.fitBounds(cities.getBounds(), {padding: [10, 10], animate: false});
    }
    arrived("regions");
    return getJSON(`${cfg.api}/regions?level=county&simplify=0.002&limit=2000`);
  }).then((fc) => {
    counties.addData(fc);
  }).catch((err) => console.error(err));
}

const cfg = pageConfig();
holdings(leafletMap(cfg), cfg);
