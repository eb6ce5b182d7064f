"""Configuration from the environment: parsed once, refusing values that make no sense.

The settings module is imported in a fresh interpreter, because this test
process has already imported it with the test environment.
"""

from __future__ import annotations

import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import Env
from tests.helpers import child_environ

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run_python(*args: str, **env_changes: str | None) -> subprocess.CompletedProcess:
    """Run the project's Python with the environment changed (None removes a variable)."""
    env = child_environ()
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def random_secret_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50))


# Env.bool --------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", "on", " true "])
def test_bool_reads_true(raw):
    assert Env({"DEBUG": raw}).bool("DEBUG") is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", ""])
def test_bool_reads_false(raw):
    assert Env({"DEBUG": raw}).bool("DEBUG", default=True) is False


def test_bool_uses_the_default_when_unset():
    assert Env({}).bool("DEBUG", default=True) is True
    assert Env({}).bool("DEBUG") is False


def test_bool_refuses_maybe_and_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match=r"EMAIL_USE_TLS must be true or false.*maybe"):
        Env({"EMAIL_USE_TLS": "maybe"}).bool("EMAIL_USE_TLS")


# Env.int ---------------------------------------------------------------------


def test_int_reads_a_whole_number():
    assert Env({"EMAIL_PORT": "587"}).int("EMAIL_PORT", 25) == 587


@pytest.mark.parametrize("environ", [{}, {"EMAIL_PORT": ""}, {"EMAIL_PORT": "  "}])
def test_int_uses_the_default_when_unset_or_empty(environ):
    assert Env(environ).int("EMAIL_PORT", 25) == 25


@pytest.mark.parametrize("raw", ["abc", "2.5", "25 ports"])
def test_int_refuses_what_is_not_a_whole_number_and_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT must be a whole number"):
        Env({"EMAIL_PORT": raw}).int("EMAIL_PORT", 25)


# Env.list --------------------------------------------------------------------


def test_list_splits_on_commas_and_drops_blanks():
    environ = {"ALLOWED_HOSTS": " planner.example.com, .example.org,, localhost ,"}

    hosts = Env(environ).list("ALLOWED_HOSTS")

    assert hosts == ["planner.example.com", ".example.org", "localhost"]


def test_list_uses_a_copy_of_the_default_when_unset():
    default = ["localhost"]

    hosts = Env({}).list("ALLOWED_HOSTS", default=default)
    hosts.append("evil.example.com")

    assert default == ["localhost"]
    assert Env({}).list("ALLOWED_HOSTS") == []


def test_list_set_but_empty_is_empty_not_the_default():
    assert Env({"ALLOWED_HOSTS": ""}).list("ALLOWED_HOSTS", default=["localhost"]) == []


# Env.choice and Env.str ------------------------------------------------------


def test_choice_accepts_an_allowed_value_ignoring_case_and_spaces():
    env = Env({"DJANGO_ENV": " Production "})

    assert env.choice("DJANGO_ENV", ("development", "production"), "development") == "production"


def test_choice_uses_the_default_when_unset():
    env = Env({})

    assert env.choice("DJANGO_ENV", ("development", "production"), "development") == "development"


def test_choice_refuses_another_value_and_lists_the_allowed_ones():
    env = Env({"DJANGO_ENV": "staging"})

    with pytest.raises(ImproperlyConfigured, match=r"DJANGO_ENV must be one of .*production"):
        env.choice("DJANGO_ENV", ("development", "production"), "development")


def test_str_returns_the_value_or_the_default():
    env = Env({"SITE_URL": "https://planner.example.com"})

    assert env.str("SITE_URL", "http://localhost:8000") == "https://planner.example.com"
    assert env.str("TIME_ZONE", "UTC") == "UTC"


def test_env_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("SQUAD_PLANNER_TEST_FLAG", "yes")

    assert Env().bool("SQUAD_PLANNER_TEST_FLAG") is True


# The settings module ---------------------------------------------------------


