"""An extension for the supervisor's tests: it appends every subscription change to a file.

Run as a script: the file is ``HOSTLER_EXTENSION_CONFIG_RECORD``; each line is
``PID subscribe|unsubscribe ID SETTINGS-JSON``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pydantic

from hostler.core import errors
from hostler.sdk.extension import Answer, Event, Extension, Subscription


class RecorderConfig(pydantic.BaseModel):
    record: str = pydantic.Field(description="The file every subscription change is written to.")


class Settings(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")

    refuse: bool = False


class Recorder(Extension[Settings]):
    name = "recorder"
    version = "1.0.0"
    kind = "trigger"
    description = "Writes every subscription change to a file."
    Config = RecorderConfig
    config: RecorderConfig

    def subscribe(self, sub: Subscription[Settings]) -> None:
        if sub.settings.refuse:
            raise errors.InvalidArgument("refuse: refused", field="settings.refuse")
        self._write("subscribe", sub.id, sub.settings.model_dump())

    def unsubscribe(self, sub: Subscription[Settings]) -> None:
        self._write("unsubscribe", sub.id, {})

    def external_event(self, event: Event[Settings]) -> Answer:
        sub = event.subscription.id if event.subscription is not None else None
        return Answer(status=202, body={"subscription": sub, "bytes": len(event.body)})

    def _write(self, what: str, sub: str, settings: dict[str, Any]) -> None:
        with open(self.config.record, "a") as out:
            out.write(f"{os.getpid()} {what} {sub} {json.dumps(settings, sort_keys=True)}\n")


if __name__ == "__main__":
    Recorder.main()
