/* Editing forms: read with the ETag, write with If-Match, errors beside their field,
   a stale edit explained (the user's values are kept; the current ones are shown beside
   them), the object's history under the form. Every value reaches the DOM as text. */
import {el, clear, append} from "./dom.js";
import {ApiError, send} from "./api.js";

/* GET a JSON object and its ETag. */
export async function read(url) {
  const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json, application/geo+json"}});
  const body = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
  if (!response.ok) { throw new ApiError(response.status, body); }
  return {data: body, etag: response.headers.get("etag")};
}

/* Field → message, from a domain error ({field}) or a validation error ([{location}]). */
export function fieldErrors(err, lang) {
  const out = {};
  if (!(err instanceof ApiError)) { return out; }
  if (Array.isArray(err.details)) {
    for (const d of err.details) {
      const loc = (d.location || []).filter((p) => p !== "body");
      out[loc.join(".") || "_"] = d.message;
    }
  } else if (err.details && err.details.field) {
    out[err.details.field] = err.text(lang);
  }
  return out;
}

/* A labelled input with a place for its error and for the current server value. */
export function field(name, label, input) {
  input.name = name;
  input.id = "f-" + name.replace(/\W/g, "-");
  return el("div", {class: "om-field", dataset: {field: name}},
    el("label", {for: input.id}, label), input,
    el("span", {}, el("span", {class: "om-error", dataset: {errorFor: name}}),
      el("span", {class: "om-current", dataset: {currentFor: name}})));
}

export function input(attrs = {}) { return el("input", attrs); }

export function select(options, value) {
  const s = el("select", {}, options.map(([v, label]) => el("option", {value: v}, label)));
  s.value = value === null || value === undefined ? "" : String(value);
  return s;
}

export function clearMessages(root) {
  for (const n of root.querySelectorAll(".om-error, .om-current")) { n.textContent = ""; }
  for (const n of root.querySelectorAll(".om-notice")) { n.remove(); }
}

export function notice(root, kind, text) {
  const n = el("div", {class: "om-notice " + kind, role: kind === "ok" ? "status" : "alert"}, text);
  root.prepend(n);
  return n;
}

/* Show a failed write: errors beside fields, else one notice. */
export function showError(root, err, L, lang) {
  const errors = fieldErrors(err, lang);
  let placed = false;
  for (const [name, message] of Object.entries(errors)) {
    const slot = root.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) { slot.textContent = message; placed = true; }
  }
  if (err instanceof ApiError && err.status === 403) { notice(root, "error", L.forbidden); return; }
  if (err instanceof ApiError && err.status === 404) { notice(root, "error", L.not_found); return; }
  if (!placed) { notice(root, "error", err instanceof ApiError ? err.text(lang) : String(err)); }
}

/* Save a form with If-Match; on 412 keep the user's values, show the current ones. */
export async function save({root, method, url, body, state, reload, L, lang, show}) {
  clearMessages(root);
  try {
    const result = await send(method, url, body, {etag: state.etag});
    state.etag = result.etag || state.etag;
    notice(root, "ok", L.saved);
    return result;
  } catch (err) {
    if (err instanceof ApiError && err.status === 412) {
      const fresh = await reload();
      state.etag = fresh.etag;
      const current = show(fresh.data);
      for (const [name, value] of Object.entries(current)) {
        if (!(name in body)) { continue; }
        const mine = body[name] === null || body[name] === undefined ? "" : String(body[name]);
        const theirs = value === null || value === undefined ? "" : String(value);
        if (mine !== theirs) {
          const slot = root.querySelector(`[data-current-for="${CSS.escape(name)}"]`);
          if (slot) { slot.textContent = L.current_value + theirs; }
        }
      }
      notice(root, "stale", L.stale);
      return null;
    }
    showError(root, err, L, lang);
    return null;
  }
}

/* The object's history (audited changes), newest first. */
export async function history(container, kind, id, L) {
  // only the latest call draws: an earlier, slower answer never replaces a newer one
  const seq = String(Number(container.dataset.seq || 0) + 1);
  container.dataset.seq = seq;
  let items = [];
  let failed = null;
  try { items = (await read(`/api/v1/history/${kind}/${id}`)).data.items; }
  catch (err) { failed = err; }
  if (container.dataset.seq !== seq) { return; }
  clear(container);
  append(container, el("h2", {}, L.history));
  if (failed) { append(container, el("p", {class: "om-error"}, String(failed.message))); return; }
  if (!items.length) { append(container, el("p", {}, L.no_history)); return; }
  append(container, el("ul", {class: "om-history"}, items.map((e) => el("li", {},
    el("span", {}, new Date(e.occurred_at).toLocaleString("zh-CN"), " · ", e.actor, " · ", e.action, " "),
    el("code", {}, JSON.stringify(e.after || {}))))));
}
