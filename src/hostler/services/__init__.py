"""Use cases: what a caller can ask of Hostler, each in its own transaction, over the ports."""
