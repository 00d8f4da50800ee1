/* /allocation/request — an agency officer files a space request and follows it. */
import { ApiError, getJSON, send } from "./api.js";
import { pageConfig } from "./boot.js";
import { append, busyWhile, clear, el } from "./dom.js";

const cfg = pageConfig();
const T = cfg.alloc;
const app = document.getElementById("om-app");
// busy (aria-busy) while the requests load or one is being filed
const loading = (promise) => busyWhile(app, promise);
const agency = el("select", {id: "om-agency"}, cfg.agencies.map((a) => el("option", {value: a.id}, a.name)));
const rank = el("select", {id: "om-rank"});
const count = el("input", {id: "om-count", type: "number", min: 1, max: 500, value: 1});
const reason = el("textarea", {id: "om-reason", rows: 2, cols: 40, maxlength: 2000});
const message = el("div", {id: "om-message"});
const mine = el("div", {id: "om-mine"});

function fillRanks() {
  const a = cfg.agencies.find((x) => String(x.id) === agency.value);
  append(clear(rank), ((a && cfg.ranks[a.level]) || []).map(([code, name]) =>
    el("option", {value: code}, name)));
}

function load() {
  return getJSON(`${cfg.api}/space-requests?limit=100`).then((body) => {
    append(clear(mine), el("table", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, T.agency),
      el("th", {}, T.count), el("th", {}, T.reason), el("th", {}, "")),
      body.items.map((r) => el("tr", {dataset: {request: r.id}}, el("td", {}, r.id),
        el("td", {}, r.agency_name), el("td", {}, r.offices.reduce((s, o) => s + o.count, 0)),
        el("td", {}, r.reason || ""), el("td", {class: "om-status"}, T["status." + r.status] || r.status)))));
  });
}

function submit(event) {
  event.preventDefault();
  const body = {agency_id: Number(agency.value),
                offices: [{rank_code: rank.value, count: Number(count.value)}],
                reason: reason.value || null};
  loading(send("POST", `${cfg.api}/space-requests`, body).then((r) => {
    append(clear(message), T.submitted + " #" + r.data.id);
    return load();
  }).catch((err) => {
    append(clear(message), el("span", {class: "om-error"},
      err instanceof ApiError ? err.text(cfg.lang) : String(err)));
  }));
}

agency.addEventListener("change", fillRanks);
fillRanks();
append(app, 
  el("form", {id: "om-request-form", on: {submit}},
    el("p", {}, el("label", {}, T.agency, " ", agency)),
    el("p", {}, el("label", {}, T.rank, " ", rank), " ", el("label", {}, T.count, " ", count)),
    el("p", {}, el("label", {}, T.reason, " ", reason)),
    el("button", {type: "submit", id: "om-submit"}, T.submit)),
  message, el("h2", {}, T.my_requests), mine);
loading(load()).catch((err) => {
  append(clear(message), el("span", {class: "om-error"},
    err instanceof ApiError ? err.text(cfg.lang) : String(err)));
});
