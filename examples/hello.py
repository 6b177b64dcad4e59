"""The hello pipeline of examples/hello.yaml, written with the Python SDK.

Print its canonical JSON (what the server registers) with ``python examples/hello.py``.
"""

from hostler.sdk import Pipeline, Task

fetch = Task("fetch", "busybox:stable", ["sh", "-c", "echo fetched"])

# Both tests wait for fetch to succeed; they run side by side.
test_a = Task(
    "test-a", "busybox:stable", ["sh", "-c", "echo a; exit 0"], env={"LEVEL": "3"}, timeout="30s"
).after(fetch, on="success")
test_b = Task("test-b", "busybox:stable", ["sh", "-c", "echo b"]).after(fetch, on="success")

# The report runs once both tests have ended, however they ended.
report = Task("report", "busybox:stable", ["sh", "-c", "echo done"]).after(test_a, test_b, on="any")

# At most 2 runs of this pipeline at once; more wait pending.
pipeline = Pipeline("hello", description="Fan out and back in", parallelism=2)
pipeline.add(fetch, test_a, test_b, report)

if __name__ == "__main__":
    pipeline.main()
