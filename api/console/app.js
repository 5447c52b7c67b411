/* The duty console: login, live alert board, incident page, region view. */
"use strict";

(() => {
  const { api, el, fmtTime, levelBadge, LEVELS, STATUS, HAZARDS, KINDS } = Anlan;
  const $ = (id) => document.getElementById(id);
  const state = { user: null, alerts: new Map(), streamOnly: new Map(), source: null,
    refreshTimer: null, pending: new Set(), regions: [] };

  // ------------------------------------------------------------------ cues
  let audio = null;
  function beep(rank) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = rank >= 4 ? 880 : 660;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + (rank >= 4 ? 0.6 : 0.3));
    } catch (e) { /* sound is a bonus; the banner is the cue */ }
  }
  function flash(text, colour) {
    const f = $("flash");
    f.textContent = text; f.className = `flash lvl-${colour}`; f.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => { f.hidden = true; }, 15000);
  }

  // ------------------------------------------------------------------ routing
  function show(view) {
    for (const v of ["login", "board", "incident", "regions"]) $(`${v}-view`).hidden = v !== view;
    document.querySelectorAll("[data-nav]").forEach((a) =>
      a.classList.toggle("active", a.dataset.nav === view));
  }
  async function route() {
    if (!state.user) { show("login"); return; }
    const [, page, arg] = (location.hash || "#/board").split("/");
    if (page === "incident" && arg) { show("incident"); await loadIncident(decodeURIComponent(arg)); }
    else if (page === "regions") { show("regions"); await loadRegions(); }
    else { show("board"); await refreshBoard(); }
  }

  // ------------------------------------------------------------------ login
  async function login(ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    try {
      const res = await api("/auth/login", { method: "POST", token: null,
        body: { username: $("login-user").value, password: $("login-pass").value } });
      Anlan.setToken(res.access_token);
      beep(0);  // unlocks audio after a user gesture
      await start();
    } catch (e) {
      $("login-error").textContent = e.status === 401 ? "用户名或密码错误" : `登录失败：${e.message}`;
    }
  }
  async function start() {
    try { state.user = await api("/auth/me"); }
    catch (e) { Anlan.setToken(null); state.user = null; show("login"); return; }
    $("nav").hidden = false; $("who").hidden = false;
    $("user-name").textContent = `${state.user.display_name || state.user.username}（${state.user.region}）`;
    await loadRegionOptions();
    connectStream();
    await route();
  }
  function logout() {
    api("/auth/logout", { method: "POST" }).catch(() => null);
    Anlan.setToken(null); state.user = null;
    if (state.source) state.source.close();
    $("nav").hidden = true; $("who").hidden = true;
    show("login");
  }

  // ------------------------------------------------------------------ board
  function regionName(id) {
    const r = state.regions.find((x) => x.id === id);
    return r ? r.name : id;
  }
  async function loadRegionOptions() {
    try { state.regions = await api("/regions"); } catch (e) { state.regions = []; }
    for (const sel of [$("region-filter"), $("manual-region")]) {
      const keep = sel.id === "region-filter" ? [sel.options[0]] : [];
      sel.replaceChildren(...keep, ...state.regions.map((r) =>
        el("option", { value: r.id }, `${"　".repeat(r.depth || 0)}${r.name}`)));
    }
  }
  function scheduleRefresh(delay = 250) {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(() => { if (!$("board-view").hidden) refreshBoard(); }, delay);
  }
  async function refreshBoard() {
    const params = new URLSearchParams({ limit: "200" });
    if ($("status-filter").value) params.set("status", $("status-filter").value);
    if ($("region-filter").value) params.set("region", $("region-filter").value);
    let rows;
    try { rows = await api(`/alerts?${params}`); }
    catch (e) { if (e.status === 401) logout(); return; }
    state.alerts = new Map(rows.map((a) => [a.incident_id, a]));
    const now = Date.now();
    for (const [inc, item] of state.streamOnly) {  // seen live, not yet in the store
      if (state.alerts.has(inc) || now - item.seen > 30000) state.streamOnly.delete(inc);
      else state.alerts.set(inc, item.alert);
    }
    renderBoard();
  }
  function renderBoard() {
    const list = [...state.alerts.values()].sort((a, b) => (b.sent > a.sent ? 1 : -1));
    $("alert-list").replaceChildren(...list.map(alertCard));
    $("board-empty").hidden = list.length > 0;
    $("board-count").textContent = `共 ${list.length} 条`;
  }
  function alertCard(a) {
    const info = LEVELS[a.level] || LEVELS.none;
    const pending = state.pending.has(a.incident_id);
    const actions = [];
    if (a.status === "open") actions.push(el("button", { class: "ack primary", type: "button",
      disabled: pending, onclick: () => act(a, "ack") }, pending ? "提交中…" : "确认"));
    if (a.status !== "resolved") actions.push(el("button", { class: "resolve", type: "button",
      disabled: pending, onclick: () => act(a, "resolve") }, "解除"),
      el("button", { class: "escalate", type: "button", disabled: pending,
        onclick: () => act(a, "escalate") }, "升级"));
    return el("li", { class: `alert lvl-${info.colour} st-${a.status}`,
      dataset: { alertId: a.alert_id, incidentId: a.incident_id, status: a.status, level: a.level,
        region: a.region } },
      el("div", { class: "alert-head" }, levelBadge(a.level),
        el("strong", { class: "headline" }, a.headline),
        a.exercise ? el("span", { class: "badge exercise" }, "演练") : null,
        a.late ? el("span", { class: "badge late" }, "补报") : null),
      el("div", { class: "alert-meta" },
        `${regionName(a.region)} · ${HAZARDS[a.hazard] || a.hazard} · ${fmtTime(a.sent)} · `,
        timesOf(a),
        el("span", { class: "status" }, STATUS[a.status] || a.status),
        a.acknowledged_by ? ` · ${a.acknowledged_by}` : ""),
      el("div", { class: "alert-actions" }, ...actions,
        el("a", { href: `#/incident/${encodeURIComponent(a.alert_id)}` }, "详情 →")));
  }
  function timesOf(a) {
    // the crossing's event time and when its data arrived, when they differ from "sent"
    const parts = [];
    if (a.onset && a.onset !== a.sent) parts.push(`达到 ${fmtTime(a.onset)}`);
    if (a.detected && a.detected !== a.sent) parts.push(`数据到达 ${fmtTime(a.detected)}`);
    return parts.length ? el("span", { class: "times" }, parts.join(" · ") + " · ") : "";
  }
  async function act(a, kind) {
    const names = { ack: "确认", resolve: "解除", escalate: "升级" };
    if (kind === "escalate" && !confirm(`升级预警「${a.headline}」？`)) return;  // ack, resolve: one click
    state.pending.add(a.incident_id); renderBoard();
    try {
      await api(`/alerts/${encodeURIComponent(a.alert_id)}/${kind}`, { method: "POST", body: {} });
      for (const delay of [800, 2000, 5000]) setTimeout(() => scheduleRefresh(0), delay);
    } catch (e) {
      flash(`${names[kind]}失败：${e.message}`, "orange");
    } finally {
      setTimeout(() => { state.pending.delete(a.incident_id); renderBoard(); }, 1500);
    }
  }
  async function manualAlert(ev) {
    ev.preventDefault();
    try {
      await api("/alerts", { method: "POST", body: { region: $("manual-region").value,
        hazard: $("manual-hazard").value, level: $("manual-level").value,
        headline: $("manual-headline").value, description: $("manual-text").value,
        exercise: $("manual-exercise").checked } });
      $("manual-form").hidden = true; $("manual-form").reset();
      flash("人工预警已提交", "blue");
    } catch (e) { flash(`发布失败：${e.message}`, "orange"); }
  }

  // ------------------------------------------------------------------ live stream
  function connectStream(withToken = false) {
    if (state.source) state.source.close();
    // the login cookie authenticates the stream; the token in the URL only as a fallback
    const url = withToken ? `/api/v1/stream?access_token=${encodeURIComponent(Anlan.token())}`
      : "/api/v1/stream";
    const src = new EventSource(url);
    state.source = src;
    src.onopen = () => { $("live").className = "live on"; scheduleRefresh(0); };  // missed any?
    src.onerror = () => {
      $("live").className = "live off";
      if (src.readyState === EventSource.CLOSED && state.user) {  // refused: not a network blip
        setTimeout(() => { if (state.user) connectStream(true); }, 3000);
        scheduleRefresh(0);
      }
    };
    src.addEventListener("alert", (ev) => onAlert(JSON.parse(ev.data)));
    src.addEventListener("incident", () => scheduleRefresh());
    src.addEventListener("resync", () => scheduleRefresh(0));
  }
  function onAlert(alert) {
    const known = state.alerts.get(alert.incident_id);
    const rank = (LEVELS[alert.level] || LEVELS.none).rank;
    const rising = !known || rank > (LEVELS[known.level] || LEVELS.none).rank;
    if (alert.msg_type !== "Cancel") {
      const row = Object.assign({ status: known ? known.status : "open",
        exercise: alert.status === "Exercise" }, alert);
      state.streamOnly.set(alert.incident_id, { alert: row, seen: Date.now() });
      state.alerts.set(alert.incident_id, row);
      if (!$("board-view").hidden) renderBoard();
    }
    if (rising && rank >= 3 && alert.msg_type !== "Cancel") {
      beep(rank);
      flash(`新${LEVELS[alert.level].zh}预警：${alert.headline}`, LEVELS[alert.level].colour);
    }
    scheduleRefresh();
  }

  // ------------------------------------------------------------------ incident page
  async function loadIncident(alertId) {
    let d;
    try { d = await api(`/alerts/${encodeURIComponent(alertId)}`); }
    catch (e) { $("incident-head").replaceChildren(el("p", { class: "error" }, e.message)); return; }
    const inc = d.incident || {};
    $("incident-head").replaceChildren(
      el("h2", {}, levelBadge(d.level), " ", d.headline),
      el("p", { class: "muted" }, `${regionName(d.region)} · ${d.plan} · 发布 ${fmtTime(d.sent)} · `,
        timesOf(d),
        el("span", { id: "incident-status", dataset: { status: d.status } }, STATUS[d.status] || d.status)),
      d.description ? el("p", {}, d.description) : null,
      d.instruction ? el("p", { class: "instruction" }, d.instruction) : null,
      el("p", { class: "muted" }, `事件 ${d.incident_id}`,
        inc.opened_at ? ` · 开始 ${fmtTime(inc.opened_at)}` : ""));
    $("timeline").replaceChildren(...(d.timeline || []).map((t) =>
      el("li", { class: `tl tl-${t.kind}` }, el("time", {}, fmtTime(t.ts)), " ",
        el("span", { class: "tl-kind" }, t.label || t.kind), " ", t.summary || "")));
    $("deliveries").replaceChildren(...(d.deliveries || []).map((x) =>
      el("tr", { class: `out-${x.outcome}` }, el("td", {}, fmtTime(x.at)), el("td", {}, x.recipient),
        el("td", {}, x.channel), el("td", {}, x.attempt), el("td", {}, x.outcome))));
    await Promise.all([drawEvidence(d), loadTasks(d.incident_id)]);
  }
  async function loadTasks(incidentId) {
    const TASK_KINDS = { mobilization: "应急动员", welfare_check: "走访探视", evacuation: "转移疏散",
      maintenance: "设备维护" };
    let inc = { tasks: [] };
    try { inc = await api(`/incidents/${encodeURIComponent(incidentId)}`); } catch (e) { /* none yet */ }
    $("tasks").replaceChildren(...(inc.tasks || []).map((t) => el("tr", { dataset: { task: t.task_id } },
      el("td", {}, t.title), el("td", {}, TASK_KINDS[t.kind] || t.kind),
      el("td", {}, regionName(t.region)), el("td", {}, t.quota), el("td", {}, t.state))));
  }
  async function drawEvidence(d) {
    const box = $("evidence");
    const sensors = d.evidence_sensors || [];
    box.replaceChildren();
    if (!sensors.length) {
      const ev = d.evidence || {};
      box.append(Object.keys(ev).length ? el("pre", { class: "json" }, JSON.stringify(ev, null, 2))
        : el("p", { class: "muted" }, "无传感器证据（人工预警或报告触发）"));
      return;
    }
    const since = new Date(new Date(d.sent).getTime() - 6 * 3600e3).toISOString();
    for (const s of sensors) {
      let hist = { points: [] };
      try { hist = await api(`/sensors/${encodeURIComponent(s.sensor)}/history?since=${encodeURIComponent(since)}`); }
      catch (e) { /* drawn empty */ }
      const ths = s.threshold !== undefined && s.threshold !== null
        ? [{ value: s.threshold, colour: (LEVELS[d.level] || LEVELS.I).colour, label: `阈值 ${s.threshold}` }] : [];
      box.append(el("figure", { class: "chart-box" }, Charts.line(hist.points || [],
        { title: `${s.sensor} ${KINDS[s.kind || hist.kind] || s.kind || ""}`, unit: hist.unit || "", thresholds: ths })));
    }
  }

  // ------------------------------------------------------------------ regions
  async function loadRegions() {
    const [tree, gateways, sensors, letters] = await Promise.all([
      api("/regions/tree").catch(() => []), api("/gateways").catch(() => []),
      api("/sensors").catch(() => []),
      api("/deadletters?limit=50").catch(() => null)]);  // null: this role may not read them
    const node = (r) => el("li", { dataset: { region: r.id, worst: r.worst_level || "none" } },
      el("span", { class: `dot lvl-${(LEVELS[r.worst_level] || LEVELS.none).colour}` }),
      " ", el("a", { href: "#/board", onclick: () => { $("region-filter").value = r.id; } }, r.name),
      " ", el("span", { class: "muted" }, r.id),
      r.active_alerts ? el("span", { class: "badge" }, `${r.active_alerts} 条预警`) : null,
      r.children && r.children.length ? el("ul", {}, ...r.children.map(node)) : null);
    $("region-tree").replaceChildren(...tree.map(node));
    $("gateways").replaceChildren(...gateways.map((g) => el("tr", { class: `gw-${g.status}` },
      el("td", {}, g.gateway_id), el("td", {}, regionName(g.region)),
      el("td", {}, g.status === "online" ? "在线" : g.status === "offline" ? "离线" : "未知"),
      el("td", {}, fmtTime(g.at)))));
    $("sensors").replaceChildren(...sensors.map((s) => el("tr", {},
      el("td", {}, s.sensor_id), el("td", {}, KINDS[s.kind] || s.kind),
      el("td", {}, regionName(s.region)),
      el("td", {}, s.value === null || s.value === undefined ? "—" : `${s.value} ${s.unit || ""}`),
      el("td", {}, fmtTime(s.ts)))));
    $("deadletters-box").hidden = letters === null;
    $("deadletters").replaceChildren(...(letters || []).map((d) => el("tr", {},
      el("td", {}, fmtTime(d.at)), el("td", {}, d.stage),
      el("td", {}, d.key || d.source_topic),
      el("td", { title: d.original_text }, d.reason))));
  }

  // ------------------------------------------------------------------ wiring
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("status-filter").addEventListener("change", () => refreshBoard());
  $("region-filter").addEventListener("change", () => refreshBoard());
  $("manual-open").addEventListener("click", () => { $("manual-form").hidden = false; });
  $("manual-cancel").addEventListener("click", () => { $("manual-form").hidden = true; });
  $("manual-form").addEventListener("submit", manualAlert);
  window.addEventListener("hashchange", route);
  setInterval(() => { if (state.user) scheduleRefresh(0); }, 60000);  // safety net
  if (Anlan.token()) start(); else show("login");
})();
