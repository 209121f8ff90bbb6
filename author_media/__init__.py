"""The author's files module: uploads, folders, processing, scanning, storage accounting.

Spec: author_media.md.
"""
