/* Leaflet pieces every map page shares: panels, vector-tile layers, view helpers. */
import { el } from "./dom.js";

export const STATUS_COLOURS = {
  in_use: "#2b8cbe", partly_idle: "#fdae61", idle: "#d7191c",
  under_renovation: "#7b3294", disposed: "#999999",
};
export const CATEGORY_COLOURS = {
  office: "#4e79a7", service: "#f28e2b", equipment: "#76b7b2", ancillary: "#59a14f",
  technical: "#edc948", circulation: "#d9d9d9",
};
export const GROUP_COLOURS = {
  over_standard: "#d7191c", idle: "#fdae61", not_recovered: "#7b3294", data_quality: "#1a9641",
  lease: "#984ea3",
};

/* Leaflet.VectorGrid 1.3.0 calls L.DomEvent.fakeStop, removed in Leaflet 1.8: clicks on
   vector-tile features threw and never reached the layer. Our own fix (same logic as
   upstream PR #288, unreleased): stop the DOM event and fire the feature's click. */
function patchVectorGrid() {
  if (!L.Canvas || !L.Canvas.Tile || L.DomEvent.fakeStop) { return; }
  L.Canvas.Tile.include({
    _onClick(e) {
      const point = this._map.mouseEventToLayerPoint(e).subtract(this.getOffset());
      let clicked;
      for (const id in this._layers) {
        const layer = this._layers[id];
        if (layer.options.interactive && layer._containsPoint(point) && !this._map._draggableMoved(layer)) {
          clicked = layer;
        }
      }
      if (clicked) {
        L.DomEvent.stop(e);
        this._fireEvent([clicked], e);
      }
    },
  });
}

export function prepare(map) {
  // without a basemap the map has no maxZoom, which some layers need
  if (map.options.maxZoom === undefined) { map.setMaxZoom(21); }
  if (map.options.minZoom === undefined) { map.setMinZoom(4); }
  patchVectorGrid();
}

/* A panel (Leaflet control) holding the given nodes; clicks and scrolls stay in it. */
export function panel(map, position, children, extraClass) {
  const control = L.control({position});
  control.onAdd = () => {
    const div = el("div", {class: "om-panel" + (extraClass ? " " + extraClass : "")}, children);
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  control.addTo(map);
  return control;
}

export function bboxParam(map, pad) {
  const b = pad ? map.getBounds().pad(pad) : map.getBounds();
  return [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -85), Math.min(b.getEast(), 180),
          Math.min(b.getNorth(), 85)].map((v) => v.toFixed(6)).join(",");
}

export function fitTo(map, b, options = {}) {
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {padding: [10, 10], animate: false, ...options});
}

function tilePane(map) {
  // vector tiles draw above the region polygons (overlayPane, 400) so their clicks win
  if (!map.getPane("omTiles")) { map.createPane("omTiles").style.zIndex = 450; }
  return "omTiles";
}

export function vectorLayer(map, cfg, layer, query, style, options = {}) {
  const url = cfg.tiles + "/" + layer + "/{z}/{x}/{y}.pbf" + (query ? "?" + query : "");
  return L.vectorGrid.protobuf(url, {
    pane: tilePane(map),
    rendererFactory: L.canvas.tile,
    vectorTileLayerStyles: {[layer]: style},
    interactive: true,
    maxNativeZoom: 22,
    maxZoom: 22,
    getFeatureId: (f) => f.id,
    ...options,
  });
}

/* Legend rows: a colour swatch and its label, as text. */
export function legendRows(items) {
  return items.map(([colour, label]) => el("div", {},
    el("span", {class: "om-swatch", style: {background: colour}}), label));
}

/* The group of a rule code, from the server's rule groups ({group: [code or prefix.]}). */
export function ruleGroup(cfg, code) {
  for (const [group, codes] of Object.entries(cfg.ruleGroups || {})) {
    if (codes.some((c) => (c.endsWith(".") ? code.startsWith(c) : code === c))) { return group; }
  }
  return null;
}
