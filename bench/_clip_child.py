"""The measured process of ``bench_clip``: builds the model, measures, prints one JSON line.

    python -m bench._clip_child '{"threads": 2, "workdir": "/tmp/...", ...}'

A process of its own so that the thread counts (ONNX Runtime's intra-op pool, OpenBLAS)
are set before either library starts, and so that Django (the embed service writes into
the run's PostgreSQL) is set up in a process that does nothing else.

The model is CLIP ViT-B/32's image encoder, built here with ``onnx.helper`` with seeded
random weights, op for op as open_clip's ``VisionTransformer`` (what an export contains):
patch Conv 32x32/32 (no bias) -> 49 tokens + class token + positional embedding ->
ln_pre -> 12 x [x + attn(ln_1(x)); x + mlp(ln_2(x))] (width 768, 12 heads, MLP 3072,
QuickGELU) -> ln_post of the class token -> proj 768 -> 512. 87.85 M parameters; 4.41 G
multiply-adds = 8.82 GFLOPs per image. The folder gets the rest of the layout (config,
preprocess config, a tiny text encoder and tokenizer from the test helper) so the real
engine and service load it unchanged.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

WIDTH, LAYERS, HEADS, MLP, PATCH, IMAGE, EMBED = 768, 12, 12, 3072, 32, 224, 512
TOKENS = (IMAGE // PATCH) ** 2 + 1  # 49 patches + the class token
BATCHES = (1, 8, 32)
SEED = 20240601


# -- the model ------------------------------------------------------------------------

def vit_b32_flops() -> float:
    """FLOPs (2 per multiply-add) of one image through the graph below; softmax, norms
    and activations are elementwise and left out (under 0.5 %), as usual."""
    macs = (TOKENS - 1) * WIDTH * 3 * PATCH * PATCH  # patch embedding
    per_layer = (TOKENS * WIDTH * 3 * WIDTH  # qkv
                 + 2 * HEADS * TOKENS * TOKENS * (WIDTH // HEADS)  # q k^T and (.) v
                 + TOKENS * WIDTH * WIDTH  # out proj
                 + 2 * TOKENS * WIDTH * MLP)  # mlp
    macs += LAYERS * per_layer + WIDTH * EMBED
    return 2.0 * macs


def build_vit_b32(path: Path) -> int:
    """Write the image encoder to ``path``; return its parameter count."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(SEED)
    inits: list[Any] = []
    nodes: list[Any] = []
    params = 0

    def weight(name: str, shape: tuple[int, ...], scale: float = 0.02,
               value: float | None = None) -> str:
        nonlocal params
        array = (np.full(shape, value, np.float32) if value is not None
                 else (rng.standard_normal(shape) * scale).astype(np.float32))
        inits.append(numpy_helper.from_array(array, name))
        params += array.size
        return name

    def const(name: str, values: list[int] | list[float], dtype: Any = np.int64) -> str:
        inits.append(numpy_helper.from_array(np.array(values, dtype=dtype), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def layer_norm(x: str, prefix: str) -> str:
        return node("LayerNormalization",
                    [x, weight(f"{prefix}.w", (WIDTH,), value=1.0),
                     weight(f"{prefix}.b", (WIDTH,), value=0.0)],
                    f"{prefix}.out", axis=-1, epsilon=1e-5)

    def linear(x: str, prefix: str, n_in: int, n_out: int) -> str:
        y = node("MatMul", [x, weight(f"{prefix}.w", (n_in, n_out), scale=n_in ** -0.5)],
                 f"{prefix}.mm")
        return node("Add", [y, weight(f"{prefix}.b", (n_out,))], f"{prefix}.out")

    head = WIDTH // HEADS
    const("shape_tokens", [0, TOKENS, 3, HEADS, head])
    const("shape_back", [0, TOKENS, WIDTH])
    const("shape_patches", [0, WIDTH, TOKENS - 1])
    const("scale", [head ** -0.5], np.float32)
    const("gelu_k", [1.702], np.float32)
    const("one", [1])

    x = node("Conv", ["image", weight("conv1.w", (WIDTH, 3, PATCH, PATCH),
                                      scale=(3 * PATCH * PATCH) ** -0.5)],
             "patches", kernel_shape=[PATCH, PATCH], strides=[PATCH, PATCH])
    x = node("Reshape", [x, "shape_patches"], "patches_flat")
    x = node("Transpose", [x], "patch_tokens", perm=[0, 2, 1])  # [N, 49, 768]
    node("Shape", ["image"], "in_shape")
    node("Slice", ["in_shape", const("zero", [0]), "one"], "batch")
    node("Concat", ["batch", "one", const("width", [WIDTH])], "cls_shape", axis=0)
    cls = node("Expand", [weight("cls", (1, 1, WIDTH)), "cls_shape"], "cls_tokens")
    x = node("Concat", [cls, x], "tokens", axis=1)
    x = node("Add", [x, weight("pos", (TOKENS, WIDTH), scale=0.01)], "embedded")
    x = layer_norm(x, "ln_pre")
    for i in range(LAYERS):
        p = f"l{i}"
        h = layer_norm(x, f"{p}.ln_1")
        qkv = linear(h, f"{p}.qkv", WIDTH, 3 * WIDTH)
        qkv = node("Reshape", [qkv, "shape_tokens"], f"{p}.qkv5")
        qkv = node("Transpose", [qkv], f"{p}.qkvT", perm=[2, 0, 3, 1, 4])  # [3, N, H, T, d]
        q, k, v = (f"{p}.{n}" for n in "qkv")
        nodes.append(helper.make_node("Split", [qkv], [q + "3", k + "3", v + "3"], axis=0,
                                      num_outputs=3))
        for n in (q, k, v):
            node("Squeeze", [n + "3", const(f"{n}.ax", [0])], n)
        kt = node("Transpose", [k], f"{p}.kT", perm=[0, 1, 3, 2])
        scores = node("Mul", [node("MatMul", [q, kt], f"{p}.qk"), "scale"], f"{p}.scores")
        attn = node("Softmax", [scores], f"{p}.attn", axis=-1)
        ctx = node("MatMul", [attn, v], f"{p}.ctx")
        ctx = node("Transpose", [ctx], f"{p}.ctxT", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "shape_back"], f"{p}.ctx3")
        x = node("Add", [x, linear(ctx, f"{p}.out", WIDTH, WIDTH)], f"{p}.res1")
        h = linear(layer_norm(x, f"{p}.ln_2"), f"{p}.fc", WIDTH, MLP)
        gate = node("Sigmoid", [node("Mul", [h, "gelu_k"], f"{p}.gk")], f"{p}.gate")
        h = node("Mul", [h, gate], f"{p}.gelu")  # QuickGELU: x * sigmoid(1.702 x)
        x = node("Add", [x, linear(h, f"{p}.proj", MLP, WIDTH)], f"{p}.res2")
    x = node("Gather", [x, const("cls_index", 0)], "cls_out", axis=1)  # [N, 768]
    x = layer_norm(x, "ln_post")
    node("MatMul", [x, weight("proj", (WIDTH, EMBED), scale=WIDTH ** -0.5)], "embedding")
    graph = helper.make_graph(
        nodes, "clip_vit_b32_visual",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, IMAGE, IMAGE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", EMBED])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return params


def build_layout(root: Path) -> int:
    """The whole CLIP_MODEL_DIR: ViT-B/32 visual + the layout's other files."""
    from tests.apps.processing.clip_model import build_tiny_clip

    build_tiny_clip(root)  # config, preprocess cfg, a small text encoder, tokenizer
    (root / "config.json").write_text(json.dumps({
        "embed_dim": EMBED,
        "vision_cfg": {"image_size": IMAGE, "layers": LAYERS, "width": WIDTH,
                       "patch_size": PATCH},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8,
                     "layers": 12}}))
    return build_vit_b32(root / "visual" / "model.onnx")


# -- measuring ------------------------------------------------------------------------

def timed(func: Any, runs: int) -> list[float]:
    """Wall times of ``runs`` calls of ``func``."""
    times: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return times


GEMM_SHAPES = ((2000, 2000, 2000), (1600, 768, 3072))  # square; the MLP's at batch 32


def sgemm_contenders(threads: int) -> dict[str, tuple[float, Any]]:
    """float32 GEMMs, name -> (FLOPs, callable): NumPy (OpenBLAS) and an ONNX Runtime
    MatMul (MLAS, the kernels the model's session runs), each on a square shape (not a
    power of two, whose cache-set conflicts would understate the rate) and on the ViT's
    own MLP shape at batch 32 (1600 x 768 @ 768 x 3072)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    rng = np.random.default_rng(1)
    out: dict[str, tuple[float, Any]] = {}
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    for m, k, n in GEMM_SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["a", "b"], ["c"])], "sgemm",
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k]),
             helper.make_tensor_value_info("b", TensorProto.FLOAT, [k, n])],
            [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 9
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        flops = 2.0 * m * k * n
        out[f"numpy {m}x{k}x{n}"] = (flops, lambda a=a, b=b: a @ b)
        out[f"ort {m}x{k}x{n}"] = (flops, lambda s=session, f={"a": a, "b": b}: s.run(None, f))
    return out


def photo(seed: int, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A photo-like JPEG (smooth shapes + noise, 4:2:0 at quality 90): real decode work."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = rng.integers(0, size[0]), rng.integers(0, size[1])
        w, h = rng.integers(50, size[0] // 2), rng.integers(50, size[1] // 2)
        draw.ellipse((x0, y0, x0 + w, y0 + h), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    image = image.filter(ImageFilter.GaussianBlur(3))
    noise = rng.normal(0, 6, (size[1], size[0], 3))
    array = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def setup_django(media_root: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["MEDIA_ROOT"] = str(media_root)
    os.environ["STORAGE_BACKEND"] = "local"
    import django

    django.setup()


class TaskRun:
    """The embed task end to end for one batch size, on files stored once.

    Each call deletes the rows and runs the Celery task function ``processing.embed``
    in-process (no broker: what the worker executes on receipt), which builds its
    engine from settings like a worker does: storage open -> draft decode -> preprocess
    -> session.run in batches of CLIP_BATCH_SIZE -> upserts of CLIP_WRITE_ROWS rows.
    """

    def __init__(self, datas: list[bytes], batch: int, images: int, threads: int) -> None:
        from django.conf import settings

        from apps.accounts.models import User
        from apps.processing.embeddings import current_embedder
        from apps.storage.blobs import blob_store
        from apps.storage.models import ScanStatus, StoredFile

        settings.PROCESSING = {"CLIP_BATCH_SIZE": batch, "CLIP_THREADS": threads}
        self.batch, self.images = batch, images
        self.user = User.objects.create_user(username=f"bench-clip-{os.getpid()}-{batch}")
        self.files = [blob_store.put(datas[i % len(datas)], owner=self.user, name=f"p{i}.jpg")
                      for i in range(images)]
        self.ids = [str(f.pk) for f in self.files]
        StoredFile.objects.filter(pk__in=self.ids).update(scan_status=ScanStatus.CLEAN)
        self.embedder = current_embedder()
        self.session = self.embedder.visual.session  # type: ignore[attr-defined]

    def __call__(self, decode_threads: int | None = None) -> None:
        from django.conf import settings

        from apps.processing.embeddings import embed_files
        from apps.processing.models import Embedding

        settings.PROCESSING = {"CLIP_BATCH_SIZE": self.batch,
                               "CLIP_THREADS": self.embedder.options.threads,  # type: ignore[attr-defined]
                               **({"CLIP_DECODE_THREADS": decode_threads}
                                  if decode_threads is not None else {})}
        Embedding.objects.filter(stored_file_id__in=self.ids).delete()
        report = embed_files(stored_file_ids=self.ids)
        if report["status"] != "ok" or len(report["embedded"]) != self.images:
            raise RuntimeError(f"embed task at batch {self.batch}: {report}")
        if Embedding.objects.filter(stored_file_id__in=self.ids).count() != self.images:
            raise RuntimeError("embed task: rows missing")

    def close(self) -> None:
        from apps.storage.blobs import blob_store

        for stored in self.files:
            blob_store.delete(stored)
        self.user.delete()


def preprocess_cost(config: Any, datas: list[bytes], draft: bool) -> float:
    """Best seconds per image to decode + preprocess (no storage, no model)."""
    from apps.processing.engines.clip import open_image, preprocess

    times = []
    for data in datas:
        started = time.perf_counter()
        preprocess(open_image(io.BytesIO(data), size=config.size, draft=draft), config)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


SERVICE_IMAGES = {1: 8, 8: 24, 32: 64}  # 3 batches at 8, 2 at 32: decode can overlap
BARE_RUNS = {1: 6, 8: 3, 32: 2}


def main(spec: dict[str, Any]) -> dict[str, Any]:
    """Rounds interleave every contender (sgemm, bare runs, the task) so that a noisy
    machine slows them alike; each figure is the best of its rounds (medians in details)."""
    threads = int(spec["threads"])
    rounds = int(spec["rounds"])
    work = Path(spec["workdir"])
    setup_django(work / "media")
    from django.conf import settings
    from PIL import Image

    from apps.processing.engines.clip import EngineOptions, OnnxClipEmbedder, preprocess

    result: dict[str, Any] = {"threads": threads, "rounds": rounds,
                              "flops_per_image": vit_b32_flops(),
                              "loadavg_start": os.getloadavg()}
    model_dir = work / "ViT-B-32__random"
    started = time.perf_counter()
    result["params"] = build_layout(model_dir)
    result["build_s"] = time.perf_counter() - started
    settings.CLIP_MODEL_DIR = str(model_dir)
    datas = [photo(i) for i in range(int(spec["photos"]))]
    runs = {b: TaskRun(datas, b, SERVICE_IMAGES[b], threads) for b in BATCHES}
    config = runs[1].embedder.preprocess_config
    pixels = np.stack([preprocess(Image.open(io.BytesIO(d)), config) for d in datas])
    ready = np.ascontiguousarray(np.resize(pixels, (max(BATCHES), *pixels.shape[1:])))
    gemm = sgemm_contenders(threads)
    feeds = {b: {runs[b].session.get_inputs()[0].name: np.ascontiguousarray(ready[:b])}
             for b in BATCHES}
    for b in BATCHES:  # warm-up: first runs allocate, the first task run fills caches
        runs[b].session.run(None, feeds[b])
        runs[b]()
    for _, call in gemm.values():
        call()
    # times[key][round] = that round's samples. Each contender runs right next to what it
    # is compared with (GEMM then bare run then task, per batch size), so the ratios can
    # be taken within a round, where a load from outside the bench weighs on both alike.
    times: dict[str, list[list[float]]] = {}

    def sample(key: str, func: Any, runs_: int) -> None:
        times.setdefault(key, []).append(timed(func, runs_))

    for r in range(rounds):
        print(f"clip child: round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        for b in BATCHES:
            for name, (_, call) in gemm.items():
                sample(f"gemm{b} {name}", call, 2)
            sample(f"bare{b}", lambda b=b: runs[b].session.run(None, feeds[b]), BARE_RUNS[b])
            sample(f"task{b}", runs[b], 1)
            if b == 8:
                sample("task8_inline", lambda: runs[8](decode_threads=1), 1)
    result["times"] = times
    result["gemm_flops"] = {name: flops for name, (flops, _) in gemm.items()}
    result["service_images"] = SERVICE_IMAGES
    result["preprocess_s"] = {"draft": preprocess_cost(config, datas, True),
                              "full": preprocess_cost(config, datas, False)}
    for b in BATCHES:
        runs[b].close()
    fp32 = OnnxClipEmbedder.from_dir(model_dir, EngineOptions(threads=threads, batch_size=32))
    started = time.perf_counter()
    int8 = OnnxClipEmbedder.from_dir(model_dir, EngineOptions(
        threads=threads, batch_size=32, quantized=True, cache_dir=work / "int8"))
    int8_session = int8.visual.session
    result["quantise_s"] = time.perf_counter() - started
    fp32_session = fp32.visual.session
    for b in BATCHES:
        int8_session.run(None, feeds[b]), fp32_session.run(None, feeds[b])
    for _ in range(rounds):
        for b in BATCHES:
            sample(f"fp32_{b}", lambda b=b: fp32_session.run(None, feeds[b]), BARE_RUNS[b])
            sample(f"int8_{b}", lambda b=b: int8_session.run(None, feeds[b]), BARE_RUNS[b])
    cosines = (fp32.embed_pixels(pixels) * int8.embed_pixels(pixels)).sum(axis=1)
    result["int8_cosines"] = [float(c) for c in cosines]
    result["int8_file_mb"] = sum(p.stat().st_size for p in (work / "int8").glob("*.onnx")) / 1e6
    result["fp32_file_mb"] = (model_dir / "visual" / "model.onnx").stat().st_size / 1e6
    result["loadavg_end"] = os.getloadavg()
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    spec = json.loads(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="bench-clip-", dir=spec.get("tmp")) as tmp:
        spec["workdir"] = tmp
        print(json.dumps(main(spec)), flush=True)
