/* Shared helpers of the console pages: API calls, level names, time formatting. */
"use strict";

const Anlan = (() => {
  const LEVELS = {
    I: { zh: "红色", name: "I 级", colour: "red", rank: 4 },
    II: { zh: "橙色", name: "II 级", colour: "orange", rank: 3 },
    III: { zh: "黄色", name: "III 级", colour: "yellow", rank: 2 },
    IV: { zh: "蓝色", name: "IV 级", colour: "blue", rank: 1 },
    none: { zh: "无", name: "无", colour: "none", rank: 0 },
  };
  const STATUS = { open: "待确认", acknowledged: "已确认", resolved: "已解除" };
  const HAZARDS = { rainstorm: "暴雨", flood: "洪水", landslide: "地质灾害",
    waterlogging: "内涝", gale: "大风", typhoon: "台风", fire: "火灾", gas: "燃气",
    gas_leak: "燃气泄漏", heat: "高温", cold_wave: "寒潮", snow: "暴雪" };

  const KINDS = { rain_mm: "雨量", water_level_m: "水位", displacement_mm: "位移",
    gas_lel_pct: "可燃气体", smoke_obscuration: "烟感", wind_mps: "风速", temperature_c: "温度",
    soil_moisture_pct: "土壤含水率" };

  function token() { return localStorage.getItem("anlan.token"); }
  function setToken(t) { if (t) localStorage.setItem("anlan.token", t);
    else localStorage.removeItem("anlan.token"); }

  class ApiError extends Error {
    constructor(status, detail) { super(typeof detail === "string" ? detail
      : JSON.stringify(detail)); this.status = status; this.detail = detail; }
  }

  async function api(path, options = {}) {
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    const t = options.token === undefined ? token() : options.token;
    if (t) headers.Authorization = "Bearer " + t;
    let body = options.body;
    if (body !== undefined && !(body instanceof FormData) && typeof body !== "string") {
      body = JSON.stringify(body); headers["Content-Type"] = "application/json";
    }
    const resp = await fetch("/api/v1" + path, { method: options.method || "GET", headers, body });
    if (resp.status === 204) return null;
    const data = await resp.json().catch(() => null);
    if (!resp.ok) throw new ApiError(resp.status, data && data.detail ? data.detail : resp.statusText);
    return data;
  }

  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getMonth() + 1}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function levelBadge(level) {
    const info = LEVELS[level] || LEVELS.none;
    return el("span", { class: `badge lvl-${info.colour}` }, `${info.zh}预警`);
  }

  return { LEVELS, STATUS, HAZARDS, KINDS, api, ApiError, token, setToken, fmtTime, el, levelBadge };
})();
