"""The user's library of generated images and videos (spec user_library.md)."""
