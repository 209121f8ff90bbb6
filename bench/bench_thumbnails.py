"""Variants of 12-megapixel JPEGs: thumb-256 + preview-1024, in WebP and in JPEG.

The code under test is ``apps.processing.engines.render.render_variants`` with the two
default specs (``thumb-256`` and ``preview-1024``, fit ``contain``, quality 80 and 82),
run once with WebP outputs and once with JPEG outputs, on 4 photo-like 4000x3000 JPEGs
(quality 90, 4:2:0; two carry EXIF orientation 6) generated with NumPy for the run.
Every contender makes the same two outputs, of the same sizes, with the same encoder
options, from the same bytes in memory; the figures, per output format:

(a) *vs the naive Pillow pipeline*: per size, ``Image.open`` → full ``load()`` →
    ``resize(size, LANCZOS)`` → encode, i.e. two full-resolution decodes per image (the
    orientation is applied to the small result, which favours the naive pipeline).
    images/s ratio, target ≥ 3x.
(b) *vs the floor*: the draft-scale decode of the same file (``draft()`` to the size the
    largest output needs, then ``load()``) plus the encoding of the two outputs
    (pre-made images of the exact output sizes), each timed alone. A pipeline cannot be
    faster than decoding what it needs and encoding what it makes, so the ratio is
    floor time / our time, target ≥ 0.8x: resizing, orientation and overhead cost at
    most a quarter of the floor. Shown next to it, with no target: the floor plus the
    one resample no pipeline avoids (the draft-scale image to the largest output), so
    that what is left is the code's own overhead. The bench also checks that
    ``render_variants`` decodes each source at exactly the floor's draft scale (it
    raises otherwise).
(c) *vs Wagtail's rendition generation* (Willow, a bench-only dependency): per size, a
    rendition from the original as Wagtail's ``Filter`` makes it: ``willow.Image.open``
    → ``auto_orient()`` → ``crop`` (the full frame) → ``resize`` (Lanczos from full
    resolution) → ``save_as_webp`` / ``save_as_jpeg``. Target ≥ 2x. Skipped, with a
    note, when Willow is not installed.
(d) *Peak RSS*: what the work adds to a fresh process's resident set (VmHWM after
    ``/proc/self/clear_refs`` = 5, minus VmRSS before), ours against a bare draft-scale
    decode of the same files. Target ≤ 1.5x; the naive pipeline's, Willow's and a full
    decode's are shown for context.

(e) *Throughput vs source size*: one photo-like JPEG (orientation 1) per size of
    ``BENCH_THUMBNAILS_SWEEP_MP`` (default 1, 4, 12, 24, 48 megapixels, 4:3), WebP
    outputs (the platform's default variant format): ``render_variants`` against the
    same floor as (b), in images/s and source megapixels/s, one row per size (target
    ≥ 0.8x the floor, as (b)); the curve is ``details["plot"]`` (thumbnails_vs_size.png).
    Its own child (``sweep``), the sizes interleaved in the same rounds.

Timing runs in one child process (``python -m bench.bench_thumbnails time``), all
contenders interleaved image by image in BENCH_THUMBNAILS_ROUNDS rounds (default 5)
after a warm-up; each figure is the best round's images/s (medians in the details).
Each RSS figure comes from a fresh child process that imports the same modules as all
the others and has used every codec once on a tiny image, so only the work differs.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import MB, ROOT, SERVER_MALLOC_ENV, Result, run_child

ROUNDS = int(os.environ.get("BENCH_THUMBNAILS_ROUNDS", "5"))
SWEEP_MP = tuple(float(v) for v in os.environ.get(
    "BENCH_THUMBNAILS_SWEEP_MP", "1,4,12,24,48").split(",") if v.strip())
SWEEP_FORMAT = "webp"  # the platform's default variant format (apps/processing/conf.py)
IMAGES = 4
SOURCE_SIZE = (4000, 3000)
ORIENTATIONS = (1, 6, 1, 6)
SOURCE_QUALITY = 90
FORMATS = ("webp", "jpeg")
# The platform's default specs (apps/processing/conf.py), one output format at a time.
SPEC_SHAPES: dict[str, dict[str, Any]] = {
    "thumb-256": {"kind": "thumbnail", "width": 256, "height": 256, "fit": "contain",
                  "quality": 80},
    "preview-1024": {"kind": "preview", "width": 1024, "height": 1024, "fit": "contain",
                     "quality": 82},
}
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF")
MAX_PIXELS, MAX_ANIMATION_PIXELS = 100_000_000, 400_000_000
NAIVE_TARGET = 3.0
FLOOR_TARGET = 0.8
WILLOW_TARGET = 2.0
RSS_TARGET = 1.5
CHILD_TIMEOUT = 900
# The allocator settings the platform's processes run with (scripts/run.sh, Dockerfile).
LABEL = {"webp": "WebP", "jpeg": "JPEG"}
WILLOW_MISSING = ("not installed: `pip install willow` (a bench-only dependency) to measure "
                  "Wagtail's rendition generation")
NOTES: list[str] = [
    "thumbnails: the 4 sources are 4000x3000 photo-like JPEGs (gradients, blurred shapes, "
    "texture and noise; quality 90, 4:2:0, about 3 MB each; 2 of 4 with EXIF orientation "
    "6) generated for the run; every contender reads them from memory. Times are the best "
    "of BENCH_THUMBNAILS_ROUNDS interleaved rounds (default 5), single-threaded.",
    "thumbnails: the Willow contender encodes JPEG with the same options as ours "
    "(quality only); Wagtail itself adds progressive=True, optimize=True, which only "
    "makes it slower, so the JPEG ratio against it is conservative. Willow's optimizers "
    "(WILLOW_OPTIMIZERS) are off, as in Wagtail's default.",
    "thumbnails: peak RSS is what the work adds to the process (VmHWM reset through "
    "/proc/self/clear_refs before it, minus VmRSS then), in fresh processes with the "
    "platform's allocator settings (bench.SERVER_MALLOC_ENV) that imported the "
    "same modules and used each codec once first; the absolute peaks (interpreter, "
    "Pillow, Django, Willow) are in the figure column. Compared as absolute peaks the "
    "ratios would hide the work: even a full-resolution decode is only ~1.5x a draft "
    "decode's process peak.",
    "thumbnails: render_variants asks draft() for the largest output's own size (2000x1500 "
    "decoded for a 1024 preview of a 4000x3000 source), i.e. what Pillow's thumbnail() "
    "does with reducing_gap=1.0; its default of 2.0 would decode at full size here.",
    "thumbnails: the JPEG row against the bare floor cannot reach 0.8x with Pillow: the "
    "floor leaves out the one resample no pipeline avoids (the 2000x1500 draft to the "
    "1024 preview, about 22 ms single-threaded, timed alone in the reference row), "
    "while 0.8x of a ~43 ms floor leaves ~11 ms for everything beyond it. JPEG encodes "
    "are so cheap (2 ms) that the resample is half the work; against floor + resample "
    "the pipeline is at ~0.9x. libjpeg's DCT scaling offers only 1/2, 1/4, 1/8 here, "
    "and OpenCV's resize was no faster once the image crosses into NumPy and back.",
]


# -- the parent: spawn the children, turn their numbers into rows ----------------------

def child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    return run_child("bench_thumbnails", mode, spec, env={**os.environ, **SERVER_MALLOC_ENV},
                     timeout=CHILD_TIMEOUT, stderr_tail=2000)


def rate(times: list[float], images: int) -> tuple[float, float]:
    """(best, median) images/s from per-round totals."""
    return images / min(times), images / statistics.median(times)


def speed_rows(fmt: str, m: dict[str, Any]) -> list[Result]:
    times = m["times"][fmt]
    images = int(m["images"])
    label = LABEL[fmt]
    what = f"{label} thumb-256 + preview-1024 of 12 MP JPEGs"
    ours, ours_median = rate(times["ours"], images)
    floor_times = [d + e for d, e in zip(times["floor_decode"], times["floor_encode"],
                                         strict=True)]
    floor, floor_median = rate(floor_times, images)
    naive, naive_median = rate(times["naive"], images)
    ms = 1000 / ours
    details = {"ours_median_img_s": ours_median, "ours_round_s": times["ours"],
               "output_sizes": m["output_sizes"], "decoded_sizes": m["decoded_sizes"],
               "output_bytes": m["output_bytes"][fmt]}
    rows = [
        Result(benchmark=f"render_variants, {what}: vs naive Pillow (full decode per size, "
                         "LANCZOS resize, encode)",
               figure=f"{ours:.2f} img/s ({ms:.0f} ms/img)",
               baseline=f"naive {naive:.2f} img/s ({1000 / naive:.0f} ms/img)",
               ratio=round(ours / naive, 3), target=f"≥ {NAIVE_TARGET}x",
               met=ours / naive >= NAIVE_TARGET,
               details={**details, "naive_median_img_s": naive_median,
                        "naive_round_s": times["naive"],
                        "median_ratio": ours_median / naive_median}),
        Result(benchmark=f"render_variants, {what}: vs the floor (draft decode + the "
                         "outputs' encodes, each timed alone)",
               figure=f"{ours:.2f} img/s ({ms:.0f} ms/img)",
               baseline=(f"floor {floor:.2f} img/s ({1000 / floor:.0f} ms/img: decode "
                         f"{1000 * min(times['floor_decode']) / images:.0f} + encode "
                         f"{1000 * min(times['floor_encode']) / images:.0f})"),
               ratio=round(ours / floor, 3), target=f"≥ {FLOOR_TARGET}x",
               met=ours / floor >= FLOOR_TARGET,
               details={**details, "floor_median_img_s": floor_median,
                        "floor_decode_round_s": times["floor_decode"],
                        "floor_encode_round_s": times["floor_encode"],
                        "median_ratio": ours_median / floor_median}),
    ]
    resample_times = [f + r for f, r in zip(floor_times, times["floor_resample"], strict=True)]
    resample, resample_median = rate(resample_times, images)
    rows.append(Result(
        benchmark=f"render_variants, {what}: vs the floor plus the one unavoidable resample "
                  "(draft size → the largest output, Hamming, timed alone) (reference)",
        figure=f"{ours:.2f} img/s ({ms:.0f} ms/img)",
        baseline=(f"floor + resample {resample:.2f} img/s ({1000 / resample:.0f} ms/img: "
                  f"resample {1000 * min(times['floor_resample']) / images:.0f})"),
        ratio=round(ours / resample, 3), target="— (reference)", met=None,
        details={"floor_resample_round_s": times["floor_resample"],
                 "median_ratio": ours_median / resample_median}))
    if "willow" in times:
        willow, willow_median = rate(times["willow"], images)
        rows.append(Result(
            benchmark=f"render_variants, {what}: vs Wagtail's renditions (Willow "
                      f"{m['willow_version']}: open, auto_orient, crop, resize, save; "
                      "one rendition per size)",
            figure=f"{ours:.2f} img/s ({ms:.0f} ms/img)",
            baseline=f"Willow {willow:.2f} img/s ({1000 / willow:.0f} ms/img)",
            ratio=round(ours / willow, 3), target=f"≥ {WILLOW_TARGET}x",
            met=ours / willow >= WILLOW_TARGET,
            details={**details, "willow_median_img_s": willow_median,
                     "willow_round_s": times["willow"],
                     "median_ratio": ours_median / willow_median}))
    else:
        rows.append(Result(
            benchmark=f"render_variants, {what}: vs Wagtail's renditions (Willow)",
            figure=f"{ours:.2f} img/s ({ms:.0f} ms/img)", baseline=WILLOW_MISSING,
            ratio=None, target=f"≥ {WILLOW_TARGET}x", met=None))
    return rows


def rss_rows(fmt: str, rss: dict[str, dict[str, Any]]) -> list[Result]:
    def added(key: str) -> int:
        return int(rss[key]["added"])

    def text(key: str) -> str:
        return f"+{added(key) / MB:.1f} MB (peak {rss[key]['peak'] / MB:.0f} MB)"

    label = LABEL[fmt]
    draft = added("draft")
    baseline = f"draft-scale decode alone {text('draft')}"
    ours = added(f"ours-{fmt}")
    rows = [Result(
        benchmark=f"render_variants, {label} thumb-256 + preview-1024 of 12 MP JPEGs: "
                  "peak RSS added",
        figure=text(f"ours-{fmt}"), baseline=baseline, ratio=round(ours / draft, 3),
        target=f"≤ {RSS_TARGET}x", met=ours / draft <= RSS_TARGET,
        details={**{k: v for k, v in rss.items() if k in (f"ours-{fmt}", "draft")},
                 "absolute_peak_ratio": rss[f"ours-{fmt}"]["peak"] / rss["draft"]["peak"]})]
    context = [(f"naive-{fmt}", "naive Pillow pipeline"), (f"willow-{fmt}", "Willow renditions")]
    if fmt == FORMATS[0]:
        context.append(("full", "full-resolution decode alone"))
    for key, what in context:
        if key not in rss:
            continue
        rows.append(Result(
            benchmark=f"{what}, {label} thumb-256 + preview-1024 of 12 MP JPEGs: peak RSS "
                      "added (reference)" if key != "full" else
                      f"{what} of 12 MP JPEGs: peak RSS added (reference)",
            figure=text(key), baseline=baseline, ratio=round(added(key) / draft, 3),
            target="— (reference)", met=None, details={key: rss[key]}))
    return rows


def sweep_size(megapixels: float) -> tuple[int, int]:
    """A 4:3 frame of about ``megapixels`` (width a multiple of 16: whole JPEG MCUs)."""
    width = max(16, round((megapixels * 1e6 * 4 / 3) ** 0.5 / 16) * 16)
    return width, width * 3 // 4


def sweep_rows(m: dict[str, Any]) -> list[Result]:
    """One row per source size: render_variants vs the floor, img/s and MP/s."""
    label = LABEL[SWEEP_FORMAT]
    rows: list[Result] = []
    for point in m["points"]:
        width, height = point["size"]
        mp = width * height / 1e6
        ours = 1 / min(point["ours"])
        floor_times = [d + e for d, e in zip(point["floor_decode"], point["floor_encode"],
                                             strict=True)]
        floor = 1 / min(floor_times)
        resample = 1 / min(f + r for f, r in zip(floor_times, point["floor_resample"],
                                                  strict=True))
        ratio = ours / floor
        rows.append(Result(
            benchmark=f"render_variants, {label} thumb-256 + preview-1024 of a {mp:.1f} MP "
                      f"JPEG ({width}x{height}, decoded at {point['decoded'][0]}x"
                      f"{point['decoded'][1]}): throughput vs source size",
            figure=f"{ours:.2f} img/s, {ours * mp:.0f} MP/s ({1000 / ours:.0f} ms/img)",
            baseline=(f"floor {floor:.2f} img/s, {floor * mp:.0f} MP/s (decode "
                      f"{1000 * min(point['floor_decode']):.0f} + encode "
                      f"{1000 * min(point['floor_encode']):.0f} ms; + resample "
                      f"{1000 * min(point['floor_resample']):.0f} ms: {ours / resample:.2f}x)"),
            ratio=round(ratio, 3), target=f"≥ {FLOOR_TARGET}x", met=ratio >= FLOOR_TARGET,
            details={**point, "megapixels": mp, "source_bytes": point["bytes"],
                     "plot": {"kind": "thumbnails_vs_size", "megapixels": round(mp, 2),
                              "format": label, "ours_img_s": ours, "ours_mp_s": ours * mp,
                              "floor_img_s": floor, "floor_mp_s": floor * mp}}))
    return rows


def run() -> list[Result]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-thumbnails-"))
    load_before = os.getloadavg()[0]
    try:
        started = time.perf_counter()
        made = child("generate", {"dir": str(tmp)})
        print(f"thumbnails: {IMAGES} sources, {made['bytes'] / MB:.1f} MB in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
        timing = child("time", {"dir": str(tmp), "rounds": ROUNDS})
        rss: dict[str, dict[str, Any]] = {}
        modes = ["draft", "full"] + [f"{who}-{fmt}" for fmt in FORMATS
                                     for who in ("ours", "naive", "willow")]
        for mode in modes:
            if mode.startswith("willow") and not timing["willow_version"]:
                continue
            rss[mode] = child("rss", {"dir": str(tmp), "what": mode})
            print(f"  rss {mode:12}: +{rss[mode]['added'] / MB:6.1f} MB "
                  f"(peak {rss[mode]['peak'] / MB:.0f} MB)", flush=True)
        started = time.perf_counter()
        sizes = [sweep_size(mp) for mp in SWEEP_MP]
        sweep = child("sweep", {"dir": str(tmp), "rounds": ROUNDS, "sizes": sizes})
        print(f"thumbnails: sweep over {len(sizes)} source sizes in "
              f"{time.perf_counter() - started:.0f}s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not timing["willow_version"]:
        NOTES.append(f"thumbnails: Willow {WILLOW_MISSING}.")
    NOTES.append(f"thumbnails: load average {load_before:.1f} before the run, "
                 f"{os.getloadavg()[0]:.1f} at the end (the bench itself keeps one core "
                 "busy; the rounds are interleaved so that other work lands on every "
                 "contender alike).")
    rows: list[Result] = []
    for fmt in FORMATS:
        rows += speed_rows(fmt, timing)
    for fmt in FORMATS:
        rows += rss_rows(fmt, rss)
    return rows + sweep_rows(sweep)


# -- the children: everything that imports Pillow, NumPy, the engine or Willow ---------

def _photo(seed: int, orientation: int, size: tuple[int, int] = SOURCE_SIZE) -> bytes:
    """A photo-like JPEG (4000x3000 unless told): gradient, blurred shapes, texture and
    sensor noise."""
    import io

    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    width, height = size
    sw, sh = width // 4, height // 4
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    a, b, c = (rng.uniform(0, 255, 3).astype(np.float32) for _ in range(3))
    gradient = (a * (xx / sw)[..., None] + b * (yy / sh)[..., None]
                + c * (1 - xx / sw)[..., None]) / 2
    small = Image.fromarray(np.clip(gradient, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(small)
    for _ in range(60):
        x0, y0 = int(rng.integers(0, sw)), int(rng.integers(0, sh))
        w, h = int(rng.integers(20, sw // 3)), int(rng.integers(20, sh // 3))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x0 + w, y0 + h), fill=fill)
    small = small.filter(ImageFilter.GaussianBlur(2))
    pixels = np.asarray(small.resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    texture = np.clip(rng.normal(128, 12, (height // 2, width // 2)), 0, 255).astype(np.uint8)
    grain = np.asarray(Image.fromarray(texture).resize(size, Image.Resampling.BILINEAR),
                       dtype=np.int16)[..., None] - 128
    noise = rng.normal(0, 5, (height, width, 3)).astype(np.int16)
    photo = Image.fromarray(np.clip(pixels + grain + noise, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=SOURCE_QUALITY, exif=exif.tobytes())
    return buffer.getvalue()


def generate(spec: dict[str, Any]) -> dict[str, Any]:
    total = 0
    for i, orientation in enumerate(ORIENTATIONS[:IMAGES]):
        data = _photo(i, orientation)
        (Path(spec["dir"]) / f"photo-{i}.jpg").write_bytes(data)
        total += len(data)
    return {"bytes": total}


_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
              6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}


class Contenders:
    """Every pipeline measured, on the sources in memory, for one output format."""

    def __init__(self, datas: list[bytes], fmt: str) -> None:
        import io

        from PIL import Image

        from apps.processing.engines.render import Limits
        from apps.processing.engines.variant_specs import parse_specs

        self.datas, self.fmt = datas, fmt
        self.specs = list(parse_specs({
            name: {"kind": s["kind"], "width": s["width"], "height": s["height"],
                   "fit": s["fit"], "formats": {fmt: {"quality": s["quality"]}}}
            for name, s in SPEC_SHAPES.items()}).values())
        self.limits = Limits(allowed_formats=ALLOWED_FORMATS, max_pixels=MAX_PIXELS,
                             max_animation_pixels=MAX_ANIMATION_PIXELS)
        self.pillow_format = {"webp": "WEBP", "jpeg": "JPEG"}[fmt]
        self.qualities = [int(s["quality"]) for s in SPEC_SHAPES.values()]
        self.open = Image.open
        self.lanczos = Image.Resampling.LANCZOS
        self.orientations: list[int] = []
        self.sizes: list[list[tuple[int, int]]] = []  # display sizes, in spec order
        self.drafts: list[tuple[int, int]] = []  # what the largest output needs, stored
        for data in datas:
            with Image.open(io.BytesIO(data)) as image:
                orientation = int(image.getexif().get(0x0112, 1) or 1)
                stored = image.size
            display = self._stored(stored, orientation)
            sizes = [self._contain(display, s.width, s.height) for s in self.specs]
            self.orientations.append(orientation)
            self.sizes.append(sizes)
            biggest = max(sizes, key=lambda wh: wh[0] * wh[1])
            self.drafts.append(self._stored(biggest, orientation))
        self.finals: list[list[Any]] = []
        self.decoded: list[Any] = []

    @staticmethod
    def _contain(display: tuple[int, int], width: int, height: int) -> tuple[int, int]:
        scale = min(width / display[0], height / display[1], 1.0)
        return max(1, round(display[0] * scale)), max(1, round(display[1] * scale))

    @staticmethod
    def _stored(size: tuple[int, int], orientation: int) -> tuple[int, int]:
        """A display size in stored orientation (and back: the swap is its own inverse)."""
        return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size

    @staticmethod
    def _upright(image: Any, orientation: int) -> Any:
        from PIL import Image

        name = _TRANSPOSE.get(orientation)
        return image.transpose(getattr(Image.Transpose, name)) if name else image

    def _encode(self, image: Any, quality: int) -> bytes:
        import io

        buffer = io.BytesIO()
        image.save(buffer, self.pillow_format, quality=quality)
        return buffer.getvalue()

    def ours(self, i: int) -> list[bytes]:
        import io

        from apps.processing.engines.render import render_variants

        out = render_variants(io.BytesIO(self.datas[i]), self.specs, self.limits)
        got = sorted((r.width, r.height) for r in out)
        if got != sorted(self.sizes[i]) or len(out) != len(self.specs):
            raise RuntimeError(f"render_variants made {got}, expected {sorted(self.sizes[i])}")
        return [r.data for r in out]

    def naive(self, i: int) -> list[bytes]:
        """Per size: full decode, Lanczos resize, orientation on the small result, encode."""
        import io

        out = []
        for size, quality in zip(self.sizes[i], self.qualities, strict=True):
            image = self.open(io.BytesIO(self.datas[i]))
            image.load()
            resized = image.resize(self._stored(size, self.orientations[i]), self.lanczos)
            upright = self._upright(resized, self.orientations[i])
            if upright.size != size:
                raise RuntimeError(f"naive made {upright.size}, expected {size}")
            out.append(self._encode(upright, quality))
        return out

    def floor_decode(self, i: int) -> Any:
        """The draft-scale decode that serves the largest output, and nothing else."""
        import io

        image = self.open(io.BytesIO(self.datas[i]))
        image.draft("RGB", self.drafts[i])
        image.load()
        return image

    def full_decode(self, i: int) -> Any:
        import io

        image = self.open(io.BytesIO(self.datas[i]))
        image.load()
        return image

    def prepare_floor(self) -> None:
        """The exact output images, made once, outside any timing."""
        self.finals, self.decoded = [], []
        for i in range(len(self.datas)):
            decoded = self.floor_decode(i)
            self.decoded.append(decoded)
            self.finals.append([
                self._upright(decoded.resize(self._stored(size, self.orientations[i])),
                              self.orientations[i])
                for size in self.sizes[i]])

    def floor_resample(self, i: int) -> Any:
        """The one resample no pipeline avoids: the draft decode to the largest output."""
        from PIL import Image

        return self.decoded[i].resize(self._stored(max(
            self.sizes[i], key=lambda wh: wh[0] * wh[1]), self.orientations[i]),
            Image.Resampling.HAMMING)

    def decoded_size_of_ours(self, i: int) -> tuple[int, int]:
        """The size render_variants decodes this source at (its own _decode step)."""
        import io

        from apps.processing.engines.render import _decode

        with self.open(io.BytesIO(self.datas[i])) as image:
            size: tuple[int, int] = _decode(image, self.specs, self.orientations[i]).size
            return size

    def floor_encode(self, i: int) -> list[bytes]:
        """Encoding the two outputs alone, from ready images of their exact sizes."""
        return [self._encode(image, quality)
                for image, quality in zip(self.finals[i], self.qualities, strict=True)]

    def willow(self, i: int) -> list[bytes]:
        """Wagtail's rendition generation, one rendition per size, from the original."""
        import io

        from willow.image import Image as WillowImage

        out = []
        for size, quality in zip(self.sizes[i], self.qualities, strict=True):
            willow = WillowImage.open(io.BytesIO(self.datas[i]))
            willow = willow.auto_orient()
            width, height = willow.get_size()
            willow = willow.crop((0, 0, width, height))  # Wagtail crops to its focal rect
            willow = willow.resize(size)
            output = io.BytesIO()
            if self.fmt == "webp":
                willow.save_as_webp(output, quality=quality)
            else:
                willow.save_as_jpeg(output, quality=quality)
            out.append(output.getvalue())
        return out


