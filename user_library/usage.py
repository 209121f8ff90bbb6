"""``GET /api/library/usage``: the user's "library" quota ledger, read as it is.

The ledger's counters change in the transactions that insert and delete files, so these
figures are exact without counting rows. Quarantined files still occupy storage until
an operator deletes them, so they count here (though the list hides them).
"""

from __future__ import annotations

from typing import Any

from apps.storage.quota import default_limit
from user_library.conf import QUOTA_BUCKET
from user_library.selectors import library_counts


def library_usage(*, user_id: Any) -> dict[str, Any]:
    counts, _hidden = library_counts(user_id=user_id)
    total = counts.limit_bytes if counts.limit_bytes is not None else default_limit(QUOTA_BUCKET)
    percent = round(counts.used_bytes * 100 / total, 1) if total > 0 else 100.0
    return {"used_bytes": counts.used_bytes, "total_bytes": total, "used_percent": percent,
            "item_count": counts.items, "images_count": counts.images,
            "videos_count": counts.videos}
