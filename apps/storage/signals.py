"""What the blob store tells feature apps, so they can keep their own accounts.

``usage_changed`` is sent inside the transaction that changes what an owner stores (a
file stored, rewritten or deleted; a variant made or dropped), so a receiver's writes
commit or roll back with it. ``bytes_served`` is sent when bytes leave storage through
the platform: the local file view sends what it streamed; features that hand out
presigned S3 URLs send the size they signed for.
"""

from django.dispatch import Signal

# kwargs: stored_file, file_bytes (change of the original's bytes), variant_bytes
# (change of its variants' bytes), files (change of the file count: +1, 0 or -1)
usage_changed = Signal()

# kwargs: stored_file, variant (or None), nbytes
bytes_served = Signal()
