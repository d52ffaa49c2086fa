"""alqa and a real Label Studio server, as an annotation team uses them (slow).

The test starts Label Studio (PyPI ``label-studio``, in its own venv ``.venv-label-studio/``
because its pins clash with alqa's; ``.ci/run`` creates it) on 127.0.0.1 with a fresh
database, runs ``python main.py ... oracle=label_studio oracle.url=...`` as a person would,
lets alqa create the project and push the round's tasks, submits annotations through the
server's REST API as the annotator's browser does (one of them skipped), and reruns the same
command until the run has pulled the labels and finished its rounds. Skipped, with the
reason, when Label Studio or alqa's ``[label-studio]`` extra is not installed or the server
does not start. ``ALQA_LABEL_STUDIO=<path to the label-studio command>`` picks another one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, make_squad, tiny_overrides

pytestmark = pytest.mark.slow

EMAIL, PASSWORD = "annotator@example.com", "alqa-test-password"
#: a legacy API token given to the server's first user; also what must never leak
TOKEN = "a1c0ffee" * 5
PROJECT = "alqa integration test"
START_TIMEOUT = 300


def label_studio_command() -> str | None:
    """The ``label-studio`` command: $ALQA_LABEL_STUDIO, the repo's venv, or the PATH."""
    candidates = [
        os.environ.get("ALQA_LABEL_STUDIO"),
        str(REPO_ROOT / ".venv-label-studio" / "bin" / "label-studio"),
        shutil.which("label-studio"),
    ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll the health endpoint; skip with the server's last lines if it never answers."""
    import requests

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(2)
    tail = " | ".join(log.read_text(errors="replace").splitlines()[-5:])
    stop(process)
    pytest.skip(f"Label Studio did not start within {START_TIMEOUT} s: {tail}")


def stop(process: subprocess.Popen) -> None:
    """End the server and whatever it started (its own process group)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Label Studio server on 127.0.0.1 with one user whose API token is TOKEN."""
    command = label_studio_command()
    if command is None:
        pytest.skip(
            "Label Studio is not installed: python3 -m venv .venv-label-studio && "
            ".venv-label-studio/bin/pip install label-studio (what .ci/run does)"
        )
    pytest.importorskip(
        "label_studio_sdk", reason="alqa's [label-studio] extra: pip install -e '.[label-studio]'"
    )
    data_dir = tmp_path_factory.mktemp("label_studio")
    port = free_port()
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
    }
    log = data_dir / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [command, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port",
             str(port), "--data-dir", str(data_dir), "--username", EMAIL, "--password",
             PASSWORD, "--user-token", TOKEN, "--enable-legacy-api-token"],
            env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    wait_until_up(url, process, log)
    print(f"Label Studio up in {time.monotonic() - started:.0f} s")
    yield url
    stop(process)


