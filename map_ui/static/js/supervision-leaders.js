/* Leaders' panel: rectification progress per month (opened / closed / overdue), the
   assessment ranking with its indicators, and the score trend. */
import {ApiError, getJSON} from "./api.js";
import {clear, el} from "./dom.js";
import {API, app, card, lang, loading, showError, t} from "./supervision-common.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) { node.setAttribute(k, String(v)); }
  if (text !== undefined) { node.textContent = String(text); }
  return node;
}

function bars(months) {
  const w = 720, h = 220, pad = 28;
  const max = Math.max(1, ...months.map((m) => Math.max(m.opened, m.closed, m.overdue_at_end)));
  const step = (w - pad * 2) / months.length;
  const chart = svg("svg", {viewBox: `0 0 ${w} ${h}`, class: "om-bars", role: "img", id: "om-progress-chart"});
  months.forEach((m, i) => {
    const x = pad + i * step;
    const y = (v) => h - pad - (v / max) * (h - pad * 2);
    chart.append(
      svg("rect", {x: x + 2, y: y(m.opened), width: step / 3 - 2, height: h - pad - y(m.opened), fill: "#f4a259"}),
      svg("rect", {x: x + step / 3, y: y(m.closed), width: step / 3 - 2, height: h - pad - y(m.closed), fill: "#5b8e7d"}),
      svg("rect", {x: x + (2 * step) / 3 - 2, y: y(m.overdue_at_end), width: step / 3 - 2, height: h - pad - y(m.overdue_at_end), fill: "#b23b1f"}),
      svg("text", {x: x + step / 2, y: h - 8, "text-anchor": "middle", "font-size": 11}, m.month.slice(2)));
  });
  const legend = el("p", {}, [["#f4a259", "opened"], ["#5b8e7d", "closed"], ["#b23b1f", "overdue_at_end"]]
    .map(([colour, key]) => el("span", {style: {marginRight: "1rem"}}, el("span", {style: {color: colour}}, "■ "), t(key))));
  return el("div", {}, chart, legend);
}

async function progress() {
  const p = await getJSON(`${API}/rectifications/progress?months=12`);
  const table = el("table", {class: "om-table", id: "om-progress"},
    el("thead", {}, el("tr", {}, [t("month"), t("opened"), t("closed"), t("open_at_end"), t("overdue_at_end")].map((h) => el("th", {class: "om-num"}, h)))),
    el("tbody", {}, p.months.map((m) => el("tr", {}, [m.month, m.opened, m.closed, m.open_at_end, m.overdue_at_end].map((v) => el("td", {class: "om-num"}, String(v)))))));
  app.append(card(t("progress"), bars(p.months), table));
}

async function ranking() {
  const r = await getJSON(`${API}/assessments?level=city`);
  const inds = r.scheme.indicators;
  const table = el("table", {class: "om-table", id: "om-ranking"},
    el("thead", {}, el("tr", {}, [t("rank"), "", t("score"), ...inds.map((i) => `${lang === "zh" ? i.name_zh : i.name_en}（${i.weight}）`)].map((h) => el("th", {}, h)))),
    el("tbody", {}, r.units.map((u) => el("tr", {},
      el("td", {class: "om-num"}, u.rank === null ? "—" : String(u.rank)), el("td", {}, u.name || String(u.key)),
      el("td", {class: "om-num"}, u.score === null ? "—" : u.score.toFixed(2)),
      u.indicators.map((x) => el("td", {class: "om-num", title: `${x.numerator} / ${x.denominator}`},
        x.value === null ? "—" : (x.value * 100).toFixed(1) + " %"))))));
  const link = el("a", {href: `${API}/exports/assessment.xlsx?level=city&as_of=${r.as_of}`}, t("export_ranking"));
  app.append(card(`${t("ranking")} · ${t("scheme")} ${r.scheme.version} · ${r.as_of}`, table, el("p", {}, link)));
}

async function trend() {
  const tr = await getJSON(`${API}/assessments/trend?level=city&months=6`);
  const days = [...new Set(tr.series.flatMap((s) => s.points.map((p) => p.as_of)))].sort();
  const table = el("table", {class: "om-table", id: "om-trend"},
    el("thead", {}, el("tr", {}, ["", ...days].map((h) => el("th", {class: "om-num"}, h)))),
    el("tbody", {}, tr.series.map((s) => {
      const at = Object.fromEntries(s.points.map((p) => [p.as_of, p]));
      return el("tr", {}, el("td", {}, s.name || String(s.key)),
        days.map((d) => el("td", {class: "om-num"}, at[d] && at[d].score !== null ? at[d].score.toFixed(1) : "—")));
    })));
  app.append(card(t("trend"), table));
}

async function main() {
  clear(app);
  for (const part of [progress, ranking, trend]) {
    try { await part(); } catch (err) {
      const box = el("div");
      app.append(card("", box));
      if (err instanceof ApiError && err.status === 403) { box.append(el("p", {}, t("forbidden"))); } else { showError(box, err); }
    }
  }
}

loading(main());
