"""CLIP image and text embeddings: one interface, an ONNX Runtime backend by default.

The ONNX backend reads the layout that open_clip exports are published in (Immich's
``immich-app/ViT-B-32__openai`` is exactly this; docs/clip.md says how to get one)::

    CLIP_MODEL_DIR/
      config.json                  open_clip model config: embed_dim, vision_cfg, text_cfg
      visual/model.onnx            image encoder: float [N, 3, S, S] -> [N, embed_dim]
      visual/preprocess_cfg.json   optional: size, mean, std, interpolation, resize_mode
      textual/model.onnx           text encoder: int32/int64 ids [N, context_length]
      textual/tokenizer.json       HF ``tokenizers`` file (CLIP's BPE)

It runs on the CPU with no torch installed. Preprocessing is CLIP's own (open_clip's
``image_transform`` over PIL), redone in Pillow + NumPy so it needs no torchvision:
RGB, resize the shortest side to S with bicubic (torchvision's size arithmetic), centre
crop S x S, scale to [0, 1], normalise with CLIP's mean/std, NCHW float32. Two choices
are ours and documented in docs/clip.md: EXIF orientation is applied (the image as a
person sees it), and transparency is composited on white (CLIP's ``convert("RGB")``
would keep whatever colour transparent pixels happen to store, often black). JPEGs are
decoded in draft mode (DCT scaling), never below S on the shortest side.

Sessions load lazily, per encoder: a web process that only embeds search text never
loads the image encoder, and a worker that only embeds images never loads the text one.
``get_embedder()`` keeps one embedder per configuration per process.

The ``open_clip`` backend (open-clip-torch, for installs where torch and torchvision
match, typically on a GPU) shares the preprocessing and is imported only when chosen.

Modules, one job each (this one is the interface, and re-exports the public names):
``clip_common`` (errors, EngineOptions), ``clip_layout`` (the folder, its configs, the
health check's look at it), ``clip_preprocess`` (decode and preprocessing),
``clip_tokenizer``, ``clip_cache`` (the INT8 copy), ``clip_onnx`` (the ONNX Runtime
backend) and ``clip_openclip`` (the open_clip one).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from PIL import Image

from apps.processing.engines.clip_cache import quantized_copy, quantized_path
from apps.processing.engines.clip_common import (
    ClipModelError,
    EngineOptions,
    FloatArray,
    ImageRejected,
)
from apps.processing.engines.clip_layout import (
    CLIP_MEAN,
    CLIP_STD,
    ModelConfig,
    ModelLayout,
    ModelSummary,
    PreprocessConfig,
    inspect_model_dir,
    sniff_onnx,
)
from apps.processing.engines.clip_onnx import OnnxClipEmbedder
from apps.processing.engines.clip_openclip import OpenClipEmbedder
from apps.processing.engines.clip_preprocess import (
    center_crop_box,
    l2_normalise,
    normalise,
    open_image,
    preprocess,
    resized_size,
    to_rgb,
)
from apps.processing.engines.clip_tokenizer import ClipTokenizer

__all__ = [
    "CLIP_MEAN", "CLIP_STD", "ClipEmbedder", "ClipModelError", "ClipTokenizer",
    "EngineOptions", "FloatArray", "ImageRejected", "ModelConfig", "ModelLayout",
    "ModelSummary", "OnnxClipEmbedder", "OpenClipEmbedder", "PreprocessConfig",
    "center_crop_box", "clear_embedders", "embed_images", "get_embedder",
    "inspect_model_dir", "l2_normalise", "loaded_embedder", "normalise", "open_image",
    "preprocess", "quantized_copy", "quantized_path", "resized_size", "sniff_onnx",
    "to_rgb",
]


class ClipEmbedder(Protocol):
    """What the embed service and text search need from any backend."""

    model_name: str
    dim: int
    preprocess_config: PreprocessConfig

    def embed_pixels(self, pixels: np.ndarray) -> FloatArray:
        """[N, 3, S, S] preprocessed images -> [N, dim] L2-normalised float32."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> FloatArray:
        """N strings -> [N, dim] L2-normalised float32."""
        ...


def embed_images(embedder: ClipEmbedder, images: Sequence[Image.Image]) -> FloatArray:
    """Convenience: preprocess PIL images and embed them (in the embedder's batches)."""
    if not images:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    batch = np.stack([preprocess(image, embedder.preprocess_config) for image in images])
    return embedder.embed_pixels(batch)



# -- one embedder per process -------------------------------------------------------------

_EMBEDDERS: dict[tuple[Any, ...], ClipEmbedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(model_dir: str, options: EngineOptions, *, backend: str = "onnx",
                 open_clip_arch: str = "ViT-B-32", open_clip_pretrained: str = "openai",
                 device: str = "") -> ClipEmbedder:
    """The process's embedder for this configuration, made on first use.

    Keyed by everything that changes what it computes, so ``override_settings`` in a test
    or a changed setting gets a fresh one instead of a stale model.
    """
    key = (backend, str(model_dir), options, open_clip_arch, open_clip_pretrained, device)
    with _EMBEDDERS_LOCK:
        embedder = _EMBEDDERS.get(key)
        if embedder is None:
            if backend == "onnx":
                embedder = OnnxClipEmbedder.from_dir(model_dir, options)
            elif backend == "open_clip":
                embedder = OpenClipEmbedder(open_clip_arch, open_clip_pretrained,
                                            cache_dir=model_dir, device=device,
                                            batch_size=options.batch_size)
            else:
                raise ClipModelError(f"unknown CLIP backend {backend!r} (onnx, open_clip)")
            _EMBEDDERS[key] = embedder
        return embedder


def loaded_embedder(model_dir: str) -> ClipEmbedder | None:
    """An embedder this process already made for ``model_dir`` (the health check asks)."""
    with _EMBEDDERS_LOCK:
        return next((e for k, e in _EMBEDDERS.items() if k[1] == str(model_dir)), None)


def clear_embedders() -> None:
    """Forget every loaded embedder (tests; a model swapped under a running process)."""
    with _EMBEDDERS_LOCK:
        _EMBEDDERS.clear()

