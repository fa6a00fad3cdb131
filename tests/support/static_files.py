"""WhiteNoise's view of STATIC_ROOT, built once per session instead of once per
request handler.

WhiteNoiseMiddleware (in settings.MIDDLEWARE, as in production) reads every file
under STATIC_ROOT when it is created, and builds each file's response headers
then: ~45 ms for the ~600 files collectstatic writes. Django's test Client
creates its middleware chain afresh for every Client, so nearly every test that
makes a request paid for it: most of a minute over the suite.

So the files WhiteNoise builds are kept, keyed by everything they are built
from: the directory and URL prefix, the WhiteNoise options the middleware read
from settings, the static files storage (it decides which names are hashed,
hence cached forever) and the manifest's modification time (collectstatic
rewrites it). A handler whose settings differ in any of these builds its own, as
before. Each middleware gets its own copy of the dictionary; the files in it
are read-only once built (each response opens its file afresh).
"""

import os

import pytest
from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware

_original_update = WhiteNoiseMiddleware.update_files_dictionary
# key -> {url: StaticFile or Redirect}, as one update_files_dictionary() left it
_scans: dict[tuple, dict] = {}


def _key(middleware: WhiteNoiseMiddleware, root: str, prefix: str) -> tuple:
    try:
        manifest = os.stat(os.path.join(root, "staticfiles.json")).st_mtime_ns
    except FileNotFoundError:
        manifest = None
    return (
        root,
        prefix,
        middleware.static_prefix,
        middleware.max_age,
        middleware.allow_all_origins,
        middleware.charset,
        repr(sorted(middleware.media_types.types_map.items())),
        middleware.add_headers_function,
        middleware.index_file,
        # An instance attribute only when WHITENOISE_IMMUTABLE_FILE_TEST is set.
        middleware.__dict__.get("immutable_file_test"),
        repr(settings.STORAGES.get("staticfiles")),
        settings.STATIC_URL,
        manifest,
    )


def update_files_dictionary(self, root, prefix):
    """WhiteNoise's own, or a copy of what it built before for the same key."""
    key = _key(self, root, prefix)
    if key not in _scans:
        before = dict(self.files)
        _original_update(self, root, prefix)
        _scans[key] = {
            url: f for url, f in self.files.items() if before.get(url) is not f
        }
    else:
        self.files.update(_scans[key])


@pytest.fixture(scope="session", autouse=True)
def _static_files_scanned_once():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            WhiteNoiseMiddleware, "update_files_dictionary", update_files_dictionary
        )
        yield
