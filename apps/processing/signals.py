"""What the pipeline tells feature apps about their files.

``file_transitioned`` is sent after a file's ``scan_status`` or ``processing_state``
moved (the move is committed, or part of the caller's transaction), so an app that
mirrors those states in its own rows — author_media's ``media_files`` — keeps them in
step without the pipeline knowing the app.
"""

from django.dispatch import Signal

# kwargs: stored_file, field ("scan_status" | "processing_state"), from_state, to_state
file_transitioned = Signal()
