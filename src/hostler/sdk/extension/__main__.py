"""``python -m hostler.sdk.extension NAME``: run the installed extension ``NAME``."""

import sys

from hostler.sdk.extension import entrypoints

entrypoints.main(sys.argv[1:])
