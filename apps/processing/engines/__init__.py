"""Clients of the engines the pipeline uses (clamd now; Pillow, PyAV and CLIP later)."""
