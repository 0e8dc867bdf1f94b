"""The command line, run in-process and as the installed console script."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import cli
from tokenspace.cli import build_parser, main


def test_knn_table(capsys):
    assert main(["knn", "glove-6b-50d", "king", "--k", "5"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].startswith("# king")
    assert lines[1].split() == ["rank", "id", "cosine", "word"]
    assert len(lines) == 2 + 5 and "queen" in out


def test_info(capsys):
    assert main(["info", "minilm-l6"]) == 0
    out = capsys.readouterr().out
    assert "30522" in out and "384" in out


def test_unknown_word_is_a_clean_error(capsys):
    assert main(["knn", "glove-6b-50d", "kingxq"]) == 2
    assert "kingxq" in capsys.readouterr().err


def _console_script():
    beside = Path(sys.executable).with_name("tokenspace")  # the venv's bin/, even if not on PATH
    return str(beside) if beside.exists() else shutil.which("tokenspace")


@pytest.mark.skipif(
    _console_script() is None, reason="console script not installed (source-tree run)"
)
def test_console_script():
    out = subprocess.run(
        [_console_script(), "knn", "minilm-l6", "paris", "--k", "3"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "france" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert re.fullmatch(r"tokenspace \S+\n", capsys.readouterr().out)


def _subparsers():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub.choices


def test_every_argument_has_help_and_help_is_plain_text(capsys):
    parser, commands = _subparsers()
    assert {"knn-graph", "rsa"} <= set(commands)
    for name, p in commands.items():
        for action in p._actions:
            assert action.help and action.help.strip(), f"{name} {action.dest} has no help"
        text = p.format_help()
        # reStructuredText markup does not belong in a terminal
        assert "``" not in text and ":func:" not in text and ":class:" not in text, name
        assert "--json" in text, f"{name} has no --json"
    assert "``" not in parser.format_help()


def test_json_and_csv_outputs(capsys):
    assert main(["knn", "glove-6b-50d", "king", "paris", "--k", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [q["query"] for q in data["queries"]] == ["king", "paris"]
    assert [n["token"] for n in data["queries"][0]["neighbors"]][:2] == ["prince", "queen"]
    assert main(["knn", "glove-6b-50d", "king", "--k", "4", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4 and rows[1]["token"] == "queen" and rows[0]["rank"] == "1"
    assert main(["info", "minilm-l6", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["vocabulary"] == 30522 and info["vocab_style"] == "wordpiece"
    assert main(["knn", "glove-6b-50d", "king", "--json", "--csv"]) == 2


def test_convert_honours_limit(tmp_path, capsys):
    # defect 3: --limit was ignored for the embedded models (all 400000 rows were written)
    out = tmp_path / "g.txt"
    assert main(["convert", "glove-6b-50d", str(out), "--to", "glove", "--limit", "50"]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 50 and lines[0].split()[0] == "the" and len(lines[0].split()) == 51


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_missing_faiss_is_a_user_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now fails
    assert main(["knn", "glove-6b-50d", "king", "--backend", "faiss"]) == 2
    assert "pip install faiss-cpu" in _one_line_error(capsys.readouterr().err)


def test_eval_checks_its_files_before_working(monkeypatch, tmp_path, capsys):
    # defect 4: a missing --pairs file was found only after the whole analogy evaluation
    def must_not_run(*args, **kwargs):
        raise AssertionError("the model was loaded / evaluated before the inputs were checked")

    monkeypatch.setattr(cli, "_load", must_not_run)
    monkeypatch.setattr(cli, "evaluate_analogies", must_not_run)
    missing = tmp_path / "missing.tsv"
    assert main(["eval", "glove-6b-50d", "--pairs", str(missing)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "--pairs" in line and "missing.tsv" in line
    assert main(["eval", "glove-6b-50d", "--analogies", str(tmp_path)]) == 2
    assert "is a folder" in _one_line_error(capsys.readouterr().err)


def test_user_and_internal_error_codes(monkeypatch, capsys):
    assert main(["knn", "glove-6b-50d", "king", "--k", "0"]) == 2
    assert "--k" in _one_line_error(capsys.readouterr().err)

    def broken(args):
        raise RuntimeError("kaboom")

    monkeypatch.setitem(cli.COMMANDS, "info", (cli.add_info, broken))
    assert main(["info", "glove-6b-50d"]) == 1
    line = _one_line_error(capsys.readouterr().err)
    assert "internal error" in line and "kaboom" in line


def test_broken_pipe_is_quiet():
    # defect 4: `tokenspace knn ... | head -2` ended in a BrokenPipeError traceback
    cmd = (
        f"{shlex.quote(sys.executable)} -m tokenspace.cli knn glove-6b-50d king the "
        "--k 1500 | head -2"
    )
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert p.stdout.splitlines()[0].startswith("# king")
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr, p.stderr


def test_knn_graph_writes_npz_and_edges(tmp_path, capsys, glove):
    prefix = tmp_path / "graph"
    assert (
        main(
            [
                "knn-graph",
                "glove-6b-50d",
                "--k",
                "3",
                "--limit",
                "300",
                "--out",
                str(prefix),
                "--json",
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["n"] == 300 and sorted(info["files"]) == sorted(
        [str(prefix) + ".csv", str(prefix) + ".npz"]
    )
    g = np.load(str(prefix) + ".npz")
    X = np.asarray(glove.vectors[:300], dtype=np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    C = X @ X.T
    np.fill_diagonal(C, -np.inf)
    ref = np.argsort(-C, axis=1, kind="stable")[:, :3]
    assert (g["indices"] == ref).mean() > 0.99  # ties aside
    np.testing.assert_allclose(g["scores"], np.take_along_axis(C, ref, 1), atol=1e-5)
    assert list(g["vocab"][:3]) == ["the", ",", "."]
    edges = list(csv.DictReader(io.StringIO(Path(str(prefix) + ".csv").read_text("utf-8"))))
    assert len(edges) == 900
    assert edges[0]["source"] == "the" and edges[0]["target"] == glove.vocab[ref[0, 0]]


def test_rsa_command_matches_numpy(tmp_path, capsys, glove, minilm):
    words = ["dog", "cat", "horse", "france", "italy", "red", "blue", "one", "two", "king"]
    f = tmp_path / "words.txt"
    f.write_text("\n".join(words), encoding="utf-8")
    assert main(["rsa", "glove-6b-50d", "minilm-l6", "--words", str(f), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)

    def tri(s):
        X = np.asarray(s[words], dtype=np.float64)
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        return (X @ X.T)[np.triu_indices(len(words), 1)]

    assert res["n_items"] == 10 and res["n_pairs"] == 45
    assert res["r"] == pytest.approx(np.corrcoef(tri(glove), tri(minilm))[0, 1], abs=1e-5)
    assert res["p_value"] is None and res["ci"] is None


def test_rsa_command_permutations_and_bootstrap_equal_the_api(tmp_path, capsys, glove, minilm):
    words = [w for w in glove.vocab[100:400] if w in minilm][:60]
    f = tmp_path / "words.txt"
    f.write_text("\n".join(words), encoding="utf-8")
    argv = ["rsa", "glove-6b-50d", "minilm-l6", "--words", str(f), "--method", "spearman"]
    argv += ["--permutations", "99", "--bootstrap", "50", "--seed", "3", "--confidence", "0.9"]
    assert main([*argv, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    want = ts.rsa_models(
        glove,
        minilm,
        words,
        method="spearman",
        permutations=99,
        bootstrap=50,
        seed=3,
        confidence=0.9,
    )
    assert res["p_value"] == pytest.approx(want.p_value) and res["permutations"] == 99
    np.testing.assert_allclose(res["ci"], want.ci)
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "permutation p = " in text and "bootstrap 90% interval" in text
    for bad in (["--permutations", "0"], ["--confidence", "1.5"]):
        assert main(["rsa", "glove-6b-50d", "minilm-l6", *bad]) == 2
        assert "must be" in capsys.readouterr().err
