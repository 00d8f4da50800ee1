/* The rectification ledger: items in scope, one item's measures, evidence and next step.
   The server decides who may do what; the page shows its answer (message_zh/message). */
import {getJSON, send} from "./api.js";
import {clear, el} from "./dom.js";
import {enumerations, label} from "./enums.js";
import {fmtArea} from "./format.js";
import {API, app, badge, card, field, lang, loading, showError, t} from "./supervision-common.js";

const params = new URLSearchParams(window.location.search);
const listBox = el("div", {id: "om-ledger"});
const detail = el("div", {id: "om-item"});
// the ledger's statuses come from the server; "overdue" is offered among the filters
const status = el("select", {id: "om-status"},
  [["", t("filter.all")], ["open", t("filter.open")], ["overdue", t("filter.overdue")]]
    .map(([v, text]) => el("option", {value: v}, text)));
enumerations().then((all) => status.append(...all.rectification_status
  .filter((s) => s.value !== "overdue").map((s) => el("option", {value: s.value}, label(s, lang)))));
const exportLink = el("a", {href: `${API}/exports/rectifications.xlsx`, id: "om-export"}, t("export"));

async function loadList() {
  const q = status.value ? `&status=${encodeURIComponent(status.value)}` : "";
  exportLink.setAttribute("href", `${API}/exports/rectifications.xlsx?${q.slice(1)}`);
  const list = await getJSON(`${API}/rectifications?limit=500${q}`);
  listBox.replaceChildren(el("table", {class: "om-table"},
    el("thead", {}, el("tr", {}, ["#", t("problem"), t("responsible_agency"), t("responsible_person"), t("deadline"), t("status")].map((h) => el("th", {}, h)))),
    el("tbody", {}, list.items.map((i) => el("tr", {class: "om-clickable", dataset: {finding: String(i.finding_id)},
      on: {click: () => loading(openItem(i.finding_id))}},
    el("td", {class: "om-num"}, String(i.finding_id)), el("td", {}, i.problem),
    el("td", {}, i.responsible_agency_name || String(i.responsible_agency_id)), el("td", {}, i.responsible_person),
    el("td", {}, i.deadline), el("td", {}, badge(i)))))));
}

function evidenceList(items) {
  if (!items.length) { return el("p", {}, t("none")); }
  return el("div", {class: "om-evidence"}, items.map((e) => el("figure", {},
    e.media_type.startsWith("image/") ? el("img", {src: e.content_url, alt: e.filename, loading: "lazy"})
      : el("a", {href: e.content_url}, e.filename),
    el("figcaption", {}, `${t("phase." + e.phase)} · ${e.filename}`))));
}

