"""The Faust stream workers: validate → assess → incidents, plus silence timers.

Pure logic lives in the sub-packages (``validate``, ``assess``, ``incidents``, ``timers``);
``app`` and ``agents`` are the thin Faust adapters; ``cli.worker_main`` runs a worker.
"""
