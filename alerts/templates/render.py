"""Render messages from the jinja2 templates beside this module (pure, no I/O beyond loading
the template files once per :class:`Renderer`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2

from alerts.directory.model import BEIJING
from alerts.directory.tree import RegionTree
from anlan.events import Alert, Level
from anlan.exercise import EXERCISE_TAGS

LANGS = ("zh-CN", "en")
HAZARD_NAMES: dict[str, tuple[str, str]] = {
    "rainstorm": ("暴雨", "rainstorm"), "flood": ("洪水", "flood"),
    "landslide": ("滑坡", "landslide"), "gale": ("大风", "gale"),
    "typhoon": ("台风", "typhoon"), "heat": ("高温", "heat"),
    "cold_wave": ("寒潮", "cold wave"), "snow": ("暴雪", "snowstorm"),
    "gas": ("燃气泄漏", "gas leak"), "gas_leak": ("燃气泄漏", "gas leak"),
    "fire": ("火灾", "fire"), "waterlogging": ("城市内涝", "urban waterlogging"),
    "urban_waterlogging": ("城市内涝", "urban waterlogging"), "river_flood": ("洪水", "flood"),
}
_LEVEL_ZH = {Level.IV: "Ⅳ级", Level.III: "Ⅲ级", Level.II: "Ⅱ级", Level.I: "Ⅰ级", Level.NONE: "无"}
# Apprise schemes whose messages must fit an SMS (the short variant).
SHORT_SCHEMES = frozenset({
    "sms", "twilio", "sns", "clicksend", "d7sms", "kavenegar", "msg91", "nexmo", "vonage",
    "sinch", "bulksms", "bulkvs", "smseagle", "smsmgr", "signal", "seven", "httpsms",
    "burstsms", "plivo", "africastalking", "aliyunsms", "tencentsms",
})
CATEGORY_ZH = {"elderly_alone": "留守老人", "left_behind_child": "留守儿童",
               "disabled": "残障人士", "other": "重点人员"}
CATEGORY_EN = {"elderly_alone": "elderly living alone", "left_behind_child": "left-behind child",
               "disabled": "person with disability", "other": "vulnerable resident"}


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def hazard_name(hazard: str, lang: str) -> str:
    zh, en = HAZARD_NAMES.get(hazard, (hazard, hazard.replace("_", " ")))
    return zh if lang == "zh-CN" else en


def is_short(url_or_scheme: str) -> bool:
    """True when the channel needs the short (SMS-length) variant."""
    scheme = url_or_scheme.split("://", 1)[0].lower()
    return scheme in SHORT_SCHEMES


def local_time(ts: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return ts.astimezone(BEIJING).strftime(fmt) if ts else ""


def alert_context(alert: Alert, tree: RegionTree, identifier: str, console_url: str,
                  renotify: int = 0, escalation: int = 0) -> dict[str, Any]:
    """Everything the alert macros use (language-neutral; names resolved per language later)."""
    path = list(reversed(tree.ancestors(alert.region)))
    level = alert.level if alert.level != Level.NONE else alert.previous
    return {
        "msg_type": alert.msg_type, "exercise": alert.status == "Exercise",
        "late": alert.late, "onset_local": local_time(alert.onset),
        "renotify": renotify, "escalation": escalation,
        "hazard": alert.hazard, "level": level.value, "level_zh": _LEVEL_ZH[level],
        "colour": level.colour, "colour_zh": level.colour_zh,
        "region_name": tree.name(alert.region),
        "region_path": " ".join(tree.name(r) for r in path),
        "headline": alert.headline, "description": alert.description,
        "instruction": alert.instruction, "identifier": identifier,
        "sent_local": local_time(alert.sent), "sent_hm": local_time(alert.sent, "%H:%M"),
        "console_url": console_url,
    }


class Renderer:
    """Renders messages; one jinja2 environment per instance (StrictUndefined, no autoescape:
    messages are plain text)."""

    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("alerts", "templates"),
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.env.globals["EXERCISE_TAGS"] = EXERCISE_TAGS  # every drill message starts with it
        self._modules: dict[str, Any] = {}

    def _module(self, lang: str) -> Any:
        lang = lang if lang in LANGS else "zh-CN"
        if lang not in self._modules:
            self._modules[lang] = self.env.get_template(f"{lang}.j2").module
        return self._modules[lang]

    def render(self, kind: str, ctx: dict[str, Any], lang: str = "zh-CN",
               short: bool = False) -> Message:
        """Render message ``kind`` (alert, offer, welfare, cancel, filled) in ``lang``."""
        lang = lang if lang in LANGS else "zh-CN"
        ctx = dict(ctx)
        if "hazard" in ctx:
            ctx["hazard_name"] = hazard_name(ctx["hazard"], lang)
        if "category" in ctx:
            ctx["category_zh"] = CATEGORY_ZH.get(ctx["category"], "重点人员")
            ctx["category_en"] = CATEGORY_EN.get(ctx["category"], "vulnerable resident")
        module = self._module(lang)
        title = str(getattr(module, f"{kind}_title")(ctx)).strip()
        body_macro = getattr(module, f"{kind}_sms" if short else f"{kind}_body")
        return Message(title=title, body=str(body_macro(ctx)).strip())
