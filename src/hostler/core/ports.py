"""The ports: what the core needs from the outside world, as Protocols adapters implement.

Every adapter translates its driver's errors at its edge into the categories of
``hostler.core.errors`` (``raise errors.Unavailable(...) from exc``), so nothing above a port ever
sees a Docker, SQLAlchemy or OS exception.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, Protocol

from hostler.core import (
    access,
    deployments,
    errors,
    events,
    extensions,
    history,
    images,
    namespaces,
    objects,
    pipelines,
    runs,
    secrets,
    subscriptions,
    tasks,
    tokens,
)

# --------------------------------------------------------------------------------------------
# Schedulers: where task containers run.
# --------------------------------------------------------------------------------------------

LABEL_PREFIX = "io.hostler."
"""Every container Hostler creates carries labels under this prefix (namespace, run, ...)."""


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a scheduler backend can do; core code tests these, never a backend's name."""

    isolation: bool
    """Tasks run in containers, apart from the host and from each other."""
    log_follow: bool = True
    """Logs can be followed while the task runs."""
    resource_limits: bool = False
    """CPU and memory limits can be set per task."""
    attach: bool = False
    """A person can attach to or exec into a running task."""
    runtimes: tuple[str, ...] = ()
    """Container runtimes that can be chosen per task (runc, kata, runsc ...)."""


@dataclasses.dataclass(frozen=True)
class ContainerSpec:
    """What to run. ``name`` is a readable, unique name; ``labels`` let Hostler find it again."""

    name: str
    image: str
    command: tuple[str, ...] | None
    env: Mapping[str, str]
    labels: Mapping[str, str]
    network: str | None = None
    """Optional. ``host`` to share the host's network (an extension's container that listens on
    127.0.0.1 for the server); None: the backend's default. A backend that cannot honour it
    raises InvalidArgument from ``create``; one whose processes share the host's network anyway
    (``local``) accepts ``host``."""


HOST_NETWORK = "host"
"""The ``ContainerSpec.network`` that shares the host's network."""


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """An image present on a scheduler's engine. Immutable.

    ``reference`` names it: one of its tags (``hostler-ext-slack:1.3.0``), else its ``id``
    (``sha256:...``). An image with several tags is listed once per tag.
    """

    reference: str
    id: str
    labels: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class File:
    """A file to copy into a created container: ``path`` below its objects directory
    (``run/report.txt``), ``size`` in bytes, and ``open`` to read its content from the start."""

    path: str
    size: int
    open: Callable[[], BinaryIO]


def check_files(files: Sequence[File]) -> None:
    """Raise InvalidArgument unless every path is relative, stays below the objects directory,
    and no file is where another needs a directory: the rule of every ``Scheduler.copy_in``. A
    path given twice gets the last content."""
    seen: set[str] = set()
    directories: set[str] = set()
    for file in files:
        parts = file.path.split("/")
        if "\0" in file.path or any(part in ("", ".", "..") for part in parts):
            raise errors.InvalidArgument(
                f"file '{file.path}': not a path below the objects directory",
                field="files",
                hint="give a relative path such as 'run/report.txt', without '..' or empty parts",
            )
        if file.size < 0:
            raise errors.InvalidArgument(f"file '{file.path}': negative size", field="files")
        seen.add(file.path)
        directories.update("/".join(parts[:n]) for n in range(1, len(parts)))
    clashes = sorted(seen & directories)
    if clashes:
        raise errors.InvalidArgument(
            f"file '{clashes[0]}': given as a file and as a directory", field="files"
        )


OBJECTS_ENV = "HOSTLER_OBJECTS"
"""The env variable that tells a task where its objects directory is (``/hostler/objects`` in a
container; backends without containers set it to the directory they use)."""


class ContainerState(enum.StrEnum):
    """Where a container is in its life, as its scheduler sees it."""

    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    MISSING = "missing"


