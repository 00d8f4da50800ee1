import { leafletMap, pageConfig } from "./boot.js";

const cfg = pageConfig();
const map = leafletMap(cfg);
window.OfficeMap.building(map, cfg);