async function openItem(findingId) {
  const res = await fetch(`${API}/findings/${findingId}/rectification`, {credentials: "same-origin"});
  const item = await res.json();
  if (!res.ok) { showError(detail, {message: item.message, text: () => (lang === "zh" ? item.message_zh : item.message)}); return; }
  const etag = res.headers.get("etag");
  const msg = el("div", {id: "om-item-msg"});
  const f = item.finding || {};
  const facts = el("table", {class: "om-table"}, [
    [t("problem"), item.problem],
    [t("responsible_agency"), item.responsible_agency_name || String(item.responsible_agency_id)],
    [t("responsible_person"), `${item.responsible_person}${item.responsible_post ? "（" + item.responsible_post + "）" : ""}`],
    [t("deadline"), item.deadline + (item.overdue ? ` · ${t("overdue_days")} ${item.overdue_days}` : "")],
    [t("status"), badge(item)],
    [t("measures"), item.measures || "—"],
    [t("after_state"), item.after_state || "—"],
    [t("not_rectified_reason"), item.not_rectified_reason || "—"],
    [t("verification_note"), item.verification_note || "—"],
    ["", f.measured !== undefined && f.unit === "m2" ? `${fmtArea(f.measured)} / ${fmtArea(f.allowed)}` : ""],
  ].map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
  const inputs = {
    measures: el("textarea", {id: "om-measures", maxlength: 2000}, item.measures || ""),
    after_state: el("textarea", {id: "om-after", maxlength: 1000}, item.after_state || ""),
    not_rectified_reason: el("textarea", {id: "om-reason", maxlength: 1000}, item.not_rectified_reason || ""),
    verification_note: el("textarea", {id: "om-vnote", maxlength: 1000}),
  };
  function patch(body) {
    return loading(patchNow(body));
  }
  async function patchNow(body) {
    try {
      await send("PATCH", `${API}/findings/${findingId}/rectification`, body, {etag});
      await loadList();
      await openItem(findingId);
    } catch (err) { showError(msg, err); }
  }
  const phase = el("select", {id: "om-phase"}, ["before", "after", "verification"].map((p) => el("option", {value: p, selected: item.status !== "pending" && p === "after"}, t("phase." + p))));
  const file = el("input", {type: "file", id: "om-file", accept: "image/jpeg,image/png,application/pdf", capture: "environment"});
  async function uploadNow() {
    if (!file.files.length) { return; }
    const fd = new FormData();
    fd.append("file", file.files[0]);
    fd.append("phase", phase.value);
    fd.append("finding_id", String(findingId));
    try { await send("POST", `${API}/evidence`, fd); await openItem(findingId); } catch (err) { showError(msg, err); }
  }
  const upload = el("button", {type: "button", id: "om-upload", class: "om-secondary",
    on: {click: () => loading(uploadNow())}}, t("upload"));
  const actions = el("div", {class: "om-actions"});
  const form = el("form", {class: "om-form", on: {submit: (ev) => ev.preventDefault()}});
  if (item.status === "pending") {
    form.append(field(t("measures"), inputs.measures, "om-wide"));
    actions.append(el("button", {type: "button", id: "om-start", on: {click: () => patch({status: "in_progress", measures: inputs.measures.value})}}, t("start")));
  } else if (item.status === "in_progress") {
    form.append(field(t("measures"), inputs.measures, "om-wide"), field(t("after_state"), inputs.after_state, "om-wide"),
      field(t("not_rectified_reason"), inputs.not_rectified_reason, "om-wide"));
    const body = () => {
      const b = {status: "awaiting_verification", measures: inputs.measures.value, after_state: inputs.after_state.value};
      if (inputs.not_rectified_reason.value.trim()) { b.not_rectified_reason = inputs.not_rectified_reason.value; }
      return b;
    };
    actions.append(el("button", {type: "button", id: "om-submit", on: {click: () => patch(body())}}, t("submit")));
  } else if (item.status === "awaiting_verification") {
    form.append(field(t("verification_note"), inputs.verification_note, "om-wide"));
    actions.append(
      el("button", {type: "button", id: "om-verify", on: {click: () => patch(inputs.verification_note.value.trim() ? {status: "closed", verification_note: inputs.verification_note.value} : {status: "closed"})}}, t("verify")),
      el("button", {type: "button", id: "om-send-back", class: "om-danger", on: {click: () => patch({status: "in_progress", verification_note: inputs.verification_note.value})}}, t("send_back")));
  }
  if (item.closure_proposed && item.status !== "closed" && item.status !== "awaiting_verification") {
    actions.append(el("button", {type: "button", id: "om-verify", on: {click: () => patch({status: "closed"})}}, t("verify")));
  }
  if (item.status !== "closed") {
    form.append(field(t("evidence"), el("div", {}, phase, file, upload), "om-wide"));
  }
  form.append(actions, el("div", {class: "om-wide"}, msg));
  clear(detail).append(card(`#${item.finding_id} · ${lang === "zh" ? f.rule_name_zh || "" : f.rule_name_en || ""}`,
    item.closure_proposed ? el("p", {class: "om-note"}, t("closure_proposed")) : null,
    facts, el("h2", {}, t("evidence")), evidenceList(item.evidence), form));
}

async function main() {
  clear(app);
  status.addEventListener("change", () => loading(loadList()));
  app.append(card(t("title.ledger"), el("div", {class: "om-actions"}, status, exportLink), listBox), detail);
  try {
    await loadList();
    if (params.get("finding")) { await openItem(Number(params.get("finding"))); }
  } catch (err) { showError(listBox, err); }
}

loading(main());
