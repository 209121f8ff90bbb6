"""The fault tests drive author_media's API (upload, process, delete, purge)."""

from tests.author_media.conftest import (  # noqa: F401 (fixtures)
    author,
    client,
    upload,
)
