"""Static files as collectstatic makes them for production: hashed names, and
Mermaid's ES modules importing each other by those hashed names."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

from django.core.management import call_command
from django.test import override_settings

from config.staticfiles import EDITOR_MODULES, import_map


def test_collectstatic_hashes_mermaids_modules_and_the_imports_between_them(tmp_path):
    """A hashed module importing an unhashed name would still load, but without
    far-future caching; every relative import must name a hashed file."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    hashed = set(json.loads((tmp_path / "staticfiles.json").read_text())["paths"].values())
    modules = [name for name in hashed if name.startswith("vendor/mermaid/")]
    assert modules, "Mermaid is not installed: run `npm ci`."
    assert any(
        re.fullmatch(r"vendor/mermaid/mermaid\.esm\.min\.[0-9a-f]{12}\.mjs", m) for m in modules
    )
    imports = 0
    for name in modules:
        text = (tmp_path / name).read_text()
        for target in re.findall(
            r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}/[^"']+)["']""", text
        ):
            imports += 1
            assert _resolve(name, target) in hashed, (name, target)
    assert imports > 100


def _resolve(name: str, target: str) -> str:
    """The static path a relative import in the file `name` points at."""
    parts = list(PurePosixPath(name).parent.parts)
    for part in target.split("/"):
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def test_the_editors_import_map_names_the_hashed_modules_collectstatic_wrote(tmp_path):
    """CodeMirror's modules import each other by bare name, which no storage rewrites:
    the import map must name each module's hashed file, and every bare name they import."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages, DEBUG=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        imports = json.loads(import_map())["imports"]

    assert len(imports) == len(EDITOR_MODULES)
    names_imported = 0
    for name, url in imports.items():
        path = url.removeprefix("/static/")
        assert re.search(r"\.[0-9a-f]{12}\.js$", path), (name, url)
        module = (tmp_path / path).read_text()
        imported = set(
            re.findall(r"""^(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]""", module, re.M)
        )
        assert imported <= imports.keys(), (name, imported - imports.keys())
        names_imported += len(imported)
    assert names_imported > 50
