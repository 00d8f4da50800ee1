/* On-site check form: the drawn buildings, the register of the chosen one, a check that
   confirms or raises a finding, a photo, and putting the finding on the ledger. */
import {getJSON, send} from "./api.js";
import {clear, el} from "./dom.js";
import {enumerations, labels} from "./enums.js";
import {fmtArea} from "./format.js";
import {API, app, cfg, card, field, lang, loading, showError, t, today} from "./supervision-common.js";

const id = cfg.inspection_id;
const CATEGORIES = cfg.categories;
let CATEGORY_NAMES = {};  // the server's names (GET /enumerations), loaded first
const MANUAL = Object.keys(cfg.manual_rules);
const MANUAL_NAMES = cfg.manual_rules;
const formBox = el("div", {id: "om-check"});
const checksBox = el("div");

function buildingsTable(inspection) {
  return el("table", {class: "om-table", id: "om-buildings"},
    el("thead", {}, el("tr", {}, [t("rank"), t("building"), t("open_findings"), t("weight"), t("checks"), ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, inspection.buildings.map((b) => el("tr", {},
      el("td", {class: "om-num"}, String(b.rank)),
      el("td", {}, b.name),
      el("td", {class: "om-num"}, String(b.open_findings)),
      el("td", {class: "om-num"}, String(b.weight)),
      el("td", {class: "om-num"}, String(b.checks)),
      el("td", {}, el("button", {type: "button", class: "om-secondary", dataset: {building: String(b.building_id)},
        on: {click: () => loading(openForm(b.building_id))}}, t("check")))))));
}

async function openForm(buildingId) {
  clear(formBox);
  const reg = await getJSON(`${API}/inspections/${id}/buildings/${buildingId}`);
  const floors = Object.fromEntries(reg.floors.map((f) => [f.id, f.name || `${f.level}F`]));
  const room = el("select", {name: "room_id", id: "om-room"}, el("option", {value: ""}, t("whole_building")),
    reg.rooms.map((r) => el("option", {value: String(r.id)},
      `${floors[r.floor_id] || ""} ${r.number || r.id} · ${fmtArea(r.usable_area_m2)} · ${CATEGORY_NAMES[r.category] || r.category || ""}`)));
  const measured = el("input", {name: "measured_area_m2", id: "om-measured", inputmode: "decimal"});
  const use = el("select", {name: "actual_use", id: "om-use"}, el("option", {value: ""}, "—"),
    CATEGORIES.map((c) => el("option", {value: c}, CATEGORY_NAMES[c] || c)));
  const occupant = el("input", {name: "occupant_found", id: "om-occupant", maxlength: 200});
  const lease = el("input", {type: "checkbox", name: "lease_found", id: "om-lease"});
  const leaseNote = el("input", {name: "lease_note", maxlength: 500});
  const notes = el("textarea", {name: "notes", maxlength: 2000});
  const outcome = el("select", {name: "outcome", id: "om-outcome"},
    el("option", {value: "none"}, t("outcome.no_issue")),
    reg.open_findings.map((f) => el("option", {value: "confirm:" + f.id},
      `${t("outcome.confirm")}: #${f.id} ${lang === "zh" ? f.rule_name_zh : f.rule_name_en}`)),
    MANUAL.map((m) => el("option", {value: "manual:" + m}, `${t("outcome.manual")}: ${MANUAL_NAMES[m][lang === "zh" ? 0 : 1]}`)));
  const photo = el("input", {type: "file", name: "file", id: "om-photo", accept: "image/jpeg,image/png,application/pdf", capture: "environment"});
  const msg = el("div", {id: "om-check-msg"});
  const after = el("div", {id: "om-after-check"});
  const form = el("form", {class: "om-form", id: "om-check-form"},
    field(t("room"), room), field(t("measured_area"), measured), field(t("actual_use"), use),
    field(t("occupant_found"), occupant), el("label", {class: "om-check"}, lease, el("span", {}, t("lease_found"))),
    field(t("lease_note"), leaseNote), field(t("outcome"), outcome, "om-wide"), field(t("notes"), notes, "om-wide"),
    field(t("photo"), photo, "om-wide"),
    el("div", {class: "om-actions"}, el("button", {type: "submit"}, t("save_check"))),
    el("div", {class: "om-wide"}, msg));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    loading(saveCheck());
  });
  async function saveCheck() {
    const body = {building_id: buildingId, lease_found: lease.checked};
    if (room.value) { body.room_id = Number(room.value); }
    if (measured.value.trim()) { body.measured_area_m2 = measured.value.trim(); }
    if (use.value) { body.actual_use = use.value; }
    if (occupant.value.trim()) { body.occupant_found = occupant.value; }
    if (leaseNote.value.trim()) { body.lease_note = leaseNote.value; }
    if (notes.value.trim()) { body.notes = notes.value; }
    const [kind, value] = outcome.value.split(":");
    if (kind === "confirm") { body.confirm_finding_id = Number(value); }
    if (kind === "manual") { body.manual_finding = {rule_code: value}; }
    try {
      const res = await send("POST", `${API}/inspections/${id}/checks`, body);
      const check = res.data;
      if (photo.files.length) {
        const fd = new FormData();
        fd.append("file", photo.files[0]);
        fd.append("phase", "check");
        fd.append("check_id", String(check.id));
        await send("POST", `${API}/evidence`, fd);
      }
      msg.replaceChildren(el("p", {class: "om-ok"}, `${t("saved")} #${check.id}`));
      if (check.finding_id) { after.replaceChildren(ledgerForm(check)); }
      await loadChecks();
    } catch (err) { showError(msg, err); }
  }
  formBox.append(card(`${t("check_form")} · ${reg.building_id}`, form, after));
}

