"""Scheduler backends: where task containers run (``docker``, ``local``), one package each."""
