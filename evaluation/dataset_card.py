"""The README.md dataset card pushed with a dataset: YAML metadata the Hub reads, then prose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
]


def size_category(count: int) -> str:
    for bound, label in SIZE_CATEGORIES:
        if count < bound:
            return label
    return "n>1M"


@dataclass(frozen=True)
class CardFacts:
    repo_id: str
    schema_name: str
    schema_version: int
    columns: list[dict[str, Any]]  # the snapshot's column specs
    output_columns: list[str]
    rows: int
    rows_generated: int
    models: list[str]
    seed: int
    data_path: str
    simulated: bool


def build_card(facts: CardFacts) -> str:
    metadata = {
        "configs": [
            {"config_name": "default", "data_files": [{"split": "train", "path": facts.data_path}]}
        ],
        "size_categories": [size_category(facts.rows)],
        "tags": ["synthetic", "dataset-studio"],
    }
    lines = [
        "---",
        yaml.safe_dump(metadata, sort_keys=False).strip(),
        "---",
        "",
        f"# {facts.repo_id.split('/')[-1]}",
        "",
        f"A synthetic dataset generated with Dataset Studio from the schema "
        f"**{facts.schema_name}** (version {facts.schema_version}), seed {facts.seed}.",
        "",
        f"It holds the {facts.rows} rows a reviewer accepted out of "
        f"{facts.rows_generated} generated.",
        "",
    ]
    if facts.simulated:
        lines += [
            "> **Note:** some columns were produced by the offline *simulated* provider, not by "
            "a real language model. Do not train on them.",
            "",
        ]
    lines += ["## Columns", "", "| column | kind | how it was made |", "| --- | --- | --- |"]
    for column in facts.columns:
        if column["name"] not in facts.output_columns:
            continue
        lines.append(f"| `{column['name']}` | {column['kind']} | {_describe(column)} |")
    lines += ["", "## Models", ""]
    lines += [f"- `{model}`" for model in facts.models] or ["- none (samplers and templates only)"]
    lines += [
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("{facts.repo_id}", split="train")',
        "```",
        "",
    ]
    return "\n".join(lines)


def _describe(column: dict[str, Any]) -> str:
    kind = column["kind"]
    if kind == "category":
        return "sampled from: " + ", ".join(_escape(v) for v in column["values"][:8])
    if kind == "integer":
        return f"uniform integer in [{column['low']}, {column['high']}]"
    if kind == "uuid":
        return "random UUID"
    if kind == "expression":
        return "template: `" + _escape(column["template"]) + "`"
    if kind == "llm_text":
        return f"`{_escape(column['model'])}` with prompt `{_escape(column['prompt'])}`"
    return str(kind)


def _escape(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|").replace("`", "'")[:200]
