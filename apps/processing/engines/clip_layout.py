"""The model folder: where each file is, what its configs say, and a cheap health check.

The layout is the one open_clip exports are published in (see the ``clip`` module
docstring and docs/clip.md). Nothing here loads an ONNX session.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from apps.processing.engines.clip_cache import quantized_path
from apps.processing.engines.clip_common import ClipModelError, EngineOptions
from apps.processing.engines.clip_tokenizer import ClipTokenizer

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
            "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS}
_ONNX_FIRST_BYTE = 0x08  # ModelProto field 1 (ir_version, varint): every export starts so


@dataclass(frozen=True)
class ModelLayout:
    """Where each file of an exported model is; ``resolve`` refuses an incomplete folder."""

    root: Path
    config: Path
    visual: Path
    preprocess: Path
    textual: Path
    tokenizer: Path
    tokenizer_config: Path

    REQUIRED = ("config.json", "visual/model.onnx", "textual/model.onnx",
                "textual/tokenizer.json")

    @classmethod
    def resolve(cls, root: str | os.PathLike[str]) -> ModelLayout:
        folder = Path(root)
        if not folder.is_dir():
            raise ClipModelError(f"CLIP model folder {folder} does not exist")
        missing = [name for name in cls.REQUIRED if not (folder / name).is_file()]
        if missing:
            raise ClipModelError(f"CLIP model folder {folder} lacks {', '.join(missing)} "
                                 "(layout: docs/clip.md)")
        return cls(root=folder, config=folder / "config.json",
                   visual=folder / "visual" / "model.onnx",
                   preprocess=folder / "visual" / "preprocess_cfg.json",
                   textual=folder / "textual" / "model.onnx",
                   tokenizer=folder / "textual" / "tokenizer.json",
                   tokenizer_config=folder / "textual" / "tokenizer_config.json")

    def files(self) -> list[Path]:
        """Every file the model is made of that exists: what a change is detected on."""
        return [p for p in (self.config, self.visual, self.preprocess, self.textual,
                            self.tokenizer, self.tokenizer_config) if p.is_file()]

    def signature(self) -> tuple[tuple[str, int, int], ...]:
        """(path, size, mtime) of each file: cheap to take, changes when a file does."""
        out = []
        for path in self.files():
            stat = path.stat()
            out.append((str(path), stat.st_size, stat.st_mtime_ns))
        return tuple(out)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClipModelError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ClipModelError(f"{path} is not a JSON object")
    return data


def _square(value: Any, where: str) -> int:
    """CLIP sizes are square: an int or an [S, S] pair."""
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple) and len(value) == 2 and value[0] == value[1]:
        return int(value[0])
    raise ClipModelError(f"{where}: only square image sizes are supported, got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """What config.json (open_clip's model config) says that the runtime needs."""

    embed_dim: int
    image_size: int
    context_length: int

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        data = _read_json(path)
        try:
            embed_dim = int(data["embed_dim"])
        except (KeyError, TypeError, ValueError):
            raise ClipModelError(f"{path} has no integer embed_dim") from None
        vision = data.get("vision_cfg") or {}
        text = data.get("text_cfg") or {}
        return cls(embed_dim=embed_dim,
                   image_size=_square(vision.get("image_size", 224), f"{path} vision_cfg"),
                   context_length=int(text.get("context_length", 77)))


@dataclass(frozen=True)
class PreprocessConfig:
    """visual/preprocess_cfg.json; absent keys (or file) mean CLIP's own values."""

    size: int = 224
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"

    @classmethod
    def load(cls, path: Path, *, default_size: int) -> PreprocessConfig:
        data = _read_json(path) if path.is_file() else {}
        config = cls(size=_square(data.get("size", default_size), str(path)),
                     mean=_triple(data.get("mean", CLIP_MEAN), path, "mean"),
                     std=_triple(data.get("std", CLIP_STD), path, "std"),
                     interpolation=str(data.get("interpolation", "bicubic")),
                     resize_mode=str(data.get("resize_mode", "shortest")))
        if config.interpolation not in RESAMPLE:
            raise ClipModelError(f"{path}: unknown interpolation {config.interpolation!r}")
        if config.resize_mode not in ("shortest", "squash"):
            raise ClipModelError(f"{path}: resize_mode {config.resize_mode!r} is not "
                                 "supported (shortest, squash)")
        return config


def _triple(value: Any, path: Path, key: str) -> tuple[float, float, float]:
    try:
        a, b, c = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ClipModelError(f"{path}: {key} must be three numbers, got {value!r}") from None
    return a, b, c


# -- the health check's look at a folder ------------------------------------------------

def sniff_onnx(path: Path) -> str:
    """'' if ``path`` starts like a serialised ONNX model, else why not (no full parse)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1)
    except OSError as exc:
        return f"{path} is not readable: {exc}"
    if not head or head[0] != _ONNX_FIRST_BYTE:
        return f"{path} does not look like an ONNX model"
    return ""


@dataclass(frozen=True)
class ModelSummary:
    """What the health check reports of a model folder, found without loading a session."""

    name: str
    dim: int
    image_size: int
    context_length: int


def inspect_model_dir(root: str | os.PathLike[str], options: EngineOptions) -> ModelSummary:
    """Check a folder the cheap way: files present, configs valid, tokenizer loads, both
    models start like ONNX. Cached on the files' (size, mtime), so a health check that
    runs every few seconds only stats six files. Raises ClipModelError with the reason.
    """
    layout = ModelLayout.resolve(root)
    return _inspect(layout, layout.signature(), options)


@functools.lru_cache(maxsize=8)
def _inspect(layout: ModelLayout, signature: tuple[tuple[str, int, int], ...],
             options: EngineOptions) -> ModelSummary:
    del signature  # part of the cache key only
    for path in (layout.visual, layout.textual):
        problem = sniff_onnx(path)
        if problem:
            raise ClipModelError(problem)
        if (options.quantized and not quantized_path(path, options.cache_dir).is_file()
                and importlib.util.find_spec("onnx") is None):
            raise ClipModelError("CLIP_QUANTIZED needs the onnx package to quantise "
                                 f"{path} (pip install onnx)")
    config = ModelConfig.load(layout.config)
    preprocess = PreprocessConfig.load(layout.preprocess, default_size=config.image_size)
    ClipTokenizer(layout.tokenizer, config.context_length)
    name = options.model_name or layout.root.resolve().name
    return ModelSummary(name=f"{name}+int8" if options.quantized else name, dim=config.embed_dim,
                        image_size=preprocess.size, context_length=config.context_length)
