"""Use cases for secrets: set, list, delete, reveal to an admin, re-encrypt under a new key, and
find the ones a pipeline version refers to that do not exist.

Values are encrypted with the context's cipher before they reach the store, bound to their place
(namespace, pipeline, name). No answer carries a value but ``reveal``'s, and no audit record ever
does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from hostler.core import (
    access,
    errors,
    images,
    pipelines,
    ports,
    reasons,
    secrets,
    secretvalues,
    subscriptions,
)
from hostler.services import audit, pages
from hostler.services.context import Context


def cipher(ctx: Context) -> ports.Cipher:
    """Return the server's cipher; FailedPrecondition naming ``secrets.key`` when it has none."""
    if ctx.cipher is None:
        raise errors.FailedPrecondition(
            "secrets: the server has no key to encrypt them with",
            field="secrets.key",
            hint="set secrets.key in the server's configuration ('hostler secret new-key' "
            "prints a new one) and restart it",
        )
    return ctx.cipher


def _target(namespace: str | None, pipeline: str | None, name: str) -> str:
    return name if pipeline is None else f"{namespace}/{pipeline}/{name}"


def put(
    ctx: Context,
    namespace: str | None,
    pipeline: str | None,
    name: str,
    value: str,
    namespaces: Sequence[str] = (),
) -> secrets.Secret:
    """Set the secret ``name`` of a pipeline (or, with both None, the global one usable in the
    namespaces matching ``namespaces``) to ``value``."""
    kind = "global_secret.put" if pipeline is None else "secret.put"
    detail = {"namespaces": list(namespaces)} if pipeline is None else {}
    with audit.recorded(ctx, kind, _target(namespace, pipeline, name), detail):
        secrets.check_name(name)
        secrets.check_value(value)
        patterns = tuple(access.check_pattern(p, field="namespaces") for p in namespaces)
        if pipeline is None and not patterns:
            raise errors.InvalidArgument(
                f"global secret '{name}': usable in no namespace",
                field="namespaces",
                hint="give the namespaces that may use it as patterns, e.g. 'team-*' or '*'",
            )
        if pipeline is not None and patterns:
            raise errors.InvalidArgument(
                f"secret '{name}': a pipeline's secret is for that pipeline only",
                field="namespaces",
                hint="leave namespaces out, or make it a global secret",
            )
        current = cipher(ctx)
        context = secrets.context_of(namespace, pipeline, name)
        now = ctx.clock()
        secret = secrets.Secret(
            namespace=namespace,
            pipeline=pipeline,
            name=name,
            ciphertext=current.encrypt(value.encode(), context),
            key=current.key,
            created=now,
            updated=now,
            namespaces=patterns,
        )
        return ctx.store.put_secret(secret)


def get(ctx: Context, namespace: str | None, pipeline: str | None, name: str) -> secrets.Secret:
    """Return a secret's metadata (the stored value stays encrypted)."""
    return ctx.store.get_secret(namespace, pipeline, name)


def list_(
    ctx: Context, namespace: str | None, pipeline: str | None, cursor: str | None, limit: int
) -> pages.Page[secrets.Secret]:
    """Return a page of a pipeline's secrets (or the global ones), by name."""
    if pipeline is not None and namespace is not None:
        ctx.store.get_pipeline(namespace, pipeline)
    return pages.page(
        lambda after, n: ctx.store.list_secrets(namespace, pipeline, after, n),
        cursor,
        limit,
        str,
        lambda secret: secret.name,
    )


def delete(ctx: Context, namespace: str | None, pipeline: str | None, name: str) -> None:
    """Delete a secret: tasks that refer to it fail before they start from now on."""
    kind = "global_secret.delete" if pipeline is None else "secret.delete"
    with audit.recorded(ctx, kind, _target(namespace, pipeline, name)):
        ctx.store.delete_secret(namespace, pipeline, name)


def reveal(ctx: Context, namespace: str | None, pipeline: str | None, name: str) -> str:
    """Return a secret's value. Only for admins who ask for it explicitly; always audited."""
    kind = "global_secret.reveal" if pipeline is None else "secret.reveal"
    with audit.recorded(ctx, kind, _target(namespace, pipeline, name)):
        found = ctx.store.get_secret(namespace, pipeline, name)
        return cipher(ctx).decrypt(found.ciphertext, found.key, found.context).decode()


def rotate(ctx: Context) -> int:
    """Encrypt again under the current key every secret still under an older one, and every
    configuration value of an extension installed from an image; return how many values. The
    older keys can be dropped from the configuration afterwards."""
    with audit.recorded(ctx, "secret.rotate_key", "*") as entry:
        current = cipher(ctx)
        done = 0
        while batch := ctx.store.list_secrets_not_under(current.key, pages.MAX_LIMIT):
            for old in batch:
                value = current.decrypt(old.ciphertext, old.key, old.context)
                fresh = old.evolve(ciphertext=current.encrypt(value, old.context), key=current.key)
                ctx.store.put_secret(fresh)
                done += 1
        configs = _rotate_configs(ctx, current)
        entry.detail.update(secrets=done, extension_configs=configs, key=current.key)
        return done + configs


def seal(ctx: Context, value: str, context: bytes) -> str:
    """Return ``value`` encrypted under the current key, bound to ``context``, as text to keep
    (``images.seal``); FailedPrecondition naming ``secrets.key`` without a key."""
    current = cipher(ctx)
    return images.seal(current.key, current.encrypt(value.encode(), context))


def unseal(ctx: Context, text: str, context: bytes) -> str:
    """Return the value ``seal`` made ``text`` of; text it did not make is returned as it is (a
    value kept before values were sealed). FailedPrecondition when it cannot be decrypted."""
    sealed = images.unseal(text)
    if sealed is None:
        return text
    key, ciphertext = sealed
    return cipher(ctx).decrypt(ciphertext, key, context).decode()


def _rotate_configs(ctx: Context, current: ports.Cipher) -> int:
    """Seal again under ``current``'s key the extensions' configuration values under another
    (or not sealed yet); return how many."""
    done = 0
    for extension in list(pages.every(ctx.store.list_extensions, lambda e: e.name)):
        config = dict(extension.config)
        for key, text in extension.config.items():
            sealed = images.unseal(text)
            if sealed is not None and sealed[0] == current.key:
                continue
            context = images.config_context(extension.name, key)
            config[key] = seal(ctx, unseal(ctx, text, context), context)
            done += 1
        if config != extension.config:
            ctx.store.put_extension(dataclasses.replace(extension, config=config))
    return done


def missing(ctx: Context, namespace: str, config: pipelines.Config) -> list[secrets.Ref]:
    """Return the secrets ``config`` refers to (in task env and trigger settings) that could not
    be used today."""
    env = {f"{task.id}.{key}": value for task in config.tasks for key, value in task.env.items()}
    env.update(
        (f"{trigger.key}.{subscriptions.dotted(path)}", value)
        for trigger in config.subscriptions
        for path, value in subscriptions.texts(trigger.settings).items()
    )
    return unusable(ctx, namespace, config.id, env)


def unusable(
    ctx: Context, namespace: str, pipeline: str, texts: Mapping[str, str]
) -> list[secrets.Ref]:
    """Return the secrets the values of ``texts`` refer to that pipeline ``namespace/pipeline``
    could not use today (missing, or not usable in its namespace), each once."""
    return [
        ref
        for ref in secrets.references(texts)
        if isinstance(secretvalues.find(ctx.store, namespace, pipeline, ref), reasons.Reason)
    ]