def test_settings_refuse_production_without_a_secret_key():
    result = run_python("-c", "import config.settings", DJANGO_ENV="production", SECRET_KEY=None)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set when DJANGO_ENV=production." in result.stderr


def test_settings_load_in_production_with_a_secret_key():
    result = run_python(
        "-c",
        "import config.settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.ALLOWED_HOSTS)",
        DJANGO_ENV="production",
        SECRET_KEY=random_secret_key(),
        ALLOWED_HOSTS="planner.example.com",
        DEBUG=None,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False True ['planner.example.com']"


def test_settings_refuse_a_debug_value_that_is_not_a_boolean():
    result = run_python("-c", "import config.settings", DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG must be true or false, got 'maybe'." in result.stderr


def test_settings_refuse_an_unknown_django_env():
    result = run_python("-c", "import config.settings", DJANGO_ENV="staging")

    assert result.returncode != 0
    assert "DJANGO_ENV must be one of development, production" in result.stderr


def test_settings_refuse_both_tls_and_ssl_for_email():
    result = run_python("-c", "import config.settings", EMAIL_USE_TLS="true", EMAIL_USE_SSL="true")

    assert result.returncode != 0
    assert "Set at most one of EMAIL_USE_TLS and EMAIL_USE_SSL." in result.stderr


def test_in_development_links_follow_the_port_and_emails_become_files():
    result = run_python(
        "-c",
        "import config.settings as s; print(s.SITE_URL); print(s.EMAIL_BACKEND)",
        PORT="8765",
        SITE_URL=None,
        EMAIL_BACKEND=None,
        DJANGO_ENV=None,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "http://localhost:8765",
        "django.core.mail.backends.filebased.EmailBackend",
    ]


def test_a_site_url_set_wins_over_the_port_and_production_ignores_the_port():
    shown = "import config.settings as s; print(s.SITE_URL)"
    chosen = run_python("-c", shown, PORT="8765", SITE_URL="https://planner.example.com/")
    production = run_python(
        "-c", shown, PORT="8765", SITE_URL=None, DJANGO_ENV="production", SECRET_KEY="x" * 50
    )

    assert chosen.stdout.strip() == "https://planner.example.com"
    assert production.stdout.strip() == "http://localhost:8000", production.stderr


def production_check(**extra: str | None) -> subprocess.CompletedProcess:
    env = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": random_secret_key(),
        "ALLOWED_HOSTS": "planner.example.com",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": None,
        **extra,
    }
    return run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", **env)


def test_deploy_check_passes_in_production():
    result = production_check()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_in_production_with_debug_on():
    result = production_check(DEBUG="true")

    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout


def test_the_caches_are_in_memory_unless_cache_url_names_redis():
    show = (
        "import config.settings as s\n"
        "for name, c in sorted(s.CACHES.items()):\n"
        "    print(name, c['BACKEND'].rsplit('.', 1)[1], c['LOCATION'],"
        " c.get('OPTIONS', {}).get('MAX_ENTRIES', '-'), c.get('KEY_PREFIX', '-'))"
    )
    local = run_python("-c", show, CACHE_URL=None, CACHE_FRAGMENT_ENTRIES="50")
    shared = run_python("-c", show, CACHE_URL="redis://cache.example.com:6379/2")

    assert local.returncode == 0, local.stderr
    assert local.stdout.splitlines() == [
        "default LocMemCache default 5000 -",
        "fragments LocMemCache fragments 50 -",
    ]
    assert shared.returncode == 0, shared.stderr
    url = "redis://cache.example.com:6379/2"
    assert shared.stdout.splitlines() == [
        f"default ResilientRedisCache {url} - squad-planner-default",
        f"fragments ResilientRedisCache {url} - squad-planner-fragments",
    ]


def test_settings_refuse_a_cache_url_that_is_not_redis():
    result = run_python("-c", "import config.settings", CACHE_URL="memcached://localhost:11211")

    assert result.returncode != 0
    assert "CACHE_URL must be a redis:// or rediss:// URL, or unset." in result.stderr
