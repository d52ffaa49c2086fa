"""The API route of the Label Studio oracle: a project on a server, through ``label-studio-sdk``.

The API key is read from the environment variable named by ``oracle.api_key_env`` when the
client is made and kept only in the client: it is never part of the config, the run state,
``results.json``, the logs or W&B, and any error text is scrubbed of it before it is shown.
Install the client with ``pip install 'alqa[label-studio]'``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alqa.oracle.base import Labels, OracleError, Waiting
from alqa.oracle.label_studio import MODEL_VERSION, LabelStudioOracle, labeling_config

log = logging.getLogger(__name__)

#: Label Studio's limit on a project title
TITLE_LENGTH = 50


def _plain(item: Any) -> dict[str, Any]:
    """An SDK object (pydantic model) or a dict as a plain dict."""
    if isinstance(item, dict):
        return item
    keys = ("id", "data", "annotations", "result", "was_cancelled", "updated_at")
    return {key: getattr(item, key, None) for key in keys}


def task_as_exported(task: Any) -> dict[str, Any]:
    """A task fetched through the SDK in the JSON export's layout (what the file route reads)."""
    plain = _plain(task)
    return {
        "id": plain.get("id"),
        "data": dict(plain.get("data") or {}),
        "annotations": [_plain(a) for a in plain.get("annotations") or []],
    }


class ApiRoute(LabelStudioOracle):
    """Tasks pushed to, and labels pulled from, a Label Studio project over its API."""

    def __init__(
        self,
        run_dir: str | Path,
        no_answer: bool | str = "auto",
        *,
        url: str,
        api_key_env: str = "LABEL_STUDIO_API_KEY",
        project: str | None = None,
    ) -> None:
        super().__init__(run_dir, no_answer)
        self.url = url.rstrip("/")
        self.api_key_env = api_key_env
        self.title = (project or f"alqa {self.run_dir.name}")[:TITLE_LENGTH]
        self._client = None
        self._key = ""

    # ---------------------------------------------------------------- the client
    def client(self):
        """The SDK client, made once; a missing SDK or key is a one-line user error."""
        if self._client is not None:
            return self._client
        try:
            from label_studio_sdk import LabelStudio
        except ImportError as error:
            raise OracleError(
                "oracle.url is set but label-studio-sdk is not installed: "
                "pip install 'alqa[label-studio]' (or use the file route: oracle.url=null)"
            ) from error
        self._key = os.environ.get(self.api_key_env, "")
        if not self._key:
            raise OracleError(
                f"oracle.url is set but the environment variable {self.api_key_env} is empty: "
                f"export {self.api_key_env}=<your Label Studio access token> (Account & "
                "Settings → Personal Access Token), or name another variable with "
                "oracle.api_key_env"
            )
        self._client = LabelStudio(base_url=self.url, api_key=self._key)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
        return self._client

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        """Turn any failure of the server or the network into one line, without the key."""
        try:
            yield
        except OracleError:
            raise
        except Exception as error:  # noqa: BLE001 - SDK, HTTP and network errors alike
            status = getattr(error, "status_code", None)
            detail = getattr(error, "body", None) if status else None
            text = f"HTTP {status}: {detail}" if status else f"{type(error).__name__}: {error}"
            if self._key:
                text = text.replace(self._key, "***")
            raise OracleError(
                f"Label Studio at {self.url}: {what} failed ({text[:300]}); check oracle.url, "
                f"the key in {self.api_key_env} and that the server is running"
            ) from None

    # ---------------------------------------------------------------- the project
    def project_id(self, memory: dict[str, Any]) -> int:
        """The run's project: the one in the run state, else one titled ``oracle.project``,
        else a new one with alqa's labeling interface."""
        if "project_id" in memory:
            return int(memory["project_id"])
        client = self.client()
        with self.calling("listing projects"):
            listed = list(client.projects.list(title=self.title))
        same_title = [p for p in listed if p.title == self.title]
        if same_title:
            project = same_title[0]
            config = getattr(project, "label_config", None) or ""
            if 'name="answer"' not in config or 'name="context"' not in config:
                raise OracleError(
                    f"Label Studio project {self.title!r} (id {project.id}) has another labeling "
                    "interface; choose another title with oracle.project=<title>"
                )
            log.info("reusing Label Studio project %r (id %s)", self.title, project.id)
        else:
            with self.calling("creating the project"):
                project = client.projects.create(
                    title=self.title,
                    label_config=labeling_config(self.offers_no_answer),
                    description="Questions picked by alqa's active learning, pre-annotated "
                    "with the current model's best span.",
                    show_skip_button=True,
                    show_collab_predictions=True,
                    model_version=MODEL_VERSION,
                )
            log.info("created Label Studio project %r (id %s)", self.title, project.id)
        memory["project_id"] = int(project.id)
        return int(project.id)

    def fetch_tasks(self, project_id: int) -> list[dict[str, Any]]:
        """Every task of the project with its annotations, in the JSON export's layout."""
        with self.calling("fetching the tasks"):
            pages = self.client().tasks.list(project=project_id, fields="all")
            return [task_as_exported(t) for t in pages]

    def project_page(self, project_id: int) -> str:
        return f"{self.url}/projects/{project_id}/data"

    # ---------------------------------------------------------------- the oracle
    def request(self, round_number, questions, predictions, memory) -> None:
        """Import the round's tasks, skipping those already in the project (a rerun after a
        kill requests the same round again)."""
        project_id = self.project_id(memory)
        tag = self.tag(memory)
        present = {
            t["data"].get("question_id")
            for t in self.fetch_tasks(project_id)
            if t["data"].get("alqa_run") == tag
        }
        tasks = [
            t
            for t in self.tasks(round_number, questions, predictions, memory)
            if t["data"]["question_id"] not in present
        ]
        if tasks:
            with self.calling("importing the tasks"):
                self.client().projects.import_tasks(project_id, request=tasks)
        log.info("round %d: %d tasks imported into %s", round_number, len(tasks), project_id)

    def collect(self, round_number, questions, memory) -> Labels | Waiting:
        """The round's labels from the project, or ``Waiting`` while any task is unlabeled."""
        project_id = self.project_id(memory)
        page = self.project_page(project_id)
        labels, missing = self.labels(
            self.fetch_tasks(project_id),
            questions,
            memory,
            f"Label Studio project {self.title!r}",
            f"fix that annotation at {page}, then run the same command again",
        )
        if missing:
            return Waiting(
                f"round {round_number} waits for labels: {len(missing)} of its "
                f"{len(questions)} tasks are still to label in Label Studio project "
                f"{self.title!r} ({page}); label (or skip) them, then run the same command again"
            )
        return labels
