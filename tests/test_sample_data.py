"""The embedded SQuAD sample (`dataset=squad_sample`): small, licensed, found wherever alqa is
installed, and the default, so a fresh machine runs with no network."""

from __future__ import annotations

import importlib.resources
import re
import sys
from fnmatch import fnmatch

import pytest
from conftest import REPO_ROOT, compose
from hydra.utils import instantiate

SAMPLE = importlib.resources.files("alqa") / "sample_data"
FILES = ("squad_v1.1_sample_train.json.gz", "squad_v1.1_sample_dev.json.gz")
TRAIN_QUESTIONS, DEV_QUESTIONS = 6117, 1582


def test_the_sample_files_are_small_and_carry_their_licence():
    sizes = [(SAMPLE / name).stat().st_size for name in FILES]
    assert sum(sizes) <= 2 * 1024 * 1024, sizes
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in readme and "creativecommons.org/licenses/by-sa/4.0" in readme
    assert "Rajpurkar" in readme and "SQuAD" in readme
    for name in FILES:
        assert name in readme


def test_squad_sample_is_the_default_and_loads_offline_from_any_directory(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # the files are found through the package, not the cwd
    assert compose([]).dataset.name == "squad_sample"
    cfg = compose(["dataset=squad_sample"])
    with caplog.at_level("INFO", logger="alqa.data"):
        pool, evaluation = instantiate(cfg.dataset, _convert_="all").load(seed=0)
    assert (len(pool), len(evaluation)) == (TRAIN_QUESTIONS, DEV_QUESTIONS)
    assert (
        f"kept {TRAIN_QUESTIONS} questions (0 unanswerable), dropped 0 as misplaced" in caplog.text
    )
    assert len({r["id"] for r in pool + evaluation}) == TRAIN_QUESTIONS + DEV_QUESTIONS
    assert not {r["context"] for r in pool} & {r["context"] for r in evaluation}
    assert max(len(r["answers"]["text"]) for r in evaluation) >= 3  # dev: several references


def test_the_make_run_sizes_fit_the_sample():
    cfg = compose(["dataset=squad_sample", "dataset.pool_size=2000", "dataset.eval_size=500"])
    pool, evaluation = instantiate(cfg.dataset, _convert_="all").load(seed=0)
    assert (len(pool), len(evaluation)) == (2000, 500)
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "DATASET ?= squad_sample" in makefile and "dataset=$(DATASET)" in makefile


def test_a_wheel_and_an_editable_install_ship_the_sample():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["alqa"]
    for name in (*FILES, "README.md"):
        assert any(fnmatch(f"sample_data/{name}", p) for p in patterns), name
    assert "numpy>=2.0" in config["project"]["dependencies"]  # np.trapezoid


OWNED_TEXT = [
    "Makefile",
    "alqa/data.py",
    "multirun_sweeps/sweep/smoke.yaml",
    *(f"conf/dataset/{p.name}" for p in sorted((REPO_ROOT / "conf" / "dataset").glob("*.yaml"))),
]


@pytest.mark.parametrize("relative", OWNED_TEXT)
def test_no_paths_outside_the_repository_are_named(relative):
    text = (REPO_ROOT / relative).read_text(encoding="utf-8")
    assert not re.search(r"\.\./shared|/work/|SHARED_QA|run-offline", text)


@pytest.mark.parametrize(
    "section", ["## Two commands on a fresh machine", "### Offline data route"]
)
def test_the_readme_data_sections_name_placeholders_only(section):
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    body = text[text.index(section) + len(section) :]
    body = body[: re.search(r"\n#{2,3} ", body).start()]
    assert not re.search(r"\.\./shared|/work/|SHARED_QA|run-offline", body)
    if "Two commands" in section:
        assert "make run" in body and "squad_sample" in body


def test_the_sample_builder_reproduces_the_shipped_bytes(tmp_path):
    """Run on the shipped sample with targets that take every article, the builder writes
    the same bytes (a fixed point): its output is deterministic, timestamp-free gzip."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        import make_squad_sample
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))
    out = tmp_path / "out"
    make_squad_sample.main(
        [
            str(SAMPLE / FILES[0]),
            str(SAMPLE / FILES[1]),
            f"--out={out}",
            f"--train-questions={TRAIN_QUESTIONS}",
            f"--train-max={TRAIN_QUESTIONS}",
            f"--dev-questions={DEV_QUESTIONS}",
            f"--dev-max={DEV_QUESTIONS}",
        ]
    )
    for name in FILES:
        assert (out / name).read_bytes() == (SAMPLE / name).read_bytes()
