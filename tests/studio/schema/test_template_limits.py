"""Issue 15 item 7: a template's render is bounded in work and in size. Each hostile template
below was accepted before (nested ranges ran for hours, center/format/indent/~ built 30 MB and
more); now each fails at once with a message saying what was refused, having built at most about
the value cap. Steps are counted, not timed: the same template always stops at the same point."""

import resource

import pytest

from studio.schema.render_budget import MAX_VALUE_CHARS, RenderBudget
from studio.schema.templating import (
    MAX_OUTPUT_CHARS,
    MAX_TEMPLATE_CHARS,
    TemplateBudgetExceeded,
    TemplateProblem,
    check_template_safety,
    render_template,
)

R = "{% set r = range(100000)|list %}"
GROWING = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = OP %}{% endfor %}"

HOSTILE = {
    "nested ranges": "{% for i in range(100000) %}{% for j in range(100000) %}"
    "{% endfor %}{% endfor %}",
    "nested ranges that print": "{% for i in range(99999) %}{% for j in range(99999) %}{{ j }}"
    "{% endfor %}{% endfor %}",
    "center": "{{ 'x'|center(30000000) }}",
    "format filter": "{{ '%30000000s'|format('x') }}",
    "format with a * width": "{{ '%*s'|format(30000000, 'x') }}",
    "% operator": "{{ '%30000000s' % 'x' }}",
    "str.format": "{{ '{:>30000000}'.format('x') }}",
    "indent": "{{ ('x\\n' * 100000)|indent(1000) }}",
    "~ doubling": GROWING.replace("OP", "ns.s ~ ns.s"),
    "+ doubling": GROWING.replace("OP", "ns.s + ns.s"),
    "join": "{{ (['x' * 100000] * 1000)|join }}",
    "join separator": "{{ range(100000)|join('x' * 100000) }}",
    "join separator by name": "{{ range(100000)|join(d='x' * 100000) }}",
    "replace": "{{ ('a' * 100000)|replace('a', 'b' * 100000) }}",
    "list multiplication printed": R + "{{ [r, r, r, r, r, r, r, r, r, r] * 100000 }}",
    "list multiplication joined": R + "{{ [r, r, r, r, r, r, r, r, r, r] ~ '' }}",
    "list multiplication as json": R + "{{ [r, r, r, r, r, r, r, r, r, r]|tojson }}",
    "list.extend doubling": "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}"
    "{% endfor %}",
    "str.ljust": "{{ 'x'.ljust(100000000) }}",
    "str.translate": "{{ 'aaaa'.translate({97: 'x' * 1000000}) }}",
    "batch fill": "{{ range(1)|batch(100000000, 'x')|list }}",
    "slice count by name": "{{ range(3)|slice(slices=1000000000)|list }}",
    "sum of lists": "{{ ([[1] * 1000] * 1000)|sum(start=[]) }}",
    "integer squaring": "{% set ns = namespace(n=10) %}{% for i in range(64) %}"
    "{% set ns.n = ns.n * ns.n %}{% endfor %}",
    "lipsum": "{{ lipsum(1000000) }}",
    "macro recursion": "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "macro fan-out": "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
    "{% endmacro %}{{ f(40) }}",
    "recursive loop": "{% for x in [1] recursive %}{{ loop(range(100000)) }}{% endfor %}",
    "long output": "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "deep brackets": "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "deep tags": "{% if 1 %}" * 3000 + "x" + "{% endif %}" * 3000,
}


def _max_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


@pytest.mark.parametrize("template", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_fails_with_a_clear_message_and_bounded_memory(template):
    before = _max_rss_mb()
    with pytest.raises(TemplateProblem) as caught:
        check_template_safety(template)
        render_template(template, {})
    message = str(caught.value)
    assert any(
        words in message
        for words in (
            "longer than",
            "steps of work",
            "not allowed",
            "more than",
            "too deeply",
            "limited to",
        )
    ), message
    # A peak, so it only grows: at most a few copies of the value cap were ever built.
    assert _max_rss_mb() - before < 100


def test_the_budget_counts_steps_deterministically():
    loop = "{% for i in range(N) %}{% endfor %}"
    render_template(loop.replace("N", "500"), {}, steps=600)
    with pytest.raises(TemplateBudgetExceeded, match="more than 400 steps") as caught:
        render_template(loop.replace("N", "500"), {}, steps=400)
    assert caught.value.steps == 400
    budget = RenderBudget(10)
    budget.charge(10)
    with pytest.raises(Exception, match="more than 10 steps"):
        budget.charge()


def test_the_rendered_value_and_the_template_are_capped_with_their_sizes_named():
    exact = "{{ 'x' * N }}".replace("N", str(MAX_OUTPUT_CHARS))
    assert len(render_template(exact, {})) == MAX_OUTPUT_CHARS
    with pytest.raises(TemplateProblem, match=f"more than {MAX_OUTPUT_CHARS:,} characters"):
        render_template(exact + "y", {})
    with pytest.raises(TemplateProblem, match=f"the limit is {MAX_TEMPLATE_CHARS:,}"):
        check_template_safety("x" * (MAX_TEMPLATE_CHARS + 1))
    with pytest.raises(TemplateProblem, match=f"longer than {MAX_VALUE_CHARS:,}"):
        render_template("{{ v ~ v }}", {"v": "x" * (MAX_VALUE_CHARS // 2 + 1)})


def test_ordinary_templates_still_render_the_same():
    context = {"name": "Ann", "tags": ["a", "b"], "doc": {"title": "T"}, "n": 3}
    template = (
        "Hello {{ name }}! {% for t in tags %}{{ loop.index }}. {{ t|upper }}\n{% endfor %}"
        "{{ '%5.2f' % 3.14159 }}|{{ '{:>5}'.format('a') }}|{{ doc.title ~ '!' }}|"
        "{{ tags|join(', ') }}|{{ 'ab'|center(6) }}|{{ n * 2 }}|{{ [1] + [2] }}|"
        "{{ 'a-b'.replace('-', '+') }}|{{ range(3)|sum }}|{{ 'x\ny'|indent(2) }}|"
        "{{ range(3)|join(d='-') }}|{{ 'aaa'|replace('a', 'b', count=2) }}|"
        "{{ range(5)|batch(linecount=2)|list }}|{{ 'x'|center(width=3) }}"
    )
    assert render_template(template, context) == (
        "Hello Ann! 1. A\n2. B\n 3.14|    a|T!|a, b|  ab  |6|[1, 2]|a+b|3|x\n  y|"
        "0-1-2|bba|[[0, 1], [2, 3], [4]]| x "
    )
