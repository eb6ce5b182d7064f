"""The production static files storage: hashed, compressed names, and ES modules too.

Django rewrites references inside CSS (and `.js` source maps) to hashed names,
but not the `import` statements of `.mjs` files. Mermaid's ES module build is
an entry that imports chunks by relative path, so without this the hashed
entry would import unhashed chunks, which WhiteNoise serves with a short
cache lifetime. Django's own patterns for JavaScript modules are applied to
`.mjs` files here, and only there: our `.js` files are classic scripts.
"""

from __future__ import annotations

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage

# Django's own patterns for JavaScript module imports (the second of its pair).
_MODULE_IMPORTS = HashedFilesMixin._js_module_import_aggregation_patterns[1]  # type: ignore[attr-defined]  # not in the stubs


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = (*CompressedManifestStaticFilesStorage.patterns, ("*.mjs", _MODULE_IMPORTS))
    # A file's hash covers the hashed names it imports, so each level of imports
    # takes one more pass; Mermaid's chunks import each other up to 14 deep.
    max_post_process_passes = 25
