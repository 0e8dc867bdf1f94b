"""libFuzzer (atheris) harness for the word2vec/GloVe parsers; run by
tests/test_io_text.py::test_atheris_fuzz_parsers for a bounded time, or by hand:

    PYTHONPATH=python python tests/fuzz_parsers_atheris.py -max_total_time=60

Any exception other than ValueError, or a crash, is a finding.
"""

import sys

import atheris
import numpy as np  # not instrumented: instrumenting numpy costs tens of seconds

with atheris.instrument_imports():
    from tokenspace import _core


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    dim = fdp.ConsumeIntInRange(0, 6)
    max_records = fdp.ConsumeIntInRange(1, 20)
    errors = fdp.PickValueInList(["strict", "replace", "ignore"])
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    for call in (
        lambda: _core.parse_text(body, 0, max_records, dim, 1, "<fuzz>", "utf-8", errors),
        lambda: _core.parse_binary(body, 0, max_records, max(dim, 1), "<fuzz>", "utf-8", errors),
    ):
        try:
            out = call()
        except ValueError:
            continue
        if out[0].shape[0] != len(out[1]) or not np.isfinite(out[0]).all():
            raise RuntimeError("parser returned inconsistent output")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
