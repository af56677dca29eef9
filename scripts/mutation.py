"""Mutation testing of kaiming's core modules with mutmut (run by scripts/mutation.sh; not in CI).

For each group — one or more modules and the fast tests that cover them — the repository's
``src``, ``tests`` and ``pyproject.toml`` are copied to a temporary directory, a ``[tool.mutmut]``
section naming that group is appended to the copy's pyproject, ``mutmut run`` mutates the modules
and runs the covering tests against every mutant, and ``mutmut results`` is read back. One line
per group is printed (mutants, killed, timed out, survived, without tests, score) and the
surviving mutants' diffs are written to ``mutation-report/<group>.txt``.

``--keep DIR --fresh GROUP`` runs each survivor of a kept copy again in a fresh pytest process
with the mutant active from the first import (``MUTANT_UNDER_TEST`` set in its environment).
mutmut itself activates a mutant in a worker forked after the modules were imported, so a mutant
in code that runs at import time (module-level tables, constants) never runs there and is
reported as a survivor. In a fresh run, a test failure or an error collecting the tests (the
module cannot be imported) is a detection.

A mutant counts as detected when a test fails or times out on it. The score is detected /
(mutants - judged equivalent); the equivalent survivors are listed, with the reason, in
docs/testing.md (``EQUIVALENT`` below holds their names so the score can subtract them).
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "mutation-report"

GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "_sampling": (["src/kaiming/_sampling.py"], ["tests/test_reference_paths.py"]),
    "gains": (["src/kaiming/gains.py"], ["tests/test_gains.py", "tests/test_gains_exact.py"]),
    "fans": (["src/kaiming/fans.py"], ["tests/test_fans.py"]),
    "_activations": (["src/kaiming/_activations.py"], ["tests/test_activation_reference.py"]),
    "initializers": (
        ["src/kaiming/initializers.py"],
        [
            "tests/test_variance_scaling.py",
            "tests/test_reference_paths.py",
            "tests/test_seed_contract.py",
            "tests/test_stream_initializers.py",
        ],
    ),
    "structured": (
        ["src/kaiming/structured.py"],
        ["tests/test_structured.py", "tests/test_stream_initializers.py"],
    ),
    "stream": (
        [
            "src/kaiming/stream/_index.py",
            "src/kaiming/stream/_keys.py",
            "src/kaiming/stream/_memory.py",
            "src/kaiming/stream/_philox.py",
            "src/kaiming/stream/_public.py",
            "src/kaiming/stream/_sample.py",
            "src/kaiming/stream/_transforms.py",
            "src/kaiming/stream/_numpy_path.py",
        ],
        [
            "tests/test_stream_known_answers.py",
            "tests/test_stream_generator.py",
            "tests/test_stream_statistics.py",
            "tests/test_stream_sharding.py",
            "tests/test_stream_contract.py",
            "tests/test_stream_initializers.py",
            "tests/test_stream_index.py",
            "tests/test_stream_memory.py",
        ],
    ),
    "theory": (["src/kaiming/propagation/theory.py"], ["tests/test_theory.py"]),
    "probe": (["src/kaiming/propagation/simulate.py"], ["tests/test_probe.py", "tests/test_correlation.py"]),
    "torch_tensors": (
        ["src/kaiming/torch/_tensors.py"],
        [
            "tests/test_torch_tensors.py",
            "tests/test_reference_paths.py",
            "tests/test_torch_keyed.py",
            "tests/test_fuzz_torch.py",
            "tests/test_torch_tensor_exact.py",
        ],
    ),
    "torch_counter": (
        ["src/kaiming/torch/_counter.py"],
        [
            "tests/test_torch_counter.py",
            "tests/test_reference_paths.py",
            "tests/test_torch_model_init.py",
            "tests/test_torch_device_stream.py",
        ],
    ),
    "torch_model_init": (
        ["src/kaiming/torch/model_init.py"],
        ["tests/test_torch_model_init.py", "tests/test_reference_paths.py"],
    ),
}

# Functions that run when their module is imported (they build module-level tables and
# constants): mutmut activates a mutant in a worker forked after the import, so it would never run
# these mutants and would report each as a survivor. A first run gives them to the fresh-process
# runner instead (``_fresh_verdicts``), the mutant active from the first import.
IMPORT_TIME: dict[str, list[str]] = {
    "stream": [
        "src/kaiming/stream/_transforms.py:_make",
        "src/kaiming/stream/_transforms.py:constants",
        "src/kaiming/stream/_transforms.py:_ln2_split",
        "src/kaiming/stream/_transforms.py:_taylor",
    ],
    "torch_model_init": ["src/kaiming/torch/model_init.py:_family"],
}

# Groups whose modules numba compiles (the stream's transforms and Philox rounds are inlined into
# its kernels): mutmut's trampolines cannot be compiled, so these run with numba hidden (the
# NumPy reference path; the numba path is held to its bits by the ordinary test run).
WITHOUT_NUMBA = {"stream"}
_HIDE_NUMBA = """

