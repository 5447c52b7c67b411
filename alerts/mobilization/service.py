"""The mobilizer: tasks → waves of offers with personal links; replies → assignments; welfare
checks per vulnerable resident; everything cancelled (and people told) when the incident ends.
Adapter code around :mod:`alerts.mobilization.waves` and :mod:`alerts.mobilization.welfare`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerts.directory.model import Directory
from alerts.directory.tree import RegionTree
from alerts.dispatch import repository as drepo
from alerts.dispatch.messenger import Messenger
from alerts.dispatch.publisher import Publisher
from alerts.dispatch.repository import Claim
from alerts.mobilization import repository as repo
from alerts.mobilization.links import create_link, link_url
from alerts.mobilization.repository import TaskRow
from alerts.mobilization.waves import (
    WAVE_NAMES,
    busy_volunteers,
    decide_accept,
    plan_wave,
    task_window,
)
from alerts.mobilization.welfare import welfare_tasks
from alerts.templates import Renderer, is_short
from alerts.templates.render import local_time
from anlan import topics
from anlan.events import Command, Task, utcnow
from anlan.settings import Settings

log = logging.getLogger(__name__)
ACTIVE = ("accepted", "checked_in", "completed")
# message kind → claim prefix (one claim per task, person and kind)
PREFIX = {"offer": "offer", "welfare": "welfare", "cancel": "cancel", "filled": "filled"}


@dataclass
class MobilizeOptions:
    wave_s: float = 300.0  # how long a wave waits for acceptances before the next goes out
    default_duration_s: float = 6 * 3600.0  # a task without a deadline occupies this long
    link_ttl_s: float = 24 * 3600.0  # links of tasks without a deadline expire after this
    overbook: float = 2.0  # offers per open place in one wave
    welfare_remind_s: float = 1800.0  # remind the grid worker of an unchecked resident


class Mobilizer:
    def __init__(self, settings: Settings, pool: AsyncConnectionPool, messenger: Messenger,
                 publisher: Publisher, directory: Callable[[], tuple[Directory, RegionTree]],
                 options: MobilizeOptions | None = None, owner: str = "mobilizer") -> None:
        self.settings = settings
        self.owner = owner
        self.pool = pool
        self.messenger = messenger
        self.publisher = publisher
        self.directory = directory
        self.options = options or MobilizeOptions()
        self.renderer = Renderer()

    # ------------------------------------------------------------------ new tasks
    async def handle_task(self, task: Task, now: datetime | None = None) -> list[str]:
        """Start a new task (state ``open``); returns the people messaged."""
        now = now or utcnow()
        if task.state != "open":
            return []  # state changes (ours or others') need nothing from us
        if task.kind == "mobilization":
            return await self._start_mobilization(task, now)
        if task.kind in ("evacuation", "welfare_check"):
            return await self._start_welfare(task, now)
        log.info("task %s: kind %s is not dispatched", task.task_id, task.kind)
        return []

    async def _start_mobilization(self, task: Task, now: datetime) -> list[str]:
        window = task_window(task.ts, task.deadline, now, self.options.default_duration_s)
        wave_s = float(task.detail.get("wave_s") or self.options.wave_s)
        async with self.pool.connection() as conn:
            exercise = _is_exercise(task) or \
                await repo.incident_is_exercise(conn, task.incident_id)
            if not await repo.insert_task(conn, task, "offered", window, wave_s, exercise):
                return []  # redelivered
            row = await repo.get_task(conn, task.task_id, lock=True)
            assert row is not None
            picks = await self._plan_wave(conn, row, now)
        await self._send(row, "offer", picks)
        return picks

    async def _plan_wave(self, conn: repo.Conn, row: TaskRow, now: datetime) -> list[str]:
        """Offer the next wave (assignments + claims in the caller's transaction)."""
        directory, tree = self.directory()
        states = await repo.assignments(conn, row.task_id)
        accepted = sum(1 for s in states.values() if s in ACTIVE)
        busy = busy_volunteers(await repo.commitments(conn, row.task_id), row.window)
        wave, picks = plan_wave(directory, tree, row.region, row.skills, row.wave,
                                row.quota - accepted, set(states), busy, self.options.overbook)
        if not picks:
            await repo.set_task(conn, row.task_id, next_wave_at=None)
            log.warning("task %s: %d of %d places filled and no volunteer left to ask",
                        row.task_id, accepted, row.quota)
            return []
        for pid in picks:
            await repo.add_assignment(conn, row, pid, wave)
        await repo.set_task(conn, row.task_id, wave=wave,
                            next_wave_at=now + timedelta(seconds=row.wave_s))
        await drepo.claim(conn, row.incident_id or "", [
            Claim(f"offer:{row.task_id}", pid, 0) for pid in picks], self.owner)
        await self._publish(row, "offered", wave=wave, wave_scope=WAVE_NAMES[wave],
                            offered=picks)
        log.info("task %s: wave %d (%s) offered to %s", row.task_id, wave, WAVE_NAMES[wave],
                 picks)
        return picks

    async def _start_welfare(self, task: Task, now: datetime) -> list[str]:
        directory, tree = self.directory()
        children = welfare_tasks(directory, tree, task, now)
        messaged: list[str] = []
        async with self.pool.connection() as conn:
            exercise = _is_exercise(task) or \
                await repo.incident_is_exercise(conn, task.incident_id)
            if not task.detail.get("resident_id"):
                window = task_window(task.ts, task.deadline, now,
                                     self.options.default_duration_s)
                # the parent only fans out: its checks are tracked one by one
                if not await repo.insert_task(conn, task, "expanded", window, 0.0, exercise):
                    return []
            rows = []
            for child in children:
                child.exercise = exercise
                window = task_window(task.ts, child.deadline, now,
                                     self.options.default_duration_s)
                # assigned to the grid worker: tracked (and reminded) until checked, not expired
                if not await repo.insert_task(conn, child, "accepted", window, 0.0, exercise):
                    continue
                await repo.insert_welfare(conn, child, now + timedelta(
                    seconds=self.options.welfare_remind_s))
                row = await repo.get_task(conn, child.task_id)
                assert row is not None
                assignee = child.detail["assignee"]
                await repo.add_assignment(conn, row, assignee, 0, state="accepted")
                await drepo.claim(conn, row.incident_id or "", [
                    Claim(f"welfare:{row.task_id}", assignee, 0)], self.owner)
                rows.append((row, assignee, child))
        for row, assignee, child in rows:
            await self.publisher.publish(topics.TASKS, child.task_id, child)
            await self._send(row, "welfare", [assignee], extra=child.detail)
            messaged.append(assignee)
        log.info("task %s: %d welfare check(s) assigned", task.task_id, len(rows))
        return messaged

    # ------------------------------------------------------------------ replies
    async def handle_command(self, cmd: Command, now: datetime | None = None) -> str:
        """Apply a task reply (accept / decline / checkin / complete); returns what happened."""
        now = now or utcnow()
        action = cmd.kind.removeprefix("task_")
        notify: list[tuple[TaskRow, str, list[str]]] = []
        async with self.pool.connection() as conn:
            await repo.lock_person(conn, cmd.actor)
            row = await repo.get_task(conn, cmd.target, lock=True)
            if row is None:
                log.warning("command %s: unknown task %s", cmd.command_id, cmd.target)
                return "unknown_task"
            states = await repo.assignments(conn, row.task_id)
            current = states.get(cmd.actor)
            if action == "accept":
                result = await self._accept(conn, row, cmd.actor, states, notify)
            elif action == "decline":
                ok = await repo.set_assignment(conn, row.task_id, cmd.actor, "declined",
                                               ("offered", "accepted"))
                result = "declined" if ok else "ignored"
                if ok and current == "accepted" and row.state == "accepted":
                    await repo.set_task(conn, row.task_id, state="offered", next_wave_at=now)
            elif action == "checkin":
                ok = await repo.set_assignment(conn, row.task_id, cmd.actor, "checked_in",
                                               ("accepted",))
                result = "checked_in" if ok else "ignored"
            else:
                result = await self._complete(conn, row, cmd.actor)
        for task_row, kind, people in notify:
            await self._send(task_row, kind, people)
        log.info("task %s: %s by %s → %s", cmd.target, action, cmd.actor, result)
        return result

    async def _accept(self, conn: repo.Conn, row: TaskRow, actor: str, states: dict[str, str],
                      notify: list[tuple[TaskRow, str, list[str]]]) -> str:
        accepted = sum(1 for s in states.values() if s in ACTIVE)
        busy = actor in busy_volunteers(await repo.commitments(conn, row.task_id), row.window)
        decision = decide_accept(row.state, row.quota, accepted, states.get(actor), busy)
        if decision == "accepted":
            await repo.set_assignment(conn, row.task_id, actor, "accepted")
            if accepted + 1 >= row.quota:
                withdrawn = [p for p, s in states.items() if s == "offered" and p != actor]
                for pid in withdrawn:
                    await repo.set_assignment(conn, row.task_id, pid, "withdrawn")
                await repo.set_task(conn, row.task_id, state="accepted", next_wave_at=None)
                await self._claim(conn, row, "filled", withdrawn, notify)
                await self._publish(row, "accepted", accepted=[
                    p for p, s in states.items() if s in ACTIVE] + [actor])
        elif decision in ("filled", "busy"):
            await repo.set_assignment(conn, row.task_id, actor, "withdrawn" if decision ==
                                      "filled" else "declined", ("offered",))
            if decision == "filled":
                await self._claim(conn, row, "filled", [actor], notify)
        return decision

    async def _complete(self, conn: repo.Conn, row: TaskRow, actor: str) -> str:
        ok = await repo.set_assignment(conn, row.task_id, actor, "completed",
                                       ("accepted", "checked_in"))
        if not ok:
            return "ignored"
        if row.kind == "welfare_check":
            await repo.set_welfare(conn, row.task_id, "checked")
        states = await repo.assignments(conn, row.task_id)
        done = sum(1 for s in states.values() if s == "completed")
        pending = any(s in ("accepted", "checked_in") for s in states.values())
        if done >= row.quota or (row.state == "accepted" and not pending):
            await repo.set_task(conn, row.task_id, state="completed", next_wave_at=None)
            await self._publish(row, "completed")
        return "completed"

    async def _claim(self, conn: repo.Conn, row: TaskRow, kind: str, people: list[str],
                     notify: list[tuple[TaskRow, str, list[str]]]) -> None:
        won = await drepo.claim(conn, row.incident_id or "", [
            Claim(f"{PREFIX[kind]}:{row.task_id}", p, 0) for p in people], self.owner)
        if won:
            notify.append((row, kind, [c.person_id for c in won]))

    # ------------------------------------------------------------------ timers, cancel
    async def tick(self, now: datetime | None = None) -> int:
        """Send the next wave of every task whose wave timed out short of its quota."""
        now = now or utcnow()
        sends: list[tuple[TaskRow, list[str]]] = []
        reminders: list[tuple[TaskRow, str, int, dict[str, Any]]] = []
        async with self.pool.connection() as conn:
            for row in await repo.overdue(conn, now):
                await self._expire(conn, row)
            for row in await repo.due_waves(conn, now):
                sends.append((row, await self._plan_wave(conn, row, now)))
            for task_id, person, n in await repo.due_welfare_reminders(
                    conn, now, self.options.welfare_remind_s):
                check = await repo.get_task(conn, task_id)
                if check is not None and await drepo.claim(conn, check.incident_id or "", [
                        Claim(f"welfare:{task_id}", person, n)], self.owner):
                    reminders.append((check, person, n, await repo.task_detail(conn, task_id)))
        for row, picks in sends:
            await self._send(row, "offer", picks)
        for row, person, n, detail in reminders:
            await self._send(row, "welfare", [person], extra=detail, round_=n)
        return sum(len(p) for _, p in sends) + len(reminders)

    async def _expire(self, conn: repo.Conn, row: TaskRow) -> None:
        """The deadline passed short of the quota: stop asking, keep who accepted."""
        states = await repo.assignments(conn, row.task_id)
        for pid, state in states.items():
            if state == "offered":
                await repo.set_assignment(conn, row.task_id, pid, "withdrawn")
        await repo.set_task(conn, row.task_id, state="expired", next_wave_at=None)
        accepted = [p for p, s in states.items() if s in ACTIVE]
        log.warning("task %s expired with %d of %d places filled", row.task_id, len(accepted),
                    row.quota)
        await self._publish(row, "expired", accepted=accepted)

    async def cancel_incident(self, incident_id: str, reason: str) -> list[str]:
        """Cancel the incident's open tasks and tell everyone offered or assigned."""
        notify: list[tuple[TaskRow, str, list[str]]] = []
        async with self.pool.connection() as conn:
            for row in await repo.open_tasks_of(conn, incident_id):
                states = await repo.assignments(conn, row.task_id)
                told = [p for p, s in states.items() if s in ("offered", "accepted",
                                                              "checked_in")]
                for pid in told:
                    await repo.set_assignment(conn, row.task_id, pid, "cancelled")
                await repo.set_task(conn, row.task_id, state="cancelled", next_wave_at=None)
                if row.kind == "welfare_check":
                    await repo.set_welfare(conn, row.task_id, "cancelled")
                await self._claim(conn, row, "cancel", told, notify)
                await self._publish(row, "cancelled", reason=reason)
        for row, kind, people in notify:
            await self._send(row, kind, people, extra={"reason": reason})
        return [p for _, _, people in notify for p in people]

    async def resend(self, claims: list[Claim]) -> None:
        """Send again the task messages a dead dispatcher claimed but never finished (offers and
        welfare checks get a fresh link)."""
        for c in claims:
            kind, _, task_id = c.alert_id.partition(":")
            async with self.pool.connection() as conn:
                row = await repo.get_task(conn, task_id)
                detail = await repo.task_detail(conn, task_id)
            if row is None or kind not in PREFIX:
                async with self.pool.connection() as conn:
                    await drepo.finish(conn, c, "failed", None)
                continue
            await self._send(row, kind, [c.person_id], extra=detail, round_=c.round)

    # ------------------------------------------------------------------ messages
    async def _send(self, row: TaskRow, kind: str, people: list[str],
                    extra: dict[str, Any] | None = None, round_: int = 0) -> None:
        directory, tree = self.directory()
        persons = {p.id: p for p in directory.people}
        for pid in people:
            person = persons.get(pid)
            link = ""
            expires = row.deadline or utcnow() + timedelta(seconds=self.options.link_ttl_s)
            if kind in ("offer", "welfare"):
                async with self.pool.connection() as conn:
                    token = await create_link(conn, row.task_id, pid, expires)
                link = link_url(self.settings.public_base_url, token)
            ctx = _task_context(row, tree, person.name if person else pid, link,
                                {"expires": local_time(expires), **(extra or {})})
            ctx["renotify"] = round_
            lang = person.lang if person else "zh-CN"

            def render(url: str, ctx: dict[str, Any] = ctx, lang: str = lang
                       ) -> tuple[str, str]:
                msg = self.renderer.render(kind, ctx, lang, short=is_short(url))
                return msg.title, msg.body

            await self.messenger.send(Claim(f"{PREFIX[kind]}:{row.task_id}", pid, round_),
                                      row.incident_id or "", list(person.urls) if person
                                      else [], render,
                                      "no Apprise URL" if person else "person not in directory")

    async def _publish(self, row: TaskRow, state: str, **detail: Any) -> None:
        await self.publisher.publish(topics.TASKS, row.task_id, Task(
            task_id=row.task_id, incident_id=row.incident_id, kind=row.kind,  # type: ignore[arg-type]
            state=state, region=row.region, title=row.title, quota=row.quota,  # type: ignore[arg-type]
            skills=list(row.skills), deadline=row.deadline, ts=utcnow(),
            detail={"source": "dispatch", **detail}, exercise=row.exercise))


def _is_exercise(task: Task) -> bool:
    """A drill's task (``detail.exercise``: how events before the field said it)."""
    return task.exercise or bool(task.detail.get("exercise"))


def _task_context(row: TaskRow, tree: RegionTree, name: str, link: str,
                  extra: dict[str, Any]) -> dict[str, Any]:
    reason = str(extra.get("reason", "resolved"))
    return {
        "msg_type": "Alert", "exercise": row.exercise, "renotify": 0, "escalation": 0,
        "title": row.title, "name": name, "region_name": tree.name(row.region),
        "quota": row.quota, "skills": list(row.skills), "link": link,
        "deadline_local": local_time(row.deadline),
        "expires_local": extra.get("expires", ""),
        "resident_name": extra.get("resident_name", ""), "category": extra.get("category",
                                                                                "other"),
        "address": extra.get("address", ""), "needs": extra.get("needs", ""),
        "contact": extra.get("contact", ""),
        "reason_zh": {"resolved": "事件已解除", "cancelled": "预警已解除"}.get(reason, reason),
        "reason_en": {"resolved": "the incident is resolved",
                      "cancelled": "the warning is lifted"}.get(reason, reason),
    }
