"""The ``hostler`` command line: one module per noun, reaching the server over HTTP only."""
