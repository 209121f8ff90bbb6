"""CLIP over open-clip-torch (the optional backend, e.g. on a GPU); torch is imported
only when this backend is chosen."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from apps.processing.engines.clip_common import ClipModelError, FloatArray
from apps.processing.engines.clip_layout import (
    CLIP_MEAN,
    CLIP_STD,
    PreprocessConfig,
    _square,
    _triple,
)
from apps.processing.engines.clip_preprocess import l2_normalise


class OpenClipEmbedder:
    """CLIP over open-clip-torch, e.g. on a GPU; imported only when this backend is chosen.

    ``pretrained`` is an open_clip tag ("openai") or a checkpoint path; weights are cached
    under ``cache_dir`` (CLIP_MODEL_DIR). The name is ``<arch>__<tag>``, as Immich names its
    exports, so rows made by either backend from the same weights count as the same model.
    """

    def __init__(self, arch: str, pretrained: str, *, cache_dir: str, device: str = "",
                 batch_size: int = 16) -> None:
        try:
            import open_clip
            import torch
        except ImportError as exc:
            raise ClipModelError(f"the open_clip backend needs open-clip-torch and torch: "
                                 f"{exc}") from None
        self._torch: Any = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model, _, _ = open_clip.create_model_and_transforms(
            arch, pretrained=pretrained, device=self.device, cache_dir=cache_dir)
        self._model: Any = model.eval()
        self._tokenize: Any = open_clip.get_tokenizer(arch)
        cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
        size = _square(cfg.get("size", getattr(model.visual, "image_size", 224)), arch)
        self.preprocess_config = PreprocessConfig(
            size=size, mean=_triple(cfg.get("mean", CLIP_MEAN), Path(arch), "mean"),
            std=_triple(cfg.get("std", CLIP_STD), Path(arch), "std"),
            interpolation=str(cfg.get("interpolation", "bicubic")),
            resize_mode=str(cfg.get("resize_mode", "shortest")))
        self.dim = int(getattr(model.visual, "output_dim", 512))
        self.model_name = f"{arch}__{Path(pretrained).stem if os.sep in pretrained else pretrained}"
        self.batch_size = max(1, batch_size)

    def embed_pixels(self, pixels: np.ndarray) -> FloatArray:
        torch = self._torch
        parts = []
        with torch.inference_mode():
            for i in range(0, len(pixels), self.batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(pixels[i:i + self.batch_size]))
                parts.append(self._model.encode_image(batch.to(self.device)).float().cpu()
                             .numpy())
        return l2_normalise(np.concatenate(parts)) if parts else np.zeros((0, self.dim),
                                                                           np.float32)

    def embed_texts(self, texts: Sequence[str]) -> FloatArray:
        torch = self._torch
        with torch.inference_mode():
            tokens = self._tokenize(list(texts)).to(self.device)
            return l2_normalise(self._model.encode_text(tokens).float().cpu().numpy())

