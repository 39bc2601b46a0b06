"""The README.md dataset card pushed with a dataset: YAML metadata the Hub reads, then prose."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from studio.schema import (
    CategoryColumn,
    ExpressionColumn,
    IntegerColumn,
    LlmTextColumn,
    SchemaSpec,
    SeedDataColumn,
    UuidColumn,
)

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
    spec: SchemaSpec  # the run's schema: its output columns are the pushed fields
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
    for column in facts.spec.columns:
        if column.drop:
            continue
        for name in column.provides():  # a seed table gives its fields, not its own name
            lines.append(f"| `{name}` | {column.kind} | {_describe(column)} |")
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


def _describe(column: object) -> str:
    if isinstance(column, CategoryColumn):
        return "sampled from: " + ", ".join(_escape(v) for v in column.values[:8])
    if isinstance(column, IntegerColumn):
        return f"uniform integer in [{column.low}, {column.high}]"
    if isinstance(column, UuidColumn):
        return "random UUID"
    if isinstance(column, ExpressionColumn):
        return "template: `" + _escape(column.template) + "`"
    if isinstance(column, LlmTextColumn):
        return f"`{_escape(column.model)}` with prompt `{_escape(column.prompt)}`"
    if isinstance(column, SeedDataColumn):
        return f"a field of the seed table of column `{_escape(column.name)}`"
    return str(getattr(column, "kind", ""))


def _escape(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|").replace("`", "'")[:200]
