/* /map/buildings/{id} — floor selector, rooms as vector tiles coloured by category,
   compliance or vacancy, room popups and the floor's room table. */
import { getJSON } from "./api.js";
import { leafletMap, pageConfig } from "./boot.js";
import { clear, el, keyValueTable, setBusy } from "./dom.js";
import { enumerations, labels } from "./enums.js";
import { fmtArea } from "./format.js";
import {
  CATEGORY_COLOURS, GROUP_COLOURS, fitTo, legendRows, panel, prepare, ruleGroup, vectorLayer,
} from "./leaflet-kit.js";

function lines(items) {
  return items.length ? items.flatMap((x, i) => (i ? [el("br"), x] : [x])) : null;
}

function building(map, cfg) {
  const T = cfg.texts;
  const en = cfg.lang === "en";
  prepare(map);
  fitTo(map, cfg.building.bounds,
        {padding: [0, 0], paddingTopLeft: [320, 40], paddingBottomRight: [540, 40], maxZoom: 21});
  const state = {floor: null, mode: "category"};
  const container = setBusy(map.getContainer(), true);
  let rooms = {};
  let roomLayer = null;
  // category and rule names: the server's (GET /enumerations)
  const names = {space_category: {}, finding_rule: {}};

  const floorButtons = cfg.floors.map((f) => el("button", {
    type: "button", class: "om-floor", dataset: {floor: f.id},
    on: {click: () => showFloor(f.id)},
  }, f.name || f.level));
  const modes = ["category", "compliance", "vacancy"].map((m) => el("label", {},
    el("input", {type: "radio", name: "om-mode", value: m, checked: m === "category",
                 on: {change: () => setMode(m)}}), " ", T["mode." + m]));
  const legend = el("div", {id: "om-legend", class: "om-legend"});
  panel(map, "topleft", [
    el("div", {}, el("a", {href: `${cfg.holdingsPage}?lang=${cfg.lang}`}, T.back_to_map)),
    el("h1", {}, cfg.building.name),
    el("div", {class: "om-floors"}, el("span", {class: "om-hint"}, T.floor), " ", floorButtons),
    el("div", {class: "om-row"}, T.colour_by, ": ", modes),
    legend,
  ]);
  const tableBox = el("div", {id: "om-room-table", class: "om-room-table"}, T.loading);
  panel(map, "topright", [tableBox], "om-wide");

  function colourOf(p) {
    const r = rooms[p.room_id] || {};
    // vacancy and findings come with the floor's room table (not in the tiles: cheaper)
    if (state.mode === "vacancy") {
      if (p.category !== "office") { return "#eeeeee"; }
      return r.vacant ? "#d7191c" : "#1a9641";
    }
    if (state.mode === "compliance") {
      const rule = r.findings && r.findings.length ? r.findings[0].rule_code : null;
      if (!rule) { return "#eeeeee"; }
      return GROUP_COLOURS[ruleGroup(cfg, rule)] || "#999";
    }
    return CATEGORY_COLOURS[p.category] || "#bbbbbb";
  }
  function style(p) {
    return {weight: 1, color: "#555", fill: true, fillOpacity: 0.75, fillColor: colourOf(p)};
  }
  function showLegend() {
    let items;
    if (state.mode === "vacancy") {
      items = [["#d7191c", T.vacant], ["#1a9641", T.occupied], ["#eeeeee", T.not_office]];
    } else if (state.mode === "compliance") {
      items = ["over_standard", "idle", "not_recovered", "data_quality"]
        .map((g) => [GROUP_COLOURS[g], T["layer." + g]]).concat([["#eeeeee", T.no_findings]]);
    } else {
      items = Object.entries(CATEGORY_COLOURS).map(([k, c]) => [c, names.space_category[k] || k]);
    }
    clear(legend).append(...legendRows(items));
  }

  function roomPopup(r) {
    const occupants = r.occupants.map((o) => [
      o.name || "", " · ", en ? o.rank_en : o.rank_zh, " · ", T.per_person, " ", fmtArea(o.allowance_m2),
      o.concurrent_post ? ` (${T.concurrent_post})` : "",
      o.left_post_on ? ` (${T.left_post} ${o.left_post_on})` : "",
    ].join(""));
    const findings = r.findings.map((f) =>
      (names.finding_rule[f.rule_code] || f.rule_code) + (f.excess_m2 ? " +" + fmtArea(f.excess_m2) : ""));
    return el("div", {class: "om-popup om-room-popup"},
      el("b", {}, T.room + " " + r.number),
      keyValueTable([
        [T.category, en ? r.category_en : r.category_zh],
        [T.usable_area, fmtArea(r.usable_area_m2)],
        [T.agency, r.agency ?? ""],
        [T.occupants, el("span", {}, lines(occupants) || "—")],
        [T.allowance, r.allowance_m2 === null ? "—" : fmtArea(r.allowance_m2)],
        [T.status, r.category === "office" ? (r.vacant ? T.vacant : T.occupied) : T.not_office],
        [T.findings, el("span", {}, lines(findings) || T.no_findings)],
      ]));
  }
  function openRoom(id, latlng) {
    const r = rooms[id];
    if (!r) { return; }
    // keep the popup clear of the floor panel (left) and the room table (right)
    L.popup({maxWidth: 360, autoPanPaddingTopLeft: [350, 20], autoPanPaddingBottomRight: [600, 20]})
      .setLatLng(latlng || [r.lat, r.lon]).setContent(roomPopup(r)).openOn(map);
  }

  function renderTable(d) {
    const num = (v) => el("td", {class: "num"}, v);
    const rows = d.rooms.map((r) => el("tr", {
      dataset: {room: r.id},
      title: r.occupants.map((o) => (en ? o.rank_en : o.rank_zh)).join("、"),
      on: {click: () => openRoom(r.id)},
    },
      el("td", {}, r.number),
      el("td", {}, en ? r.category_en : r.category_zh),
      num(fmtArea(r.usable_area_m2)),
      num(r.occupants.length || ""),
      num(r.allowance_m2 === null ? "" : fmtArea(r.allowance_m2)),
      el("td", {}, (r.category === "office" ? (r.vacant ? T.vacant : T.occupied) : "") +
                   (r.findings.length ? " ⚠" : ""))));
    const t = d.totals;
    clear(tableBox).append(
      el("b", {}, d.floor.name || d.floor.level), ` · ${T.rooms} ${t.rooms}`,
      el("table", {},
        el("thead", {}, el("tr", {}, [T.room_no, T.category, T.usable_area, T.occupants, T.allowance, T.status]
          .map((h) => el("th", {}, h)))),
        el("tbody", {}, rows),
        el("tfoot", {}, el("tr", {},
          el("td", {colspan: 2}, T.totals), num(fmtArea(t.usable_area_m2)), el("td", {}, t.occupants),
          num(fmtArea(t.allowance_m2)), el("td", {}, `${T.vacant} ${fmtArea(t.vacant_office_area_m2)}`)))));
  }

  function showFloor(id) {
    setBusy(container, true);
    state.floor = id;
    for (const btn of floorButtons) {
      const on = Number(btn.dataset.floor) === id;
      btn.classList.toggle("active", on);
      btn.setAttribute("aria-pressed", on ? "true" : "false");
    }
    if (roomLayer) { map.removeLayer(roomLayer); }
    getJSON(`${cfg.api}/map/floors/${id}/rooms`).then((d) => {
      if (state.floor !== id) { return; }
      rooms = Object.fromEntries(d.rooms.map((r) => [r.id, r]));
      renderTable(d);
      roomLayer = vectorLayer(map, cfg, "rooms", "floor=" + id, style);
      roomLayer.on("click", (e) => openRoom(e.layer.properties.room_id, e.latlng));
      roomLayer.on("load", () => { if (state.floor === id) { setBusy(container, false); } });
      roomLayer.addTo(map);
    }).catch((err) => console.error(err));
    window.history.replaceState(null, "", `?floor=${id}&lang=${cfg.lang}`);
  }

  function setMode(mode) {
    state.mode = mode;
    showLegend();
    if (roomLayer) { roomLayer.redraw(); }
  }

  showLegend();
  enumerations().then((all) => {
    for (const name of Object.keys(names)) { names[name] = labels(all, name, cfg.lang); }
    showLegend();
  }).catch((err) => console.error(err));
  if (cfg.floor) { showFloor(cfg.floor); } else { setBusy(container, false); }
}

const cfg = pageConfig();
building(leafletMap(cfg), cfg);
