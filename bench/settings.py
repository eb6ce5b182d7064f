"""The app's own settings, plus the benchmark's floor view in the URLs.

BENCH_COLD=1 turns the cache off, so that every request renders its page in
full: what a page costs right after something on it changed.
"""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
if os.environ.get("BENCH_COLD") == "1":
    CACHES = {
        name: {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
        for name in ("default", "fragments")
    }