@dataclasses.dataclass(frozen=True)
class ContainerStatus:
    """A container as its scheduler reports it."""

    handle: str
    state: ContainerState
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    exit_code: int | None = None
    image_digest: str | None = None
    started: datetime.datetime | None = None
    finished: datetime.datetime | None = None
    oom_killed: bool = False


@dataclasses.dataclass(frozen=True)
class LogLine:
    """One line of a task's output, without its line ending."""

    time: datetime.datetime
    stream: str
    """``stdout`` or ``stderr``."""
    text: str


class Scheduler(Protocol):
    """Runs task containers on one backend (the Docker engine, host processes, a cluster).

    Lifecycle: ``create`` (image pulled if missing, nothing runs yet) → ``start`` → ``wait`` /
    ``inspect`` while it runs, ``logs`` at any time → ``stop`` → ``remove``. Create and start are
    separate so that pre-start work (log reader attached, secrets resolved) happens before the first
    line of output. ``stop`` and ``remove`` are idempotent: a container already stopped or gone is
    not an error. Errors: ``NotFound`` for an image that does not exist anywhere reachable,
    ``InvalidArgument`` for a spec the backend refuses, ``Unavailable`` when the backend cannot be
    reached; a handle that no longer exists is ``ContainerState.MISSING`` from inspect, wait and
    list, and ``NotFound`` from start.
    """

    name: str
    capabilities: Capabilities

    def create(self, spec: ContainerSpec) -> str:
        """Create (but do not start) a container for ``spec``; return its handle."""
        ...

    def copy_in(self, handle: str, files: Sequence[File]) -> None:
        """Copy ``files`` into the created, not yet started, container, below its objects
        directory (``/hostler/objects`` in a container image; ``OBJECTS_ENV`` names it), making the
        directories they need; a file already there is replaced. Content is streamed, never held
        whole in memory. Errors: ``NotFound`` for an unknown handle, ``FailedPrecondition`` once
        the container has started, ``InvalidArgument`` for a path ``check_files`` refuses."""
        ...

    def start(self, handle: str) -> None:
        """Start a created container."""
        ...

    def inspect(self, handle: str) -> ContainerStatus:
        """Return the container's current status (``MISSING`` if it is gone)."""
        ...

    def wait(self, handle: str, timeout: float | None = None) -> ContainerStatus:
        """Block until the container exits or ``timeout`` seconds pass; return its status then."""
        ...

    def logs(
        self, handle: str, *, follow: bool = False, since: datetime.datetime | None = None
    ) -> Iterator[LogLine]:
        """Yield the container's output lines in order, from ``since`` on if given.

        With ``follow`` the iterator goes on until the container has exited and all its output has
        been yielded; without, it ends with the output written so far.
        """
        ...

    def stop(self, handle: str, grace: float) -> None:
        """Ask the container to stop (SIGTERM), and kill it (SIGKILL) after ``grace`` seconds."""
        ...

    def remove(self, handle: str) -> None:
        """Remove the container and what the backend keeps of it; logs read later may be gone."""
        ...

    def list(self, labels: Mapping[str, str]) -> list[ContainerStatus]:
        """Return every container of this backend that carries all of ``labels``."""
        ...

    def images(self, label: str) -> builtins.list[ImageInfo]:
        """Return the images present on the engine that carry the label ``label`` (whatever its
        value), ordered by reference; none for a backend without images (host processes).
        Nothing is pulled. Errors: ``Unavailable`` when the engine cannot be reached."""
        ...

    def close(self) -> None:
        """Release connections and helpers; the scheduler is not used afterwards."""
        ...


# --------------------------------------------------------------------------------------------
# Log store: where task output is kept after it leaves the scheduler.
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LogChunk:
    """Part of a stored log: ``lines`` from a line offset on.

    ``ended`` is True only when this chunk reaches the end-of-log marker, so a reader paging with a
    ``limit`` keeps reading until it sees ``ended``.
    """

    lines: list[LogLine]
    next_offset: int
    ended: bool


