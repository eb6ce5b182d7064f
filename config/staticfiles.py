"""Serve a few files of npm packages as static files, without copying them into the repo.

`npm ci` installs the packages pinned in package-lock.json into node_modules/;
this finder exposes only the files named in NODE_ASSETS, so collectstatic
copies Mermaid's ES module build (its entry and the chunks it imports) rather
than a package's whole tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage

MERMAID_ENTRY = "vendor/mermaid/mermaid.esm.min.mjs"

# static path -> (folder under node_modules/, pattern of the file names served from it).
# A static path ending in "/" is a folder: every matching file in it, not below it.
NODE_ASSETS = {
    MERMAID_ENTRY: ("mermaid/dist", "mermaid.esm.min.mjs"),
    # The entry imports these by relative path; source maps stay out.
    "vendor/mermaid/chunks/mermaid.esm.min/": ("mermaid/dist/chunks/mermaid.esm.min", "*.mjs"),
}


def _node_modules() -> Path:
    return Path(settings.BASE_DIR) / "node_modules"


def served_files() -> Iterator[tuple[str, Path]]:
    """(static path, file) for every file the finder serves."""
    for static_path, (folder, pattern) in NODE_ASSETS.items():
        source = _node_modules() / folder
        if not source.is_dir():
            continue
        if static_path.endswith("/"):
            for file in sorted(source.iterdir()):
                if file.is_file() and fnmatch(file.name, pattern):
                    yield static_path + file.name, file
        elif (source / pattern).is_file():
            yield static_path, source / pattern


def _source_of(path: str) -> Path | None:
    static_path = PurePosixPath(path)
    for prefix, (folder, pattern) in NODE_ASSETS.items():
        if prefix.endswith("/"):
            matches = str(static_path.parent) + "/" == prefix and fnmatch(static_path.name, pattern)
        else:
            matches = path == prefix
        if matches:
            file = _node_modules() / folder / static_path.name
            return file if file.is_file() else None
    return None


class NodeModulesFinder(BaseFinder):
    def find(self, path: str, find_all: bool = False, **kwargs):
        source = _source_of(path)
        if source is None:
            return [] if find_all else None
        return [str(source)] if find_all else str(source)

    def list(self, ignore_patterns):
        for static_path, file in served_files():
            storage = FileSystemStorage(location=str(file.parent))
            storage.prefix = str(PurePosixPath(static_path).parent)
            yield file.name, storage

    def check(self, **kwargs):
        if _source_of(MERMAID_ENTRY) is not None:
            return []
        return [
            CheckWarning(
                f"Front-end packages are not installed ({MERMAID_ENTRY} is missing).",
                hint="Run `npm ci` in the project folder (make run and make test do).",
                id="squad_planner.W001",
            )
        ]
