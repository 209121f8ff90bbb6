"""Settings of the processing app: ``settings.PROCESSING`` overrides these defaults."""

from apps.core.conf import AppSettings

DEFAULTS = {
    # A file in an in-progress state for longer than this (seconds) is re-queued by beat.
    "STUCK_AFTER": 15 * 60,
    # Retries of a task that failed on a transient error, with exponential backoff.
    "MAX_RETRIES": 8,
    "RETRY_BACKOFF_MAX": 600,
    # Steps run for a file when its app registered none.
    "DEFAULT_STEPS": ("probe", "sanitize", "metadata", "variants", "embed"),
    # Days a soft-deleted row stays in a recycle bin when its app does not say.
    "DEFAULT_RETENTION_DAYS": 30,
    # Socket timeout for clamd, seconds.
    "CLAMD_TIMEOUT": 60,
    # Files larger than this are not sent to the scanner: they end in ERROR ("too large
    # to scan") and are served only after an admin releases them. Keep clamd's
    # StreamMaxLength at least this large.
    "SCAN_MAX_BYTES": 1024 * 1024 * 1024,
    # Image formats Pillow may open (its format names); TIFF is off by default, and
    # EPS/PS/PDF/FITS are never opened through Pillow.
    "IMAGE_FORMATS": ("JPEG", "PNG", "GIF", "WEBP", "AVIF"),
    # Refused before decoding: still images over this many pixels, animations over
    # this many pixels x frames.
    "MAX_IMAGE_PIXELS": 100_000_000,
    "MAX_ANIMATION_PIXELS": 400_000_000,
    # Variants every image gets (engines/variant_specs.py says what a spec may hold).
    # Changing a definition changes its hash: `manage.py regenerate_variants --spec NAME`
    # then rebuilds just that spec's stale variants.
    "VARIANT_SPECS": {
        "thumb-256": {"kind": "thumbnail", "width": 256, "height": 256, "fit": "contain",
                      "formats": {"webp": {"quality": 80}, "avif": {"quality": 60}}},
        "preview-1024": {"kind": "preview", "width": 1024, "height": 1024, "fit": "contain",
                         "formats": {"webp": {"quality": 82}}, "animated": True},
    },
    # An animated preview keeps at most this many frames, and frames x pixels under this.
    "ANIMATED_MAX_FRAMES": 100,
    "ANIMATED_MAX_PIXELS": 16_000_000,
    # The poster of a video: a frame (at meta["poster_ms"], else the first non-black one
    # within POSTER_SEARCH_SECONDS) stored as the "poster" variant; the VARIANT_SPECS are
    # then rendered from it too.
    "POSTER_SPEC": {"kind": "poster", "width": 1920, "height": 1920, "fit": "contain",
                    "formats": {"jpeg": {"quality": 85}}},
    # FFmpeg demuxer names accepted ("mov" covers mp4/m4a/3gp); playlists (hls, concat)
    # and pattern demuxers are never opened.
    "VIDEO_FORMATS": ("mov", "matroska", "webm", "avi", "mpegts", "ogg"),
    "MAX_VIDEO_PIXELS": 7680 * 4320,
    "MAX_VIDEO_DURATION": 6 * 3600,
    "POSTER_SEARCH_SECONDS": 3.0,
    "POSTER_MAX_FRAMES": 600,
    # SVGs are sanitised (never rasterised); larger or deeper ones are refused.
    "SVG_MAX_BYTES": 4 * 1024 * 1024,
    "SVG_MAX_DEPTH": 128,
    # SSRF-safe URL fetcher (link previews, URL imports): docs/link-previews.md
    "FETCH_TIMEOUT": 5.0,  # seconds for the whole fetch, all hops
    "FETCH_MAX_BYTES": 2 * 1024 * 1024,  # body cap, counted after decompression
    "FETCH_MAX_REDIRECTS": 3,
    "FETCH_ALLOWED_NETWORKS": (),  # CIDRs reachable though not public (any port)
    "FETCH_ALLOWED_PORTS": (80, 443),  # ports for public addresses; None: any
    "FETCH_USER_AGENT": "media-platform-fetcher/0.1",
    # CLIP embeddings (docs/clip.md); the model folder is CLIP_MODEL_DIR (environment).
    "CLIP_BACKEND": "onnx",  # onnx | open_clip (needs torch + torchvision + open-clip-torch)
    "CLIP_BATCH_SIZE": 16,
    "CLIP_THREADS": 0,  # ONNX Runtime intra-op threads; 0: one per core
    "CLIP_QUANTIZED": False,  # INT8 dynamic quantisation (~3x faster on CPU)
    "CLIP_CACHE_DIR": "",  # where the quantised model is kept; empty: under VAR_DIR
    "CLIP_MODEL_NAME": "",  # recorded with each embedding; empty: the folder's name
    "CLIP_JPEG_DRAFT": True,  # decode JPEGs at the smallest DCT scale >= 224 px
    "CLIP_DECODE_THREADS": 2,  # decode between runs on this many threads at once
    "CLIP_WRITE_ROWS": 32,  # embeddings per upsert (at least one batch)
    "CLIP_ENQUEUE_CHUNK": 64,  # ids per processing.embed message
    "CLIP_OPEN_CLIP_ARCH": "ViT-B-32",
    "CLIP_OPEN_CLIP_PRETRAINED": "openai",
    "CLIP_DEVICE": "",  # open_clip: cuda | cpu; empty: cuda when available
    # Served originals lose GPS position and device serial numbers (the camera, lens and
    # date taken stay in the database as extracted EXIF).
    "STRIP_PRIVATE_METADATA": True,
}

processing_settings = AppSettings("PROCESSING", DEFAULTS)
