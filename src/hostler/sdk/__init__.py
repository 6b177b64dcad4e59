"""The Python SDK: define pipelines in code (``Pipeline``, ``Task``), talk to the API
(``hostler.sdk.client``), and write extensions (``hostler.sdk.extension``).

The SDK is importable without the server's dependencies (no FastAPI, SQLAlchemy, Docker or
uvicorn): a pipeline script needs only ``hostler.core`` and pydantic, and is validated by the same
rules the server applies.
"""

from hostler.sdk.pipeline import Pipeline, Task

__all__ = ["Pipeline", "Task"]