@pytest.fixture(scope="module")
def team_pool(tmp_path_factory) -> dict:
    """The tiny pool in JSONL with id, context and question only; gold answers kept aside."""
    folder = tmp_path_factory.mktemp("pool")
    gold, lines = {}, []
    for article in make_squad(20, seed=1, long_context=True)["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold[qa["id"]] = qa["answers"][0]
                record = {"id": qa["id"], "context": paragraph["context"]}
                lines.append(json.dumps({**record, "question": qa["question"]}))
    pool = folder / "pool.jsonl"
    pool.write_text("\n".join(lines) + "\n")
    dev = folder / "dev.json"
    dev.write_text(json.dumps(make_squad(5, seed=2)))
    return {"train": pool, "eval": dev, "gold": gold}


class Annotator:
    """The server's REST API, used as the labeling page uses it."""

    def __init__(self, url: str):
        import requests

        self.url, self.session = url, requests.Session()
        self.session.headers["Authorization"] = f"Token {TOKEN}"

    def get(self, path: str, **params):
        response = self.session.get(f"{self.url}{path}", params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    def project(self) -> dict:
        listed = self.get("/api/projects/", page_size=100)
        (project,) = [p for p in listed["results"] if p["title"] == PROJECT]
        return self.get(f"/api/projects/{project['id']}/")

    def tasks(self, project_id: int) -> list[dict]:
        found = self.get("/api/tasks/", project=project_id, fields="all", page_size=1000)
        return found["tasks"] if isinstance(found, dict) else found

    def submit(self, task: dict, start: int | None, end: int | None) -> None:
        """Submit the span [start, end) of the task's context, or skip the task (None)."""
        if start is None:
            body = {"result": [], "was_cancelled": True}
        else:
            text = task["data"]["context"][start:end]
            value = {"start": start, "end": end, "text": text, "labels": ["Answer"]}
            region = {"id": f"r{task['id']}", "from_name": "answer", "to_name": "context",
                      "type": "labels", "origin": "manual", "value": value}  # fmt: skip
            body = {"result": [region], "was_cancelled": False, "lead_time": 4.2}
        response = self.session.post(
            f"{self.url}/api/tasks/{task['id']}/annotations/", json=body, timeout=60
        )
        assert response.status_code == 201, response.text


def alqa(run_dir: Path, pool: dict, url: str) -> tuple[subprocess.CompletedProcess, float]:
    """`python main.py ...` with the key in the environment, as the team runs it."""
    overrides = [o for o in tiny_overrides(pool) if o != "logger=none"] + [
        "oracle=label_studio",
        f"oracle.url={url}",
        f"oracle.project='{PROJECT}'",
        "strategy=margin",
        "budget.quota=5",
        "logger=wandb",
        f"hydra.run.dir={run_dir}",
    ]
    env = {**os.environ, "LABEL_STUDIO_API_KEY": TOKEN, "WANDB_MODE": "offline",
           "WANDB_SILENT": "true", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), *overrides],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return done, time.monotonic() - started


def test_alqa_pushes_tasks_to_label_studio_pulls_the_labels_and_finishes(
    server, team_pool, tmp_path
):
    run_dir = tmp_path / "run"
    person = Annotator(server)
    gold = team_pool["gold"]
    timings = []

    first, seconds = alqa(run_dir, team_pool, server)
    timings.append(seconds)
    assert first.returncode == 3, first.stderr[-2000:]
    assert "waits for labels" in first.stdout and PROJECT in first.stdout
    project = person.project()  # created by alqa, with alqa's labeling interface
    assert (
        'name="answer"' in project["label_config"] and 'name="context"' in project["label_config"]
    )
    tasks = person.tasks(project["id"])
    assert len(tasks) == 10
    for task in tasks:
        (prediction,) = task["predictions"]
        assert 0.0 < prediction["score"] <= 1.0 and prediction["model_version"] == "alqa"
        value = prediction["result"][0]["value"]
        assert task["data"]["context"][value["start"] : value["end"]] == value["text"]
        assert task["data"]["alqa_round"] == 0 and task["data"]["question_id"] in gold

    skipped = tasks[0]["data"]["question_id"]
    for task in tasks:
        answer = gold[task["data"]["question_id"]]
        start = None if task is tasks[0] else answer["answer_start"]
        person.submit(task, start, None if start is None else start + len(answer["text"]))

    second, seconds = alqa(run_dir, team_pool, server)
    timings.append(seconds)
    assert second.returncode == 3, second.stderr[-2000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert [r["n_labeled"] for r in results["rounds"]] == [9]
    assert results["rounds"][0]["skipped_ids"] == [skipped] and "f1" in results["rounds"][0]
    tasks = person.tasks(project["id"])
    new = [t for t in tasks if t["data"]["alqa_round"] == 1]
    assert len(tasks) == 15 and len(new) == 5
    assert skipped not in {t["data"]["question_id"] for t in new}

    third, seconds = alqa(run_dir, team_pool, server)  # nothing labeled yet: still waiting
    timings.append(seconds)
    assert third.returncode == 3 and "5 of its 5 tasks are still to label" in third.stdout
    for task in new:
        answer = gold[task["data"]["question_id"]]
        person.submit(task, answer["answer_start"], answer["answer_start"] + len(answer["text"]))

    last, seconds = alqa(run_dir, team_pool, server)
    timings.append(seconds)
    assert last.returncode == 0, last.stderr[-2000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["finished"] and [r["n_labeled"] for r in results["rounds"]] == [9, 14]
    state = json.loads((run_dir / "al_state.json").read_text())
    assert state["oracle"]["project_id"] == project["id"]
    for question_id in state["labeled_ids"]:
        assert state["answers"][question_id]["text"] == [gold[question_id]["text"]]

    leaks = [p for p in run_dir.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert not leaks, f"the API key was written to {leaks}"
    assert list(run_dir.rglob("*.wandb")) and (run_dir / ".hydra" / "config.yaml").is_file()
    print("alqa commands took " + ", ".join(f"{s:.1f} s" for s in timings))
