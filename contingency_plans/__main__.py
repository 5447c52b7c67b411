"""``python -m contingency_plans validate|backtest|schema …`` (the same as ``anlan plans``)."""

import sys

from contingency_plans.cli import main

raise SystemExit(main(sys.argv[1:]))
