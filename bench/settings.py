"""The app's own settings, plus the benchmark's floor view in the URLs."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
