"""A tiny CLIP-shaped model, built with ``onnx.helper`` in the on-disk layout of an export.

The layout is the one the engine reads (Immich's ``ViT-B-32__openai`` layout)::

    root/config.json, visual/model.onnx, visual/preprocess_cfg.json,
    textual/model.onnx, textual/tokenizer.json, textual/tokenizer_config.json

Visual: float32 [N, 3, 224, 224] -> AveragePool 16x16 (a 14x14 grid per channel, so
where things are in the image matters, as the crop does) -> Flatten -> MatMul -> [N, D].
Textual: ids [N, 77] -> Gather token embedding + position embedding -> CumSum over the
sequence (a stand-in for causal attention: each position sees those before it) -> the
row at argmax(ids), as CLIP pools at the EOT (the highest id) -> MatMul -> [N, D].
The weights are seeded, and :func:`reference_visual`/:func:`reference_textual` compute
the same thing in NumPy, so tests can check the engine's feeding and normalisation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONTEXT = 77
POOL = 16
WORDS = ("a", "photo", "of", "cat", "dog", "red", "blue", "car", "tree", "house", "the",
         "on", "in", "big", "small", "sky")
SOT, EOT = "<|startoftext|>", "<|endoftext|>"
TEXT_WIDTH = 32
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


@dataclass(frozen=True)
class TinyClip:
    root: Path
    visual_weight: np.ndarray  # [3 * 14 * 14, D]
    token_embedding: np.ndarray  # [V, W]
    position_embedding: np.ndarray  # [77, W]
    text_projection: np.ndarray  # [W, D]
    vocab: dict[str, int]


def vocabulary() -> dict[str, int]:
    """<unk> = 1 (0 is padding), the words, then SOT, then EOT: EOT is the highest id."""
    vocab = {"<pad>": 0, "<unk>": 1}
    for word in WORDS:
        vocab[word] = len(vocab)
    vocab[SOT] = len(vocab)
    vocab[EOT] = len(vocab)
    return vocab


def _save(model: onnx.ModelProto, path: Path) -> None:
    model.ir_version = 9  # what every onnxruntime since 1.16 reads
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def _opset() -> list[onnx.OperatorSetIdProto]:
    return [helper.make_opsetid("", 17)]


def build_visual(path: Path, weight: np.ndarray, *, input_name: str = "image",
                 batch: int | str = "N", size: int = 224) -> None:
    dim = weight.shape[1]
    nodes = [
        helper.make_node("AveragePool", [input_name], ["pooled"],
                         kernel_shape=[POOL, POOL], strides=[POOL, POOL]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_clip_visual",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, dim])],
        initializer=[numpy_helper.from_array(weight.astype(np.float32), "w")])
    _save(helper.make_model(graph, opset_imports=_opset()), path)


def build_textual(path: Path, token_embedding: np.ndarray, position_embedding: np.ndarray,
                  projection: np.ndarray, *, input_name: str = "text",
                  dtype: int = TensorProto.INT64, batch: int | str = "N") -> None:
    width, dim = projection.shape
    nodes = [
        helper.make_node("Gather", ["tok", input_name], ["tokens"], axis=0),  # [N, 77, W]
        helper.make_node("Add", ["tokens", "pos"], ["x"]),
        helper.make_node("CumSum", ["x", "axis1_scalar"], ["causal"]),
        helper.make_node("ArgMax", [input_name], ["eot"], axis=1, keepdims=1),  # [N, 1]
        helper.make_node("Cast", ["eot"], ["eot64"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["eot64", "axis2"], ["eot3"]),  # [N, 1, 1]
        helper.make_node("Shape", ["causal"], ["xshape"]),
        helper.make_node("Slice", ["xshape", "zero", "one"], ["nshape"]),
        helper.make_node("Concat", ["nshape", "one", "width"], ["ishape"], axis=0),
        helper.make_node("Expand", ["eot3", "ishape"], ["index"]),  # [N, 1, W]
        helper.make_node("GatherElements", ["causal", "index"], ["picked"], axis=1),
        helper.make_node("Squeeze", ["picked", "axis1"], ["pooled"]),  # [N, W]
        helper.make_node("MatMul", ["pooled", "proj"], ["embedding"]),
    ]
    init = [
        numpy_helper.from_array(token_embedding.astype(np.float32), "tok"),
        numpy_helper.from_array(position_embedding.astype(np.float32), "pos"),
        numpy_helper.from_array(projection.astype(np.float32), "proj"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "axis1_scalar"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
        numpy_helper.from_array(np.array([width], dtype=np.int64), "width"),
    ]
    graph = helper.make_graph(
        nodes, "tiny_clip_textual",
        [helper.make_tensor_value_info(input_name, dtype, [batch, CONTEXT])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, dim])],
        initializer=init)
    _save(helper.make_model(graph, opset_imports=_opset()), path)


def build_tokenizer(path: Path, vocab: dict[str, int]) -> None:
    """A WordLevel tokenizer with CLIP's special tokens and its [SOT] ... [EOT] template."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    tokenizer = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens([SOT, EOT])
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{SOT} $A {EOT}", special_tokens=[(SOT, vocab[SOT]), (EOT, vocab[EOT])])
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))


