"""Tasks of the image operations (optimize, resize, crop); filled by that feature."""
