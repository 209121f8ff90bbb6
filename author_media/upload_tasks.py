"""Tasks of the upload sessions (presigned, multipart, tus); filled by that feature."""
