"""``hostler pipeline subscribe|unsubscribe|subscriptions``: settings from --set flags, a file or
stdin; a table of both sources; the server's refusals as plain errors. Against the real API app
in-process (``default/hello`` live, with no trigger of its own until a test deploys one)."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Iterator

import httpx
import pytest
import typer.testing

from hostler.cli import common, main
from hostler.sdk import client

from ..sdk.test_objects import PIPELINE, serving
from .conftest import lines

Run = Callable[..., typer.testing.Result]


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[httpx.BaseTransport]:
    """Return a transport to the API app, with default/hello live."""
    with serving(tmp_path / "data") as transport:
        yield transport


@pytest.fixture
def hostler(server: httpx.BaseTransport) -> Run:
    """Run the CLI against the API app; ``input`` is standard input, a pipe."""
    state = common.State(transport=server)

    def run(*args: str, input: str | None = None) -> typer.testing.Result:
        return typer.testing.CliRunner().invoke(main.app, list(args), obj=state, input=input)

    return run


@pytest.fixture
def api(server: httpx.BaseTransport) -> Iterator[client.Client]:
    """Return an SDK client of the same app, to arrange and to check."""
    with client.Client("http://hostler.test", "", transport=server) as sdk:
        yield sdk


def settings_of(api: client.Client, key: str) -> object:
    """Return the settings of the pipeline's subscription ``key`` as the server lists them."""
    items = api.list_subscriptions("default", "hello")["items"]
    return next(s["settings"] for s in items if s["key"] == key)


def test_subscribe_sends_set_flags_read_as_yaml_and_says_what_it_made(
    hostler: Run, api: client.Client
) -> None:
    done = hostler(
        "pipeline", "subscribe", "hello", "interval", "--set", "every=30s", "--set", "jitter=false"
    )
    assert done.exit_code == 0, done.output
    assert done.stdout == "pipeline 'default/hello': subscribed to interval as 'interval'\n"
    assert settings_of(api, "interval") == {"every": "30s", "jitter": False}


def test_subscribe_with_an_id_dotted_keys_and_values_yaml_cannot_read(
    hostler: Run, api: client.Client
) -> None:
    done = hostler(
        "pipeline",
        "subscribe",
        "hello",
        "notify",
        "--id",
        "tell",
        "--set",
        "webhook.url=https://chat.example/hook/secret{{CHAT}}",
        "--set",
        "webhook.retries=3",
        "--set",
        "email.to=[ops@example.com, dev@example.com]",
        "--set",
        "schedule=*/5 * * * *",
        "--set",
        "empty=",
    )
    assert done.exit_code == 0, done.output
    assert settings_of(api, "tell") == {
        "webhook": {"url": "https://chat.example/hook/secret{{CHAT}}", "retries": 3},
        "email": {"to": ["ops@example.com", "dev@example.com"]},
        "schedule": "*/5 * * * *",
        "empty": "",
    }


def test_subscribe_reads_a_settings_file_with_set_flags_on_top(
    hostler: Run, api: client.Client, tmp_path: pathlib.Path
) -> None:
    file = tmp_path / "nightly.yaml"
    file.write_text("schedule: '0 2 * * *'\ntimezone: UTC\n")
    done = hostler(
        "pipeline",
        "subscribe",
        "hello",
        "cron",
        "--id",
        "nightly",
        "--settings",
        str(file),
        "--set",
        "timezone=Europe/Paris",
        "-o",
        "json",
    )
    assert done.exit_code == 0, done.output
    made = json.loads(done.stdout)
    assert (made["key"], made["source"], made["created_by"]) == ("nightly", "manual", "anonymous")
    assert made["settings"] == {"schedule": "0 2 * * *", "timezone": "Europe/Paris"}


def test_subscribe_reads_json_settings_from_stdin(hostler: Run, api: client.Client) -> None:
    done = hostler(
        "pipeline",
        "subscribe",
        "hello",
        "webhook",
        "--settings",
        "-",
        input='{"secret": "secret{{HOOK}}", "events": ["push"]}',
    )
    assert done.exit_code == 0, done.output
    assert settings_of(api, "webhook") == {"secret": "secret{{HOOK}}", "events": ["push"]}


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("- a\n- b\n", "list.yaml", "the settings must be an object of JSON values"),
        ("every: [", "broken.yaml", "not valid YAML or JSON"),
        ("every: 1m", "settings.toml", "unknown type '.toml'"),
    ],
)
def test_a_bad_settings_file_is_a_plain_error(
    hostler: Run, tmp_path: pathlib.Path, content: str, name: str, message: str
) -> None:
    file = tmp_path / name
    file.write_text(content)
    done = hostler("pipeline", "subscribe", "hello", "webhook", "--settings", str(file))
    assert done.exit_code == 1
    assert done.stderr.startswith("error: ")
    assert message in done.stderr
    assert "Traceback" not in done.output


