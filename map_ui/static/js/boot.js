/* What every map page starts from: its configuration (the body's data-config, JSON set by
   the server with autoescape) and the Leaflet map that folium's script created. */
export function pageConfig() {
  return JSON.parse(document.body.dataset.config);
}

export function leafletMap(cfg) {
  return window[cfg.mapName];
}
