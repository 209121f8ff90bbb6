"""The workspace media library: categories, items, templates, snippets, links, recycle bin.

Spec: media_library.md.
"""
