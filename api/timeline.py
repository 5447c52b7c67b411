"""An incident's timeline (pure): signals, level changes, alerts, deliveries, commands, tasks
merged in time order with zh-CN labels."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel

Row = dict[str, Any]
BEIJING = timezone(timedelta(hours=8))

LEVEL_ZH = {"I": "红色", "II": "橙色", "III": "黄色", "IV": "蓝色", "none": "无"}
CHANGE_ZH = {"opened": "事件开始", "escalated": "升级", "de-escalated": "降级",
             "acknowledged": "已确认", "resolved": "已解除", "cleared": "已消除",
             "updated": "更新"}
COMMAND_ZH = {"ack": "确认", "resolve": "解除", "escalate": "人工升级",
              "manual_alert": "人工预警", "drill": "演练", "task_accept": "接受任务",
              "task_decline": "拒绝任务", "task_checkin": "签到", "task_complete": "完成任务"}
OUTCOME_ZH = {"sent": "已送达", "failed": "失败", "retrying": "重试中", "gave_up": "放弃",
              "skipped": "跳过"}
MSG_ZH = {"Alert": "发布", "Update": "更新", "Cancel": "解除"}


class TimelineEntry(BaseModel):
    ts: datetime
    kind: str  # signal, incident, alert, delivery, command, task, data (too late to assess)
    label: str
    summary: str
    detail: dict[str, Any] = {}


def _hm(ts: datetime) -> str:
    return ts.astimezone(BEIJING).strftime("%m-%d %H:%M")


def _lv(level: str) -> str:
    return LEVEL_ZH.get(level, level)


def build_timeline(rows: dict[str, list[Row]]) -> list[TimelineEntry]:
    """Merge the per-table rows of an incident into one list, oldest first."""
    out: list[TimelineEntry] = []
    for r in rows.get("signals", []):
        out.append(TimelineEntry(ts=r["ts"], kind="signal", label="触发信号",
                                 summary=f"{_lv(r['previous'])} → {_lv(r['level'])}",
                                 detail={"evidence": r.get("evidence") or {}}))
    for r in rows.get("events", []):
        actor = f"（{r['actor']}）" if r.get("actor") else ""
        out.append(TimelineEntry(ts=r["ts"], kind="incident",
                                 label=CHANGE_ZH.get(r["change"]) or str(r["change"]),
                                 summary=f"{_lv(r['previous'])} → {_lv(r['level'])}{actor}"))
    for r in rows.get("alerts", []):
        out.append(TimelineEntry(ts=r["ts"], kind="alert",
                                 label=f"预警{MSG_ZH.get(r['msg_type'], r['msg_type'])}",
                                 summary=f"{_lv(r['level'])} {r['headline']}",
                                 detail={"alert_id": r["alert_id"], "tier": r["tier"]}))
    for r in rows.get("deliveries", []):
        err = f"：{r['error']}" if r.get("error") else ""
        out.append(TimelineEntry(ts=r["ts"], kind="delivery", label="通知",
                                 summary=f"{r['recipient']} · {r['channel']} · 第{r['attempt']}次 · "
                                 f"{OUTCOME_ZH.get(r['outcome'], r['outcome'])}{err}"))
    for r in rows.get("commands", []):
        out.append(TimelineEntry(ts=r["ts"], kind="command",
                                 label=COMMAND_ZH.get(r["kind"]) or str(r["kind"]),
                                 summary=str(r["actor"]), detail=r.get("detail") or {}))
    for r in rows.get("tasks", []):
        out.append(TimelineEntry(ts=r["ts"], kind="task", label="任务",
                                 summary=f"{r['title']} · {r['state']}",
                                 detail={"task_id": r["task_id"]}))
    for r in rows.get("too_late", []):
        out.append(TimelineEntry(
            ts=r["ts"], kind="data", label="迟到数据（未评估）",
            summary=f"{r['gateway_id']}：{r['n']}条读数（{_hm(r['oldest'])}–{_hm(r['newest'])}）"
                    "到达时已超过评估时限，已存储但不再参与评估",
            detail={"gateway_id": r["gateway_id"], "readings": r["n"],
                    "oldest": r["oldest"].isoformat(), "newest": r["newest"].isoformat()}))
    order = {"signal": 0, "incident": 1, "alert": 2, "command": 3, "delivery": 4, "task": 5,
             "data": 6}
    out.sort(key=lambda e: (e.ts, order.get(e.kind, 9)))
    return out
