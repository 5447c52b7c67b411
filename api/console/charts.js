/* A tiny inline SVG line chart (no libraries): readings with threshold lines. */
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  }

  /** points: [{ts, value}], thresholds: [{value, colour, label}] → an <svg> element. */
  function line(points, { title = "", unit = "", thresholds = [], width = 560, height = 180 } = {}) {
    const pad = { l: 44, r: 10, t: 20, b: 24 };
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart",
      role: "img", "aria-label": title });
    const t = svg("text", { x: pad.l, y: 14, class: "chart-title" });
    t.textContent = `${title}${unit ? " (" + unit + ")" : ""}`;
    root.append(t);
    if (!points.length) {
      const e = svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle",
        class: "chart-empty" });
      e.textContent = "无读数";
      root.append(e);
      return root;
    }
    const xs = points.map((p) => new Date(p.ts).getTime());
    const ys = points.map((p) => p.value).concat(thresholds.map((th) => th.value));
    const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1;
    let y0 = Math.min(0, ...ys), y1 = Math.max(...ys);
    if (y1 === y0) y1 = y0 + 1;
    const X = (x) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
    const Y = (y) => height - pad.b - ((y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
    for (const v of [y0, (y0 + y1) / 2, y1]) {
      root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), class: "grid-line" }));
      const lab = svg("text", { x: pad.l - 4, y: Y(v) + 4, "text-anchor": "end", class: "axis" });
      lab.textContent = Number(v.toFixed(1));
      root.append(lab);
    }
    for (const th of thresholds) {
      root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: Y(th.value), y2: Y(th.value),
        class: `threshold lvl-stroke-${th.colour || "red"}` }));
      const lab = svg("text", { x: width - pad.r, y: Y(th.value) - 3, "text-anchor": "end",
        class: "axis" });
      lab.textContent = th.label || th.value;
      root.append(lab);
    }
    const d = points.map((p, i) => `${i ? "L" : "M"}${X(xs[i]).toFixed(1)},${Y(p.value).toFixed(1)}`).join(" ");
    root.append(svg("path", { d, class: "series" }));
    const fmt = (ms) => { const dt = new Date(ms); return `${dt.getHours()}:${String(dt.getMinutes()).padStart(2, "0")}`; };
    for (const [x, anchor] of [[x0, "start"], [x1, "end"]]) {
      const lab = svg("text", { x: X(x), y: height - 6, "text-anchor": anchor, class: "axis" });
      lab.textContent = fmt(x);
      root.append(lab);
    }
    return root;
  }
  return { line };
})();
