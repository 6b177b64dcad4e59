"""The pipeline DSL: a pipeline written in Python instead of YAML.

A ``Pipeline`` holds ``Task`` objects and turns them into the same configuration a YAML file gives,
checked by the same rules as the server (``hostler.core.pipelines.parse``)::

    fetch = Task("fetch", "busybox:stable", ["sh", "-c", "echo fetched"])
    test = Task("test", "busybox:stable", ["sh", "-c", "echo ok"]).after(fetch)
    pipeline = Pipeline("hello").add(fetch, test)

    if __name__ == "__main__":
        pipeline.main()  # prints the canonical JSON, ready for registration
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from hostler.core import errors, pipelines


class Task:
    """One task of a pipeline: a container image, a command, and what it waits for.

    ``id`` and ``image`` are required. ``command`` is the command and its arguments (the image's
    default when None). ``depends_on`` maps task ids to the condition to run on (``success``,
    ``failure`` or ``any``); ``after`` adds to it. ``timeout`` is seconds or a string such as
    ``"30s"``. ``retries`` is the retry policy as written in YAML, such as
    ``{"attempts": 3, "backoff": "2s"}``. ``objects`` lists objects copied in as files
    (``"run_object{{report.txt}}"``); ``inject_api_token`` gives the task a run token as
    ``HOSTLER_TOKEN``. Nothing is checked until the pipeline's ``config()``.
    """

    def __init__(
        self,
        id: str,
        image: str,
        command: Sequence[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        depends_on: Mapping[str, str] | None = None,
        timeout: float | str | None = None,
        retries: Mapping[str, Any] | None = None,
        description: str = "",
        objects: Sequence[str] = (),
        inject_api_token: bool = False,
    ) -> None:
        self.id = id
        self.image = image
        # A string is kept as given so that validation rejects it, rather than splitting it into
        # one-letter arguments.
        self.command: Sequence[str] | None = (
            command if command is None or isinstance(command, str) else list(command)
        )
        self.env = dict(env or {})
        self.depends_on = dict(depends_on or {})
        self.timeout = timeout
        self.retries = dict(retries) if retries is not None else None
        self.description = description
        self.objects = list(objects)
        self.inject_api_token = inject_api_token

    def after(self, *tasks: Task | str, on: str = "success") -> Task:
        """Make this task wait for ``tasks`` (tasks or task ids) and run on ``on``; return it."""
        for task in tasks:
            self.depends_on[task.id if isinstance(task, Task) else task] = on
        return self

    def data(self) -> dict[str, Any]:
        """Return the task as raw configuration data, as it would be written in YAML."""
        return {
            "id": self.id,
            "image": self.image,
            "description": self.description,
            "command": self.command,
            "env": dict(self.env),
            "depends_on": dict(self.depends_on),
            "timeout": self.timeout,
            "retries": self.retries,
            "objects": list(self.objects),
            "inject_api_token": self.inject_api_token,
        }

    def __repr__(self) -> str:
        return f"Task({self.id!r}, {self.image!r})"


class Pipeline:
    """A pipeline being defined: an id, its settings and its tasks, in the order added.

    ``parallelism`` is how many runs may run at once (0: no limit); ``timeout`` is seconds or a
    string such as ``"1h"``. ``task`` and ``add`` return the pipeline, so calls chain.
    """

    def __init__(
        self,
        id: str,
        *,
        description: str = "",
        parallelism: int = 0,
        timeout: float | str | None = None,
    ) -> None:
        self.id = id
        self.description = description
        self.parallelism = parallelism
        self.timeout = timeout
        self.tasks: list[Task] = []

    def task(
        self,
        id: str,
        image: str,
        command: Sequence[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        depends_on: Mapping[str, str] | None = None,
        timeout: float | str | None = None,
        description: str = "",
    ) -> Pipeline:
        """Add a task built from these arguments (see ``Task``); return the pipeline."""
        return self.add(
            Task(
                id,
                image,
                command,
                env=env,
                depends_on=depends_on,
                timeout=timeout,
                description=description,
            )
        )

    def add(self, *tasks: Task) -> Pipeline:
        """Add ``tasks`` in order; return the pipeline."""
        self.tasks.extend(tasks)
        return self

    def data(self) -> dict[str, Any]:
        """Return the pipeline as raw configuration data, as it would be written in YAML."""
        return {
            "id": self.id,
            "description": self.description,
            "parallelism": self.parallelism,
            "timeout": self.timeout,
            "tasks": [task.data() for task in self.tasks],
        }

    def config(self) -> pipelines.Config:
        """Return the validated configuration; raise InvalidArgument naming the offending field.

        The rules are the server's own, so a pipeline that passes here registers there.
        """
        return pipelines.parse(self.data())

    def to_json(self) -> str:
        """Return the canonical JSON of the configuration (what the server digests)."""
        return pipelines.canonical_json(self.config())

    def digest(self) -> str:
        """Return the configuration's digest, ``sha256:<hex>``, as the server computes it."""
        return pipelines.digest(self.config())

    def main(self) -> None:
        """Print the canonical JSON to stdout; on invalid input, print why and exit with 2.

        Meant for the end of a pipeline script: ``if __name__ == "__main__": pipeline.main()``.
        """
        try:
            text = self.to_json()
        except errors.InvalidArgument as exc:
            where = f" (field {exc.field})" if exc.field else ""
            print(f"error: {exc.message}{where}", file=sys.stderr)
            raise SystemExit(2) from None
        print(text)
