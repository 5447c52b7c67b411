import pytest

from alerts.templates import Renderer, alert_context, is_short
from anlan.events import Level
from anlan.exercise import EXERCISE_TAGS, cap_status
from tests.alerts.helpers import alert, demo


@pytest.mark.parametrize("level, zh, en", [
    (Level.IV, "蓝色", "BLUE"), (Level.III, "黄色", "YELLOW"), (Level.II, "橙色", "ORANGE"),
    (Level.I, "红色", "RED")])
def test_alert_messages_per_level(level: Level, zh: str, en: str) -> None:
    _, tree = demo()
    ctx = alert_context(alert(level=level), tree, "ID", "http://console")
    r = Renderer()
    m = r.render("alert", ctx)
    assert m.title == f"河口村第一网格暴雨{zh}预警"
    assert "示范县 城关镇 河口村 河口村第一网格" in m.body and "防御指南：转移低洼地带人员" in m.body
    assert "http://console" in m.body and "<" not in m.body
    e = r.render("alert", ctx, "en")
    assert e.title.startswith(f"{en} rainstorm warning (Level {level.value})")
    assert "What to do:" in e.body


def test_short_variant_fits_an_sms() -> None:
    _, tree = demo()
    a = alert(headline="降雨" * 100)
    short = Renderer().render("alert", alert_context(a, tree, "ID", "x"), short=True)
    assert len(short.body) <= 70 and "\n" not in short.body
    assert is_short("twilio://a:b@c/d") and not is_short("json://h/x")


def test_tags_for_drills_updates_cancels_reminders() -> None:
    _, tree = demo()
    r = Renderer()
    drill = r.render("alert", alert_context(alert(status="Exercise"), tree, "ID", "x"))
    assert drill.title.startswith("【演练】")
    cancel = r.render("alert", alert_context(alert(msg_type="Cancel", level=Level.NONE,
                                                   previous=Level.II), tree, "ID", "x"))
    assert "【解除】" in cancel.title and "预警已解除" in cancel.body
    again = r.render("alert", alert_context(alert(), tree, "ID", "x", renotify=2), "en")
    assert again.title.startswith("[REMINDER 2]")
    esc = r.render("alert", alert_context(alert(tier=1), tree, "ID", "x", escalation=1))
    assert "【升级上报】" in esc.title


TASK_CTX = {"msg_type": "Alert", "exercise": False, "renotify": 0, "escalation": 0,
            "title": "沙袋加固", "name": "林涛", "region_name": "河口村第一网格", "quota": 3,
            "skills": ["sandbag"], "link": "http://h/t/TOKEN", "deadline_local": "",
            "expires_local": "2026-07-22 18:00", "resident_name": "张奶奶",
            "category": "elderly_alone", "address": "一组12号", "needs": "", "contact": "",
            "reason_zh": "事件已解除", "reason_en": "resolved"}


@pytest.mark.parametrize("kind", ["alert", "offer", "welfare", "cancel", "filled"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("short", [False, True])
def test_every_drill_message_says_so_and_no_real_one_does(kind: str, lang: str,
                                                          short: bool) -> None:
    _, tree = demo()
    r = Renderer()
    tag = EXERCISE_TAGS[lang]
    for msg_type in ("Alert", "Update", "Cancel"):
        for exercise in (False, True):
            if kind == "alert":
                level = Level.NONE if msg_type == "Cancel" else Level.II
                ctx = alert_context(alert(status=cap_status(exercise), msg_type=msg_type,
                                          level=level, previous=Level.II), tree, "ID", "x",
                                    renotify=1)
            else:
                ctx = {**TASK_CTX, "exercise": exercise}
            m = r.render(kind, ctx, lang, short)
            assert m.title.startswith(tag) == exercise, (msg_type, m.title)
            assert m.body.startswith(tag) == exercise, (msg_type, m.body)
            assert (tag in m.title + m.body) == exercise


def test_task_messages() -> None:
    r = Renderer()
    ctx = {"msg_type": "Alert", "exercise": False, "renotify": 0, "escalation": 0,
           "title": "沙袋加固", "name": "林涛", "region_name": "河口村第一网格", "quota": 3,
           "skills": ["sandbag"], "link": "http://h/t/TOKEN", "deadline_local": "",
           "expires_local": "2026-07-22 18:00", "resident_name": "张奶奶",
           "category": "elderly_alone", "address": "一组12号", "needs": "", "contact": "",
           "reason_zh": "事件已解除", "reason_en": "resolved"}
    for kind in ("offer", "welfare", "cancel", "filled"):
        for lang in ("zh-CN", "en"):
            for short in (False, True):
                m = r.render(kind, ctx, lang, short)
                assert m.title and m.body
    assert "http://h/t/TOKEN" in r.render("offer", ctx).body
    assert "留守老人" in r.render("welfare", ctx).body


def test_a_late_notice_says_so_in_both_languages() -> None:
    _, tree = demo()
    r = Renderer()
    late = alert(late=True, msg_type="Update")
    assert r.render("alert", alert_context(late, tree, "ID", "x")).title.startswith("【补报】")
    assert r.render("alert", alert_context(late, tree, "ID", "x"), "en").title.startswith(
        "[LATE NOTICE]")
    assert "【补报】" in r.render("alert", alert_context(late, tree, "ID", "x"), short=True).body
