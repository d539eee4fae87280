"""The utterance kernel's output layout and its pieces: buffer bounds, shared names, the cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kernels import layout as kl
from kernels import utterance as ku
from server.lexicon import EMOTIONS, load_lexicon
from server.scoring import LABELS, Analyzer, normalise

ROOT = Path(__file__).resolve().parent.parent
GUARD = -0x5A5A5A5A


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(load_lexicon())


@pytest.mark.parametrize(
    "text",
    [
        "微信支付提示失败，APP一打开就闪退。手机黑屏了，重启也没用，我要投诉到消协！！！" * 3,
        "the app keeps crashing and the payment failed. I'll report you!" * 4,
        "你好",
        "",
    ],
)
def test_the_kernel_writes_nothing_past_the_size_it_asks_for(analyzer: Analyzer, text: str):
    kernel = analyzer._kernel
    units = np.frombuffer(normalise(text)[1].encode(ku.UTF16, "surrogatepass"), np.uint16)
    small = np.empty(kl.records_start(len(units)) + 9, dtype=np.int64)
    first = ku._score(units, kernel.table, kernel.floats, 0.0, True, small)
    need = -first[kl.R_END] if first[kl.R_END] < 0 else small.shape[0]
    out = np.full(need + 256, GUARD, dtype=np.int64)
    got = ku._score(units, kernel.table, kernel.floats, 0.0, True, out[:need])
    assert got[kl.R_END] > 0
    assert (out[need:] == GUARD).all()
    roomy = np.empty(need * 4 + 4096, dtype=np.int64)
    want = ku._score(units, kernel.table, kernel.floats, 0.0, True, roomy)
    assert got == want
    start, end = kl.records_start(len(units)), got[kl.R_END]
    floats = got[kl.R_MATCHES] + got[kl.R_TOPICS]
    assert (out[start:end] == roomy[start:end]).all()
    assert (
        out.view(np.float64)[end : end + floats] == roomy.view(np.float64)[end : end + floats]
    ).all()


def test_names_are_the_layouts() -> None:
    assert LABELS == kl.LABELS
    assert set(EMOTIONS) == set(kl.BUCKETS)  # the lexicon's emotion names each have a bucket
    assert ku.PARAMS is kl.PARAMS and ku.R_END == kl.R_END  # the kernel re-exports the layout


def test_a_cached_kernel_recompiles_when_a_piece_it_inlines_changes(tmp_path: Path) -> None:
    """numba/numba#1833: without `depend_on`, the entry would load its stale machine code."""
    pkg = tmp_path / "pieces"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    piece = pkg / "piece.py"
    piece.write_text(
        "from numba import njit\n\n\n"
        '@njit(cache=True, inline="always")\ndef value():\n    return 1\n'
    )
    (pkg / "entry.py").write_text(
        textwrap.dedent(
            """
            from numba import njit

            from kernels._cache import depend_on
            from pieces import piece
            from pieces.piece import value


            @njit(cache=True)
            def entry():
                return value()


            depend_on(entry, piece)
            """
        )
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    run = [sys.executable, "-c", "from pieces.entry import entry; print(entry())"]
    assert subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout == "1\n"
    piece.write_text(piece.read_text().replace("return 1", "return 2"))
    assert subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout == "2\n"


def test_every_cached_kernel_is_stamped_with_the_modules_it_builds_from() -> None:
    """`depend_on` on each on-disk cached kernel that inlines or freezes another module."""
    from kernels import automaton, bag, utterance

    for kernel in (utterance._score, bag._bag, automaton._build_trie, automaton._link):
        stamp = kernel._cache._cache_file._source_stamp
        assert isinstance(stamp, tuple) and isinstance(stamp[1], str) and len(stamp[1]) == 64
