"""The pure core of a dataset schema: columns, templates, dependency graph, samplers.

Nothing here imports Django, so it can be used and tested anywhere (views,
workers, command-line tools).
"""

from .errors import SchemaError
from .graph import dependency_levels
from .llm_kinds import (
    LLM_KINDS,
    Criterion,
    LlmColumn,
    LlmJudgeColumn,
    LlmStructuredColumn,
    LlmTextColumn,
    is_llm,
)
from .samplers import SAMPLER_KINDS, SamplerColumn, is_sampler, rng_for, sample_value
from .seed_rows import seed_row_index
from .spec import (
    KINDS,
    MAX_COLUMNS,
    RESERVED_NAMES,
    BooleanColumn,
    CategoryColumn,
    Column,
    DatetimeColumn,
    DocumentColumn,
    ExpressionColumn,
    FloatColumn,
    IntegerColumn,
    PersonColumn,
    SchemaSpec,
    SeedDataColumn,
    SubcategoryColumn,
    UuidColumn,
    parse_spec,
)
from .templating import (
    TemplateProblem,
    check_template_safety,
    render_template,
    template_variables,
)

__all__ = [
    "KINDS",
    "LLM_KINDS",
    "MAX_COLUMNS",
    "RESERVED_NAMES",
    "SAMPLER_KINDS",
    "BooleanColumn",
    "CategoryColumn",
    "Column",
    "Criterion",
    "DatetimeColumn",
    "DocumentColumn",
    "ExpressionColumn",
    "FloatColumn",
    "IntegerColumn",
    "LlmColumn",
    "LlmJudgeColumn",
    "LlmStructuredColumn",
    "LlmTextColumn",
    "PersonColumn",
    "SamplerColumn",
    "SchemaError",
    "SchemaSpec",
    "SeedDataColumn",
    "SubcategoryColumn",
    "TemplateProblem",
    "UuidColumn",
    "check_template_safety",
    "dependency_levels",
    "is_llm",
    "is_sampler",
    "parse_spec",
    "render_template",
    "rng_for",
    "sample_value",
    "seed_row_index",
    "template_variables",
]
