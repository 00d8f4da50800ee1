/* The stock-take campaign page: launch a campaign, follow each agency's declaration
   (未填报 → 填报中 → 已提交 → 已核实 / 已退回) and what it still owes.

   Everything comes from /api/v1/campaigns…; names go into the DOM as text (dom.js). */
import {getJSON, send, ApiError} from "./api.js";
import {busyWhile, el, clear} from "./dom.js";
import {pageConfig} from "./boot.js";
import {enumerations, labels, moves} from "./enums.js";

const cfg = pageConfig();
const T = cfg.labels;
const api = cfg.api;
const shown = {agencies: [], completeness: []};

const $ = (id) => document.getElementById(id);
// busy (aria-busy) while a campaign loads or a change is on its way
const main = document.querySelector("main");
const loading = (promise) => busyWhile(main, promise);
// where a declaration may move and the statuses' names: the server's (GET /enumerations)
let NEXT = {};
let STATUS = {};

function showError(node, err) {
  node.textContent = err instanceof ApiError ? err.text(cfg.lang) : String(err);
}

async function loadCampaigns(selectId = null) {
  const campaigns = await getJSON(`${api}/campaigns`);
  const select = clear($("st-campaign"));
  for (const c of campaigns) {
    select.append(el("option", {value: String(c.id)}, `${c.name}（${c.region_name || c.region_adcode}）`));
  }
  if (selectId !== null) { select.value = String(selectId); }
  if (campaigns.length) { await loadCampaign(Number(select.value)); }
}

async function loadCampaign(id) {
  const [campaign, completeness] = await Promise.all([
    getJSON(`${api}/campaigns/${id}`),
    getJSON(`${api}/campaigns/${id}/completeness`),
  ]);
  const agencies = await getJSON(`${api}/campaigns/${id}/agencies`);
  shown.agencies = agencies;
  shown.completeness = completeness;
  $("st-campaign-info").textContent =
    `${T.deadline}: ${campaign.deadline} · ${T.created_by}: ${campaign.created_by}`;
  $("st-owed").setAttribute("href", `${api}/campaigns/${id}/completeness.xlsx`);
  renderTable();
}

function renderTable() {
  const byAgency = new Map(shown.completeness.map((r) => [r.agency_id, r]));
  const head = clear($("st-agencies").tHead);
  head.append(el("tr", {}, [T.agency, T.credit_code, T.status, T.reason, T.completeness, T.owes, T.actions]
    .map((h) => el("th", {}, h))));
  const body = clear($("st-agencies").tBodies[0]);
  for (const a of shown.agencies) {
    const c = byAgency.get(a.agency_id);
    const status = STATUS[a.status] || a.status;
    const reason = el("input", {placeholder: T.reason, maxlength: "2000", class: "st-reason"});
    const buttons = (NEXT[a.status] || []).map((to) => el("button", {
      type: "button", dataset: {to}, class: "st-go",
      on: {click: () => loading(move(a, to, reason.value))},
    }, T["go_" + to]));
    body.append(el("tr", {dataset: {agency: String(a.agency_id), status: a.status}},
      el("td", {}, a.agency_name),
      el("td", {}, a.credit_code || ""),
      el("td", {}, el("span", {class: "st-status " + a.status}, status)),
      el("td", {}, a.reason || ""),
      el("td", {}, c ? [el("span", {class: "st-score", style: {background: colour(c.score)}}),
        `${Math.round(c.score * 100)}%`] : ""),
      el("td", {}, c ? (c.owes.join("；") || T.nothing_owed) : ""),
      el("td", {class: "st-actions"}, buttons, NEXT[a.status]?.includes("returned") ? reason : null),
    ));
  }
}

function colour(score) {
  if (score >= 0.9) { return "#1a9641"; }
  if (score >= 0.6) { return "#a6d96a"; }
  if (score >= 0.3) { return "#fdae61"; }
  return "#d7191c";
}

async function move(agency, to, reason) {
  $("st-error").textContent = "";
  try {
    await send("POST", `${api}/campaigns/${agency.campaign_id}/agencies/${agency.agency_id}/status`,
      {status: to, reason: to === "returned" ? reason : null}, {etag: `"${agency.version}"`});
    await loadCampaign(agency.campaign_id);
  } catch (err) { showError($("st-error"), err); }
}

$("st-launch").addEventListener("submit", (event) => {
  event.preventDefault();
  loading(launch());
});

async function launch() {
  $("st-launch-error").textContent = "";
  try {
    const {data} = await send("POST", `${api}/campaigns`, {
      name: $("st-name").value,
      region_adcode: Number($("st-region").value),
      deadline: $("st-deadline").value,
    });
    await loadCampaigns(data.id);
  } catch (err) { showError($("st-launch-error"), err); }
}
$("st-campaign").addEventListener("change", (e) => loading(loadCampaign(Number(e.target.value))));

loading(enumerations().then((all) => {
  NEXT = moves(all, "campaign_status");
  STATUS = labels(all, "campaign_status", cfg.lang);
  return loadCampaigns();
})).catch((err) => { showError($("st-error"), err); });
