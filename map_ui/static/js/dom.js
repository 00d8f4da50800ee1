/* Building the DOM from data: text is always text (textContent), never markup.

   el("a", {href: "/map/buildings/3", class: "om-link"}, name) → <a> whose text is `name`,
   whatever `name` contains. Links are checked: only same-site paths and http(s) URLs. */

const SAFE_URL = /^(\/(?!\/)|https?:\/\/|\?|#)/i;

export function safeHref(url) {
  const s = String(url);
  return SAFE_URL.test(s) ? s : "#";
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) { continue; }
    if (key === "class") { node.className = value; }
    else if (key === "text") { node.textContent = String(value); }
    else if (key === "href" || key === "src" || key === "action") { node.setAttribute(key, safeHref(value)); }
    else if (key === "dataset") { Object.assign(node.dataset, value); }
    else if (key === "style") { Object.assign(node.style, value); }
    else if (key === "on") {
      for (const [event, handler] of Object.entries(value)) { node.addEventListener(event, handler); }
    } else if (key.startsWith("on")) {
      throw new Error("event handlers go in attrs.on, never as attributes: " + key);
    } else { node.setAttribute(key, value === true ? "" : String(value)); }
  }
  append(node, ...children);
  return node;
}

export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) { continue; }
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/* A two-column table of [label, value] rows; values may be nodes or text. */
export function keyValueTable(rows) {
  return el("table", {}, rows.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))));
}

/* Mark a region as loading (aria-busy="true") or done ("false"): assistive technology waits
   before announcing it, and anyone watching the page (a person, a browser test) sees when
   its data has arrived. */
export function setBusy(node, busy) {
  node.setAttribute("aria-busy", busy ? "true" : "false");
  return node;
}

const pendingLoads = new WeakMap();

/* Keep `node` busy while `promise` runs; parallel or nested loads keep it busy until the
   last one ends. Returns the promise's result. */
export function busyWhile(node, promise) {
  pendingLoads.set(node, (pendingLoads.get(node) || 0) + 1);
  setBusy(node, true);
  return Promise.resolve(promise).finally(() => {
    const left = pendingLoads.get(node) - 1;
    pendingLoads.set(node, left);
    if (left === 0) { setBusy(node, false); }
  });
}
