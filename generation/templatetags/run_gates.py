"""The kinds a quality gate set on the run form can use (generation/run_gates.py), for the
schema page's run form (a studio template, which cannot ask generation in Python)."""

from django import template

from generation.run_gates import gate_kind_choices

register = template.Library()


@register.simple_tag
def gate_kinds() -> list[tuple[str, str]]:
    return gate_kind_choices()