# Added by scripts/mutation.py for this group: numba cannot compile mutmut's trampolines.
import sys as _sys

_sys.modules["numba"] = None  # type: ignore[assignment]
"""

_FANS_OF_LAYOUT = (
    'fans_of(shape, "torch") -> None / "XXtorchXX" / "TORCH": fans_of, an internal helper for validated '
    'layouts, reads every layout but "jax" as torch\'s'
)

# Surviving mutants judged equivalent (the program behaves the same): name -> reason.
EQUIVALENT: dict[str, str] = {
    "kaiming._activations.x__leaky__mutmut_7": "x > 0 -> x >= 0: both branches give 0 at x = 0",
    "kaiming._activations.x__elu__mutmut_7": "x > 0 -> x >= 0: both branches give 0 at x = 0",
    "kaiming._activations.x__elu__mutmut_15": (
        "np.minimum(x, 0) -> np.minimum(x, 1) in the x <= 0 branch: equal there (the minimum only "
        "keeps expm1 from overflowing on the branch np.where discards)"
    ),
    "kaiming._activations.x__elu_d__mutmut_17": "np.minimum(x, 0) -> np.minimum(x, 1): as above, for exp",
    "kaiming.gains.x_calculate_gain__mutmut_30": (
        "abs(value) < 1e150 -> <= 1e150: at exactly +-1e150 torch's sqrt(2 / (1 + a**2)) and "
        "sqrt(2) / hypot(1, a) give the same float (checked)"
    ),
    "kaiming.gains.x_calculate_gain__mutmut_31": "1e150 -> 1e+150: the same literal",
    **{
        f"kaiming.gains.x_calculate_gain__mutmut_{n}": (
            "hypot(1.0, a) -> hypot(a) / hypot(2.0, a) on the branch |a| >= 1e150: 1 or 2 is far "
            "below half an ulp of a there, so every variant is |a| exactly"
        )
        for n in (44, 46)
    },
    **{
        f"kaiming.gains.x_calculate_gain__mutmut_{n}": (
            "isfinite(gain) and gain > 0 -> 'or' / '>= 0': _second_moment_gain returns nan for a "
            "non-finite or non-positive moment and otherwise 1/sqrt(finite positive) > 0, so the "
            "test gives the same answer"
        )
        for n in (60, 62)
    },
    "kaiming.initializers.x__gain_for__mutmut_15": (
        "a == 0 and no nonlinearity: calculate_gain('leaky_relu', 0) is sqrt(2 / 1), the ReLU gain"
    ),
    **{
        f"kaiming.initializers.x__draw__mutmut_{n}": (
            "values.astype(dtype, copy=False) -> copy=None/True/omitted: values is a fresh temporary"
        )
        for n in (45, 47, 48)
    },
    **{
        f"kaiming.initializers.x__truncated_standard_normal__mutmut_{n}": (
            "|z| > 2 -> |z| >= 2 for the redraw: differs only for a draw of exactly +-2.0 (about "
            "1e-7 per float32 value, never seen in the tests); listed, not proven equivalent"
        )
        for n in (8, 19)
    },
    "kaiming.initializers.x_he_init__mutmut_30": "np.dtype(np.float64) -> np.dtype(None): both are float64",
    "kaiming.structured.x_constant__mutmut_17": "random=False -> random=None: both falsy, same branch",
    **{
        f"kaiming.structured.{name}": (
            "astype(out_dtype, copy=False) -> copy=None/True/omitted: the array cast is a fresh "
            "temporary, so whether the cast copies it is not observable"
        )
        for name in (
            *(f"x_sparse__mutmut_{n}" for n in (135, 137, 138)),
            *(f"x_orthogonal__mutmut_{n}" for n in (73, 75, 77)),
        )
    },
    "kaiming.structured.x_sparse__mutmut_69": "np.dtype(np.float64) -> np.dtype(None): both are float64",
    **{
        f"kaiming.structured.x_sparse__mutmut_{n}": (
            "the mask's uniforms drawn with dtype=None/omitted: sample's default dtype is float64"
        )
        for n in (89, 93)
    },
    **{
        f"kaiming.structured.x_sparse__mutmut_{n}": (
            'argsort(kind="stable") -> kind=None/omitted/"STABLE": the kinds differ only in the order '
            "of equal keys, and float64 stream uniforms of a column are distinct (a tie has "
            "probability about rows**2 / 2**54); NumPy reads the kind case-insensitively"
        )
        for n in (102, 105, 108)
    },
    "kaiming.structured.x__orthogonal_matrix__mutmut_21": (
        "q *= sign(diag R) -> q /= sign(diag R): the signs are +-1"
    ),
    "kaiming.structured.x__orthogonal_matrix__mutmut_29": (
        "diag(R) < 0 -> <= 0: a 0 on R's diagonal has probability 0 for a Gaussian matrix"
    ),
    "kaiming.structured.x__source__mutmut_1": (
        "check_keyed(...) and isinstance(key, StreamKey) -> or: check_keyed is true exactly when a "
        "key is given and refuses any key that is not a StreamKey, so the two tests agree"
    ),
    "kaiming.structured.x__part__mutmut_1": (
        "full[index] taken even when index is None: select(full, None) is the whole array"
    ),
    **{
        f"kaiming.propagation.theory.x__numeric_moments__mutmut_{n}": (
            "E[z^2 phi'^2] guard q > 0 -> q >= 0 / always: at q = 0 every quadrature node is 0, so "
            "the weighted sum is exactly 0 either way"
        )
        for n in (39, 43)
    },
    **{
        f"kaiming.propagation.theory.x__propagate__mutmut_{n}": (
            "zip(fans, variances, strict=True) -> strict=None/False/omitted: both lists are built "
            "from the same widths, so their lengths are always equal"
        )
        for n in (22, 25, 26)
    },
    **{
        f"kaiming.propagation.simulate.xǁ_Runǁ__init____mutmut_{n}": (
            "the slopes (1.0, 1.0) used when the network is not tracked as smooth: they are only "
            "read for a linearized layer, which only smooth tracking makes"
        )
        for n in (23, 24)
    },
    "kaiming.propagation.simulate.xǁ_Runǁ__init____mutmut_3": (
        "self.x = None -> '': forward() sets x before anything reads it"
    ),
    "kaiming.propagation.simulate.x__batch_norm___mutmut_20": (
        'einsum "ij,ij->j" -> "IJ,IJ->J": the same contraction with upper-case labels'
    ),
    "kaiming.propagation.simulate.x__batch_norm_backward__mutmut_15": (
        'einsum "ij,ij->j" -> "IJ,IJ->J": the same contraction with upper-case labels'
    ),
    "kaiming.torch._counter.x_counter_fill___mutmut_4": (
        "index is not None -> index is None before numel() == 0: an empty plain tensor returns early "
        "instead of being written with nothing, an empty shard is written with nothing instead of "
        "returning early; the tensors end the same (the DTensor test has an empty shard)"
    ),
    **{
        f"kaiming.torch.model_init.{name}": _FANS_OF_LAYOUT
        for name in (
            "x__torch_fan_in__mutmut_6",
            "x__torch_fan_in__mutmut_9",
            "x__torch_fan_in__mutmut_10",
            "x__layer_fans__mutmut_19",
            "x__layer_fans__mutmut_22",
            "x__layer_fans__mutmut_23",
        )
    },
    **{
        f"kaiming.torch.model_init.x__auto__mutmut_{n}": (
            "auto_rule(None, 1.0) -> auto_rule(None, None / 2.0): with no activation auto_rule "
            "returns LeCun with gain 1 whatever gain it is given"
        )
        for n in (2, 5)
    },
    **{
        f"kaiming.torch.model_init.x__weight_rule__mutmut_{n}": (
            'the base row\'s distribution "normal" -> None / "XXnormalXX" / "NORMAL": every branch '
            "(torch_default, orthogonal_rule, variance_rule) sets the distribution again"
        )
        for n in (6, 15, 16)
    },
    "kaiming.torch.model_init.x__rule_for__mutmut_97": (
        'getattr(module, "padding_idx", None) -> without the default: the branch is taken only for '
        "nn.Embedding and nn.EmbeddingBag, which both always have padding_idx"
    ),
    "kaiming.torch.model_init.x__owners__mutmut_2": (
        "named_parameters(recurse=False) -> recurse=None: torch tests the flag for truth, None is falsy"
    ),
    "kaiming.torch.model_init.x_init_model__mutmut_66": (
        "named_parameters(remove_duplicate=False) -> None: torch tests the flag for truth, None is falsy"
    ),
    "kaiming.torch._tensors.x_fill_orthogonal__mutmut_16": (
        "normal_(0.0, 1.0) -> normal_(0.0): 1.0 is the default std"
    ),
    "kaiming.torch._tensors.x_fill_orthogonal__mutmut_25": (
        "the Gaussian matrix drawn with std 2 instead of 1: scaling by a power of two is exact, and "
        "Q of QR(2A) is Q of QR(A) bit for bit (the exact parity tests with torch pass on it)"
    ),
    "kaiming.torch._tensors.x_fill_orthogonal__mutmut_31": (
        "q * sign(diag R) -> q / sign(diag R): the signs are +-1 (a 0 on R's diagonal has probability "
        "0 for a Gaussian matrix)"
    ),
    "kaiming.torch._tensors.x_fill_orthogonal__mutmut_36": (
        "torch.diagonal(r, 0) -> torch.diagonal(r): 0 is the default"
    ),
    **{
        f"kaiming.torch._tensors.x_fill_array__mutmut_{n}": (
            "the values copied without the work dtype: a float16 tensor's are float16 already (rounded "
            "by NumPy), float64 -> float32 is one rounding either way, and torch converts float64 to "
            "bfloat16 through float32 itself (checked: 1 + 2**-11 + 2**-40 gives 1.0 both ways)"
        )
        for n in (10, 13)
    },
    **{f"kaiming.torch._tensors.x__fan__mutmut_{n}": _FANS_OF_LAYOUT for n in (3, 7, 8)},
    **{
        f"kaiming.torch._tensors.{name}": (
            "may_overflow(tensor, 0.0, std) -> (tensor, 1.0, std): moves by 1 the point (64 std) where a "
            "normal fill goes through the guarded copy, which writes the same values when they are finite"
        )
        for name in ("x__fill_checked__mutmut_31", "x_sparse___mutmut_61")
    },
    **{
        f"kaiming.torch._tensors.{name}": (
            "check_magnitude(..., random=False) -> random=None: the flag is only tested for truth"
        )
        for name in (
            "x_uniform___mutmut_38",
            "x_constant___mutmut_13",
            "x_normal___mutmut_33",
            "x_trunc_normal___mutmut_76",
            "x_eye___mutmut_25",
            "x_dirac___mutmut_37",
        )
    },
    **{
        f"kaiming.torch._tensors.x__check_tensor__mutmut_{n}": (
            "zip(stride(), shape, strict=True) -> strict=None/False/omitted: both have one entry per dim"
        )
        for n in (17, 20, 21)
    },
    "kaiming.torch._tensors.x__check_tensor__mutmut_23": (
        "numel() > 1 -> numel() >= 1: a one-element tensor has no dim longer than 1, so the stride test "
        "that follows is false either way"
    ),
    "kaiming.torch._tensors.x__empty__mutmut_7": (
        "_empty returns False for a zero-element tensor (still warning): _drawn and trunc_normal_ also "
        "test target.numel() == 0, and sparse_ then fills and scatters nothing"
    ),
    **{
        f"kaiming.torch._tensors.{name}": (
            "_empty(tensor) or target.numel() == 0 -> and: differs only for a DTensor whose local shard is "
            "empty, which is then written with nothing instead of returned early"
        )
        for name in ("x__drawn__mutmut_10", "x_trunc_normal___mutmut_62")
    },
    "kaiming.propagation.theory.x__propagate__mutmut_42": (
        "raw = 0.0 -> 1.0 without batch norm: raw is only read on the batch-norm path"
    ),
    "kaiming.propagation.simulate.xǁ_Runǁforward__mutmut_6": (
        "the input drawn with shared=None instead of False: the draws test the flag for truth"
    ),
    **dict.fromkeys(
        (f"kaiming.propagation.simulate.xǁ_Runǁforward__mutmut_{n}" for n in (76, 79, 80)),
        (
            "zip(fans, weights, strict=True) -> strict=None/False/omitted: layer_weights yields one "
            "weight per fan"
        ),
    ),
    **dict.fromkeys(
        (f"kaiming.propagation.simulate.xǁ_Runǁ_track__mutmut_{n}" for n in (23, 32)),
        (
            "true_std < TINY -> <= TINY, or max|z| < TINY -> <= TINY: at equality max|z| >= std = TINY "
            "(or max|z| = TINY) and the layer is not linearized either way"
        ),
    ),
    **dict.fromkeys(
        (f"kaiming.propagation.simulate.xǁ_Runǁ_track__mutmut_{n}" for n in (36, 39, 40)),
        (
            "recenter_(z, std, always=True) -> always=None/False/omitted when a layer is linearized: "
            "the working values are then rescaled only once they leave [2**-40, 2**40]; a power-of-two "
            "rescaling is exact and k records it, so every reported value is the same"
        ),
    ),
    **dict.fromkeys(
        (f"kaiming.propagation.simulate.x_probe__mutmut_{n}" for n in (233, 236, 237)),
        ("zip(layers, corr, strict=True) -> strict=None/False/omitted: both have one entry per layer"),
    ),
    "kaiming.propagation.simulate.xǁ_Runǁ_activate__mutmut_23": (
        "the linear limit's slope chosen by z >= 0 instead of z > 0: at z = 0 both give 0 * slope = 0 "
        "(and -0.0 either way for z = -0.0)"
    ),
    # stream
    "kaiming.stream._sample.x_sample__mutmut_38": "np.dtype(np.float64) -> np.dtype(None): both float64",
    **dict.fromkeys(
        (f"kaiming.stream._sample.x_sample__mutmut_{n}" for n in (200, 208)),
        ("flat.astype(out_dtype, copy=False) -> copy=None: NumPy reads None as False"),
    ),
    "kaiming.stream._sample.x_sample__mutmut_182": (
        'distribution == "normal" and overflow_possible(...) -> or: the finite check then also runs '
        "where nothing can overflow (uniform and truncated values are bounded by check_representable, "
        "normal ones by overflow_possible) and passes"
    ),
    "kaiming.stream._index.x_select__mutmut_15": (
        "np.array(x, copy=True) -> copy omitted: np.array copies by default"
    ),
    "kaiming.stream._public.x_philox4x32__mutmut_20": (
        'dtype.kind not in "iu" -> "XXiuXX": a kind is one character and X is no NumPy kind'
    ),
    **dict.fromkeys(
        (f"kaiming.stream._keys.x__name_bytes__mutmut_{n}" for n in (6, 16)),
        ('encode("utf-8"/"ascii") -> "UTF-8"/"ASCII": Python\'s codec names ignore case'),
    ),
    **{
        f"kaiming.stream.{name}": (
            "dtype=np.int64 -> None/omitted in np.arange/np.full of Python ints: NumPy's default "
            "integer, int64 on every 64-bit platform NumPy 2 supports"
        )
        for name in (
            *(f"_numpy_path.x_fill__mutmut_{n}" for n in (39, 41, 85, 87)),
            *(f"_index.xǁSelectionǁpieces__mutmut_{n}" for n in (5, 9, 27, 29)),
            *(f"_index.x_plan__mutmut_{n}" for n in (91, 94, 103, 105)),
        )
    },
    "kaiming.stream._numpy_path.x_fill__mutmut_67": (
        "np.stack(1-D arrays, axis=-1) -> axis=+1: for 1-D inputs the new axis is 1 either way"
    ),
    **{
        f"kaiming.stream._index.{name}": (
            "zip(_entries(len(shape), index), shape, strict=True) -> strict=None/False/omitted: "
            "_entries returns exactly one entry per dimension"
        )
        for name in (
            *(f"x_plan__mutmut_{n}" for n in (13, 16, 21)),
            *(f"x_check_index__mutmut_{n}" for n in (13, 16, 21)),
        )
    },
    **dict.fromkeys(
        (f"kaiming.stream._index.x_plan__mutmut_{n}" for n in (48, 49)),
        (
            "while j >= 0 -> j > 0 / j >= 1 when trimming whole trailing axes: for the whole tensor "
            "the loop stops at axis 0, whose full slice the general branch turns into the same one run"
        ),
    ),
    "kaiming.stream._transforms.x__taylor__mutmut_6": (
        "(-1.0) ** (j + 1) -> (-1.0) ** (j - 1): the same sign for every j"
    ),
    **{
        f"kaiming.stream._transforms.{name}": (
            "the truncated normal's clamp at -2 (lo_bound) changed or dropped: it is a guard against "
            "rounding, and the smallest reachable value is already -2.0 in float64 and -1.9999994 in "
            "float32 (the inverse CDF at the lowest uniform), so it never changes a value"
        )
        for name in (
            "x_constants__mutmut_167",
            "x_constants__mutmut_169",
            "x__make__mutmut_240",
            "x__make__mutmut_246",
        )
    },
}

# A test process killed by a signal on a mutant ("segfault": e.g. the OOM killer, when a mutant of
# Selection.pieces cuts every run into one piece per value) did not pass: a detection.
DETECTED = ("killed", "timeout", "segfault")

# Survivors detected outside mutmut by tests it has to leave out (PYTEST_ARGS): each mutant's diff
# (``mutmut show``) applied with ``patch`` to a plain copy of the repository, then
# ``pytest -m caller_location`` on the group's tests, which failed. Counted as detected.
BY_HAND: dict[str, str] = {
    f"kaiming.torch._tensors.{name}": (
        "the zero-element or trunc_normal_ warning points away from the caller"
    )
    for name in (
        *(f"x__caller_level__mutmut_{n}" for n in (3, 5, 6, 7, 9, 10, 11, 12)),
        "x__empty__mutmut_6",
        "x_trunc_normal___mutmut_57",
        "x_trunc_normal___mutmut_61",
    )
} | {
    # numba is hidden in the stream group's runs (WITHOUT_NUMBA); with numba installed, as in the
    # ordinary test run, test_the_kernels_module_is_imported_once_and_kept fails on each
    f"kaiming.stream._sample.x__numba_module__mutmut_{n}": "the numba kernels module is not imported"
    for n in (2, 4, 5)
}

# Tests that assert where a warning points are left out: mutmut's trampolines are frames between
# the caller and the library, so the location differs under mutmut on unmutated code too.
PYTEST_ARGS = ["-p", "no:cacheprovider", "-q", "--no-header", "-p", "no:xdist", "-m", "not caller_location"]


def _section(modules: list[str], tests: list[str]) -> str:
    quoted = lambda items: "[" + ", ".join(f'"{i}"' for i in items) + "]"  # noqa: E731
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {quoted(modules)}\n"
        f"pytest_add_cli_args = {quoted(PYTEST_ARGS)}\n"
        f"pytest_add_cli_args_test_selection = {quoted(tests)}\n"
        # torch is not fork-safe: workers forked from the process that ran the tests can hang on
        # a lock held by one of its threads; a fork server that only imports avoids that.
        'process_isolation = "forkserver"\n'
    )


def _prepare(name: str, work: Path, modules: list[str], tests: list[str]) -> None:
    """Copy src, tests and a pyproject with this group's [tool.mutmut] section into work."""
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    _copy_tests(name, work)
    _write_pyproject(work, modules, tests)


