"""The ``anlan`` command line.

Each part's command lives in its own folder and is loaded only when used, so ``anlan`` itself
depends on nothing of ours (see DESIGN.md). A command is ``module:function`` taking the remaining
arguments and returning an exit code.
"""

from __future__ import annotations

import importlib
import logging
import sys

from anlan.errors import StartupError

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("anlan.stack.runner:demo_main", "start the local stack and play a rainstorm drill"),
    "up": ("anlan.stack.runner:up_main", "start the local stack (no drill) until Ctrl-C"),
    "topics": ("anlan.stack.runner:topics_main", "create every Kafka topic (idempotent)"),
    "bridge": ("sensors.cli:bridge_main", "run the MQTT → Kafka bridge"),
    "simulate": ("sensors.cli:simulate_main", "publish simulated gateway traffic over MQTT"),
    "worker": ("streams.cli:worker_main", "run a Faust stream worker"),
    "dispatch": ("alerts.cli:dispatch_main", "run the alert dispatcher (Apprise)"),
    "directory": ("alerts.cli:directory_main", "import / show the directory of people"),
    "sink": ("store.cli:sink_main", "run the sinks writing topics to PostgreSQL"),
    "db": ("store.cli:db_main", "database commands (migrate)"),
    "api": ("api.cli:main", "run the API and duty console"),
    "plans": ("contingency_plans.cli:main", "validate and backtest contingency plans"),
}


def _usage() -> str:
    lines = ["usage: anlan COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `anlan COMMAND --help` for a command's options."]
    return "\n".join(lines)


def run(argv: list[str]) -> int:
    """Run one ``anlan`` command; return its exit code."""
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name == "--version":
        from anlan import __version__
        print(__version__)
        return 0
    if name not in COMMANDS:
        print(f"anlan: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, func_name = COMMANDS[name][0].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(rest) or 0)
    except StartupError as exc:
        print(f"anlan {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