def _import_everything() -> str:
    """What every child imports, so that their baselines match; Willow's version or ''."""
    import numpy  # noqa: F401
    from django.conf import settings
    from PIL import Image

    import apps.processing.engines.render  # noqa: F401

    if not settings.configured:
        settings.configure()  # Willow reads WILLOW_OPTIMIZERS from Django's settings
    import io

    tiny = io.BytesIO()  # load every codec (plugin modules, shared libraries) now, so
    Image.new("RGB", (64, 64)).save(tiny, "JPEG")  # that no child's measured work pays
    Image.new("RGB", (64, 64)).save(io.BytesIO(), "WEBP")  # for its first use
    with Image.open(tiny) as image:
        image.draft("RGB", (16, 16))
        image.load()
    try:
        import willow
    except ImportError:
        return ""
    return str(willow.__version__)


def _sources(directory: str) -> list[bytes]:
    return [(Path(directory) / f"photo-{i}.jpg").read_bytes() for i in range(IMAGES)]


def measure_time(spec: dict[str, Any]) -> dict[str, Any]:
    import gc

    willow_version = _import_everything()
    datas = _sources(spec["dir"])
    names = ["ours", "naive", "floor_decode", "floor_encode", "floor_resample"] + (
        ["willow"] if willow_version else [])
    sets = {fmt: Contenders(datas, fmt) for fmt in FORMATS}
    for contenders in sets.values():
        contenders.prepare_floor()
    first = sets[FORMATS[0]]
    decoded_sizes = [first.decoded_size_of_ours(i) for i in range(len(datas))]
    for i, size in enumerate(decoded_sizes):  # never a bigger decode than the draft's
        if size != first.decoded[i].size:
            raise RuntimeError(f"render_variants decoded source {i} at {size}, the "
                               f"draft-scale decode is {first.decoded[i].size}")
    times: dict[str, dict[str, list[float]]] = {fmt: {n: [] for n in names} for fmt in FORMATS}
    output_bytes: dict[str, dict[str, int]] = {}
    for fmt, contenders in sets.items():  # warm-up, and the outputs' sizes
        output_bytes[fmt] = {}
        for name in names:
            made = [getattr(contenders, name)(i) for i in range(len(datas))]
            if name not in ("floor_decode", "floor_resample"):
                output_bytes[fmt][name] = sum(len(b) for outs in made for b in outs)
    gc.disable()
    for r in range(int(spec["rounds"])):
        print(f"thumbnails child: round {r + 1}/{spec['rounds']}", file=sys.stderr, flush=True)
        for fmt, contenders in sets.items():
            totals = dict.fromkeys(names, 0.0)
            for i in range(len(datas)):
                for name in names:
                    func: Callable[[int], Any] = getattr(contenders, name)
                    started = time.perf_counter()
                    func(i)
                    totals[name] += time.perf_counter() - started
                gc.collect()
            for name in names:
                times[fmt][name].append(totals[name])
    gc.enable()
    return {"images": len(datas), "times": times, "willow_version": willow_version,
            "output_sizes": first.sizes, "decoded_sizes": decoded_sizes,
            "output_bytes": output_bytes}


