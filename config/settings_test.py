"""Settings for the test suite: the real settings, with fast hashing and captured email."""

from config import settings as base
from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False

if base.CELERY_BROKER_URL.startswith("filesystem://"):
    # Tests that do not start a worker keep their queued tasks in memory, not
    # in the project's .celery/ folder that `make run` consumes.
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
