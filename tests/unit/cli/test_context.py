"""``hostler context``: the contexts file, and which server and token a command uses."""

from __future__ import annotations

import json
import os
import pathlib
import stat

import pytest

from hostler.cli import contexts

from . import canned
from .conftest import Invoke, lines
from .fakeapi import FakeApi

PROD = "https://hostler.example.com"
STAGING = "https://staging.example.com"
STAGING_SECRET = "hst_fedcba987654_" + "t" * 43
WHOAMI = {"name": "ci", "token": "0123456789ab", "grants": []}


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the contexts decide: no HOSTLER_URL (the other fixtures set one)."""
    monkeypatch.delenv("HOSTLER_URL", raising=False)


@pytest.fixture
def file(config_home: pathlib.Path) -> pathlib.Path:
    return config_home / "hostler" / "contexts.json"


def add_two(invoke: Invoke) -> None:
    """Add prod (with a token, current) and staging (with another token)."""
    for args in (
        ("prod", "--url", f"{PROD}/", "--token", canned.SECRET),
        ("staging", "--url", STAGING, "--token", STAGING_SECRET),
    ):
        done = invoke("context", "add", *args)
        assert done.exit_code == 0, done.output


def whoami_request(api: FakeApi, invoke: Invoke) -> tuple[str, str | None]:
    """Run 'hostler whoami'; return the URL it asked and the Authorization it sent."""
    api.on("GET", "/whoami", (200, WHOAMI))
    done = invoke("whoami")
    assert done.exit_code == 0, done.output
    request = api.requests[-1]
    return str(request.url), request.headers.get("Authorization")


# -- add, use, list, show, remove -----------------------------------------------------------


def test_context_add_makes_the_first_current_and_stores_it(
    invoke: Invoke, file: pathlib.Path
) -> None:
    first = invoke("context", "add", "prod", "--url", f"{PROD}/", "--token", canned.SECRET)
    second = invoke("context", "add", "staging", "--url", STAGING)

    assert (first.exit_code, first.stdout) == (0, "context 'prod': added (current)\n")
    assert (second.exit_code, second.stdout) == (0, "context 'staging': added\n")
    assert json.loads(file.read_text()) == {
        "current": "prod",
        "contexts": {
            "prod": {"url": PROD, "token": canned.SECRET},
            "staging": {"url": STAGING, "token": None},
        },
    }


def test_context_add_with_use_makes_it_current(invoke: Invoke) -> None:
    invoke("context", "add", "prod", "--url", PROD)

    done = invoke("context", "add", "staging", "--url", STAGING, "--use")

    assert done.stdout == "context 'staging': added (current)\n"
    assert invoke("context", "show").stdout.splitlines()[0].split() == ["name", "staging"]


def test_context_add_reads_the_token_from_a_file_or_standard_input(
    invoke: Invoke, file: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text(f"{canned.SECRET}\n")

    from_file = invoke("context", "add", "prod", "--url", PROD, "--token-file", str(secret_file))
    from_stdin = invoke(
        "context", "add", "staging", "--url", STAGING, "--token-file", "-", input=STAGING_SECRET
    )

    assert from_file.exit_code == 0, from_file.output
    assert from_stdin.exit_code == 0, from_stdin.output
    kept = json.loads(file.read_text())["contexts"]
    assert kept["prod"]["token"] == canned.SECRET
    assert kept["staging"]["token"] == STAGING_SECRET


def test_context_add_of_an_existing_name_needs_replace(invoke: Invoke, file: pathlib.Path) -> None:
    add_two(invoke)

    refused = invoke("context", "add", "prod", "--url", STAGING)
    replaced = invoke("context", "add", "prod", "--url", STAGING, "--replace")

    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: context 'prod': exists\nhint: add --replace to replace it, or choose another name\n"
    )
    assert replaced.stdout == "context 'prod': replaced (current)\n"
    assert json.loads(file.read_text())["contexts"]["prod"] == {"url": STAGING, "token": None}


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ["Prod", "--url", PROD],
            "error: context 'Prod': not a valid identifier\n"
            "hint: use at most 63 lowercase letters, digits, '-' or '_', starting with a letter\n",
        ),
        (
            ["prod", "--url", "ftp://hostler.example.com"],
            "error: context 'prod': URL 'ftp://hostler.example.com' is not an http(s) URL\n"
            "hint: give the server's address, e.g. https://hostler.example.com or "
            "http://127.0.0.1:8080\n",
        ),
        (
            ["prod", "--url", "hostler.example.com"],
            "error: context 'prod': URL 'hostler.example.com' is not an http(s) URL\n"
            "hint: give the server's address, e.g. https://hostler.example.com or "
            "http://127.0.0.1:8080\n",
        ),
        (
            ["prod", "--url", PROD, "--token", "s3cret"],
            "error: context 'prod': the token is not a Hostler token\n"
            "hint: give the whole token as 'hostler token create' printed it (hst_…)\n",
        ),
    ],
)
def test_context_add_refuses_bad_input_and_writes_nothing(
    invoke: Invoke, file: pathlib.Path, args: list[str], stderr: str
) -> None:
    done = invoke("context", "add", *args)

    assert done.exit_code == 1
    assert done.stderr == stderr
    assert done.stdout == ""
    assert not file.exists()


def test_context_add_with_an_unreadable_token_file_says_which(
    invoke: Invoke, tmp_path: pathlib.Path
) -> None:
    missing = tmp_path / "nothing"

    done = invoke("context", "add", "prod", "--url", PROD, "--token-file", str(missing))

    assert done.exit_code == 1
    assert (
        done.stderr
        == f"error: token file '{missing}': cannot be read (No such file or directory)\n"
    )


def test_context_add_with_both_token_options_is_a_usage_error(invoke: Invoke) -> None:
    done = invoke(
        "context", "add", "prod", "--url", PROD, "--token", canned.SECRET, "--token-file", "x"
    )

    assert done.exit_code == 2
    assert "give --token or --token-file, not both" in done.stderr


def test_context_list_marks_the_current_one_and_masks_tokens(invoke: Invoke) -> None:
    add_two(invoke)

    done = invoke("context", "list")

    assert done.exit_code == 0, done.output
    assert lines(done.stdout) == [
        "CURRENT   NAME      URL                           TOKEN",
        "─" * 68,
        "*         prod      https://hostler.example.com   hst_0123456789ab_…",
        "          staging   https://staging.example.com   hst_fedcba987654_…",
    ]


def test_context_list_json_masks_tokens_too(invoke: Invoke) -> None:
    add_two(invoke)
    invoke("context", "add", "local", "--url", "http://127.0.0.1:8080")

    done = invoke("context", "list", "-o", "json")

    assert json.loads(done.stdout) == [
        {"name": "local", "url": "http://127.0.0.1:8080", "token": "-", "current": False},
        {"name": "prod", "url": PROD, "token": "hst_0123456789ab_…", "current": True},
        {"name": "staging", "url": STAGING, "token": "hst_fedcba987654_…", "current": False},
    ]


def test_context_list_without_contexts_says_how_to_add_one(invoke: Invoke) -> None:
    done = invoke("context", "list")

    assert done.exit_code == 0
    assert done.stdout == ""
    assert done.stderr == "no contexts\nhint: 'hostler context add NAME --url URL' adds one\n"


def test_context_use_switches_the_current_context(invoke: Invoke) -> None:
    add_two(invoke)

    done = invoke("context", "use", "staging")

    assert (done.exit_code, done.stdout) == (0, f"context 'staging': current ({STAGING})\n")
    assert done.stderr == ""
    assert lines(invoke("context", "show").stdout) == [
        " name   staging",
        f" url    {STAGING}",
        " token  hst_fedcba987654_…",
    ]


def test_context_use_of_an_unknown_context_is_an_error(invoke: Invoke) -> None:
    add_two(invoke)

    done = invoke("context", "use", "nope")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: context 'nope': not found\n"
        "hint: 'hostler context list' shows the contexts; 'hostler context add' adds one\n"
    )


def test_context_use_says_when_the_environment_wins(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_two(invoke)
    monkeypatch.setenv("HOSTLER_TOKEN", canned.SECRET)

    done = invoke("context", "use", "staging")

    assert done.exit_code == 0
    assert done.stderr == (
        "note: HOSTLER_TOKEN is set and wins over the context\n"
        "hint: unset HOSTLER_TOKEN to use the context's\n"
    )


def test_context_show_masks_the_token_and_honours_hostler_context(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_two(invoke)

    current = invoke("context", "show")
    monkeypatch.setenv("HOSTLER_CONTEXT", "staging")
    chosen = invoke("context", "show", "-o", "json")

    assert lines(current.stdout) == [
        " name   prod",
        f" url    {PROD}",
        " token  hst_0123456789ab_…",
    ]
    assert json.loads(chosen.stdout) == {
        "name": "staging",
        "url": STAGING,
        "token": "hst_fedcba987654_…",
        "current": False,
    }


def test_context_show_without_a_current_context_says_how_to_get_one(invoke: Invoke) -> None:
    done = invoke("context", "show")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: context: none is current\n"
        "hint: 'hostler context add NAME --url URL' adds one, 'hostler context use NAME' picks "
        "one\n"
    )


def test_context_list_and_show_never_print_a_whole_token(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_two(invoke)
    secrets = [canned.SECRET.rpartition("_")[2], STAGING_SECRET.rpartition("_")[2]]

    shown = [
        invoke("context", *args).output
        for args in (
            ("list",),
            ("list", "-o", "json"),
            ("list", "-o", "yaml"),
            ("show",),
            ("show", "-o", "yaml"),
            ("use", "staging"),
            ("show",),
        )
    ]

    assert all(secret not in text for text in shown for secret in secrets)


def test_context_remove_forgets_it_and_the_current_one(invoke: Invoke, file: pathlib.Path) -> None:
    add_two(invoke)

    other = invoke("context", "remove", "staging")
    current = invoke("context", "remove", "prod")
    unknown = invoke("context", "remove", "prod")

    assert other.stdout == "context 'staging': removed\n"
    assert current.stdout == "context 'prod': removed (no context is current now)\n"
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: context 'prod': not found\n")
    assert json.loads(file.read_text()) == {"current": None, "contexts": {}}


def test_masking_keeps_only_the_id_of_a_token() -> None:
    assert contexts.mask(canned.SECRET) == "hst_0123456789ab_…"
    assert contexts.mask("not-a-hostler-token") == "…"
    assert contexts.mask(None) == "-"


# -- the file ---------------------------------------------------------------------------------


def mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_contexts_file_is_private_to_its_owner(invoke: Invoke, file: pathlib.Path) -> None:
    old = os.umask(0o022)
    try:
        add_two(invoke)
    finally:
        os.umask(old)

    assert mode(file.parent) == 0o700
    assert mode(file) == 0o600


def test_an_existing_directory_is_made_private_when_written(
    invoke: Invoke, file: pathlib.Path
) -> None:
    file.parent.mkdir(parents=True)
    file.parent.chmod(0o755)

    invoke("context", "add", "prod", "--url", PROD, "--token", canned.SECRET)

    assert mode(file.parent) == 0o700
    assert mode(file) == 0o600


def test_contexts_file_is_replaced_not_rewritten_in_place(
    invoke: Invoke, file: pathlib.Path
) -> None:
    add_two(invoke)
    before = file.stat().st_ino

    invoke("context", "use", "staging")

    assert file.stat().st_ino != before
    assert [p.name for p in file.parent.iterdir()] == ["contexts.json"]


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary_file(
    invoke: Invoke, file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_two(invoke)
    kept = file.read_text()

    def fail(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    done = invoke("context", "use", "staging")

    assert done.exit_code == 1
    assert done.stderr == (
        f"error: contexts file '{file}': cannot be written (No space left on device)\n"
        "hint: check the permissions of its directory\n"
    )
    assert file.read_text() == kept
    assert [p.name for p in file.parent.iterdir()] == ["contexts.json"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2"),
        ("[]", "not a contexts file (expected an object with 'contexts')"),
        ('{"contexts": {"prod": {"token": null}}}', "context 'prod' needs a 'url'"),
        ('{"current": "prod", "contexts": {}}', "the current context 'prod' is not one of its"),
    ],
)
def test_a_corrupt_contexts_file_is_an_error_naming_it(
    invoke: Invoke, file: pathlib.Path, text: str, reason: str
) -> None:
    file.parent.mkdir(parents=True)
    file.write_text(text)

    for args in (("context", "list"), ("namespace", "list")):
        done = invoke(*args)

        assert done.exit_code == 1
        assert done.stderr.startswith(f"error: contexts file '{file}': {reason}")
        assert "hint: fix it, or remove it and add the contexts again" in done.stderr
        assert "Traceback" not in done.output


def test_a_relative_xdg_config_home_is_ignored() -> None:
    home = pathlib.Path.home()

    assert contexts.path({"XDG_CONFIG_HOME": "relative"}) == (
        home / ".config" / "hostler" / "contexts.json"
    )
    assert contexts.path({}) == home / ".config" / "hostler" / "contexts.json"
    assert contexts.path({"XDG_CONFIG_HOME": "/etc/xdg"}) == pathlib.Path(
        "/etc/xdg/hostler/contexts.json"
    )


# -- which server and token a command uses ----------------------------------------------------


def test_without_environment_or_context_commands_use_the_local_server_without_token(
    api: FakeApi, invoke: Invoke, file: pathlib.Path
) -> None:
    assert whoami_request(api, invoke) == ("http://127.0.0.1:8080/api/v1/whoami", None)
    assert not file.exists()


def test_commands_use_the_current_context(api: FakeApi, invoke: Invoke) -> None:
    add_two(invoke)

    assert whoami_request(api, invoke) == (f"{PROD}/api/v1/whoami", f"Bearer {canned.SECRET}")


def test_hostler_context_wins_over_the_current_context(
    api: FakeApi, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_two(invoke)
    monkeypatch.setenv("HOSTLER_CONTEXT", "staging")

    assert whoami_request(api, invoke) == (f"{STAGING}/api/v1/whoami", f"Bearer {STAGING_SECRET}")


def test_hostler_url_and_token_each_win_over_the_context(
    api: FakeApi, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_two(invoke)
    monkeypatch.setenv("HOSTLER_CONTEXT", "staging")

    monkeypatch.setenv("HOSTLER_URL", f"{STAGING}/")
    same_server = whoami_request(api, invoke)
    monkeypatch.setenv("HOSTLER_URL", "http://elsewhere:9000")
    elsewhere = whoami_request(api, invoke)
    monkeypatch.delenv("HOSTLER_URL")
    monkeypatch.setenv("HOSTLER_TOKEN", canned.SECRET)
    token_only = whoami_request(api, invoke)
    monkeypatch.setenv("HOSTLER_URL", "http://elsewhere:9000")
    both = whoami_request(api, invoke)

    assert same_server == (f"{STAGING}/api/v1/whoami", f"Bearer {STAGING_SECRET}")
    # the context's token never goes to another server
    assert elsewhere == ("http://elsewhere:9000/api/v1/whoami", None)
    assert token_only == (f"{STAGING}/api/v1/whoami", f"Bearer {canned.SECRET}")
    assert both == ("http://elsewhere:9000/api/v1/whoami", f"Bearer {canned.SECRET}")


def test_an_empty_variable_counts_as_unset(
    api: FakeApi, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_two(invoke)
    for name in ("HOSTLER_URL", "HOSTLER_TOKEN", "HOSTLER_CONTEXT"):
        monkeypatch.setenv(name, "")

    assert whoami_request(api, invoke) == (f"{PROD}/api/v1/whoami", f"Bearer {canned.SECRET}")


def test_with_url_and_token_in_the_environment_the_file_is_not_read(
    api: FakeApi, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, file: pathlib.Path
) -> None:
    file.parent.mkdir(parents=True)
    file.write_text("{")
    monkeypatch.setenv("HOSTLER_URL", "http://elsewhere:9000")
    monkeypatch.setenv("HOSTLER_TOKEN", canned.SECRET)

    assert whoami_request(api, invoke) == (
        "http://elsewhere:9000/api/v1/whoami",
        f"Bearer {canned.SECRET}",
    )


def test_an_unknown_hostler_context_is_an_error(
    api: FakeApi, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_two(invoke)
    monkeypatch.setenv("HOSTLER_CONTEXT", "nope")

    done = invoke("whoami")

    assert done.exit_code == 1
    assert done.stderr == (
        "error: context 'nope': not found (from HOSTLER_CONTEXT)\n"
        "hint: 'hostler context list' shows the contexts; unset HOSTLER_CONTEXT to use the "
        "current one\n"
    )
    assert api.requests == []


def test_an_unreadable_contexts_file_says_why(invoke: Invoke, file: pathlib.Path) -> None:
    file.mkdir(parents=True)  # a directory where the file should be

    done = invoke("context", "list")

    assert done.exit_code == 1
    assert done.stderr == (
        f"error: contexts file '{file}': cannot be read (Is a directory)\n"
        "hint: check the file's permissions\n"
    )
