/* Number formats shared by the pages (areas to 0.01 m², as stored). */
export function fmtArea(v) {
  if (v === null || v === undefined) { return "—"; }
  return Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " m²";
}

export function fmtPct(v) {
  if (v === null || v === undefined) { return "—"; }
  return (Number(v) * 100).toFixed(1) + " %";
}
