/* Editing a room and who sits in it: number, category, agency; assign a person, end an
   occupancy, move a person (one action). Every write sends If-Match; a stale one is
   explained with the current values; errors appear beside their field. */
import {el, clear, append} from "./dom.js";
import {send} from "./api.js";
import {field, history, input, notice, read, save, select, showError, clearMessages} from "./forms.js";

const cfg = JSON.parse(document.body.dataset.config);
const L = cfg.labels;
const lang = cfg.lang;
const app = document.getElementById("app");
const roomUrl = `/api/v1/rooms/${cfg.roomId}`;

const roomCard = el("section", {class: "om-card", id: "room-form"});
const occCard = el("section", {class: "om-card", id: "occupancies"});
const histCard = el("section", {class: "om-card", id: "history"});
append(app, roomCard, occCard, histCard);

const state = {etag: null};

function roomValues(feature) {
  const p = feature.properties;
  return {number: p.number, category: p.category, agency_id: p.agency_id};
}

async function loadRoom() {
  const r = await read(roomUrl);
  return {data: r.data, etag: r.etag};
}

function renderRoom(feature) {
  const p = feature.properties;
  clear(roomCard);
  const number = input({value: p.number || "", maxlength: 40});
  const category = select([["", "—"], ...cfg.categories.map((c) => [c.code, c.label])], p.category);
  const agency = input({type: "number", min: 1, value: p.agency_id || ""});
  const form = el("form", {id: "room", novalidate: true},
    el("h2", {}, L.room, " ", p.number || "", " · ", String(p.usable_area_m2), " m²"),
    field("number", L.number, number),
    field("category", L.category, category),
    field("agency_id", L.agency_id, agency),
    el("button", {type: "submit"}, L.save));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      number: number.value,
      category: category.value || null,
      agency_id: agency.value ? Number(agency.value) : null,
    };
    const ok = await save({
      root: form, method: "PATCH", url: roomUrl, body, state, lang, L,
      reload: loadRoom, show: roomValues,
    });
    if (ok) { await refreshHistory(); }
  });
  append(roomCard, form);
}

function rankLabel(code) {
  const r = cfg.ranks.find((x) => x.code === code);
  return r ? r.label : code;
}

function occupancyRow(o) {
  const end = input({type: "date", name: "end_date", value: cfg.today});
  const toRoom = input({type: "number", min: 1, name: "room_id", placeholder: L.room_id});
  const moveDate = input({type: "date", name: "date", value: cfg.today});
  const errors = el("span", {class: "om-error", dataset: {errorFor: "_"}});
  const row = el("tr", {dataset: {occupancy: String(o.id)}},
    el("td", {}, o.person_name || "—"), el("td", {}, o.person_id || "—"),
    el("td", {}, rankLabel(o.rank_code)), el("td", {}, o.start_date), el("td", {}, o.end_date || "—"),
    el("td", {}, o.end_date ? "" : el("span", {class: "om-inline"},
      end, el("button", {type: "button", class: "end", on: {click: () => endOccupancy(o, end.value, row)}}, L.end),
      toRoom, moveDate,
      el("button", {type: "button", class: "move", on: {click: () => moveOccupancy(o, toRoom.value, moveDate.value, row)}}, L.move),
      el("span", {class: "om-error", dataset: {errorFor: "end_date"}}),
      el("span", {class: "om-error", dataset: {errorFor: "room_id"}}),
      el("span", {class: "om-error", dataset: {errorFor: "date"}}),
      errors)));
  return row;
}

async function endOccupancy(o, date, row) {
  clearMessages(row);
  try {
    await send("PATCH", `/api/v1/occupancies/${o.id}`, {end_date: date}, {etag: `"${o.version}"`});
    await refresh(L.ended);
  } catch (err) { staleOrError(err, row); }
}

async function moveOccupancy(o, roomId, date, row) {
  clearMessages(row);
  try {
    await send("POST", `/api/v1/occupancies/${o.id}/move`, {room_id: Number(roomId) || 0, date},
      {etag: `"${o.version}"`});
    await refresh(L.moved);
  } catch (err) { staleOrError(err, row); }
}

function staleOrError(err, row) {
  if (err.status === 412) {
    refresh(null).then(() => notice(occCard, "stale", L.stale_occupancy));
    return;
  }
  showError(row, err, L, lang);
}

function assignForm() {
  const person = input({maxlength: 80});
  const personId = input({maxlength: 64});
  const rank = select([["", "—"], ...cfg.ranks.map((r) => [r.code, r.label])], "");
  const agency = input({type: "number", min: 1, value: state.agency || ""});
  const start = input({type: "date", value: cfg.today});
  const form = el("form", {id: "assign", novalidate: true},
    el("h3", {}, L.assign),
    field("person_name", L.person_name, person),
    field("person_id", L.person_id, personId),
    field("rank_code", L.rank_code, rank),
    field("agency_id", L.agency_id, agency),
    field("start_date", L.start_date, start),
    el("button", {type: "submit"}, L.assign));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearMessages(form);
    try {
      await send("POST", "/api/v1/occupancies", {
        room_id: cfg.roomId, person_name: person.value || null, person_id: personId.value || null,
        rank_code: rank.value, agency_id: Number(agency.value) || 0, start_date: start.value,
      });
      await refresh(L.assigned);
    } catch (err) { showError(form, err, L, lang); }
  });
  return form;
}

async function renderOccupancies(message) {
  const list = (await read(`/api/v1/occupancies?room=${cfg.roomId}&limit=200`)).data.items;
  clear(occCard);
  append(occCard, el("h2", {}, L.occupancies),
    el("table", {class: "om-table"},
      el("thead", {}, el("tr", {}, [L.person_name, L.person_id, L.rank_code, L.start_date, L.end_date, ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, list.map(occupancyRow))),
    assignForm());
  if (message) { notice(occCard, "ok", message); }
}

async function refreshHistory() { await history(histCard, "room", cfg.roomId, L); }

async function refresh(message) {
  await renderOccupancies(message);
  await refreshHistory();
}

(async () => {
  try {
    const room = await loadRoom();
    state.etag = room.etag;
    state.agency = room.data.properties.agency_id;
    renderRoom(room.data);
    await refresh(null);
  } catch (err) { showError(app, err, L, lang); }
})();
