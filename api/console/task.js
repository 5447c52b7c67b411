/* The volunteer's task page: opened from a personal link /t/{token}; one tap to reply. */
"use strict";

(() => {
  const { api, el } = Anlan;
  const $ = (id) => document.getElementById(id);
  const token = decodeURIComponent(location.pathname.split("/").pop() || "");
  const STATES = { offered: "待回复", accepted: "已接受", declined: "已拒绝", checked_in: "已签到",
    completed: "已完成", cancelled: "已取消", withdrawn: "已撤回", expired: "已过期", open: "招募中" };
  const KINDS = { mobilization: "应急动员", welfare_check: "走访探视", evacuation: "转移疏散",
    maintenance: "设备维护" };
  const NEXT = { offered: ["accept", "decline"], null: ["accept", "decline"],
    accepted: ["checkin", "decline"], checked_in: ["complete"] };
  const LABEL = { accept: "接受任务", decline: "无法参加", checkin: "到达签到", complete: "任务完成" };

  function render(t) {
    $("task-loading").hidden = true; $("task-body").hidden = false;
    $("task-title").textContent = t.title;
    $("task-meta").textContent = `${KINDS[t.kind] || t.kind} · ${t.region_name || t.region || ""}`
      + (t.deadline ? ` · 截止 ${Anlan.fmtTime(t.deadline)}` : "");
    $("task-detail").textContent = t.description || "";
    const mine = t.assignment_state || "offered";
    $("task-state").textContent = STATES[mine] || mine;
    $("task-state").dataset.state = mine;
    const open = !["cancelled", "completed", "expired"].includes(t.task_state);
    const actions = open ? (NEXT[mine] || []) : [];
    $("task-actions").replaceChildren(...actions.map((a) => el("button", {
      type: "button", class: a === "decline" ? "decline" : "accept", dataset: { action: a },
      onclick: () => reply(a) }, LABEL[a])));
  }
  async function load() {
    try { render(await api(`/links/${encodeURIComponent(token)}`, { token: null })); }
    catch (e) {
      $("task-loading").hidden = true; $("task-error").hidden = false;
      $("task-error").textContent = e.status === 404 ? "链接无效或已过期" : `加载失败：${e.message}`;
    }
  }
  async function reply(action) {
    document.querySelectorAll("#task-actions button").forEach((b) => { b.disabled = true; });
    try {
      await api(`/links/${encodeURIComponent(token)}/${action}`, { method: "POST", token: null, body: {} });
      $("task-message").textContent = "已提交，谢谢！";
      setTimeout(load, 1500);
    } catch (e) {
      $("task-message").textContent = `提交失败：${e.message}`;
      document.querySelectorAll("#task-actions button").forEach((b) => { b.disabled = false; });
    }
  }
  load();
})();
