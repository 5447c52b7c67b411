"""The delivery chain's pure core with an in-memory notifier (no I/O)."""

from collections.abc import Iterator

import pytest

from alerts.notify import Attempt, Outcome, backoff_delays, channel_of, deliver


class ScriptedNotifier:
    def __init__(self, script: dict[str, list[Outcome]]) -> None:
        self.script = {k: iter(v) for k, v in script.items()}
        self.calls: list[str] = []

    async def send(self, url: str, title: str, body: str) -> Outcome:
        self.calls.append(url)
        it: Iterator[Outcome] = self.script.get(url, iter(()))
        return next(it, Outcome(True))


async def run(script: dict[str, list[Outcome]], urls: list[str], retries: int = 2
              ) -> tuple[list[Attempt], list[float], bool]:
    attempts: list[Attempt] = []
    sleeps: list[float] = []

    async def on_attempt(a: Attempt) -> None:
        attempts.append(a)

    async def sleep(s: float) -> None:
        sleeps.append(s)

    result = await deliver(ScriptedNotifier(script), urls, lambda u: ("t", "b"), retries, 0.5,
                           on_attempt, sleep)
    return attempts, sleeps, result.ok


async def test_retry_then_fallback() -> None:
    bad = Outcome(False, "HTTP 500")
    attempts, sleeps, ok = await run({"json://a/x": [bad, bad, bad]},
                                     ["json://a/x", "mailto://b"])
    assert ok
    assert [(a.url_index, a.outcome) for a in attempts] == [
        (0, "retrying"), (0, "retrying"), (0, "failed"), (1, "sent")]
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    assert sleeps == [0.5, 1.0]
    assert attempts[-1].channel == "mailto"


async def test_permanent_error_skips_retries_and_gives_up_at_the_end() -> None:
    perm = Outcome(False, "invalid URL", retryable=False)
    bad = Outcome(False, "timeout")
    attempts, _, ok = await run({"x://1": [perm], "json://2": [bad, bad, bad]},
                                     ["x://1", "json://2"])
    assert not ok
    assert [a.outcome for a in attempts] == ["failed", "retrying", "retrying", "gave_up"]


async def test_first_success_stops() -> None:
    attempts, sleeps, ok = await run({}, ["json://a", "json://b"])
    assert ok and len(attempts) == 1 and sleeps == []


def test_backoff_and_channel() -> None:
    assert backoff_delays(4, 1.0, cap_s=5) == [1, 2, 4, 5]
    assert channel_of("dingtalk://token@secret/123") == "dingtalk"
    assert channel_of("garbage") == "invalid"


@pytest.mark.parametrize("retries", [0, 1, 3])
async def test_attempt_count(retries: int) -> None:
    bad = Outcome(False, "x")
    attempts, _, _ = await run({"json://a": [bad] * 10}, ["json://a"], retries)
    assert len(attempts) == retries + 1 and attempts[-1].outcome == "gave_up"
