/* Shared by the supervision pages: configuration, texts, status badges, error display. */
import {busyWhile, el} from "./dom.js";
import {pageConfig} from "./boot.js";

export const cfg = pageConfig();
export const T = cfg.sv;
export const API = cfg.api;
export const lang = cfg.lang;

export const app = document.getElementById("om-app");

/* The page is busy (aria-busy on #om-app) while `promise` loads or saves. */
export function loading(promise) {
  return busyWhile(app, promise);
}

export function t(key) {
  return T[key] !== undefined ? T[key] : key;
}

export function card(title, ...children) {
  return el("section", {class: "om-card"}, title ? el("h2", {}, title) : null, ...children);
}

export function badge(item) {
  const key = item.overdue ? "overdue" : item.status;
  const label = lang === "zh" ? item.status_name_zh : item.status_name_en;
  return el("span", {class: "om-badge " + key}, label);
}

export function errorText(err) {
  if (err && typeof err.text === "function") { return err.text(lang); }
  return String(err && err.message ? err.message : err);
}

export function showError(box, err) {
  box.replaceChildren(el("p", {class: "om-error", role: "alert"}, errorText(err)));
}

export function field(label, input, cls) {
  return el("label", {class: cls || null}, el("span", {}, label), input);
}

export function ids(text) {
  return String(text || "").split(/[,，\s]+/).filter(Boolean).map(Number).filter(Number.isFinite);
}

export function today(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86400000 + 8 * 3600000);
  return d.toISOString().slice(0, 10);
}
