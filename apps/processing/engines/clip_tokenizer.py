"""CLIP's text tokenisation (open_clip's ``tokenize``) over a HF ``tokenizers`` file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from apps.processing.engines.clip_common import ClipModelError

SOT_TOKEN, EOT_TOKEN = "<|startoftext|>", "<|endoftext|>"
PAD_ID = 0  # open_clip's tokenize() pads with zeros after the end-of-text token


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
