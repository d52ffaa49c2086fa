"""W&B logging, offline and with no account: what lands in the run's own transaction log.

The checks read the ``.wandb`` file an offline run writes (the same records ``wandb sync``
uploads), so they fail if the group, the x-axis or the summary is missing there, not merely
if our code forgot to call wandb.
"""

from __future__ import annotations

import json
import math
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, tiny_overrides

from alqa import loggers
from alqa.app import run_from_config

OFFLINE_LINE = "wandb: no API key found, logging offline"


# ----------------------------------------------------------------- reading an offline run


def read_records(path: Path) -> list[Any]:
    """Records of a ``.wandb`` file: a LevelDB-style log (32 KiB blocks, 7-byte headers)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    block, pos, parts, records = 32768, 7, [], []
    while pos + 7 <= len(data):
        room = block - pos % block
        if room < 7:  # block trailer padding
            pos += room
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if pos + 7 + length > len(data):
            break  # still being written by wandb's service: read again later (OfflineRun)
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0:
            continue
        parts = [chunk] if kind == 2 else [*parts, chunk]  # 1 full, 2 first, 3 middle, 4 last
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(b"".join(parts))
            records.append(record)
            parts = []
    return records


class OfflineRun:
    """The parts of one offline run the tests look at."""

    def __init__(self, run_dir: Path, timeout: float = 60.0, folder: str | None = None) -> None:
        pattern = f"{folder}/run-*.wandb" if folder else "offline-run-*/run-*.wandb"
        found = list((run_dir / "wandb").glob(pattern))
        assert len(found) == 1, f"expected one offline W&B run under {run_dir}, got {found}"
        # wandb's service writes the log in the background, and run.finish() can return
        # before it has flushed: wait for the exit record (the last one a run writes)
        deadline = time.monotonic() + timeout
        self.records = read_records(found[0])
        while not self.of_type("exit") and time.monotonic() < deadline:
            time.sleep(0.1)
            self.records = read_records(found[0])

    def of_type(self, kind: str) -> list[Any]:
        return [getattr(r, kind) for r in self.records if r.WhichOneof("record_type") == kind]

    @property
    def run(self) -> Any:
        return self.of_type("run")[0]

    @property
    def config(self) -> dict[str, Any]:
        return {u.key: json.loads(u.value_json) for u in self.run.config.update}

    @property
    def metrics(self) -> list[tuple[str, str, str]]:
        return [(m.name, m.glob_name, m.step_metric) for m in self.of_type("metric")]

    @property
    def history(self) -> list[dict[str, Any]]:
        return [
            {(i.key or ".".join(i.nested_key)): json.loads(i.value_json) for i in h.item}
            for h in self.of_type("history")
        ]

    @property
    def summary(self) -> dict[str, Any]:
        final: dict[str, Any] = {}
        for s in self.of_type("summary"):
            for u in s.update:
                final[u.key or ".".join(u.nested_key)] = json.loads(u.value_json)
        return final

    @property
    def exit_code(self) -> int:
        return self.of_type("exit")[0].exit_code


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture
def no_wandb_account(tmp_path, monkeypatch):
    """No API key, no WANDB_MODE, no netrc, wandb's own folders in tmp."""
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_DISABLED"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    for var, folder in (
        ("WANDB_CONFIG_DIR", "config"),
        ("WANDB_DATA_DIR", "data"),
        ("WANDB_CACHE_DIR", "cache"),
        ("WANDB_ARTIFACT_DIR", "artifacts"),
    ):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / folder))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setattr(loggers, "_decided_mode", None)  # a fresh process's decision
    monkeypatch.setattr(loggers, "_wandb_reachable", lambda timeout=2.0: False)


