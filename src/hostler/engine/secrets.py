"""The secrets of a starting task: its env with every reference replaced, and its output masker.

Secrets are read and decrypted only when a task starts (``core.secretvalues``), and again when an
engine adopts a running task, to mask the rest of its output. A reference that cannot be resolved
fails the task before its container is made, with a reason naming the secret.
"""

from __future__ import annotations

from collections.abc import Mapping

from hostler.core import ports, secrets, secretvalues


def masker(
    store: ports.Store,
    cipher: ports.Cipher | None,
    namespace: str,
    pipeline: str,
    env: Mapping[str, str],
) -> secrets.Masker:
    """Return the masker of a task's output, for an adopted task; masks nothing it cannot read."""
    resolved = secretvalues.resolve(store, cipher, namespace, pipeline, env)
    return resolved.masker if isinstance(resolved, secretvalues.Resolved) else secrets.NO_MASK
