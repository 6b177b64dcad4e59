"""The supervisor: keeps the installed extensions running and subscribed.

Each extension runs as a child process, or for one installed from an image as a container on the
host's network through the ``Scheduler`` port (``runners``), serving the extension contract
(``hostler.sdk.extension``) on a port and key the supervisor chose. The supervisor checks its
health, restarts it with back-off when it dies or stops answering, keeps its output in a log file,
and holds it to the subscriptions Hostler wants (the triggers of every live version): subscribing
what is new or changed, unsubscribing what went, and subscribing everything again after a restart of
either side (extensions keep no state that matters).

It imports ``core`` and the SDK's contract models only; what it supervises (read again every round,
so that an install, update or removal takes effect), the scheduler, the subscriptions wanted and the
extensions' tokens are given to it by ``bootstrap``.
"""
