"""Derived copies of a model file, made once and cached: the INT8 (quantised) one."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from apps.processing.engines.clip_common import ClipModelError

logger = logging.getLogger(__name__)


def quantized_path(model: Path, cache_dir: Path | None) -> Path:
    """Where the INT8 copy of ``model`` is (or will be) cached."""
    stat = model.stat()
    key = f"{model.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    folder = cache_dir if cache_dir is not None else model.parent
    digest = hashlib.sha256(key).hexdigest()[:16]
    return folder / f"{model.parent.name}-{model.stem}.int8-{digest}.onnx"


def quantized_copy(model: Path, cache_dir: Path | None) -> Path:
    """An INT8 (dynamic, weights only) copy of ``model``, made once and cached.

    The cache name carries the source's size and mtime, so a replaced model gets a new
    copy; it is written to a temp file and renamed, so two workers starting together
    never read a half-written one. MatMul/Gemm only: those are the FLOPs, while an INT8
    patch Conv or token embedding Gather would cost accuracy for no speed.
    """
    target = quantized_path(model, cache_dir)
    if target.is_file():
        return target
    folder = target.parent
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ClipModelError(f"CLIP_QUANTIZED needs the onnx package: {exc}") from None
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".quantising-", suffix=".onnx")
    os.close(handle)
    try:
        logger.info("quantising %s to INT8 into %s", model, target)
        quantize_dynamic(str(model), temp, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Gemm"])
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    return target
