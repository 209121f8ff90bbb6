"""CLIP over ONNX Runtime on the CPU: the session options, the lazily loaded encoders.

Sessions load lazily, per encoder: a web process that only embeds search text never
loads the image encoder, and a worker that only embeds images never loads the text one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from apps.processing.engines.clip_cache import quantized_copy
from apps.processing.engines.clip_common import ClipModelError, EngineOptions, FloatArray
from apps.processing.engines.clip_layout import ModelConfig, ModelLayout, PreprocessConfig
from apps.processing.engines.clip_preprocess import l2_normalise
from apps.processing.engines.clip_tokenizer import ClipTokenizer

_INT_TYPES = {"tensor(int32)": np.int32, "tensor(int64)": np.int64}
_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def _session_options(threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = max(0, int(threads))
    options.inter_op_num_threads = 1
    # The intra-op threads spin between the steps of a run (waking them would cost more),
    # but not once it returns: decoding the next images needs those cores then.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return options


def _load_session(path: Path, options: EngineOptions) -> Any:
    import onnxruntime as ort

    if options.quantized:
        path = quantized_copy(path, options.cache_dir)
    try:
        return ort.InferenceSession(str(path), sess_options=_session_options(options.threads),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail/InvalidProtobuf types
        raise ClipModelError(f"cannot load {path}: {exc}"[:500]) from None


@dataclass
class _Encoder:
    """One ONNX session with what was read from its inputs (names and dtypes)."""

    session: Any
    inputs: list[Any]
    max_batch: int | None  # an export with a fixed batch dimension (often 1)

    @classmethod
    def load(cls, path: Path, options: EngineOptions) -> _Encoder:
        session = _load_session(path, options)
        inputs = list(session.get_inputs())
        first = inputs[0].shape[0] if inputs and inputs[0].shape else None
        return cls(session, inputs, first if isinstance(first, int) and first > 0 else None)


@dataclass
class OnnxClipEmbedder:
    """CLIP over ONNX Runtime (CPU), from a folder in the layout of the module docstring."""

    layout: ModelLayout
    options: EngineOptions = field(default_factory=EngineOptions)

    def __post_init__(self) -> None:
        self.config = ModelConfig.load(self.layout.config)
        self.preprocess_config = PreprocessConfig.load(
            self.layout.preprocess, default_size=self.config.image_size)
        self.dim = self.config.embed_dim
        name = self.options.model_name or self.layout.root.resolve().name
        self.model_name = f"{name}+int8" if self.options.quantized else name
        self._lock = threading.Lock()
        self._visual: _Encoder | None = None
        self._textual: _Encoder | None = None
        self._tokenizer: ClipTokenizer | None = None

    @classmethod
    def from_dir(cls, root: str | os.PathLike[str],
                 options: EngineOptions | None = None) -> OnnxClipEmbedder:
        return cls(ModelLayout.resolve(root), options or EngineOptions())

    # lazily loaded parts
    @property
    def visual(self) -> _Encoder:
        with self._lock:
            if self._visual is None:
                self._visual = _Encoder.load(self.layout.visual, self.options)
                self._check_visual(self._visual)
            return self._visual

    @property
    def textual(self) -> _Encoder:
        with self._lock:
            if self._textual is None:
                self._textual = _Encoder.load(self.layout.textual, self.options)
            return self._textual

    @property
    def tokenizer(self) -> ClipTokenizer:
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = ClipTokenizer(self.layout.tokenizer, self.config.context_length)
            return self._tokenizer

    def load(self) -> OnnxClipEmbedder:
        """Load both encoders and the tokenizer now (the bench, a warm-up)."""
        _ = self.visual, self.textual, self.tokenizer
        return self

    def _check_visual(self, encoder: _Encoder) -> None:
        image = next((i for i in encoder.inputs if i.type in _FLOAT_TYPES), None)
        if image is None or len(encoder.inputs) != 1:
            raise ClipModelError(f"{self.layout.visual}: expected one float image input, got "
                                 f"{[(i.name, i.type) for i in encoder.inputs]}")
        shape = list(image.shape)
        size = self.preprocess_config.size
        if len(shape) != 4 or any(isinstance(d, int) and d != want
                                  for d, want in zip(shape[1:], (3, size, size), strict=True)):
            raise ClipModelError(f"{self.layout.visual}: input {image.name} is {shape}, "
                                 f"expected [N, 3, {size}, {size}]")

    # inference
    def embed_pixels(self, pixels: np.ndarray) -> FloatArray:
        encoder = self.visual
        image = encoder.inputs[0]
        dtype = _FLOAT_TYPES[image.type]
        batch = self._batch_limit(encoder)
        parts = [self._run(encoder, {image.name: pixels[i:i + batch].astype(dtype, copy=False)})
                 for i in range(0, len(pixels), batch)]
        return self._finish(parts)

    def embed_texts(self, texts: Sequence[str]) -> FloatArray:
        encoder = self.textual
        ids, lengths = self.tokenizer(texts)
        batch = self._batch_limit(encoder)
        parts = []
        for start in range(0, len(texts), batch):
            chunk = slice(start, start + batch)
            feed = {}
            for item in encoder.inputs:
                dtype = _INT_TYPES.get(item.type)
                if dtype is None:
                    raise ClipModelError(f"{self.layout.textual}: input {item.name} has type "
                                         f"{item.type}, expected int32 or int64")
                if "mask" in item.name.lower():
                    positions = np.arange(self.config.context_length)
                    feed[item.name] = (positions[None, :] < lengths[chunk, None]).astype(dtype)
                else:
                    feed[item.name] = ids[chunk].astype(dtype)
            parts.append(self._run(encoder, feed))
        return self._finish(parts)

    def _batch_limit(self, encoder: _Encoder) -> int:
        limit = max(1, int(self.options.batch_size))
        return min(limit, encoder.max_batch) if encoder.max_batch else limit

    def _run(self, encoder: _Encoder, feed: dict[str, np.ndarray]) -> np.ndarray:
        output = encoder.session.run(None, feed)[0]
        if output.ndim != 2 or output.shape[1] != self.dim:
            raise ClipModelError(f"encoder output is {output.shape}, expected [N, {self.dim}]")
        return np.asarray(output)

    def _finish(self, parts: list[np.ndarray]) -> FloatArray:
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.concatenate(parts).astype(np.float32, copy=False))
