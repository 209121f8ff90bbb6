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
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SOT_TOKEN, EOT_TOKEN = "<|startoftext|>", "<|endoftext|>"
PAD_ID = 0  # open_clip's tokenize() pads with zeros after the end-of-text token
_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
             "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS}
_INT_TYPES = {"tensor(int32)": np.int32, "tensor(int64)": np.int64}
_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
_ONNX_FIRST_BYTE = 0x08  # ModelProto field 1 (ir_version, varint): every export starts so

FloatArray = np.ndarray[Any, np.dtype[np.float32]]


class ClipModelError(Exception):
    """The model folder is incomplete, inconsistent or cannot be loaded: says which file."""


class ImageRejected(ValueError):
    """An image that cannot be embedded (corrupt, over budget, refused format): a reason."""


# -- layout ------------------------------------------------------------------------------

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
        if config.interpolation not in _RESAMPLE:
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


# -- preprocessing ------------------------------------------------------------------------

def open_image(source: IO[bytes], *, size: int, draft: bool = True,
               formats: Sequence[str] | None = None, max_pixels: int | None = None
               ) -> Image.Image:
    """Open and decode one image (first frame), JPEG at the smallest DCT scale >= ``size``.

    Pillow's ``draft`` picks a scale s in {1, 2, 4, 8} with s <= min(w, h) // size, so
    the decoded shortest side never drops below ``size``: the bicubic resize that follows
    still only ever shrinks. Raises ImageRejected with a reason for anything bad.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source, formats=list(formats) if formats else None)
        width, height = image.size
        if max_pixels is not None and width * height > max_pixels:
            raise ImageRejected(f"{width}x{height} is over the pixel budget")
        if draft and image.format == "JPEG":
            image.draft("RGB", (size, size))
        image.load()
    except ImageRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"not an accepted image: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageRejected(f"corrupt or truncated image: {exc}") from None
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB as displayed: EXIF orientation applied, transparency composited on white."""
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if image.mode.startswith("I") or image.mode == "F":
        image = Image.fromarray(_to_8_bits(np.asarray(image), float_image=image.mode == "F"))
    return image.convert("RGB")


def _to_8_bits(array: np.ndarray, *, float_image: bool) -> np.ndarray:
    """16-bit and float greyscale into 0..255 (``convert`` would clip instead of scale)."""
    values = array.astype(np.float64)
    top = float(values.max()) if values.size else 0.0
    if float_image and top <= 1.0:
        values = values * 255.0  # a float image in [0, 1]
    elif top > 255.0:
        values = values / 257.0  # 16 bits: 65535 -> 255
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """torchvision ``Resize(size)``: shortest side -> size, the other int(size * long/short)."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def center_crop_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """torchvision ``CenterCrop(size)``: offsets are int(round((dim - size) / 2))."""
    left = round((width - size) / 2.0)
    top = round((height - size) / 2.0)
    return left, top, left + size, top + size


def preprocess(image: Image.Image, config: PreprocessConfig) -> FloatArray:
    """One image as CLIP's encoder wants it: float32 [3, S, S], normalised.

    ``image`` is turned to its EXIF orientation in place (saves a copy per image).
    """
    rgb = to_rgb(image)
    size = config.size
    resample = _RESAMPLE[config.interpolation]
    if config.resize_mode == "squash":
        rgb = rgb.resize((size, size), resample)
    else:
        target = resized_size(rgb.width, rgb.height, size)
        if target != rgb.size:
            rgb = rgb.resize(target, resample)
        rgb = rgb.crop(center_crop_box(rgb.width, rgb.height, size))
    return normalise(np.asarray(rgb), config)


def normalise(pixels: np.ndarray, config: PreprocessConfig) -> FloatArray:
    """uint8 HWC -> float32 CHW of (x / 255 - mean) / std, as x * a - b in two passes."""
    std = np.asarray(config.std, dtype=np.float64)
    scale = (1.0 / (255.0 * std)).astype(np.float32)
    offset = (np.asarray(config.mean, dtype=np.float64) / std).astype(np.float32)
    out = np.multiply(pixels, scale, dtype=np.float32)
    out -= offset
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def l2_normalise(vectors: np.ndarray) -> FloatArray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)


# -- the interface ------------------------------------------------------------------------

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


@dataclass(frozen=True)
class EngineOptions:
    """Runtime knobs (from settings.PROCESSING; see clip_options in embeddings)."""

    batch_size: int = 16
    threads: int = 0  # 0: ONNX Runtime's default, one per physical core
    quantized: bool = False
    cache_dir: Path | None = None  # where INT8 copies go; None: next to the model
    model_name: str = ""  # "" -> the folder's name (Immich's are "ViT-B-32__openai")


# -- tokenizer ----------------------------------------------------------------------------

class ClipTokenizer:
    """CLIP's tokenisation over a HF ``tokenizers`` file: [SOT] text [EOT], 0-padded.

    Padding and truncation are done here, not by the file's own settings, to match
    open_clip's ``tokenize``: at most ``context_length`` ids, the last one EOT when cut,
    zeros after. The OpenAI text encoders pool at argmax(ids), the EOT (the highest id),
    so zero padding and EOT padding give the same embedding.
    """

    def __init__(self, path: Path, context_length: int) -> None:
        from tokenizers import Tokenizer

        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on a bad file
            raise ClipModelError(f"{path} is not a tokenizers file: {exc}") from None
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.context_length = context_length
        sot = self._tokenizer.token_to_id(SOT_TOKEN)
        eot = self._tokenizer.token_to_id(EOT_TOKEN)
        if sot is None or eot is None:
            raise ClipModelError(f"{path} lacks {SOT_TOKEN} or {EOT_TOKEN}")
        self.sot_id, self.eot_id = int(sot), int(eot)

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids [N, context_length] int64, lengths [N])."""
        ids = np.full((len(texts), self.context_length), PAD_ID, dtype=np.int64)
        lengths = np.zeros(len(texts), dtype=np.int64)
        for row, encoding in enumerate(self._tokenizer.encode_batch(list(texts))):
            tokens = list(encoding.ids)
            if not tokens or tokens[0] != self.sot_id:
                tokens.insert(0, self.sot_id)
            if tokens[-1] != self.eot_id:
                tokens.append(self.eot_id)
            if len(tokens) > self.context_length:
                tokens = tokens[: self.context_length]
                tokens[-1] = self.eot_id
            ids[row, : len(tokens)] = tokens
            lengths[row] = len(tokens)
        return ids, lengths


# -- ONNX Runtime backend -----------------------------------------------------------------

def _session_options(threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = max(0, int(threads))
    options.inter_op_num_threads = 1
    return options


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


# -- open_clip backend (optional) ---------------------------------------------------------

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
