/* /map/allocation — the managing office: open space requests, a request's candidates in
   the rule order (调剂 → 置换 → 租用 → 建设) on the map, approve one, execute it. */
import { ApiError, getJSON, send } from "./api.js";
import { leafletMap, pageConfig } from "./boot.js";
import { append, busyWhile, clear, el, keyValueTable, setBusy } from "./dom.js";
import { fmtArea } from "./format.js";
import { fitTo, panel, prepare } from "./leaflet-kit.js";

function allocation(map, cfg) {
  const T = cfg.alloc;
  prepare(map);
  // busy (aria-busy) while requests, candidates or a decision are on their way
  const container = setBusy(map.getContainer(), true);
  const loading = (promise) => busyWhile(container, promise);
  if (cfg.bounds) { fitTo(map, cfg.bounds); }

  const list = el("div", {id: "om-requests"}, T.loading);
  const cands = el("div", {id: "om-candidates"});
  const result = el("div", {id: "om-result"});
  panel(map, "topleft", [el("h1", {}, T["title.planner"]), el("h2", {}, T.requests), list,
                         el("h2", {}, T.candidates), cands, result], "om-alloc");
  const markers = L.layerGroup().addTo(map);
  let points = new Map();

  function fail(err) {
    append(clear(result), el("div", {class: "om-error"},
      err instanceof ApiError ? err.text(cfg.lang) : String(err)));
  }

  function showEntitlement(agencyId) {
    return getJSON(`${cfg.api}/agencies/${agencyId}/entitlement`).then((e) => {
      append(result, el("h2", {}, T.entitlement), keyValueTable([
        [T.agency, e.agency_name],
        [T.entitled, e.entitled_office_m2 === null ? "—" : fmtArea(e.entitled_office_m2)],
        [T.held, fmtArea(e.held_office_m2)],
        [T.shortfall, e.shortfall_m2 === null ? "—" : fmtArea(e.shortfall_m2)],
      ]));
    });
  }

  function execute(request, plan, etag) {
    loading(send("POST", `${cfg.api}/allocation-plans/${plan.id}/execute`, null, {etag}).then((r) => {
      append(clear(result), el("h2", {}, T.executed), keyValueTable([
        [T.occupancies, r.data.occupancies_created],
        [T.findings_closed, r.data.idle_findings_closed],
      ]));
      return showEntitlement(request.agency_id).then(loadRequests);
    }).catch(fail));
  }

  function approve(request, c) {
    const body = c.assignments.length
      ? {request_id: request.id, route: c.route, assignments: c.assignments}
      : {request_id: request.id, route: c.route, area_m2: c.area_m2};
    loading(send("POST", `${cfg.api}/allocation-plans`, body).then((r) => {
      append(clear(result), el("h2", {}, T.approved), el("div", {}, `#${r.data.id} ${c.route_zh}`),
        r.data.route === "transfer" || r.data.route === "swap"
          ? el("button", {id: "om-execute", type: "button",
                          on: {click: () => execute(request, r.data, r.etag)}}, T.execute)
          : null);
    }).catch(fail));
  }

  function showCandidates(request) {
    append(clear(cands), T.loading);
    clear(result);
    markers.clearLayers();
    loading(getJSON(`${cfg.api}/space-requests/${request.id}/candidates`).then((body) => {
      append(clear(cands), body.candidates.map((c) => {
        const at = c.building_id !== null ? points.get(c.building_id) : null;
        if (at) {
          L.circleMarker([at[1], at[0]], {radius: 9, color: c.route === "swap" ? "#e6550d" : "#31a354"})
            .bindTooltip(el("span", {}, `${c.rank}. ${c.building_name}`)).addTo(markers);
        }
        return el("div", {class: "om-cand", dataset: {rank: c.rank, route: c.route}},
          el("div", {class: "om-cand-head"},
            `${c.rank}. ${c.route_zh}`, c.building_name ? " · " + c.building_name : "",
            ` · ${c.people_housed}/${c.people_needed} ${T.people} · ${fmtArea(c.area_m2)}`),
          el("ul", {}, (cfg.lang === "zh" ? c.reasons : c.reasons_en).map((x) => el("li", {}, x))),
          el("button", {type: "button", class: "om-approve", on: {click: () => approve(request, c)}},
             T.approve));
      }));
      const layers = markers.getLayers();
      if (layers.length) { map.fitBounds(L.featureGroup(layers).getBounds().pad(0.3), {animate: false, maxZoom: 14}); }
    }).catch(fail));
  }

  function loadRequests() {
    return getJSON(`${cfg.api}/space-requests?limit=100`).then((body) => {
      const open = body.items.filter((r) => r.status === "submitted");
      append(clear(list), open.length ? el("table", {}, open.map((r) =>
        el("tr", {dataset: {request: r.id}},
          el("td", {}, `#${r.id}`), el("td", {}, r.agency_name),
          el("td", {}, r.offices.reduce((a, o) => a + o.count, 0) + " " + T.people),
          el("td", {}, el("button", {type: "button", class: "om-show",
                                     on: {click: () => showCandidates(r)}}, T.show_candidates)))))
        : T.no_requests);
    });
  }

  loading(getJSON(`${cfg.api}/map/building-points`).then((d) => {
    points = new Map(d.points.map((p) => [p[0], [p[1], p[2]]]));
    return loadRequests();
  })).catch(fail);
}

const cfg = pageConfig();
allocation(leafletMap(cfg), cfg);
