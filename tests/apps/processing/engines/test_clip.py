"""The CLIP engine over a tiny real ONNX model: layout, preprocessing, batching, text, INT8.

No database here: the engine is plain Python over files. The model is built by
tests/apps/processing/clip_model.py in the exact on-disk layout of an export.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto
from PIL import Image

from apps.processing.engines import clip
from apps.processing.engines.clip import (
    CLIP_MEAN,
    CLIP_STD,
    ClipModelError,
    EngineOptions,
    ImageRejected,
    OnnxClipEmbedder,
    PreprocessConfig,
    embed_images,
    open_image,
    preprocess,
)
from tests.apps.processing.clip_model import (
    TinyClip,
    build_tiny_clip,
    reference_textual,
    reference_visual,
)
from tests.apps.processing.images import jpeg_with_orientation

CFG = PreprocessConfig()
MEAN = np.array(CLIP_MEAN, dtype=np.float64)
STD = np.array(CLIP_STD, dtype=np.float64)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyClip:
    return build_tiny_clip(tmp_path_factory.mktemp("models") / "ViT-tiny__test")


@pytest.fixture(autouse=True)
def _fresh_embedders() -> None:
    clip.clear_embedders()


def embedder(model: TinyClip, **options: object) -> OnnxClipEmbedder:
    return OnnxClipEmbedder.from_dir(model.root, EngineOptions(**options))  # type: ignore[arg-type]


def rgb_image(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def hand_normalise(pixels: np.ndarray) -> np.ndarray:
    """The reference: HWC uint8 -> CHW of (x / 255 - mean) / std, in float64."""
    return ((pixels.astype(np.float64) / 255.0 - MEAN) / STD).transpose(2, 0, 1)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


# -- layout ---------------------------------------------------------------------------

def test_loads_the_export_layout(tiny: TinyClip) -> None:
    engine = embedder(tiny)
    assert engine.model_name == "ViT-tiny__test"
    assert engine.dim == 512
    assert engine.config.context_length == 77
    assert engine.preprocess_config == PreprocessConfig(size=224, interpolation="bicubic",
                                                        resize_mode="shortest")
    assert embedder(tiny, model_name="ViT-B-32__openai").model_name == "ViT-B-32__openai"


@pytest.mark.parametrize("missing", ["config.json", "visual/model.onnx", "textual/model.onnx",
                                     "textual/tokenizer.json"])
def test_a_missing_file_is_a_clear_error(tmp_path: Path, missing: str) -> None:
    model = build_tiny_clip(tmp_path / "m")
    (model.root / missing).unlink()
    with pytest.raises(ClipModelError, match=missing.replace(".", r"\.")):
        OnnxClipEmbedder.from_dir(model.root)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClipModelError, match="does not exist"):
        OnnxClipEmbedder.from_dir(tmp_path / "nowhere")


def test_preprocess_cfg_is_optional_and_defaults_to_clip(tmp_path: Path) -> None:
    model = build_tiny_clip(tmp_path / "m", preprocess_cfg=False)
    assert embedder(model).preprocess_config == PreprocessConfig()


def test_bad_configs_are_clear_errors(tmp_path: Path) -> None:
    model = build_tiny_clip(tmp_path / "m")
    (model.root / "config.json").write_text("{not json")
    with pytest.raises(ClipModelError, match=r"config\.json is not readable JSON"):
        embedder(model)
    (model.root / "config.json").write_text(json.dumps({"vision_cfg": {}}))
    with pytest.raises(ClipModelError, match="embed_dim"):
        embedder(model)
    (model.root / "config.json").write_text(json.dumps({"embed_dim": 512}))
    (model.root / "visual" / "preprocess_cfg.json").write_text(json.dumps({"resize_mode": "x"}))
    with pytest.raises(ClipModelError, match="resize_mode"):
        embedder(model)


def test_an_unloadable_model_fails_on_first_use_with_the_file_named(tmp_path: Path) -> None:
    model = build_tiny_clip(tmp_path / "m")
    (model.root / "visual" / "model.onnx").write_bytes(b"not really a model")
    engine = embedder(model)  # sessions load lazily
    with pytest.raises(ClipModelError, match=r"cannot load .*visual"):
        engine.embed_pixels(np.zeros((1, 3, 224, 224), np.float32))
    assert engine.embed_texts(["a cat"]).shape == (1, 512)  # the text side still works


def test_inspect_checks_without_loading_a_session(tiny: TinyClip, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    def no_sessions(*args: object, **kwargs: object) -> None:
        raise AssertionError("the health check must not load a model")

    monkeypatch.setattr(onnxruntime, "InferenceSession", no_sessions)
    summary = clip.inspect_model_dir(tiny.root, EngineOptions())
    assert (summary.name, summary.dim, summary.image_size) == ("ViT-tiny__test", 512, 224)
    broken = build_tiny_clip(tmp_path / "broken")
    (broken.root / "textual" / "model.onnx").write_bytes(b"garbage")
    with pytest.raises(ClipModelError, match="does not look like an ONNX model"):
        clip.inspect_model_dir(broken.root, EngineOptions())


# -- preprocessing --------------------------------------------------------------------

def test_a_solid_colour_normalises_to_clip_mean_std() -> None:
    colour = (10, 200, 30)
    out = preprocess(Image.new("RGB", (500, 300), colour), CFG)
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    expected = (np.array(colour) / 255.0 - MEAN) / STD
    np.testing.assert_allclose(out, np.broadcast_to(expected[:, None, None], out.shape),
                               atol=1e-5)


def test_centre_crop_of_a_wide_image_is_torchvisions() -> None:
    # 300 x 224: the shortest side already fits, so only the crop acts:
    # left = int(round((300 - 224) / 2)) = 38.
    x = np.arange(300)
    y = np.arange(224)
    pixels = np.zeros((224, 300, 3), dtype=np.uint8)
    pixels[..., 0] = (x[None, :] * 3) % 256
    pixels[..., 1] = y[:, None]
    pixels[..., 2] = 7
    out = preprocess(Image.fromarray(pixels), CFG)
    expected = hand_normalise(pixels[:, 38:262])
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert out[0, 0, 0] == pytest.approx((38 * 3 / 255 - CLIP_MEAN[0]) / CLIP_STD[0], abs=1e-5)


def test_centre_crop_of_a_tall_image_rounds_like_torchvision() -> None:
    # 224 x 301: top = int(round(77 / 2)) = 38 (Python rounds half to even, as torchvision).
    pixels = np.zeros((301, 224, 3), dtype=np.uint8)
    pixels[..., 1] = np.arange(301)[:, None] % 256
    out = preprocess(Image.fromarray(pixels), CFG)
    np.testing.assert_allclose(out, hand_normalise(pixels[38:262]), atol=1e-5)


@pytest.mark.parametrize(("size", "resized", "box"), [
    ((640, 480), (298, 224), (37, 0, 261, 224)),  # int(224 * 640 / 480) = 298
    ((480, 640), (224, 298), (0, 37, 224, 261)),
    ((10, 20), (224, 448), (0, 112, 224, 336)),  # upscaling a small image
    ((1000, 999), (224, 224), (0, 0, 224, 224)),  # int(224 * 1000 / 999) = 224
])
def test_shortest_side_resize_then_crop(size: tuple[int, int], resized: tuple[int, int],
                                        box: tuple[int, int, int, int]) -> None:
    assert clip.resized_size(*size, 224) == resized
    assert clip.center_crop_box(*resized, 224) == box
    image = rgb_image(size)
    reference = image.resize(resized, Image.Resampling.BICUBIC).crop(box)
    np.testing.assert_allclose(preprocess(image, CFG), hand_normalise(np.asarray(reference)),
                               atol=1e-5)


def test_transparency_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (224, 224), (0, 0, 0, 0))
    rgba.paste((255, 0, 0, 255), (0, 0, 112, 224))
    out = preprocess(rgba, CFG)
    white = (1.0 - MEAN) / STD
    red = (np.array([1.0, 0.0, 0.0]) - MEAN) / STD
    np.testing.assert_allclose(out[:, :, 200], np.broadcast_to(white[:, None], (3, 224)),
                               atol=1e-5)
    np.testing.assert_allclose(out[:, :, 10], np.broadcast_to(red[:, None], (3, 224)), atol=1e-5)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "LA", "I;16", "I", "F", "1"])
def test_other_modes_become_rgb(mode: str) -> None:
    image = rgb_image((230, 240)).convert(mode) if mode not in ("I;16", "F") else Image.new(mode, (230, 240), 1)
    out = preprocess(image, CFG)
    assert out.shape == (3, 224, 224) and out.dtype == np.float32 and np.isfinite(out).all()


def test_exif_orientation_is_applied() -> None:
    image = Image.open(io.BytesIO(jpeg_with_orientation(6, size=(80, 40))))
    assert clip.to_rgb(image).size == (40, 80)


# -- decoding -------------------------------------------------------------------------

def jpeg(size: tuple[int, int], seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(np.asarray(rgb_image((size[0] // 8 + 1, size[1] // 8 + 1), seed)))
    image.resize(size, Image.Resampling.BILINEAR).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(2000, 1500), (1000, 700), (900, 230), (448, 448),
                                  (224, 224), (225, 1000), (100, 80)])
def test_jpeg_draft_never_decodes_below_the_input_size(size: tuple[int, int]) -> None:
    data = jpeg(size)
    image = open_image(io.BytesIO(data), size=224)
    assert min(image.size) >= min(224, *size)
    if min(size) >= 448:
        assert image.size[0] < size[0]  # it did decode at a reduced scale
    assert preprocess(image, CFG).shape == (3, 224, 224)


def test_draft_decode_embeds_like_a_full_decode(tiny: TinyClip) -> None:
    engine = embedder(tiny)
    data = jpeg((1600, 1200), seed=3)
    drafted = embed_images(engine, [open_image(io.BytesIO(data), size=224)])
    full = embed_images(engine, [open_image(io.BytesIO(data), size=224, draft=False)])
    assert float(drafted[0] @ full[0]) > 0.99


def test_bad_input_is_rejected_with_a_reason() -> None:
    png = io.BytesIO()
    rgb_image((50, 50)).save(png, format="PNG")
    truncated = png.getvalue()[:200]
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        open_image(io.BytesIO(truncated), size=224)
    with pytest.raises(ImageRejected, match="not an accepted image"):
        open_image(io.BytesIO(b"plain text"), size=224)
    with pytest.raises(ImageRejected, match="not an accepted image"):
        open_image(io.BytesIO(png.getvalue()), size=224, formats=("JPEG",))
    with pytest.raises(ImageRejected, match="pixel budget"):
        open_image(io.BytesIO(png.getvalue()), size=224, max_pixels=2499)


# -- inference ------------------------------------------------------------------------

def test_image_embeddings_are_the_models_output_normalised(tiny: TinyClip) -> None:
    engine = embedder(tiny)
    images = [rgb_image((300 + 40 * i, 260), seed=i) for i in range(4)]
    out = embed_images(engine, images)
    assert out.shape == (4, 512) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    pixels = np.stack([preprocess(i, CFG) for i in images])
    np.testing.assert_allclose(out, unit(reference_visual(tiny, pixels)), atol=1e-5)
    assert np.abs(out[0] @ out[1]) < 0.99  # different images, different vectors


def test_batches_give_the_same_vectors_as_one_at_a_time(tiny: TinyClip) -> None:
    images = [rgb_image((260, 230 + i), seed=10 + i) for i in range(7)]
    pixels = np.stack([preprocess(i, CFG) for i in images])
    batched = embedder(tiny, batch_size=3)
    runs: list[int] = []
    session = batched.visual.session
    original = session.run

    def counting(outputs: object, feed: dict[str, np.ndarray]) -> object:
        runs.append(len(next(iter(feed.values()))))
        return original(outputs, feed)

    batched.visual.session = type("S", (), {"run": staticmethod(counting)})()
    together = batched.embed_pixels(pixels)
    assert runs == [3, 3, 1]
    singly = np.concatenate([embedder(tiny, batch_size=1).embed_pixels(pixels[i:i + 1])
                             for i in range(7)])
    np.testing.assert_allclose(together, singly, atol=1e-5)
    assert together[3].shape == (512,)


def test_input_names_dtypes_and_a_fixed_batch_dim_come_from_the_session(tmp_path: Path) -> None:
    model = build_tiny_clip(tmp_path / "m", image_input="pixel_values", text_input="input_ids",
                            text_dtype=TensorProto.INT32, visual_batch=1)
    engine = embedder(model, batch_size=16)
    pixels = np.stack([preprocess(rgb_image((240, 240), seed=i), CFG) for i in range(5)])
    np.testing.assert_allclose(engine.embed_pixels(pixels),
                               unit(reference_visual(model, pixels)), atol=1e-5)
    ids, _ = engine.tokenizer(["a red car"])
    np.testing.assert_allclose(engine.embed_texts(["a red car"]),
                               unit(reference_textual(model, ids)), atol=1e-5)


def test_text_is_tokenised_like_clip_and_embedded(tiny: TinyClip) -> None:
    engine = embedder(tiny)
    sot, eot = tiny.vocab["<|startoftext|>"], tiny.vocab["<|endoftext|>"]
    ids, lengths = engine.tokenizer(["A photo of a CAT", "", "word " * 200])
    assert ids.shape == (3, 77)
    assert list(ids[0, :7]) == [sot, tiny.vocab["a"], tiny.vocab["photo"], tiny.vocab["of"],
                                tiny.vocab["a"], tiny.vocab["cat"], eot]
    assert not ids[0, 7:].any()  # zero padding after EOT
    assert list(ids[1, :3]) == [sot, eot, 0]
    assert lengths[2] == 77 and ids[2, 0] == sot and ids[2, -1] == eot  # truncated, EOT kept
    vectors = engine.embed_texts(["A photo of a CAT", "", "word " * 200])
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, unit(reference_textual(tiny, ids)), atol=1e-5)
    assert engine.embed_texts(["a cat"])[0] @ engine.embed_texts(["a dog"])[0] < 0.999


def test_a_wrong_output_width_is_refused(tmp_path: Path) -> None:
    model = build_tiny_clip(tmp_path / "m", embed_dim=64)
    config = json.loads((model.root / "config.json").read_text())
    (model.root / "config.json").write_text(json.dumps({**config, "embed_dim": 512}))
    with pytest.raises(ClipModelError, match=r"expected \[N, 512\]"):
        embedder(model).embed_pixels(np.zeros((1, 3, 224, 224), np.float32))


def test_int8_quantisation_is_cached_and_close_to_fp32(tiny: TinyClip, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fp32 = embedder(tiny)
    int8 = embedder(tiny, quantized=True, cache_dir=cache)
    assert int8.model_name == "ViT-tiny__test+int8"
    images = [rgb_image((250, 250), seed=20 + i) for i in range(4)]
    a, b = embed_images(fp32, images), embed_images(int8, images)
    assert (a * b).sum(axis=1).min() >= 0.99
    texts = ["a photo of a cat", "blue sky"]
    assert (fp32.embed_texts(texts) * int8.embed_texts(texts)).sum(axis=1).min() >= 0.99
    copies = sorted(cache.glob("*.onnx"))
    assert len(copies) == 2 and not list(cache.glob(".quantising-*"))
    stamps = [p.stat().st_mtime_ns for p in copies]
    embed_images(embedder(tiny, quantized=True, cache_dir=cache), images[:1])
    assert [p.stat().st_mtime_ns for p in sorted(cache.glob("*.onnx"))] == stamps


def test_sessions_stop_spinning_when_a_run_returns(tiny: TinyClip) -> None:
    """The intra-op threads would otherwise spin on after a run, on the cores the task's
    decode threads need before the next one (docs/clip.md)."""
    engine = embedder(tiny, threads=2)
    for encoder in (engine.visual, engine.textual):
        options = encoder.session.get_session_options()
        assert options.get_session_config_entry("session.force_spinning_stop") == "1"
        assert options.intra_op_num_threads == 2


def test_normalise_writes_chw_like_scaling_hwc_then_transposing() -> None:
    pixels = np.random.default_rng(5).integers(0, 256, (37, 50, 3), dtype=np.uint8)
    std = np.asarray(CLIP_STD, dtype=np.float64)
    scale = (1.0 / (255.0 * std)).astype(np.float32)
    offset = (MEAN / std).astype(np.float32)
    expected = (np.multiply(pixels, scale, dtype=np.float32) - offset).transpose(2, 0, 1)
    out = clip.normalise(pixels, CFG)
    assert out.shape == (3, 37, 50) and out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(out, expected)  # bit for bit, not just close


def test_one_embedder_per_configuration(tiny: TinyClip) -> None:
    options = EngineOptions(batch_size=4)
    first = clip.get_embedder(str(tiny.root), options)
    assert clip.get_embedder(str(tiny.root), EngineOptions(batch_size=4)) is first
    assert clip.get_embedder(str(tiny.root), EngineOptions(batch_size=8)) is not first
    assert clip.loaded_embedder(str(tiny.root)) is not None
    with pytest.raises(ClipModelError, match="unknown CLIP backend"):
        clip.get_embedder(str(tiny.root), options, backend="tensorflow")


def test_the_open_clip_backend_says_what_it_needs(tiny: TinyClip) -> None:
    try:
        import open_clip  # noqa: F401
    except ImportError:
        with pytest.raises(ClipModelError, match="open-clip-torch"):
            clip.get_embedder(str(tiny.root), EngineOptions(), backend="open_clip")
    else:  # pragma: no cover - only where open_clip is installed
        pytest.skip("open_clip is installed; its backend is exercised on GPU installs")


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    image = Image.fromarray(np.full((230, 240), 65535 // 2, dtype=np.uint16))
    out = clip.to_rgb(image)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (127, 127, 127)