function ledgerForm(check) {
  const person = el("input", {name: "responsible_person", id: "om-person", required: true, maxlength: 80});
  const post = el("input", {name: "responsible_post", maxlength: 120});
  const deadline = el("input", {type: "date", name: "deadline", id: "om-deadline", value: today(30), required: true});
  const measures = el("textarea", {name: "measures", maxlength: 2000});
  const msg = el("div");
  const form = el("form", {class: "om-form", id: "om-ledger-form"},
    field(t("responsible_person"), person), field(t("responsible_post"), post), field(t("deadline"), deadline),
    field(t("measures"), measures, "om-wide"),
    el("div", {class: "om-actions"}, el("button", {type: "submit"}, t("to_ledger"))), el("div", {class: "om-wide"}, msg));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    loading(toLedger());
  });
  async function toLedger() {
    const body = {responsible_person: person.value, deadline: deadline.value, inspection_id: id, check_id: check.id};
    if (post.value.trim()) { body.responsible_post = post.value; }
    if (measures.value.trim()) { body.measures = measures.value; }
    try {
      const res = await send("POST", `${API}/findings/${check.finding_id}/rectification`, body);
      msg.replaceChildren(el("p", {class: "om-ok"}, `${t("saved")} · `,
        el("a", {href: `/supervision/ledger?lang=${lang}&finding=${res.data.finding_id}`}, t("nav.ledger"))));
    } catch (err) { showError(msg, err); }
  }
  return card(t("to_ledger"), form);
}

async function loadChecks() {
  const list = await getJSON(`${API}/inspections/${id}/checks?limit=1000`);
  checksBox.replaceChildren(el("table", {class: "om-table", id: "om-checks"},
    el("thead", {}, el("tr", {}, ["#", t("building"), t("room"), t("measured_area"), t("register_area"), t("actual_use"), t("occupant_found"), t("outcome")].map((h) => el("th", {}, h)))),
    el("tbody", {}, list.items.map((c) => el("tr", {},
      el("td", {class: "om-num"}, String(c.id)), el("td", {class: "om-num"}, String(c.building_id)),
      el("td", {class: "om-num"}, c.room_id ? String(c.room_id) : "—"),
      el("td", {class: "om-num"}, fmtArea(c.measured_area_m2)), el("td", {class: "om-num"}, fmtArea(c.register_area_m2)),
      el("td", {}, c.actual_use ? (CATEGORY_NAMES[c.actual_use] || c.actual_use) : "—"),
      el("td", {}, c.occupant_found || "—"),
      el("td", {}, c.finding_id ? `${c.outcome} #${c.finding_id}` : c.outcome))))));
}

async function main() {
  clear(app);
  try {
    CATEGORY_NAMES = labels(await enumerations(), "space_category", lang);
    const inspection = await getJSON(`${API}/inspections/${id}`);
    const head = el("p", {}, `${lang === "zh" ? inspection.kind_name_zh : inspection.kind_name_en} · ${inspection.starts_on} – ${inspection.ends_on} · ${t("status." + inspection.status)}`);
    app.append(card(inspection.title, head, buildingsTable(inspection)), formBox, card(t("checks"), checksBox));
    await loadChecks();
  } catch (err) {
    const box = el("div");
    app.append(card(t("title.inspection"), box));
    showError(box, err);
  }
}

loading(main());