class LogStore(Protocol):
    """Keeps task logs, line by line, each ended by an explicit end-of-log marker.

    A key names one task execution (``namespace/pipeline/run/task/attempt``). ``append`` after
    ``end`` raises ``FailedPrecondition``. Reading a key never written raises ``NotFound``.
    """

    def append(self, key: str, lines: Sequence[LogLine]) -> None:
        """Add ``lines`` at the end of the log ``key``, creating it if needed."""
        ...

    def end(self, key: str) -> None:
        """Write the end-of-log marker; idempotent."""
        ...

    def read(self, key: str, offset: int = 0, limit: int | None = None) -> LogChunk:
        """Return up to ``limit`` lines from line ``offset`` on."""
        ...

    def delete(self, key: str) -> None:
        """Delete the log ``key``; idempotent."""
        ...


# --------------------------------------------------------------------------------------------
# Object store: immutable blobs, kept by the digest of their content.
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ObjectInfo:
    """A stored blob: ``sha256:<hex>`` of its content, and its size in bytes."""

    digest: str
    size: int


class ObjectStore(Protocol):
    """Content-addressed blobs with names that hold them.

    ``put`` stores bytes once per content, whatever the number of puts; a ``name`` (such as
    ``logs/default/hello/3/fetch/1``) holds a blob, and a blob no name holds any more is deleted.
    Names are ``/``-separated parts of letters, digits, ``_``, ``-`` and ``.``.
    """

    def put(self, chunks: Iterable[bytes], name: str | None = None) -> ObjectInfo:
        """Store the bytes of ``chunks``, read as a stream, and return what was stored; with
        ``name``, give the blob that name in the same step (so no one can delete it between)."""
        ...

    def link(self, name: str, digest: str) -> None:
        """Give the blob ``digest`` the name ``name`` (moving the name if it was given)."""
        ...

    def open(self, name: str) -> BinaryIO:
        """Return the blob named ``name`` opened for reading; NotFound for an unknown name."""
        ...

    def exists(self, name: str) -> bool:
        """Tell whether ``name`` holds a blob."""
        ...

    def unlink(self, name: str) -> None:
        """Remove the name; its blob goes when no other name holds it. Idempotent."""
        ...


# --------------------------------------------------------------------------------------------
# Extensions: the programs that start runs and send notifications, as the server runs them.
# --------------------------------------------------------------------------------------------


class ExtensionHost(Protocol):
    """Runs the installed extensions and keeps them subscribed (``hostler.supervisor``)."""

    def statuses(self) -> list[extensions.Status]:
        """Return how every extension stands, by name."""
        ...

    def log(self, name: str, lines: int) -> list[str]:
        """Return the last ``lines`` lines of extension ``name``'s output; NotFound for an
        extension that is not installed."""
        ...

    def forward(self, name: str, delivery: extensions.Delivery) -> extensions.Reply:
        """Hand ``delivery`` to extension ``name`` and return its answer for the sender; NotFound
        for an extension that is not installed, Unavailable for one that is not running or
        fails."""
        ...

    def wake(self) -> None:
        """Read the extensions installed and the subscriptions wanted again soon (one was just
        installed, updated or removed), rather than at the next round."""
        ...


# --------------------------------------------------------------------------------------------
# Cipher: how secret values are encrypted at rest.
# --------------------------------------------------------------------------------------------


class Cipher(Protocol):
    """Authenticated encryption of small values under the installation's key.

    ``key`` names the current key; values encrypted under an older key (one the cipher still has)
    decrypt until they are encrypted again under the current one. ``context`` binds a value to
    its place: decrypting with another context fails.
    """

    @property
    def key(self) -> str:
        """The name of the current key (not the key itself)."""
        ...

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        """Return ``plaintext`` encrypted under the current key."""
        ...

    def decrypt(self, ciphertext: bytes, key: str, context: bytes) -> bytes:
        """Return the plaintext of ``ciphertext`` made under ``key``; FailedPrecondition when the
        cipher does not have that key, or the value does not decrypt (wrong key or context,
        tampered)."""
        ...


