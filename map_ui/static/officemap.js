/* OfficeMap page logic (own code): layers come from the API by bbox, as server-side
   aggregates, or as vector tiles; the page itself carries no data. */
(function (global) {
  "use strict";

  var STATUS_COLOURS = {
    in_use: "#2b8cbe", partly_idle: "#fdae61", idle: "#d7191c",
    under_renovation: "#7b3294", disposed: "#999999"
  };
  var CATEGORY_COLOURS = {
    office: "#4e79a7", service: "#f28e2b", equipment: "#76b7b2", ancillary: "#59a14f",
    technical: "#edc948", circulation: "#d9d9d9"
  };
  var GROUP_COLOURS = {
    over_standard: "#d7191c", idle: "#fdae61", not_recovered: "#7b3294", data_quality: "#1a9641"
  };
  var RULE_GROUP = {
    office_over_standard: "over_standard", agency_over_approved: "over_standard",
    multiple_offices: "over_standard", office_not_recovered: "not_recovered",
    idle_room: "idle", idle_floor: "idle", unapproved_lease: "lease"
  };
  var CHORO_COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

  /* Leaflet.VectorGrid 1.3.0 calls L.DomEvent.fakeStop, removed in Leaflet 1.8: clicks on
     vector-tile features threw and never reached the layer. Our own fix (same logic as
     upstream PR #288, unreleased): stop the DOM event and fire the feature's click. */
  function patchVectorGrid() {
    if (!L.Canvas || !L.Canvas.Tile || L.DomEvent.fakeStop) { return; }
    L.Canvas.Tile.include({
      _onClick: function (e) {
        var point = this._map.mouseEventToLayerPoint(e).subtract(this.getOffset());
        var layer, clicked;
        for (var id in this._layers) {
          layer = this._layers[id];
          if (layer.options.interactive && layer._containsPoint(point) &&
              !this._map._draggableMoved(layer)) {
            clicked = layer;
          }
        }
        if (clicked) {
          L.DomEvent.stop(e);
          this._fireEvent([clicked], e);
        }
      }
    });
  }

  function fmtArea(v) {
    if (v === null || v === undefined) { return "—"; }
    return Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " m²";
  }

  function fmtPct(v) {
    if (v === null || v === undefined) { return "—"; }
    return (100 * v).toFixed(1) + " %";
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

  function bboxParam(map, pad) {
    var b = pad ? map.getBounds().pad(pad) : map.getBounds();
    return [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -85), Math.min(b.getEast(), 180),
            Math.min(b.getNorth(), 85)].map(function (v) { return v.toFixed(6); }).join(",");
  }

  function table(rows) {
    var html = "<table>";
    rows.forEach(function (r) { html += "<tr><td>" + r[0] + "</td><td>" + r[1] + "</td></tr>"; });
    return html + "</table>";
  }

  function buildingPopup(p, id, cfg) {
    var T = cfg.texts;
    return '<div class="om-popup"><b>' + esc(p.name) + "</b>" + table([
      [T.address, esc(p.address)],
      [T.status, esc(T["status." + p.status] || p.status)],
      [T.ownership, esc(T["ownership." + p.ownership] || p.ownership)],
      [T.year_built, esc(p.year_built)],
      [T.floors, esc(p.floors)],
      [T.building_area, fmtArea(p.building_area_m2)],
      [T.footprint_area, fmtArea(p.footprint_area_m2)]
    ]) + '<a class="om-open-building" href="' + cfg.buildingPage + id + "?lang=" + cfg.lang + '">' +
      T.open_building + " →</a></div>";
  }

  function prepare(map) {
    // without a basemap the map has no maxZoom, which some layers need
    if (map.options.maxZoom === undefined) { map.setMaxZoom(21); }
    if (map.options.minZoom === undefined) { map.setMinZoom(4); }
    patchVectorGrid();
  }

  function panel(map, position, html, extraClass) {
    var c = L.control({position: position});
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "om-panel" + (extraClass ? " " + extraClass : ""));
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    c.addTo(map);
    return c;
  }

  function tileUrl(cfg, layer, query) {
    return cfg.tiles + "/" + layer + "/{z}/{x}/{y}.pbf" + (query ? "?" + query : "");
  }

  function fitTo(map, b) {
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {padding: [10, 10], animate: false});
  }

  function tilePane(map) {
    // vector tiles draw above the region polygons (overlayPane, 400) so their clicks win
    if (!map.getPane("omTiles")) { map.createPane("omTiles").style.zIndex = 450; }
    return "omTiles";
  }

  function vectorLayer(map, cfg, layer, query, style, options) {
    var styles = {};
    styles[layer] = style;
    return L.vectorGrid.protobuf(tileUrl(cfg, layer, query), L.extend({
      pane: tilePane(map),
      rendererFactory: L.canvas.tile,
      vectorTileLayerStyles: styles,
      interactive: true,
      maxNativeZoom: 22,
      maxZoom: 22,
      getFeatureId: function (f) { return f.id; }
    }, options || {}));
  }

  function quantileBreaks(values, n) {
    var v = values.filter(function (x) { return x !== null && x !== undefined; })
      .sort(function (a, b) { return a - b; });
    if (!v.length) { return []; }
    var out = [];
    for (var i = 1; i < n; i++) { out.push(v[Math.min(v.length - 1, Math.floor(i * v.length / n))]); }
    return out;
  }

  function classOf(value, breaks) {
    var i = 0;
    while (i < breaks.length && value > breaks[i]) { i++; }
    return i;
  }

  // ------------------------------------------------------------------ /map
  function holdings(map, cfg) {
    var T = cfg.texts;
    prepare(map);
    var state = {ready: {regions: false, points: false}, footprints: 0, clusters: 0, points: 0,
                 compliance: {}, choropleth: null, regionPopups: 0};
    global.officemapState = state;
    var control = L.control.layers(null, null, {collapsed: false}).addTo(map);

    var choroOptions = ["none", "usable_area_m2", "vacancy_rate", "over_standard_m2"].map(function (k) {
      return '<option value="' + k + '">' + esc(T["choro." + k]) + "</option>";
    }).join("");
    panel(map, "topleft",
      "<h1>" + esc(T["title.holdings"]) + "</h1>" +
      '<div id="om-count" class="om-hint">' + esc(T.loading) + "</div>" +
      '<input id="om-search" class="om-search" type="search" placeholder="' + esc(T.search) + '">' +
      '<div id="om-results" class="om-results"></div>' +
      '<div class="om-row"><label>' + esc(T.choropleth) + ' <select id="om-choro">' + choroOptions +
      '</select></label> <select id="om-choro-level"><option value="city">' + esc(T.by_city) +
      '</option><option value="county">' + esc(T.by_county) + "</option></select></div>" +
      '<div id="om-legend" class="om-legend"></div>' +
      '<div class="om-row"><a href="' + cfg.vacancyPage + "?lang=" + cfg.lang + '">' +
      esc(T.vacancy_page) + " →</a></div>" +
      (cfg.basemap ? "" : '<div class="om-hint">' + esc(T.no_basemap) + "</div>"));

    // regions: outlines, clickable (popup with totals and the buildings there), choropleth
    var stats = {};
    function regionStats(level) {
      if (!stats[level]) {
        stats[level] = getJSON(cfg.api + "/map/region-stats?level=" + level).then(function (d) {
          var by = {};
          d.regions.forEach(function (r) { by[r.adcode] = r; });
          return by;
        });
      }
      return stats[level];
    }
    function regionPopup(feature, layer, level) {
      var p = feature.properties;
      var popup = L.popup({maxWidth: 320});
      layer.on("click", function (e) {
        popup.setLatLng(e.latlng).setContent(esc(T.loading)).openOn(map);
        Promise.all([
          regionStats(level),
          getJSON(cfg.api + "/buildings?limit=8&region=" + p.adcode)
        ]).then(function (res) {
          var s = res[0][p.adcode] || {};
          var fc = res[1];
          var html = '<div class="om-popup om-region-popup"><b>' + esc(p.name) + "</b>" + table([
            [T["layer.buildings"], esc(s.buildings || 0)],
            [T.total_area, fmtArea(s.usable_area_m2)],
            [T.office_area, fmtArea(s.office_area_m2)],
            [T.vacancy_rate, fmtPct(s.vacancy_rate)],
            [T.over_standard_area, s.over_standard_m2 === null ? esc(T.not_configured) : fmtArea(s.over_standard_m2)]
          ]) + "<div><b>" + esc(T.buildings_here) + "</b></div><ul class=\"om-list\">";
          fc.features.forEach(function (f) {
            html += '<li><a class="om-building-link" href="' + cfg.buildingPage + f.id + "?lang=" +
              cfg.lang + '">' + esc(f.properties.name) + "</a></li>";
          });
          if (fc.numberMatched > fc.features.length) {
            html += '<li class="om-hint">… ' + esc(fc.numberMatched) + "</li>";
          }
          popup.setContent(html + "</ul></div>");
          state.regionPopups++;
        }).catch(function (err) { console.error(err); });
      });
    }
    var regionStyle = {color: "#555", weight: 1.5, fill: true, fillOpacity: 0, fillColor: "#fff"};
    var cities = L.geoJSON(null, {
      style: function () { return L.extend({}, regionStyle); },
      onEachFeature: function (f, l) { regionPopup(f, l, "city"); }
    }).addTo(map);
    control.addOverlay(cities, T["layer.cities"]);
    var counties = L.geoJSON(null, {
      style: function () { return L.extend({}, regionStyle, {color: "#999", weight: 0.7, dashArray: "3"}); },
      onEachFeature: function (f, l) { regionPopup(f, l, "county"); }
    });
    control.addOverlay(counties, T["layer.counties"]);

    function applyChoropleth() {
      var metric = document.getElementById("om-choro").value;
      var level = document.getElementById("om-choro-level").value;
      var layer = level === "city" ? cities : counties;
      var other = level === "city" ? counties : cities;
      other.eachLayer(function (l) { l.setStyle({fillOpacity: 0}); });
      var legend = document.getElementById("om-legend");
      if (metric === "none") {
        layer.eachLayer(function (l) { l.setStyle({fillOpacity: 0}); });
        legend.innerHTML = "";
        state.choropleth = {metric: metric, level: level, filled: 0};
        return;
      }
      if (!map.hasLayer(layer)) { layer.addTo(map); }
      regionStats(level).then(function (by) {
        var values = Object.keys(by).map(function (k) { return by[k][metric]; });
        var breaks = quantileBreaks(values, CHORO_COLOURS.length);
        var filled = 0;
        layer.eachLayer(function (l) {
          var s = by[l.feature.properties.adcode];
          var v = s ? s[metric] : null;
          if (v === null || v === undefined) { l.setStyle({fillOpacity: 0}); return; }
          filled++;
          l.setStyle({fillOpacity: 0.65, fillColor: CHORO_COLOURS[classOf(v, breaks)]});
        });
        var fmt = metric === "vacancy_rate" ? fmtPct : fmtArea;
        legend.innerHTML = breaks.length ? CHORO_COLOURS.map(function (c, i) {
          var lo = i === 0 ? "" : fmt(breaks[i - 1]);
          return '<span class="om-swatch" style="background:' + c + '"></span>' +
            (i === 0 ? "≤ " + fmt(breaks[0]) : "> " + lo);
        }).join("<br>") : esc(T.not_configured);
        state.choropleth = {metric: metric, level: level, filled: filled};
      }).catch(function (err) { console.error(err); });
    }
    document.getElementById("om-choro").addEventListener("change", applyChoropleth);
    document.getElementById("om-choro-level").addEventListener("change", applyChoropleth);

    // buildings: clustered on the server per zoom; vector-tile footprints when zoomed in
    var clusters = L.layerGroup().addTo(map);
    control.addOverlay(clusters, T["layer.buildings"]);
    var seq = 0;
    function openBuilding(id, latlng) {
      getJSON(cfg.api + "/buildings/" + id).then(function (f) {
        L.popup({maxWidth: 320}).setLatLng(latlng).setContent(buildingPopup(f.properties, f.id, cfg)).openOn(map);
      }).catch(function (err) { console.error(err); });
    }
    function refreshClusters() {
      if (map.getZoom() >= cfg.footprintZoom) { clusters.clearLayers(); state.clusters = 0; return; }
      var mine = ++seq;
      getJSON(cfg.api + "/map/building-clusters?z=" + map.getZoom() + "&bbox=" + bboxParam(map, 0.2))
        .then(function (d) {
          if (mine !== seq) { return; }
          clusters.clearLayers();
          d.clusters.forEach(function (c) {
            var ll = [c[1], c[0]];
            var mk;
            if (c[2] === 1) {
              mk = L.circleMarker(ll, {radius: 7, color: "#fff", weight: 1.5, fillOpacity: 0.95,
                                       fillColor: STATUS_COLOURS[c[4]] || "#2b8cbe"});
              mk.bindTooltip(esc(c[5]));
              mk.on("click", function () { openBuilding(c[3], ll); });
            } else {
              var size = c[2] < 10 ? 28 : c[2] < 100 ? 34 : 40;
              mk = L.marker(ll, {icon: L.divIcon({
                className: "om-cluster", iconSize: [size, size],
                html: '<span style="line-height:' + (size - 4) + 'px">' + c[2] + "</span>"})});
              mk.on("click", function () { map.setView(ll, Math.min(map.getZoom() + 2, cfg.footprintZoom)); });
            }
            clusters.addLayer(mk);
          });
          state.clusters = d.clusters.length;
          state.points = d.buildings;
          state.ready.points = true;
          document.getElementById("om-count").textContent = T.buildings_in_view + ": " + d.buildings;
        }).catch(function (err) { console.error(err); });
    }

    var footprints = vectorLayer(map, cfg, "buildings", "", function (p) {
      state.footprints++;
      return {weight: 1, color: "#333", fill: true, fillOpacity: 0.6,
              fillColor: STATUS_COLOURS[p.status] || "#2b8cbe"};
    }, {minZoom: cfg.footprintZoom});
    footprints.on("click", function (e) { openBuilding(e.layer.properties.building_id, e.latlng); });
    footprints.addTo(map);
    control.addOverlay(footprints, T["layer.footprints"]);

    // compliance layers: open findings by group, as vector tiles
    cfg.complianceGroups.forEach(function (g) {
      state.compliance[g] = 0;
      var layer = vectorLayer(map, cfg, "compliance", "group=" + g, function () {
        state.compliance[g]++;
        return {weight: 1.5, color: "#fff", fill: true, fillOpacity: 0.85, radius: 5,
                fillColor: GROUP_COLOURS[g]};
      }, {minZoom: cfg.complianceZoom});
      layer.on("click", function (e) {
        var p = e.layer.properties;
        L.popup().setLatLng(e.latlng).setContent('<div class="om-popup"><b>' +
          esc(T["rule." + p.rule_code] || p.rule_code) + "</b>" + table([
            [T.excess, fmtArea(p.excess_m2) + (p.excess_pct ? " (" + Number(p.excess_pct).toFixed(1) + " %)" : "")],
            [T.status, esc(p.status)]
          ]) + '<a href="' + cfg.buildingPage + p.building_id + "?lang=" + cfg.lang + '">' +
          esc(T.open_building) + " →</a></div>").openOn(map);
      });
      control.addOverlay(layer, T["layer." + g]);
    });

    // search by agency or building name (the list endpoints' q)
    var searchSeq = 0;
    var results = document.getElementById("om-results");
    function showBuildings(features) {
      features.forEach(function (f) {
        var a = L.DomUtil.create("a", "om-result", results);
        a.href = "#";
        a.textContent = "🏢 " + f.properties.name;
        L.DomEvent.on(a, "click", function (ev) {
          L.DomEvent.preventDefault(ev);
          var center = L.geoJSON(f).getBounds().getCenter();
          map.setView(center, Math.max(map.getZoom(), 17));
          L.popup({maxWidth: 320}).setLatLng(center).setContent(buildingPopup(f.properties, f.id, cfg)).openOn(map);
        });
      });
    }
    document.getElementById("om-search").addEventListener("input", function (ev) {
      var q = ev.target.value.trim();
      var mine = ++searchSeq;
      if (!q) { results.innerHTML = ""; return; }
      setTimeout(function () {
        if (mine !== searchSeq) { return; }
        var qs = "q=" + encodeURIComponent(q);
        Promise.all([getJSON(cfg.api + "/buildings?limit=6&" + qs),
                     getJSON(cfg.api + "/agencies?limit=4&" + qs)]).then(function (res) {
          if (mine !== searchSeq) { return; }
          results.innerHTML = "";
          showBuildings(res[0].features);
          res[1].features.forEach(function (f) {
            var a = L.DomUtil.create("a", "om-result", results);
            a.href = "#";
            a.textContent = "🏛 " + f.properties.name;
            L.DomEvent.on(a, "click", function (e2) {
              L.DomEvent.preventDefault(e2);
              getJSON(cfg.api + "/buildings?limit=20&agency=" + f.id).then(function (fc) {
                results.innerHTML = "";
                showBuildings(fc.features);
              });
            });
          });
          if (!res[0].features.length && !res[1].features.length) {
            results.innerHTML = '<span class="om-hint">' + esc(T.search_none) + "</span>";
          }
        }).catch(function (err) { console.error(err); });
      }, 250);
    });

    // the province's bounds come with the page: fit at once, then fetch regions and
    // clusters in parallel (no round trip waits for another)
    if (cfg.bounds) { fitTo(map, cfg.bounds); }
    map.on("moveend", refreshClusters);
    if (cfg.bounds) { refreshClusters(); }
    var regionQs = cfg.province ? "&parent=" + cfg.province : "";
    getJSON(cfg.api + "/regions?level=city&simplify=0.002&limit=1000" + regionQs).then(function (fc) {
      cities.addData(fc);
      if (!cfg.bounds && fc.features.length) {
        map.fitBounds(cities.getBounds(), {padding: [10, 10], animate: false});
      }
      state.ready.regions = true;
      state.cities = fc.features.length;
      return getJSON(cfg.api + "/regions?level=county&simplify=0.002&limit=2000");
    }).then(function (fc) {
      counties.addData(fc);
      state.counties = fc.features.length;
    }).catch(function (err) { console.error(err); });
  }

  // ------------------------------------------------------------------ /map/buildings/{id}
  function building(map, cfg) {
    var T = cfg.texts;
    prepare(map);
    var b = cfg.building.bounds;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {paddingTopLeft: [320, 40], paddingBottomRight: [540, 40],
                                                  animate: false, maxZoom: 21});
    var state = {floor: null, mode: "category", drawn: {}, rooms: 0, tableRows: 0, popups: 0,
                 ready: false};
    global.officemapState = state;
    var rooms = {};
    var roomLayer = null;

    var floorButtons = cfg.floors.map(function (f) {
      return '<button type="button" class="om-floor" data-floor="' + f.id + '">' +
        esc(f.name || f.level) + "</button>";
    }).join("");
    var modes = ["category", "compliance", "vacancy"].map(function (m) {
      return '<label><input type="radio" name="om-mode" value="' + m + '"' +
        (m === "category" ? " checked" : "") + "> " + esc(T["mode." + m]) + "</label>";
    }).join(" ");
    panel(map, "topleft",
      '<div><a href="' + cfg.holdingsPage + "?lang=" + cfg.lang + '">' + esc(T.back_to_map) + "</a></div>" +
      "<h1>" + esc(cfg.building.name) + "</h1>" +
      '<div class="om-floors"><span class="om-hint">' + esc(T.floor) + "</span> " + floorButtons + "</div>" +
      '<div class="om-row">' + esc(T.colour_by) + ": " + modes + "</div>" +
      '<div id="om-legend" class="om-legend"></div>');
    panel(map, "topright", '<div id="om-room-table" class="om-room-table">' + esc(T.loading) + "</div>", "om-wide");

    function colourOf(p) {
      var r = rooms[p.room_id] || {};
      // vacancy and findings come with the floor's room table (not in the tiles: cheaper)
      if (state.mode === "vacancy") {
        if (p.category !== "office") { return "#eeeeee"; }
        return r.vacant ? "#d7191c" : "#1a9641";
      }
      if (state.mode === "compliance") {
        var rule = r.findings && r.findings.length ? r.findings[0].rule_code : null;
        if (!rule) { return "#eeeeee"; }
        return GROUP_COLOURS[RULE_GROUP[rule] || (rule.indexOf("data_quality") === 0 ? "data_quality" : "over_standard")] || "#999";
      }
      return CATEGORY_COLOURS[p.category] || "#bbbbbb";
    }
    function style(p) {
      var c = colourOf(p);
      state.drawn[c] = (state.drawn[c] || 0) + 1;
      return {weight: 1, color: "#555", fill: true, fillOpacity: 0.75, fillColor: c};
    }
    function legend() {
      var items;
      if (state.mode === "vacancy") {
        items = [["#d7191c", T.vacant], ["#1a9641", T.occupied], ["#eeeeee", T.not_office]];
      } else if (state.mode === "compliance") {
        items = ["over_standard", "idle", "not_recovered", "data_quality"].map(function (g) {
          return [GROUP_COLOURS[g], T["layer." + g]];
        }).concat([["#eeeeee", T.no_findings]]);
      } else {
        items = Object.keys(CATEGORY_COLOURS).map(function (k) { return [CATEGORY_COLOURS[k], T["cat." + k]]; });
      }
      document.getElementById("om-legend").innerHTML = items.map(function (i) {
        return '<span class="om-swatch" style="background:' + i[0] + '"></span>' + esc(i[1]);
      }).join("<br>");
    }

    function roomPopup(r) {
      var occ = r.occupants.map(function (o) {
        var rank = cfg.lang === "en" ? o.rank_en : o.rank_zh;
        return esc(o.name || "") + " · " + esc(rank) + " · " + esc(T.per_person) + " " + fmtArea(o.allowance_m2) +
          (o.concurrent_post ? " (" + esc(T.concurrent_post) + ")" : "") +
          (o.left_post_on ? " (" + esc(T.left_post) + " " + esc(o.left_post_on) + ")" : "");
      }).join("<br>") || "—";
      var findings = r.findings.map(function (f) {
        return esc(T["rule." + f.rule_code] || f.rule_code) +
          (f.excess_m2 ? " +" + fmtArea(f.excess_m2) : "");
      }).join("<br>") || esc(T.no_findings);
      return '<div class="om-popup om-room-popup"><b>' + esc(T.room) + " " + esc(r.number) + "</b>" + table([
        [T.category, esc(cfg.lang === "en" ? r.category_en : r.category_zh)],
        [T.usable_area, fmtArea(r.usable_area_m2)],
        [T.agency, esc(r.agency)],
        [T.occupants, occ],
        [T.allowance, r.allowance_m2 === null ? "—" : fmtArea(r.allowance_m2)],
        [T.status, r.category === "office" ? esc(r.vacant ? T.vacant : T.occupied) : esc(T.not_office)],
        [T.findings, findings]
      ]) + "</div>";
    }
    function openRoom(id, latlng) {
      var r = rooms[id];
      if (!r) { return; }
      // keep the popup clear of the floor panel (left) and the room table (right)
      L.popup({maxWidth: 360, autoPanPaddingTopLeft: [350, 20], autoPanPaddingBottomRight: [600, 20]})
        .setLatLng(latlng || [r.lat, r.lon]).setContent(roomPopup(r)).openOn(map);
      state.popups++;
      state.popupRoom = id;
    }

    function renderTable(d) {
      var rows = d.rooms.map(function (r) {
        var ranks = r.occupants.map(function (o) { return cfg.lang === "en" ? o.rank_en : o.rank_zh; }).join("、");
        return '<tr data-room="' + r.id + '" title="' + esc(ranks) + '"><td>' + esc(r.number) + "</td><td>" +
          esc(cfg.lang === "en" ? r.category_en : r.category_zh) + '</td><td class="num">' +
          fmtArea(r.usable_area_m2) + '</td><td class="num">' + (r.occupants.length || "") + '</td><td class="num">' +
          (r.allowance_m2 === null ? "" : fmtArea(r.allowance_m2)) + "</td><td>" +
          (r.category === "office" ? esc(r.vacant ? T.vacant : T.occupied) : "") +
          (r.findings.length ? " ⚠" : "") + "</td></tr>";
      }).join("");
      var t = d.totals;
      var el = document.getElementById("om-room-table");
      el.innerHTML = "<b>" + esc(d.floor.name || d.floor.level) + "</b> · " + esc(T.rooms) + " " + t.rooms +
        "<table><thead><tr><th>" + esc(T.room_no) + "</th><th>" + esc(T.category) + "</th><th>" +
        esc(T.usable_area) + "</th><th>" + esc(T.occupants) + "</th><th>" + esc(T.allowance) + "</th><th>" +
        esc(T.status) + "</th></tr></thead><tbody>" + rows + '</tbody><tfoot><tr><td colspan="2">' +
        esc(T.totals) + '</td><td class="num">' + fmtArea(t.usable_area_m2) + "</td><td>" + t.occupants +
        '</td><td class="num">' + fmtArea(t.allowance_m2) + "</td><td>" + esc(T.vacant) + " " +
        fmtArea(t.vacant_office_area_m2) + "</td></tr></tfoot></table>";
      el.querySelectorAll("tr[data-room]").forEach(function (tr) {
        tr.addEventListener("click", function () { openRoom(Number(tr.getAttribute("data-room"))); });
      });
      state.tableRows = d.rooms.length;
    }

    function showFloor(id) {
      state.ready = false;
      state.floor = id;
      state.drawn = {};
      document.querySelectorAll(".om-floor").forEach(function (btn) {
        btn.classList.toggle("active", Number(btn.getAttribute("data-floor")) === id);
      });
      if (roomLayer) { map.removeLayer(roomLayer); }
      getJSON(cfg.api + "/map/floors/" + id + "/rooms").then(function (d) {
        if (state.floor !== id) { return; }
        rooms = {};
        d.rooms.forEach(function (r) { rooms[r.id] = r; });
        state.rooms = d.rooms.length;
        renderTable(d);
        roomLayer = vectorLayer(map, cfg, "rooms", "floor=" + id, style);
        roomLayer.on("click", function (e) { openRoom(e.layer.properties.room_id, e.latlng); });
        roomLayer.on("load", function () { state.ready = true; });
        roomLayer.addTo(map);
      }).catch(function (err) { console.error(err); });
      if (global.history && global.history.replaceState) {
        global.history.replaceState(null, "", "?floor=" + id + "&lang=" + cfg.lang);
      }
    }

    document.querySelectorAll(".om-floor").forEach(function (btn) {
      btn.addEventListener("click", function () { showFloor(Number(btn.getAttribute("data-floor"))); });
    });
    document.querySelectorAll("input[name=om-mode]").forEach(function (input) {
      input.addEventListener("change", function () {
        state.mode = input.value;
        state.drawn = {};
        legend();
        if (roomLayer) { roomLayer.redraw(); }
      });
    });
    legend();
    if (cfg.floor) { showFloor(cfg.floor); }
  }

  // ------------------------------------------------------------------ /map/vacancy
  function vacancy(map, cfg) {
    var T = cfg.texts;
    prepare(map);
    var state = {bins: 0, summary: null, ready: false, requests: 0};
    global.officemapState = state;
    var levels = ["central", "province", "city", "county", "township"].map(function (l) {
      return '<option value="' + l + '">' + esc(T["level." + l]) + "</option>";
    }).join("");
    panel(map, "topleft",
      '<div><a href="' + cfg.holdingsPage + "?lang=" + cfg.lang + '">' + esc(T.back_to_map) + "</a></div>" +
      "<h1>" + esc(T["title.vacancy"]) + "</h1>" +
      '<div class="om-row"><label>' + esc(T.region) + ' <select id="om-region"><option value="">' +
      esc(T.whole_province) + "</option></select></label></div>" +
      '<div class="om-row"><label>' + esc(T.agency_level) + ' <select id="om-level"><option value="">' +
      esc(T.all_levels) + "</option>" + levels + "</select></label></div>" +
      (cfg.idleDays === null ? "" : '<div class="om-row"><label><input type="checkbox" id="om-idle"> ' +
        esc(T.idle_only.replace("{days}", cfg.idleDays)) + "</label></div>") +
      '<div class="om-hint">' + esc(T.heat_hint) + "</div>" +
      (cfg.basemap ? "" : '<div class="om-hint">' + esc(T.no_basemap) + "</div>"));
    panel(map, "topright", "<h2>" + esc(T.leaders_panel) + '</h2><div id="om-summary">' + esc(T.loading) + "</div>");

    var outlines = L.geoJSON(null, {style: {color: "#666", weight: 1, fill: false}}).addTo(map);
        // bins are already aggregated per zoom on the server: no extra zoom fading (maxZoom 1)
    var heat = L.heatLayer([], {radius: 25, blur: 15, maxZoom: 1, max: 1, minOpacity: 0.3,
                                gradient: {0.2: "#2c7bb6", 0.45: "#abd9e9", 0.65: "#fdae61", 0.9: "#d7191c"}});
    heat.addTo(map);
    // (the heat layer stays out of the layer control: its maxZoom of 1 would grey it out)
    L.control.layers(null, {}, {collapsed: false}).addOverlay(outlines, T["layer.cities"]).addTo(map);

    function filters() {
      var region = document.getElementById("om-region").value;
      var level = document.getElementById("om-level").value;
      return (region ? "&region=" + region : "") + (level ? "&agency_level=" + level : "");
    }
    var seq = 0;
    function refresh() {
      var mine = ++seq;
      state.requests++;
      var idleBox = document.getElementById("om-idle");
      var idle = idleBox && idleBox.checked ? "&min_idle_days=" + cfg.idleDays : "";
      getJSON(cfg.api + "/map/vacancy-bins?z=" + map.getZoom() + "&bbox=" + bboxParam(map, 0.25) + filters() + idle)
        .then(function (d) {
          if (mine !== seq) { return; }
          var max = d.max_m2 || 1;
          heat.setLatLngs(d.bins.map(function (x) { return [x[0], x[1], Math.sqrt(x[2] / max)]; }));
          state.bins = d.bins.length;
          state.idleArea = d.bins.reduce(function (a, x) { return a + x[2]; }, 0);
          state.ready = true;
        }).catch(function (err) { console.error(err); });
    }
    function refreshSummary() {
      getJSON(cfg.api + "/map/summary?" + filters().replace(/^&/, "")).then(function (s) {
        state.summary = s;
        document.getElementById("om-summary").innerHTML = '<div class="om-kpis">' + [
          [T.total_area, fmtArea(s.usable_area_m2)],
          [T.office_area, fmtArea(s.office_area_m2)],
          [T.vacant_office_area, fmtArea(s.vacant_office_area_m2)],
          [T.vacancy_rate, fmtPct(s.vacancy_rate)],
          [T.over_standard_area, s.findings_available ? fmtArea(s.over_standard_m2) : esc(T.no_findings_evaluated)],
          [T.open_findings, s.findings_available ? esc(s.open_findings) : "—"]
        ].map(function (k) {
          return '<div class="om-kpi"><div class="om-kpi-label">' + esc(k[0]) + '</div><div class="om-kpi-value">' + k[1] + "</div></div>";
        }).join("") + "</div>";
      }).catch(function (err) { console.error(err); });
    }
    ["om-region", "om-level", "om-idle"].forEach(function (id) {
      var control = document.getElementById(id);
      if (!control) { return; }  // no idle filter when no threshold is configured
      control.addEventListener("change", function () {
        refresh();
        refreshSummary();
        var region = document.getElementById("om-region").value;
        var l = region && outlines.getLayers().filter(function (x) { return String(x.feature.properties.adcode) === region; })[0];
        if (l && id === "om-region") { map.fitBounds(l.getBounds(), {animate: false}); }
      });
    });
    if (cfg.bounds) {
      fitTo(map, cfg.bounds);
      refresh();
      refreshSummary();
    }
    map.on("moveend", refresh);
    var regionQs = cfg.province ? "&parent=" + cfg.province : "";
    getJSON(cfg.api + "/regions?level=city&simplify=0.002&limit=1000" + regionQs).then(function (fc) {
      outlines.addData(fc);
      var sel = document.getElementById("om-region");
      fc.features.forEach(function (f) {
        var o = document.createElement("option");
        o.value = f.properties.adcode;
        o.textContent = f.properties.name;
        sel.appendChild(o);
      });
      if (!cfg.bounds) {
        if (fc.features.length) { map.fitBounds(outlines.getBounds(), {padding: [10, 10], animate: false}); }
        refresh();
        refreshSummary();
      }
    }).catch(function (err) { console.error(err); });
  }

  global.OfficeMap = {holdings: holdings, building: building, vacancy: vacancy, prepare: prepare,
                      getJSON: getJSON, esc: esc, fmtArea: fmtArea};
})(window);
