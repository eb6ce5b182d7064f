"""Serve a few files of npm packages as static files, without copying them into the repo.

`npm ci` installs the packages pinned in package-lock.json into node_modules/;
this finder exposes only the files named in NODE_ASSETS, so collectstatic
copies Mermaid's ES module build (its entry and the chunks it imports) and
CodeMirror's ES modules rather than a package's whole tree.

CodeMirror is split into packages that import each other by bare name
(`@codemirror/state`); no build step joins them, so the editor page maps each
name to its static file with an import map (EDITOR_MODULES, import_map()).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage
from django.templatetags.static import static
from django.utils.safestring import SafeString, mark_safe

MERMAID_ENTRY = "vendor/mermaid/mermaid.esm.min.mjs"

# static path -> (folder under node_modules/, pattern of the file names served from it).
# A static path ending in "/" is a folder: every matching file in it, not below it.
NODE_ASSETS = {
    MERMAID_ENTRY: ("mermaid/dist", "mermaid.esm.min.mjs"),
    # The entry imports these by relative path; source maps stay out.
    "vendor/mermaid/chunks/mermaid.esm.min/": ("mermaid/dist/chunks/mermaid.esm.min", "*.mjs"),
}

# The editor's ES modules: the name they are imported by -> its folder under node_modules/
# and file. Each is served alone as vendor/codemirror/<folder name>/<file>; together they
# are every module that @codemirror/view, @codemirror/lang-markdown and what they import reach.
EDITOR_MODULES = {
    "@codemirror/autocomplete": ("@codemirror/autocomplete/dist", "index.js"),
    "@codemirror/commands": ("@codemirror/commands/dist", "index.js"),
    "@codemirror/lang-css": ("@codemirror/lang-css/dist", "index.js"),
    "@codemirror/lang-html": ("@codemirror/lang-html/dist", "index.js"),
    "@codemirror/lang-javascript": ("@codemirror/lang-javascript/dist", "index.js"),
    "@codemirror/lang-markdown": ("@codemirror/lang-markdown/dist", "index.js"),
    "@codemirror/language": ("@codemirror/language/dist", "index.js"),
    "@codemirror/lint": ("@codemirror/lint/dist", "index.js"),
    "@codemirror/search": ("@codemirror/search/dist", "index.js"),
    "@codemirror/state": ("@codemirror/state/dist", "index.js"),
    "@codemirror/streamparser": ("@codemirror/streamparser/dist", "index.js"),
    "@codemirror/view": ("@codemirror/view/dist", "index.js"),
    "@lezer/common": ("@lezer/common/dist", "index.js"),
    "@lezer/css": ("@lezer/css/dist", "index.js"),
    "@lezer/highlight": ("@lezer/highlight/dist", "index.js"),
    "@lezer/html": ("@lezer/html/dist", "index.js"),
    "@lezer/javascript": ("@lezer/javascript/dist", "index.js"),
    "@lezer/lr": ("@lezer/lr/dist", "index.js"),
    "@lezer/markdown": ("@lezer/markdown/dist", "index.js"),
    "@marijn/find-cluster-break": ("@marijn/find-cluster-break/src", "index.js"),
    "crelt": ("crelt", "index.js"),
    "style-mod": ("style-mod/src", "style-mod.js"),
    "w3c-keyname": ("w3c-keyname", "index.js"),
}


def _editor_static_path(name: str) -> str:
    return f"vendor/codemirror/{name.removeprefix('@').replace('/', '-')}/"


NODE_ASSETS.update({_editor_static_path(name): source for name, source in EDITOR_MODULES.items()})


def import_map() -> SafeString:
    """The import map, as JSON to put inside <script type="importmap">, that lets
    the browser find each editor module by its bare name."""
    imports = {
        name: static(_editor_static_path(name) + file) for name, (_, file) in EDITOR_MODULES.items()
    }
    text = json.dumps({"imports": imports}, indent=1)
    # Nothing in it may end the script element early.
    return mark_safe(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


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
        missing = [
            path
            for path in (
                MERMAID_ENTRY,
                *(_editor_static_path(n) + f for n, (_, f) in EDITOR_MODULES.items()),
            )
            if _source_of(path) is None
        ]
        if not missing:
            return []
        return [
            CheckWarning(
                f"Front-end packages are not installed ({', '.join(missing)} missing).",
                hint="Run `npm ci` in the project folder (make run and make test do).",
                id="squad_planner.W001",
            )
        ]
