"""Serve a few files of npm packages as static files, without copying them into the repo.

`npm ci` installs the packages pinned in package-lock.json into node_modules/;
this finder exposes only the files named in NODE_ASSETS, so collectstatic
copies one bundle rather than a package's whole tree.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage

# static path -> file under node_modules/
NODE_ASSETS = {
    "vendor/mermaid/mermaid.min.js": "mermaid/dist/mermaid.min.js",
}


def _node_modules() -> Path:
    return Path(settings.BASE_DIR) / "node_modules"


class NodeModulesFinder(BaseFinder):
    def find(self, path: str, find_all: bool = False, **kwargs):
        source = NODE_ASSETS.get(path)
        if source is None:
            return [] if find_all else None
        full = _node_modules() / source
        if not full.is_file():
            return [] if find_all else None
        return [str(full)] if find_all else str(full)

    def list(self, ignore_patterns):
        for static_path, source in NODE_ASSETS.items():
            full = _node_modules() / source
            if full.is_file():
                storage = FileSystemStorage(location=str(full.parent))
                storage.prefix = str(Path(static_path).parent)
                yield full.name, storage

    def check(self, **kwargs):
        missing = [src for src in NODE_ASSETS.values() if not (_node_modules() / src).is_file()]
        if not missing:
            return []
        return [
            CheckWarning(
                f"Front-end packages are not installed ({', '.join(missing)} missing).",
                hint="Run `npm ci` in the project folder (make run and make test do).",
                id="squad_planner.W001",
            )
        ]
