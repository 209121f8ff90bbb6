"""The admin media console API (spec admin_media.md)."""
