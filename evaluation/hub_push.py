"""Push a dataset to the Hugging Face Hub with the official client: one commit holding the
Parquet data and the dataset card. Pure: no Django; the endpoint comes from the caller."""

from __future__ import annotations

from dataclasses import dataclass

import httpx2
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

DATA_PATH = "data/train-00000-of-00001.parquet"


class HubPushError(Exception):
    """The Hub refused the push; the message is the Hub's, for the user."""


@dataclass(frozen=True)
class HubPushResult:
    repo_url: str
    commit_url: str


def push_dataset(
    *,
    repo_id: str,
    token: str,
    parquet: bytes,
    card: str,
    private: bool,
    endpoint: str | None = None,
    message: str = "Upload dataset from Dataset Studio",
) -> HubPushResult:
    api = HfApi(endpoint=endpoint, token=token)
    try:
        repo = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.create_commit(
            repo_id=repo_id,
            repo_type="dataset",
            operations=[
                CommitOperationAdd(path_in_repo=DATA_PATH, path_or_fileobj=parquet),
                CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()),
            ],
            commit_message=message,
        )
    except HfHubHTTPError as exc:
        raise HubPushError(_hub_message(exc)) from exc
    except (httpx2.HTTPError, OSError) as exc:
        # No answer at all (refused, DNS, TLS, timeout): say so, without the client's long text.
        raise HubPushError(f"Could not reach the Hub ({type(exc).__name__}).") from exc
    return HubPushResult(repo_url=str(repo), commit_url=commit.commit_url)


def _hub_message(exc: HfHubHTTPError) -> str:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status == 401:
        return "The Hub rejected the token (401). Check that it is valid and has write access."
    if status == 403:
        return "The token may not write to this repository (403)."
    return str(exc).splitlines()[0]
