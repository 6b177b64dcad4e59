"""The extension SDK: write an extension (a trigger or a notifier) in a page of Python.

An extension is a small HTTP server that Hostler starts and drives through the contract of
``contract`` (info, health, subscribe, unsubscribe, external-event, shutdown); it starts runs
through the Hostler API with its own token. Subclass ``Extension``, and serve it::

    import datetime

    import pydantic

    from hostler.sdk import extension


    class Settings(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(frozen=True, extra="forbid")
        seconds: int = pydantic.Field(gt=0, description="Seconds between two runs.")


    class Every(extension.Extension[Settings]):
        name = "every"
        version = "1.0.0"
        kind = "trigger"
        description = "Start a run every N seconds."

        def describe(self, sub: extension.Subscription[Settings]) -> extension.Summary:
            first = self.timers.now() + datetime.timedelta(seconds=sub.settings.seconds)
            return extension.Summary(f"every {sub.settings.seconds}s", [first])

        def subscribe(self, sub: extension.Subscription[Settings]) -> None:
            def fire() -> datetime.datetime:
                self.start_run(sub.namespace, sub.pipeline)
                return self.timers.now() + datetime.timedelta(seconds=sub.settings.seconds)

            self.timers.at(sub.id, self.describe(sub).next_fires[0], fire)


    if __name__ == "__main__":
        Every.main()

The SDK imports nothing of the server: only pydantic, httpx (the API client) and the standard
library, whose ``http.server`` serves the contract.
"""

from hostler.sdk.extension import contract
from hostler.sdk.extension.base import Event, Extension, NoConfig, NoSettings, Subscription, Summary
from hostler.sdk.extension.contract import Answer
from hostler.sdk.extension.server import Server, serve
from hostler.sdk.extension.timers import Timers

__all__ = [
    "Answer",
    "Event",
    "Extension",
    "NoConfig",
    "NoSettings",
    "Server",
    "Subscription",
    "Summary",
    "Timers",
    "contract",
    "serve",
]
