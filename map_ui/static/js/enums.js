/* Enumerations and their labels, from the API (GET /api/v1/enumerations): pages build their
   choices and legends from it and keep no copies of values or names. Loaded once a page. */
import {getJSON} from "./api.js";

let loaded = null;

export function enumerations() {
  if (loaded === null) {
    loaded = getJSON("/api/v1/enumerations").catch((err) => { loaded = null; throw err; });
  }
  return loaded;
}

/* The label of one entry ({value, name_zh, name_en}) in the page's language. */
export function label(entry, lang) {
  return lang === "en" ? entry.name_en : entry.name_zh;
}

/* value → label of one enumeration. */
export function labels(all, name, lang) {
  return Object.fromEntries(all[name].map((e) => [e.value, label(e, lang)]));
}

/* value → the values it may move to (status workflows). */
export function moves(all, name) {
  return Object.fromEntries(all[name].map((e) => [e.value, e.next || []]));
}