@pytest.fixture
def multirun_job(monkeypatch):
    """Make this process look like job 3 of ``python main.py -m sweep=all_strategies``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig

    def enter(overrides: list[str], output_dir: Path):
        monkeypatch.chdir(REPO_ROOT)
        with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
            cfg = compose(
                config_name="config",
                overrides=[
                    *overrides,
                    "hydra.mode=MULTIRUN",
                    "hydra.job.num=3",
                    "hydra.sweep.dir=multirun/all_strategies/2026-01-01_00-00-00",
                    f"hydra.runtime.output_dir={output_dir}",
                ],
                return_hydra_config=True,
            )
        monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # restored after the test
        HydraConfig.instance().set_config(cfg)
        from omegaconf import open_dict

        with open_dict(cfg):
            del cfg["hydra"]  # a job's own config has no hydra node, as under @hydra.main
        return cfg

    return enter


# --------------------------------------------------------------------------------- tests


def test_sweep_job_logs_group_axis_rounds_and_aubc(
    tiny_data, tmp_path, no_wandb_account, multirun_job, capsys
):
    run_dir = tmp_path / "3"
    overrides = tiny_overrides(tiny_data, "logger=wandb", "strategy=margin", "seed=1")
    cfg = multirun_job(overrides, run_dir)

    aubc = run_from_config(cfg, run_dir)

    results = json.loads((run_dir / "results.json").read_text())
    assert aubc == results["aubc_f1"]
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if "wandb:" in line] == [
        OFFLINE_LINE + "; upload later: wandb sync <run dir>/wandb/latest-run"
    ]

    wb = OfflineRun(run_dir)
    # one run per (dataset, model, strategy, seed), grouped by its sweep
    assert wb.run.run_group == "all_strategies-2026-01-01_00-00-00"
    assert wb.run.job_type == "active-learning"
    assert wb.run.display_name == "margin-seed1"
    assert {"strategy:margin", "dataset:squad_sample", "model:tiny"} <= set(wb.run.tags)
    config = wb.config
    assert config["strategy"]["name"] == "margin" and config["seed"] == 1
    assert config["budget"] == {"initial": 10, "per_round": 5, "quota": 10, "pool_subsample": 0}
    assert config["hydra"]["num"] == 3 and "strategy=margin" in config["hydra"]["overrides"]

    # x-axis: labeled questions for every metric
    assert ("n_labeled", "", "") in wb.metrics
    assert ("", "*", "n_labeled") in wb.metrics

    # one history row per round, EM/F1 and timings against n_labeled
    rows = [row for row in wb.history if "f1" in row]
    assert [(r["n_labeled"], r["f1"], r["em"]) for r in rows] == [
        (r["n_labeled"], r["f1"], r["em"]) for r in results["rounds"]
    ]
    for phase in ("train_seconds", "eval_seconds", "score_seconds", "select_seconds"):
        assert all(phase in r for r in rows)

    summary = wb.summary
    assert math.isclose(summary["aubc_f1"], results["aubc_f1"])
    assert math.isclose(summary["aubc_em"], results["aubc_em"])
    assert math.isclose(summary["final_f1"], results["rounds"][-1]["f1"])
    assert summary["final_n_labeled"] == 20

    # the selected questions of every round, as an artifact with a table and results.json
    (artifact,) = wb.of_type("artifact")
    assert artifact.type == "al-selection"
    assert {c.path for c in artifact.manifest.contents} == {
        "results.json",
        "selected_questions.table.json",
    }
    assert wb.exit_code == 0


def test_failed_single_run_closes_its_wandb_run_and_keeps_the_default_group(
    tiny_data, tmp_path, no_wandb_account, monkeypatch, capsys
):
    import wandb
    from conftest import compose

    import alqa.rounds

    def broken_query(*args, **kwargs):
        raise RuntimeError("query broke")

    monkeypatch.setattr(alqa.rounds, "query_next", broken_query)
    cfg = compose(tiny_overrides(tiny_data, "logger=wandb", "strategy=random"))
    with pytest.raises(RuntimeError, match="query broke"):  # a single run still fails loudly
        run_from_config(cfg, tmp_path)

    assert wandb.run is None  # finished, so the next job's wandb.init starts a new run
    assert not (tmp_path / "failed.json").exists()  # only multirun jobs write it
    wb = OfflineRun(tmp_path)
    assert wb.run.run_group == "squad_sample-tiny"
    assert wb.exit_code == 1
    summary = wb.summary
    assert summary["failed"] is True and summary["error"].startswith("RuntimeError: query broke")
    assert summary["n_labeled"] == 10  # the round before the crash was logged


def test_offline_decision_is_made_once_and_said_once(no_wandb_account, monkeypatch, capsys):
    assert loggers.decide_mode() == "offline"
    assert loggers.decide_mode() == "offline"
    assert capsys.readouterr().out.count(OFFLINE_LINE) == 1

    # an API key but no server: offline too, with the reason
    monkeypatch.setattr(loggers, "_decided_mode", None)
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert loggers.decide_mode() == "offline"
    assert "server unreachable, logging offline" in capsys.readouterr().out

    # explicit choices win and say nothing
    monkeypatch.setattr(loggers, "_wandb_reachable", lambda timeout=2.0: True)
    monkeypatch.setattr(loggers, "_decided_mode", None)
    assert loggers.decide_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert loggers.decide_mode() == "disabled"
    assert loggers.decide_mode("offline") == "offline"
    assert capsys.readouterr().out == ""


def test_default_group_names_the_sweep(multirun_job, tmp_path):
    multirun_job(["model=tiny", "logger=none"], tmp_path)
    assert loggers.default_group({}) == "all_strategies-2026-01-01_00-00-00"


def test_a_killed_and_resumed_offline_run_syncs_every_round_once_from_latest_run(
    tiny_data, tmp_path, no_wandb_account, monkeypatch
):
    from conftest import SimulatedKill, compose, kill_after_round

    cfg = compose(tiny_overrides(tiny_data, "logger=wandb", "strategy=margin", "budget.quota=20"))
    with monkeypatch.context() as patch:
        kill_after_round(patch, 1)
        with pytest.raises(SimulatedKill):
            run_from_config(cfg, tmp_path)
    first = OfflineRun(tmp_path, timeout=5)  # a killed run never writes its exit record
    assert sorted(r["n_labeled"] for r in first.history if "f1" in r) == [10, 15]

    run_from_config(cfg, tmp_path)  # the same command again: resumes after round 1
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["n_labeled"] for r in results["rounds"]] == [10, 15, 20, 25, 30]
    assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == 2
    latest = OfflineRun(tmp_path, folder="latest-run")
    assert latest.run.run_id == first.run.run_id
    rows = [row for row in latest.history if "f1" in row]
    assert [(r["n_labeled"], r["f1"]) for r in rows] == [
        (r["n_labeled"], r["f1"]) for r in results["rounds"]
    ]  # every round exactly once, in order
    assert math.isclose(latest.summary["aubc_f1"], results["aubc_f1"])
