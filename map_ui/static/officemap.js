/* OfficeMap page logic (own code): layers are fetched from the API for the current view. */
(function (global) {
  "use strict";

  var STATUS_COLOURS = {
    in_use: "#2b8cbe", partly_idle: "#fdae61", idle: "#d7191c",
    under_renovation: "#7b3294", disposed: "#999999"
  };

  function fmtArea(v, T) {
    if (v === null || v === undefined) { return "—"; }
    return Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " m²";
  }

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (!r.ok) { throw new Error(url + " → " + r.status); }
        return r.json();
      });
  }

  function bboxParam(map) {
    var b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
      return v.toFixed(6);
    }).join(",");
  }

  function buildingPopup(p, id, cfg) {
    var T = cfg.texts;
    var rows = [
      [T.address, esc(p.address)],
      [T.status, esc(T["status." + p.status] || p.status)],
      [T.ownership, esc(T["ownership." + p.ownership] || p.ownership)],
      [T.year_built, esc(p.year_built)],
      [T.floors, esc(p.floors)],
      [T.building_area, fmtArea(p.building_area_m2)],
      [T.footprint_area, fmtArea(p.footprint_area_m2)]
    ];
    var html = '<div class="om-popup"><b>' + esc(p.name) + "</b><table>";
    rows.forEach(function (r) { html += "<tr><td>" + r[0] + "</td><td>" + r[1] + "</td></tr>"; });
    html += '</table><a href="' + cfg.buildingPage + id + "?lang=" + cfg.lang + '">' +
      T.open_building + " →</a></div>";
    return html;
  }

  function prepare(map) {
    // without a basemap the map has no maxZoom, which clustering needs
    if (map.options.maxZoom === undefined) { map.setMaxZoom(21); }
    if (map.options.minZoom === undefined) { map.setMinZoom(4); }
  }

  function holdings(map, cfg) {
    var T = cfg.texts;
    prepare(map);
    var state = {ready: {regions: false, points: false}, footprints: 0};
    global.officemapState = state;
    map.once("zoomstart dragstart", function () { state.moved = true; });
    var control = L.control.layers(null, null, {collapsed: false}).addTo(map);

    var info = L.control({position: "topleft"});
    info.onAdd = function () {
      var div = L.DomUtil.create("div", "om-panel");
      div.innerHTML = "<h1>" + esc(T["title.holdings"]) + "</h1>" +
        '<div id="om-count" class="om-hint">' + esc(T.loading) + "</div>" +
        (cfg.basemap ? "" : '<div class="om-hint">' + esc(T.no_basemap) + "</div>");
      return div;
    };
    info.addTo(map);

    var cities = L.geoJSON(null, {
      style: {color: "#555", weight: 1.5, fill: false}
    }).addTo(map);
    control.addOverlay(cities, T["layer.cities"]);
    var counties = L.geoJSON(null, {style: {color: "#999", weight: 0.7, dashArray: "3", fill: false}});
    control.addOverlay(counties, T["layer.counties"]);
    var regionQs = cfg.province ? "&parent=" + cfg.province : "";
    getJSON(cfg.api + "/regions?level=city&simplify=0.002&limit=1000" + regionQs).then(function (fc) {
      cities.addData(fc);
      if (!cfg.keepView && !state.moved && fc.features.length) { map.fitBounds(cities.getBounds(), {padding: [10, 10], animate: false}); }
      state.ready.regions = true;
      state.cities = fc.features.length;
      return getJSON(cfg.api + "/regions?level=county&simplify=0.002&limit=2000");
    }).then(function (fc) { counties.addData(fc); }).catch(function (e) { console.error(e); });

    var clusters = L.markerClusterGroup({chunkedLoading: true, disableClusteringAtZoom: cfg.footprintZoom});
    control.addOverlay(clusters, T["layer.buildings"]);
    clusters.addTo(map);
    getJSON(cfg.api + "/map/building-points").then(function (pts) {
      var markers = pts.points.map(function (p) {
        var mk = L.circleMarker([p[2], p[1]], {
          radius: 6, color: "#fff", weight: 1, fillOpacity: 0.9,
          fillColor: STATUS_COLOURS[p[3]] || "#2b8cbe"
        });
        mk.bindTooltip(esc(p[4]));
        mk.on("click", function () {
          getJSON(cfg.api + "/buildings/" + p[0]).then(function (f) {
            mk.bindPopup(buildingPopup(f.properties, f.id, cfg)).openPopup();
          });
        });
        return mk;
      });
      clusters.addLayers(markers);
      state.ready.points = true;
      state.points = markers.length;
      document.getElementById("om-count").textContent = T.buildings_in_view + ": " + markers.length;
    }).catch(function (e) { console.error(e); });

    var footprints = L.geoJSON(null, {
      style: function (f) {
        return {color: "#333", weight: 1, fillOpacity: 0.6,
                fillColor: STATUS_COLOURS[f.properties.status] || "#2b8cbe"};
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(buildingPopup(f.properties, f.id, cfg));
      }
    }).addTo(map);
    var seq = 0;
    function refreshFootprints() {
      if (map.getZoom() < cfg.footprintZoom) { footprints.clearLayers(); state.footprints = 0; return; }
      var mine = ++seq;
      getJSON(cfg.api + "/buildings?limit=2000&bbox=" + bboxParam(map)).then(function (fc) {
        if (mine !== seq) { return; }
        footprints.clearLayers();
        footprints.addData(fc);
        state.footprints = fc.features.length;
      }).catch(function (e) { console.error(e); });
    }
    map.on("moveend", refreshFootprints);
    refreshFootprints();
  }

  global.OfficeMap = {holdings: holdings, prepare: prepare, getJSON: getJSON, esc: esc, fmtArea: fmtArea};
})(window);