# --------------------------------------------------------------------------------------------
# Store: where Hostler's state lives. One method is one transaction.
# --------------------------------------------------------------------------------------------


class Store(Protocol):
    """Durable state: namespaces, pipelines and versions, runs and task executions, and events.

    Every ``update_*`` is compare-and-set: it writes only if the stored ``revision`` still equals
    the one passed in, bumps it, and returns the new snapshot; otherwise it raises ``Conflict``.
    ``get_*`` raise ``NotFound`` naming what is missing (the parent when the parent is missing).
    List methods return at most ``limit`` items after the cursor key ``after`` in their stated
    order. An unreachable database raises ``Unavailable``.
    """

    def installation(self) -> str:
        """Return the name of this installation: fixed when the database was made."""
        ...

    # namespaces, ordered by name
    def create_namespace(self, namespace: namespaces.Namespace) -> namespaces.Namespace:
        """Create a namespace; ``AlreadyExists`` if the name is taken."""
        ...

    def get_namespace(self, name: str) -> namespaces.Namespace:
        """Return the namespace ``name``."""
        ...

    def list_namespaces(self, after: str | None, limit: int) -> list[namespaces.Namespace]:
        """Return namespaces ordered by name."""
        ...

    # pipelines and versions
    def get_pipeline(self, namespace: str, pipeline: str) -> pipelines.Pipeline:
        """Return the pipeline; ``NotFound`` names the namespace if that is what is missing."""
        ...

    def list_pipelines(
        self, namespace: str, after: str | None, limit: int
    ) -> list[pipelines.Pipeline]:
        """Return the namespace's pipelines ordered by id."""
        ...

    def find_version(self, namespace: str, pipeline: str, digest: str) -> pipelines.Version | None:
        """Return the version of the pipeline with ``digest``, or None."""
        ...

    def create_version(
        self, namespace: str, config: pipelines.Config, digest: str, now: datetime.datetime
    ) -> pipelines.Version:
        """Store ``config`` as the next version of pipeline ``config.id`` (created if new)."""
        ...

    def get_version(self, namespace: str, pipeline: str, version: int) -> pipelines.Version:
        """Return one version of a pipeline."""
        ...

    def list_versions(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[pipelines.Version]:
        """Return the pipeline's versions, newest first (``after`` is a version number)."""
        ...

    def update_pipeline(
        self, pipeline: pipelines.Pipeline, expected_revision: int
    ) -> pipelines.Pipeline:
        """Write ``pipeline`` (description, live version) with compare-and-set."""
        ...

    # deployments, newest first; the pipeline row and its deployment change together
    def save_deployment(
        self,
        pipeline: pipelines.Pipeline,
        expected_revision: int,
        deployment: deployments.Deployment,
    ) -> tuple[pipelines.Pipeline, deployments.Deployment]:
        """Write ``pipeline`` (description, live version) with compare-and-set and, in the same
        transaction, ``deployment``: inserted when its ``id`` is 0 (given the pipeline's next
        deployment id and, as ``first_run``, the id the pipeline's next run will have), replaced
        otherwise.

        The pipeline's ``canary`` follows the deployment: its id while it is in state ``canary``,
        None once it leaves that state; ``pipeline.canary`` is ignored. A Conflict on the pipeline
        writes nothing. Appends the event of a live version that changes.
        """
        ...

    def get_deployment(
        self, namespace: str, pipeline: str, deployment: int
    ) -> deployments.Deployment:
        """Return one deployment of a pipeline."""
        ...

    def list_deployments(
        self, namespace: str, pipeline: str, after: int | None, limit: int
    ) -> list[deployments.Deployment]:
        """Return the pipeline's deployments, newest first (``after`` is a deployment id)."""
        ...

    def list_canaries(self, limit: int) -> list[deployments.Deployment]:
        """Return the deployments in state ``canary`` across all pipelines, oldest first."""
        ...

    def route_run(self, namespace: str, pipeline: str) -> tuple[int, runs.Route]:
        """Return the version a new run of the pipeline takes and why, counting it as routed.

        The live version, unless a canary routes this run to its candidate (see
        ``deployments.routes_to_candidate``). FailedPrecondition when no version is live.
        """
        ...

    def tally_runs(
        self, namespace: str, pipeline: str, first_run: int, last_run: int | None
    ) -> list[deployments.Tally]:
        """Count the runs with ids from ``first_run`` to ``last_run`` (None: the newest) by
        version, in version order."""
        ...

    # runs and task executions
    def create_run(
        self, run: runs.Run, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Store a new run with its task executions, giving it the pipeline's next run id.

        The ``id`` of ``run`` and the ``run`` of each execution are ignored and replaced.
        """
        ...

    def get_run(self, namespace: str, pipeline: str, run: int) -> runs.Run:
        """Return one run."""
        ...

    def list_runs(
        self,
        namespace: str,
        pipeline: str,
        after: int | None,
        limit: int,
        states: Sequence[runs.State] = (),
        version: int | None = None,
    ) -> list[runs.Run]:
        """Return the pipeline's runs, newest first, optionally only in ``states`` or of one
        ``version``."""
        ...

    def list_active_runs(self, limit: int) -> list[runs.Run]:
        """Return runs not yet complete across all pipelines, oldest first (for the engine)."""
        ...

    def count_runs(self, namespace: str, pipeline: str, state: runs.State) -> int:
        """Count the pipeline's runs in ``state``."""
        ...

    def update_run(self, run: runs.Run, expected_revision: int) -> runs.Run:
        """Write ``run`` with compare-and-set."""
        ...

    def get_execution(
        self, namespace: str, pipeline: str, run: int, task: str, attempt: int | None = None
    ) -> tasks.Execution:
        """Return a task execution; the latest attempt when ``attempt`` is None."""
        ...

    def list_executions(self, namespace: str, pipeline: str, run: int) -> list[tasks.Execution]:
        """Return every attempt of every task of the run, in pipeline order then attempt."""
        ...

    def list_active_executions(self, limit: int) -> list[tasks.Execution]:
        """Return task executions not yet complete across all runs, oldest first."""
        ...

    def count_executions(self, states: Sequence[tasks.State]) -> int:
        """Count task executions in ``states`` across all runs."""
        ...

    def update_execution(
        self, execution: tasks.Execution, expected_revision: int
    ) -> tasks.Execution:
        """Write ``execution`` with compare-and-set."""
        ...

    def add_attempts(
        self, run: runs.Run, expected_revision: int, executions: Sequence[tasks.Execution]
    ) -> tuple[runs.Run, list[tasks.Execution]]:
        """Write ``run`` with compare-and-set and add ``executions``, new attempts of its tasks.

        One transaction: a Conflict on the run, or an attempt that exists already
        (``AlreadyExists``), writes nothing.
        """
        ...

    def renew_leases(self, owner: str, until: datetime.datetime) -> int:
        """Extend to ``until`` the leases ``owner`` holds on starting and running executions.

        Not a state change: revisions stay as they are. Returns how many leases were renewed.
        """
        ...

    # events: the append-only log of changes, ordered by id
    #
    # The write methods append events themselves, in the transaction of their change: one per
    # ``create_namespace`` and ``create_version``, one per ``update_pipeline`` and
    # ``save_deployment`` that changes the live version, one more per ``save_deployment`` of a
    # canary, one per ``create_run`` (none for its task executions), and one per
    # ``update_run`` and ``update_execution`` that changes the state or the status. A write that
    # fails or raises ``Conflict`` appends none. Ids increase and are never reused, even after
    # ``delete_events``; an event is visible only once the change it records is.
    def list_events(
        self, selected: events.Filter, after: int | None, limit: int
    ) -> list[events.Event]:
        """Return at most ``limit`` events that pass ``selected``, by id, those after ``after``."""
        ...

    def delete_events(self, before: datetime.datetime) -> int:
        """Delete the events recorded before ``before`` (retention); return how many."""
        ...

    # audit history, newest first
    #
    # Written around operations, not inside their transactions: a record is started before the
    # operation and finished after it, so that one left unfinished shows a crash in between.
    def start_history(self, record: history.Record) -> history.Record:
        """Store ``record`` (its ``id`` ignored) and return it with the id it was given."""
        ...

    def finish_history(
        self,
        record: int,
        finished: datetime.datetime,
        outcome: history.Outcome,
        detail: Mapping[str, Any],
        error: str | None,
    ) -> None:
        """Finish a started record; NotFound when there is none, FailedPrecondition when it has
        finished already."""
        ...

    def list_history(
        self, selected: history.Filter, after: int | None, limit: int
    ) -> list[history.Record]:
        """Return the records that pass ``selected``, newest first (``after`` is a record id)."""
        ...

    def abandon_history(self, instance: str, finished: datetime.datetime) -> int:
        """Mark ``incomplete`` the unfinished records of server ``instance``, which is starting
        again; return how many."""
        ...

    # tokens, ordered by name; their ids are given by ``tokens.new``
    def create_token(self, token: tokens.Token) -> tokens.Token:
        """Store a new token; ``AlreadyExists`` if its name (or id) is taken."""
        ...

    def get_token(self, token: str) -> tokens.Token:
        """Return the token with id ``token``; ``NotFound`` if there is none."""
        ...

    def list_tokens(self, after: str | None, limit: int) -> list[tokens.Token]:
        """Return tokens ordered by name (``after`` is a name)."""
        ...

    def update_token(self, token: tokens.Token, expected_revision: int) -> tokens.Token:
        """Write the token's roles, expiry and disabled flag with compare-and-set."""
        ...

    def delete_token(self, token: str) -> None:
        """Delete the token with id ``token``; ``NotFound`` if there is none."""
        ...

    def delete_run_tokens(self, namespace: str, pipeline: str, run: int) -> int:
        """Delete the run tokens of one run (tokens whose ``run`` is it); return how many."""
        ...

    def list_run_tokens(self, after: str | None, limit: int) -> list[tokens.Token]:
        """Return the run tokens of every run, ordered by name (``after`` is a name)."""
        ...

    # roles made by admins, ordered by name (the built-in ones are not stored)
    def create_role(self, role: access.Role) -> access.Role:
        """Store a new role; ``AlreadyExists`` if its name is taken."""
        ...

    def get_role(self, name: str) -> access.Role:
        """Return the role ``name``; ``NotFound`` if there is none."""
        ...

    def list_roles(self, after: str | None, limit: int) -> list[access.Role]:
        """Return roles ordered by name (``after`` is a name)."""
        ...

    def delete_role(self, name: str) -> None:
        """Delete the role ``name``; ``NotFound`` if there is none."""
        ...

    # subscriptions made by hand, a pipeline's by key (those of its file live in its versions);
    # created and deleted, never changed
    def create_subscription(self, subscription: subscriptions.Manual) -> subscriptions.Manual:
        """Store a new subscription and return it as stored; ``NotFound`` when its pipeline
        does not exist (naming the namespace if that is what is missing), ``AlreadyExists`` if
        its key is taken."""
        ...

    def get_subscription(self, namespace: str, pipeline: str, key: str) -> subscriptions.Manual:
        """Return one subscription; ``NotFound`` names the namespace or pipeline if that is
        what is missing."""
        ...

    def list_subscriptions(
        self, namespace: str, pipeline: str, after: str | None, limit: int
    ) -> list[subscriptions.Manual]:
        """Return the pipeline's subscriptions ordered by key (``after`` is a key); ``NotFound``
        for a missing namespace or pipeline."""
        ...

    def list_all_subscriptions(
        self, after: tuple[str, str, str] | None, limit: int
    ) -> list[subscriptions.Manual]:
        """Return the subscriptions of every pipeline ordered by namespace, pipeline and key
        (``after`` is such a triple)."""
        ...

    def delete_subscription(self, namespace: str, pipeline: str, key: str) -> None:
        """Delete one subscription; ``NotFound`` if there is none (naming the namespace or
        pipeline if that is what is missing)."""
        ...

    # secrets: a pipeline's (``namespace`` and ``pipeline`` given) or global (both None), by name
    def put_secret(self, secret: secrets.Secret) -> secrets.Secret:
        """Store ``secret``, replacing one of that name in that place (which keeps its
        ``created``); return it as stored. NotFound when its pipeline does not exist."""
        ...

    def get_secret(self, namespace: str | None, pipeline: str | None, name: str) -> secrets.Secret:
        """Return one secret; NotFound names the namespace or pipeline if that is missing."""
        ...

    def list_secrets(
        self, namespace: str | None, pipeline: str | None, after: str | None, limit: int
    ) -> list[secrets.Secret]:
        """Return the secrets of a pipeline (or the global ones) ordered by name."""
        ...

    def delete_secret(self, namespace: str | None, pipeline: str | None, name: str) -> None:
        """Delete one secret; NotFound if there is none."""
        ...

    def list_secrets_not_under(self, key: str, limit: int) -> list[secrets.Secret]:
        """Return at most ``limit`` secrets, of any place, encrypted under another key than
        ``key`` (to encrypt them again)."""
        ...

    # objects: a pipeline's (``run`` None) or one run's, by key
    def put_object(
        self, obj: objects.Object, keep: int | None = None
    ) -> tuple[objects.Object | None, list[objects.Object]]:
        """Store ``obj``, replacing the object of that key in that place, with an
        ``object.stored`` event. For a pipeline object with ``keep``, then delete the oldest
        pipeline objects beyond ``keep`` with an ``object.evicted`` event each. Return the object
        replaced (or None) and those evicted. NotFound when the pipeline (or the run) does not
        exist."""
        ...

    def get_object(
        self, namespace: str, pipeline: str, run: int | None, key: str
    ) -> objects.Object:
        """Return one object; NotFound names the pipeline or run if that is what is missing."""
        ...

    def list_objects(
        self, namespace: str, pipeline: str, run: int | None, after: str | None, limit: int
    ) -> list[objects.Object]:
        """Return the objects of a pipeline (``run`` None) or of one run, ordered by key."""
        ...

    def delete_object(
        self, namespace: str, pipeline: str, run: int | None, key: str
    ) -> objects.Object:
        """Delete one object with an ``object.deleted`` event and return it; NotFound if none."""
        ...

    def expire_run_objects(
        self, namespace: str, pipeline: str, before_run: int, limit: int
    ) -> list[objects.Object]:
        """Delete at most ``limit`` objects of the pipeline's runs numbered below ``before_run``,
        with an ``object.expired`` event each, and return them."""
        ...

    # extensions installed from images, by name; replaced whole
    def put_extension(self, extension: images.Installed) -> images.Installed:
        """Store ``extension``, replacing the one of that name; return it as stored."""
        ...

    def get_extension(self, name: str) -> images.Installed:
        """Return the extension installed from an image as ``name``; NotFound if there is
        none."""
        ...

    def list_extensions(self, after: str | None, limit: int) -> list[images.Installed]:
        """Return the extensions installed from images ordered by name (``after`` is a name)."""
        ...

    def delete_extension(self, name: str) -> None:
        """Delete the extension installed as ``name``; NotFound if there is none."""
        ...

    # locks: named, held by one holder until released or expired
    def acquire_lock(
        self, name: str, holder: str, now: datetime.datetime, expires: datetime.datetime
    ) -> str | None:
        """Take the lock ``name`` for ``holder`` until ``expires`` unless someone else holds it
        unexpired; return None when taken, else the current holder."""
        ...

    def release_lock(self, name: str, holder: str) -> None:
        """Release the lock ``name`` if ``holder`` holds it; nothing otherwise."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
