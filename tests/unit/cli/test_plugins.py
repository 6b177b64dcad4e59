"""``hostler plugins list`` shows the installed plug-ins and whether each loads."""

from __future__ import annotations

import json

from .conftest import Invoke


def test_plugins_list_shows_the_built_in_schedulers_loaded(invoke: Invoke) -> None:
    result = invoke("plugins", "list", "-o", "json")
    assert result.exit_code == 0, result.output
    found = {(p["family"], p["name"]): p for p in json.loads(result.stdout)}
    assert found[("schedulers", "docker")]["status"] == "loaded"
    assert found[("schedulers", "local")]["status"] == "loaded"
    assert "WITHOUT ISOLATION" in found[("schedulers", "local")]["description"]


def test_plugins_list_renders_a_table(invoke: Invoke) -> None:
    result = invoke("plugins", "list")
    assert result.exit_code == 0, result.output
    assert "docker" in result.stdout
    assert "FAMILY" in result.stdout