def _copy_tests(name: str, work: Path) -> None:
    if (work / "tests").exists():
        shutil.rmtree(work / "tests")
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    if name in WITHOUT_NUMBA:
        with open(work / "tests" / "conftest.py", "a") as conftest:
            conftest.write(_HIDE_NUMBA)


def _write_pyproject(work: Path, modules: list[str], tests: list[str]) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    pyproject = re.sub(r'addopts = ".*"', 'addopts = "-ra --import-mode=importlib"', pyproject)
    (work / "pyproject.toml").write_text(pyproject + _section(modules, tests))


def _results(work: Path, mutmut: str, env: dict[str, str]) -> dict[str, list[str]]:
    out = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True, check=False
    ).stdout
    statuses: dict[str, list[str]] = collections.defaultdict(list)
    for line in out.splitlines():
        match = re.match(r"\s*(\S+): (.+)$", line)
        if match:
            statuses[match.group(2).strip()].append(match.group(1))
    return statuses


def run_group(
    name: str,
    modules: list[str],
    tests: list[str],
    mutmut: str,
    keep: Path | None,
    rerun: bool,
    fresh: bool = False,
    only: str | None = None,
) -> dict[str, list[str]]:
    """Run mutmut on one group in a scratch copy; return {status: [mutant names]}.

    With ``keep``, the copy is ``keep/<group>`` and stays after the run, with its verdicts in
    ``verdicts.json``. With ``rerun`` as well, that copy gets the repository's current tests and
    only its surviving mutants run again (the mutated modules must be unchanged since the copy
    was made: the mutants were generated from them). With ``fresh`` instead, each survivor of
    that copy runs in a fresh pytest process (``_fresh``).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if keep is None:
        with tempfile.TemporaryDirectory(prefix=f"kaiming-mutation-{name}-") as tmp:
            return _first_run(name, Path(tmp), modules, tests, mutmut, env)
    if rerun:
        return _rerun(name, keep / name, modules, tests, mutmut, env)
    if fresh:
        return _fresh(name, keep / name, modules, tests, mutmut, env, only)
    return _first_run(name, keep / name, modules, tests, mutmut, env)


def _first_run(
    name: str, work: Path, modules: list[str], tests: list[str], mutmut: str, env: dict[str, str]
) -> dict[str, list[str]]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    _prepare(name, work, modules, tests)
    import_time = IMPORT_TIME.get(name, [])
    # mutmut runs the mutants of the other functions; those of import-time functions would all
    # "survive" there, so they go to fresh processes instead
    selection = _mutmut_patterns(modules, import_time) if import_time else []
    _mutmut_run(mutmut, selection, work, env)
    statuses = _results(work, mutmut, env)
    if import_time:
        unrun = statuses.get("not checked", [])
        strays = [m for m in unrun if not _is_import_time(name, m)]
        if strays:
            raise SystemExit(f"{len(strays)} mutants matched no selection, e.g. {strays[:3]}")
        after = _fresh_verdicts(work / "mutants", tests, env, unrun, None)
        statuses = _merge_verdicts(statuses, after, ("not checked",))
    return _record(name, work, mutmut, env, statuses)


def _mutmut_run(mutmut: str, names: list[str], work: Path, env: dict[str, str]) -> None:
    """``mutmut run [names]`` in ``work``; stop with its output if it fails (for example when a
    test fails on the unmutated code, which leaves every mutant unrun)."""
    done = subprocess.run(
        [mutmut, "run", *names], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = re.sub(r"[^\n]*\r", "", done.stdout)[-3000:]  # the spinner's redrawn lines dropped
        raise SystemExit(
            f"mutmut run failed in {work} (exit {done.returncode}):\n{tail}\n{done.stderr[-2000:]}"
        )


def _dotted(module: str) -> str:
    """``src/kaiming/stream/_sample.py`` -> ``kaiming.stream._sample``."""
    return module.removeprefix("src/").removesuffix(".py").replace("/", ".")


def _mangled(entry: str) -> str:
    """``module.py:function`` -> mutmut's name of that function (its mutants add ``__mutmut_N``)."""
    module, _, function = entry.partition(":")
    return f"{_dotted(module)}.x_{function}"