def build_tiny_clip(root: Path, *, embed_dim: int = 512, seed: int = 0,
                    image_input: str = "image", text_input: str = "text",
                    text_dtype: int = TensorProto.INT64, visual_batch: int | str = "N",
                    preprocess_cfg: bool = True) -> TinyClip:
    """Write a complete model folder under ``root`` and return its weights."""
    rng = np.random.default_rng(seed)
    vocab = vocabulary()
    grid = 224 // POOL
    visual_weight = rng.standard_normal((3 * grid * grid, embed_dim)).astype(np.float32)
    token_embedding = rng.standard_normal((len(vocab), TEXT_WIDTH)).astype(np.float32)
    position_embedding = rng.standard_normal((CONTEXT, TEXT_WIDTH)).astype(np.float32) * 0.1
    projection = rng.standard_normal((TEXT_WIDTH, embed_dim)).astype(np.float32)
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps({
        "embed_dim": embed_dim,
        "vision_cfg": {"image_size": 224, "layers": 1, "width": 8, "patch_size": POOL},
        "text_cfg": {"context_length": CONTEXT, "vocab_size": len(vocab), "width": TEXT_WIDTH,
                     "heads": 1, "layers": 1},
    }))
    build_visual(root / "visual" / "model.onnx", visual_weight, input_name=image_input,
                 batch=visual_batch)
    if preprocess_cfg:
        (root / "visual" / "preprocess_cfg.json").write_text(json.dumps({
            "size": [224, 224], "mode": "RGB", "mean": MEAN, "std": STD,
            "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0}))
    build_textual(root / "textual" / "model.onnx", token_embedding, position_embedding,
                  projection, input_name=text_input, dtype=text_dtype)
    build_tokenizer(root / "textual" / "tokenizer.json", vocab)
    (root / "textual" / "tokenizer_config.json").write_text(json.dumps({"pad_token": EOT}))
    return TinyClip(root, visual_weight, token_embedding, position_embedding, projection,
                    vocab)


def reference_visual(model: TinyClip, pixels: np.ndarray) -> np.ndarray:
    """What the visual graph computes, in NumPy (not normalised)."""
    n = pixels.shape[0]
    grid = pixels.shape[2] // POOL
    pooled = pixels.reshape(n, 3, grid, POOL, grid, POOL).mean(axis=(3, 5))
    return pooled.reshape(n, -1) @ model.visual_weight


def reference_textual(model: TinyClip, ids: np.ndarray) -> np.ndarray:
    """What the textual graph computes, in NumPy (not normalised)."""
    x = model.token_embedding[ids] + model.position_embedding[None]
    causal = np.cumsum(x, axis=1)
    eot = ids.argmax(axis=1)
    return causal[np.arange(len(ids)), eot] @ model.text_projection
