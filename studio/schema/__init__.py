"""The pure core of a dataset schema: columns, templates, dependency graph, samplers.

Nothing here imports Django, so it can be used and tested anywhere (views,
workers, command-line tools).
"""

from .errors import SchemaError
from .graph import dependency_levels
from .samplers import SamplerColumn, is_sampler, rng_for, sample_value
from .spec import (
    MAX_COLUMNS,
    RESERVED_NAMES,
    CategoryColumn,
    Column,
    ExpressionColumn,
    IntegerColumn,
    LlmTextColumn,
    SchemaSpec,
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
    "MAX_COLUMNS",
    "RESERVED_NAMES",
    "CategoryColumn",
    "Column",
    "ExpressionColumn",
    "IntegerColumn",
    "LlmTextColumn",
    "SamplerColumn",
    "SchemaError",
    "SchemaSpec",
    "TemplateProblem",
    "UuidColumn",
    "check_template_safety",
    "dependency_levels",
    "is_sampler",
    "parse_spec",
    "render_template",
    "rng_for",
    "sample_value",
    "template_variables",
]