def _is_import_time(group: str, mutant: str) -> bool:
    """Whether ``mutant`` is in one of ``group``'s ``IMPORT_TIME`` functions."""
    return mutant.startswith(tuple(_mangled(entry) + "__mutmut_" for entry in IMPORT_TIME.get(group, [])))


def _mutmut_patterns(modules: list[str], excluded: list[str]) -> list[str]:
    """mutmut name patterns for the mutants of every function and method in ``modules`` except
    the ``excluded`` functions (``module.py:function``)."""
    skip = {_mangled(entry) for entry in excluded}
    patterns = []
    for module in modules:
        tree = ast.parse((ROOT / module).read_text())
        names = [
            f"x_{node.name}" for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            names += [f"xǁ{cls.name}ǁ{item.name}" for item in cls.body if isinstance(item, ast.FunctionDef)]
        patterns += [
            f"{_dotted(module)}.{n}__mutmut_*" for n in names if f"{_dotted(module)}.{n}" not in skip
        ]
    return patterns


def _rerun(
    name: str, work: Path, modules: list[str], tests: list[str], mutmut: str, env: dict[str, str]
) -> dict[str, list[str]]:
    verdicts = _kept_verdicts(name, work, modules)
    _copy_tests(name, work)
    _write_pyproject(work, modules, tests)  # the group's current test files
    before: dict[str, list[str]] = json.loads(verdicts.read_text())
    # a mutant no test reached may be reached by a test added since
    undetected = before.get("survived", []) + before.get("no tests", [])
    survivors = [m for m in undetected if not _is_import_time(name, m)]
    import_time = [m for m in undetected if _is_import_time(name, m)]
    # which tests cover which function is collected afresh: a test that kept its name but now
    # reaches the module in-process would otherwise never be run against its mutants
    (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    if survivors:
        _mutmut_run(mutmut, survivors, work, env)
    # A changed test list makes mutmut reset every verdict; a detection stays one (tests were only
    # added), so the others keep their earlier status.
    after = {m: status for status, names in _results(work, mutmut, env).items() for m in names}
    if import_time:  # mutmut cannot run them (see IMPORT_TIME)
        _copy_tests(name, work / "mutants")
        after.update(_fresh_verdicts(work / "mutants", tests, env, import_time, None))
    return _record(name, work, mutmut, env, _merge_verdicts(before, after, ("survived", "no tests")))


def _merge_verdicts(
    before: dict[str, list[str]], after: dict[str, str], replaced: tuple[str, ...]
) -> dict[str, list[str]]:
    """``before``'s verdicts with those of a status in ``replaced`` taken from ``after`` where it
    has them (a detection stays one: tests were only added)."""
    merged: dict[str, list[str]] = collections.defaultdict(list)
    for status, names in before.items():
        for mutant in names:
            merged[after.get(mutant, status) if status in replaced else status].append(mutant)
    return merged


def _kept_verdicts(name: str, work: Path, modules: list[str]) -> Path:
    """The verdicts file of a kept copy whose mutated modules are still the repository's."""
    verdicts = work / "verdicts.json"
    if not verdicts.exists():
        raise SystemExit(f"no kept run of {name} in {work}: run it with --keep first")
    for relative in modules:
        if (work / relative).read_bytes() != (ROOT / relative).read_bytes():
            raise SystemExit(f"{relative} changed since {work} was made; run it again with --keep only")
    return verdicts


def _refresh_unmutated(mutants: Path, modules: list[str]) -> None:
    """Bring the mutated tree's other modules up to the repository's (the tests may rely on fixes
    made since the copy); the mutated modules themselves are checked unchanged."""
    for source in (ROOT / "src").rglob("*.py"):
        relative = source.relative_to(ROOT)
        if str(relative) not in modules:
            target = mutants / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _fresh(
    name: str,
    work: Path,
    modules: list[str],
    tests: list[str],
    mutmut: str,
    env: dict[str, str],
    only: str | None = None,
) -> dict[str, list[str]]:
    """Run each survivor of the kept copy in a fresh pytest process (``_fresh_verdicts``).
    ``only`` (a pytest ``-k`` expression) runs just the tests added since: a survivor has passed
    the others already."""
    verdicts = _kept_verdicts(name, work, modules)
    mutants = work / "mutants"
    _copy_tests(name, mutants)  # the tests run from the mutated tree
    _refresh_unmutated(mutants, modules)
    before: dict[str, list[str]] = json.loads(verdicts.read_text())
    after = _fresh_verdicts(mutants, tests, env, before.get("survived", []), only)
    return _record(name, work, mutmut, env, _merge_verdicts(before, after, ("survived",)))


def _fresh_verdicts(
    mutants: Path, tests: list[str], env: dict[str, str], names: list[str], only: str | None
) -> dict[str, str]:
    """Run the tests in ``mutants`` (mutmut's mutated tree) once per mutant in ``names``, each in
    a fresh pytest process with the mutant active from the first import; two at a time. The time
    limit is mutmut's default rule, 15 x (the unmutated run's time + 1 s). Exit code 1 (a test
    failed) or 2 (the tests could not be collected) is a detection, 0 a survival; any other code
    stops the run (pytest itself went wrong)."""
    command = [sys.executable, "-m", "pytest", "-x", *PYTEST_ARGS, *tests]
    if only is not None:
        command += ["-k", only]
    start = time.perf_counter()
    baseline = subprocess.run(command, cwd=mutants, env=env, capture_output=True, text=True, check=False)
    if baseline.returncode == 5:  # pytest: no tests collected
        raise SystemExit(f"--only {only!r} selects no test in {mutants}")
    if baseline.returncode != 0:
        raise SystemExit(f"the unmutated tests fail in {mutants}:\n{baseline.stdout[-2000:]}")
    limit = 15.0 * (time.perf_counter() - start + 1.0)

    def verdict(mutant: str) -> str:
        try:
            done = subprocess.run(
                command,
                cwd=mutants,
                env={**env, "MUTANT_UNDER_TEST": mutant},
                capture_output=True,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return "timeout"
        if done.returncode not in (0, 1, 2):
            raise SystemExit(f"pytest exited with {done.returncode} on {mutant}: {done.stdout[-2000:]!r}")
        return "survived" if done.returncode == 0 else "killed"

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(names, pool.map(verdict, names), strict=True))


def _record(
    name: str, work: Path, mutmut: str, env: dict[str, str], statuses: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Keep ``statuses`` as the copy's verdicts and write the survivors' report."""
    (work / "verdicts.json").write_text(json.dumps(statuses))
    _report(name, work, mutmut, env, statuses)
    return statuses


def _report(name: str, work: Path, mutmut: str, env: dict[str, str], statuses: dict[str, list[str]]) -> None:
    """Write the surviving (and untested) mutants' diffs to mutation-report/<group>.txt."""
    REPORT.mkdir(exist_ok=True)

    def diff(mutant: str) -> str:  # one mutmut process per mutant (about a second each): run 4 at a time
        return subprocess.run(
            [mutmut, "show", mutant], cwd=work, env=env, capture_output=True, text=True, check=False
        ).stdout

    mutants = statuses.get("survived", []) + statuses.get("no tests", [])
    with ThreadPoolExecutor(4) as pool, open(REPORT / f"{name}.txt", "w") as report:
        for mutant, text in zip(mutants, pool.map(diff, mutants), strict=True):
            report.write(f"## {mutant}\n{text}\n")


def _score_line(label: str, statuses: dict[str, list[str]]) -> str:
    """One row of the table: the counts of each verdict and the score."""
    total = sum(len(v) for v in statuses.values())
    by_hand = sum(1 for m in statuses.get("survived", []) if m in BY_HAND)
    detected = sum(len(statuses.get(s, [])) for s in DETECTED) + by_hand
    equivalent = sum(1 for m in statuses.get("survived", []) if m in EQUIVALENT)
    survived = len(statuses.get("survived", [])) - equivalent - by_hand
    no_tests = len(statuses.get("no tests", []))
    denominator = total - equivalent
    score = detected / denominator if denominator else float("nan")
    killed, timeout = len(statuses.get("killed", [])), len(statuses.get("timeout", []))
    counts = (total, killed, timeout, by_hand, survived, no_tests, equivalent)
    return f"{label:18}" + "".join(f" {n:8d}" for n in counts) + f" {score:8.1%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="*", help=f"groups to run (default: all): {', '.join(GROUPS)}")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep each group's working copy in DIR/<group>"
    )
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="with --keep: run only the surviving mutants of a kept copy again, against the current tests",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="with --keep: run each survivor of a kept copy in a fresh pytest process, the mutant "
        "active from the first import (mutmut cannot activate mutants in import-time code)",
    )
    parser.add_argument(
        "--scores",
        action="store_true",
        help="with --keep: print the scores of the kept copies' verdicts (with this script's "
        "EQUIVALENT and BY_HAND tables), running nothing",
    )
    parser.add_argument(
        "--only",
        metavar="EXPR",
        help="with --fresh: run only the tests pytest's -k EXPR selects (those added since the "
        "survivors survived the others)",
    )
    args = parser.parse_args(argv)
    if args.only is not None and not args.fresh:
        parser.error("--only works with --fresh")
    for flag in ("rerun", "fresh", "scores"):
        if getattr(args, flag) and args.keep is None:
            parser.error(f"--{flag} needs --keep DIR (the kept copies to use)")
    if args.rerun + args.fresh + args.scores > 1:
        parser.error("--rerun, --fresh and --scores are different uses of a kept copy: choose one")
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).with_name("mutmut"))
    columns = ("mutants", "killed", "timeout", "by hand", "survived", "no tests", "equiv", "score")
    print(f"{'group':18}" + "".join(f" {c:>8}" for c in columns))
    for name in args.groups or list(GROUPS):
        modules, tests = GROUPS[name]
        if args.scores:
            statuses = json.loads(_kept_verdicts(name, args.keep / name, modules).read_text())
        else:
            statuses = run_group(name, modules, tests, mutmut, args.keep, args.rerun, args.fresh, args.only)
        print(_score_line(name, statuses), flush=True)
        if len(modules) > 1:  # the score of each module of the group
            for module in modules:
                prefix = _dotted(module) + "."
                mine = {s: [m for m in names if m.startswith(prefix)] for s, names in statuses.items()}
                print(_score_line("  " + Path(module).stem, mine), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