def measure_sweep(spec: dict[str, Any]) -> dict[str, Any]:
    """render_variants and its floor on one source per size, the sizes interleaved in
    each round (so that other work on the machine is spread over all of them)."""
    import gc

    _import_everything()
    names = ["ours", "floor_decode", "floor_encode", "floor_resample"]
    sets: list[Contenders] = []
    points: list[dict[str, Any]] = []
    for i, size in enumerate(spec["sizes"]):
        data = _photo(100 + i, 1, (int(size[0]), int(size[1])))
        contenders = Contenders([data], SWEEP_FORMAT)
        contenders.prepare_floor()
        decoded = contenders.decoded_size_of_ours(0)
        if decoded != contenders.decoded[0].size:
            raise RuntimeError(f"render_variants decoded a {size} source at {decoded}, the "
                               f"draft-scale decode is {contenders.decoded[0].size}")
        for name in names:  # warm-up
            getattr(contenders, name)(0)
        sets.append(contenders)
        points.append({"size": list(size), "bytes": len(data), "decoded": list(decoded),
                       **{name: [] for name in names}})
        print(f"thumbnails child: sweep source {size[0]}x{size[1]}, {len(data) / MB:.1f} MB",
              file=sys.stderr, flush=True)
    gc.disable()
    for _ in range(int(spec["rounds"])):
        for contenders, point in zip(sets, points, strict=True):
            for name in names:
                func: Callable[[int], Any] = getattr(contenders, name)
                started = time.perf_counter()
                func(0)
                point[name].append(time.perf_counter() - started)
            gc.collect()
    gc.enable()
    return {"points": points}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_rss(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one pipeline over every source once; the peak it adds to this process."""
    import gc
    import resource

    _import_everything()
    datas = _sources(spec["dir"])
    what = str(spec["what"])
    contenders = Contenders(datas, what.rsplit("-", 1)[-1] if "-" in what else FORMATS[0])
    work: Callable[[int], Any] = {
        "draft": contenders.floor_decode, "full": contenders.full_decode,
    }.get(what) or getattr(contenders, what.split("-", 1)[0])
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        reset = True
    except OSError:
        reset = False
    before = _status_kib("VmRSS") * 1024
    for i in range(len(datas)):
        work(i)  # the result is dropped at once, as a worker would
    peak = (_status_kib("VmHWM") * 1024 if reset
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"what": what, "before": before, "peak": peak, "added": peak - before,
            "hwm_reset": reset}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    MODES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "generate": generate, "time": measure_time, "rss": measure_rss,
        "sweep": measure_sweep}
    print(json.dumps(MODES[sys.argv[1]](json.loads(sys.argv[2]))), flush=True)
