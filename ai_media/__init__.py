"""The AI-tagged media feed with tag search and CLIP similarity (spec ai_media.md)."""