@pytest.mark.parametrize("flag", ["every", "=30s", "a..b=1"])
def test_a_set_flag_that_is_not_key_value_is_a_usage_error(hostler: Run, flag: str) -> None:
    done = hostler("pipeline", "subscribe", "hello", "interval", "--set", flag)
    assert done.exit_code == 2
    assert "is not KEY=VALUE" in done.stderr


def test_the_servers_refusals_are_errors_with_their_field_and_hint(hostler: Run) -> None:
    bad = hostler("pipeline", "subscribe", "hello", "interval", "--set", "every=0.5s")
    assert bad.exit_code == 1
    assert lines(bad.stderr) == [
        "error: subscription 'interval': every: must be at least 1s (field 'settings.every')",
        "hint: e.g. every: 30s",
    ]
    assert hostler("pipeline", "subscribe", "hello", "webhook").exit_code == 0
    taken = hostler("pipeline", "subscribe", "hello", "webhook")
    assert taken.exit_code == 1
    assert taken.stderr.startswith(
        "error: subscription 'webhook' of pipeline 'default/hello': already exists"
    )
    assert "hint: give it another id with --id" in taken.stderr
    missing = hostler("pipeline", "subscribe", "nope", "webhook")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: pipeline 'default/nope': not found")
    assert "Traceback" not in bad.output + taken.output + missing.output


def test_subscriptions_lists_both_sources_in_a_table_and_as_json(
    hostler: Run, api: client.Client
) -> None:
    every = {"extension": "interval", "settings": {"every": "1m"}}
    api.up_pipeline("default", {**PIPELINE, "triggers": [every]})
    api.subscribe("default", "hello", "notify", {"on": ["failure"], "webhook": {"url": "u"}})
    made = hostler(
        "pipeline", "subscribe", "hello", "webhook", "--id", "hook", "--set", "secret=secret{{K}}"
    )
    assert made.exit_code == 0, made.output
    assert "not told until these secrets can be used: secret{{K}}" in made.stderr

    table = hostler("pipeline", "subscriptions", "hello")
    assert table.exit_code == 0, table.output
    assert lines(table.stdout) == [
        "KEY        EXTENSION   SOURCE      SETTINGS                       WAITS FOR",
        "─" * 77,
        "interval   interval    file (v2)   every=1m                       -",
        "hook       webhook     manual      secret=secret{{K}}             secret{{K}}",
        'notify     notify      manual      on=["failure"] webhook.url=u   -',
    ]
    as_json = hostler("pipeline", "subscriptions", "hello", "-o", "json")
    assert json.loads(as_json.stdout) == api.list_subscriptions("default", "hello")


def test_unsubscribe_deletes_one_made_by_hand_and_refuses_one_of_the_file(
    hostler: Run, api: client.Client
) -> None:
    every = {"extension": "interval", "settings": {"every": "1m"}}
    api.up_pipeline("default", {**PIPELINE, "triggers": [every]})
    api.subscribe("default", "hello", "webhook")

    done = hostler("pipeline", "unsubscribe", "hello", "webhook")
    assert done.exit_code == 0, done.output
    assert done.stdout == "pipeline 'default/hello': unsubscribed 'webhook'\n"
    assert [s["key"] for s in api.list_subscriptions("default", "hello")["items"]] == ["interval"]

    refused = hostler("pipeline", "unsubscribe", "hello", "interval")
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        "error: subscription 'interval' of pipeline 'default/hello': comes from the pipeline "
        "file (version 2), not made by hand"
    )
    assert "hint: remove it from the file's triggers or notifications and deploy" in (
        " ".join(lines(refused.stderr))
    )
    gone = hostler("pipeline", "unsubscribe", "hello", "webhook")
    assert gone.exit_code == 1
    assert "not found" in gone.stderr
