"""What every CLIP module shares: the two errors, the runtime options, the array type.

A module of its own so that the layout, preprocessing and backend modules can all use
them without importing each other (``clip`` re-exports every name here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float32]]


class ClipModelError(Exception):
    """The model folder is incomplete, inconsistent or cannot be loaded: says which file."""


class ImageRejected(ValueError):
    """An image that cannot be embedded (corrupt, over budget, refused format): a reason."""


@dataclass(frozen=True)
class EngineOptions:
    """Runtime knobs (from settings.PROCESSING; see clip_options in embeddings)."""

    batch_size: int = 16
    threads: int = 0  # 0: ONNX Runtime's default, one per physical core
    quantized: bool = False
    cache_dir: Path | None = None  # where INT8 copies go; None: next to the model
    model_name: str = ""  # "" -> the folder's name (Immich's are "ViT-B-32__openai")
