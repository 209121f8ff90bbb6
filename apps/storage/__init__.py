"""Stored files: the blob store over Django storages, signed URLs, quotas."""
