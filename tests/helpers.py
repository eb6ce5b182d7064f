import os


def child_environ() -> dict[str, str]:
    """The environment for a child process: ours, without what only the browser tests need."""
    env = dict(os.environ)
    # Set for Playwright's event loop in this process; a child must keep Django's
    # async safety (and `check --deploy` rightly refuses the variable).
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env
