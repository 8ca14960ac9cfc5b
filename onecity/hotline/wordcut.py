"""jieba word cutting for the hotline, one tokenizer per purpose.

jieba's module-level functions share one process-wide dictionary, and `add_word` on it changes
how every other user in the process cuts text: the knowledge base teaches it its keywords, the
hot spots their place words, and the classifier's baseline must cut with the plain dictionary.
So each purpose gets its own `jieba.Tokenizer`, created on first use (the dictionary is loaded
from jieba's cache file, once per tokenizer and process) and never shared.
"""

from __future__ import annotations

import logging
import tempfile
import threading

_tokenizers: dict[str, object] = {}
_lock = threading.Lock()


def tokenizer(purpose: str, *, words=()):
    """The jieba tokenizer of `purpose` (e.g. "knowledge", "hotspots"), taught `words` when it
    is first created. Thread-safe; returns the same instance for the same purpose."""
    found = _tokenizers.get(purpose)
    if found is not None:
        return found
    with _lock:
        if purpose not in _tokenizers:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            cut = jieba.Tokenizer()
            if cut.tmp_dir is None:
                cut.tmp_dir = tempfile.gettempdir()  # where jieba caches its prefix dictionary
            cut.initialize()
            for word in words:
                cut.add_word(word)
            _tokenizers[purpose] = cut
        return _tokenizers[purpose]
