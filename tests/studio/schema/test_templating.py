"""Template variables, sandboxed rendering and the static safety check."""

import pytest

from studio.schema import (
    TemplateProblem,
    check_template_safety,
    render_template,
    template_variables,
    templating,
)

HOSTILE = [
    "{{ ''.__class__.__mro__ }}",
    "{{ x.__globals__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% include '/etc/passwd' %}",
    "{{ x['_private'] }}",
    "{{ x|attr('__class__') }}",
    "{% import 'macros' as m %}",
    "{% from 'macros' import m %}",
    "{% extends 'base' %}",
]


@pytest.fixture
def no_compilation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a template gets compiled (and so could be executed)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("template was compiled")

    monkeypatch.setattr(templating.ENV, "compile", refuse)
    monkeypatch.setattr(templating.ENV, "from_string", refuse)


def test_variables_are_top_level_names() -> None:
    template = (
        "Write about {{ topic }} for {{ audience.name }}{% if tone %} in {{ tone }}{% endif %}"
    )
    assert template_variables(template) == {"topic", "audience", "tone"}


def test_variables_skip_locals_and_globals() -> None:
    template = "{% set n = 3 %}{% for item in items %}{{ item }}{{ loop.index }}{% endfor %}{{ n }}{{ range(2) }}"
    assert template_variables(template) == {"items"}


def test_plain_text_has_no_variables() -> None:
    assert template_variables("") == set()
    assert template_variables("no variables here") == set()


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateProblem, match=r"^Template syntax error on line 2: ") as info:
        template_variables("fine\n{{ broken }")
    assert isinstance(info.value, ValueError)


def test_render_plain_text_without_escaping_and_keeps_trailing_newline() -> None:
    assert (
        render_template("<b>{{ x }}</b> & {{ y }}\n", {"x": "<i>", "y": "'"}) == "<b><i></b> & '\n"
    )


def test_render_missing_variable_names_it() -> None:
    with pytest.raises(TemplateProblem, match="'topc' is undefined"):
        render_template("About {{ topc }}", {"topic": "cats"})


def test_render_missing_variable_fails_even_inside_filters_and_conditions() -> None:
    with pytest.raises(TemplateProblem, match="'nope' is undefined"):
        render_template("{% if nope %}x{% endif %}", {})


def test_render_runtime_errors_become_template_problems() -> None:
    with pytest.raises(TemplateProblem, match="ZeroDivisionError"):
        render_template("{{ 1 / 0 }}", {})


def test_render_syntax_error() -> None:
    with pytest.raises(TemplateProblem, match="line 1"):
        render_template("{% if %}", {})


def test_render_caches_compiled_templates() -> None:
    templating._compile.cache_clear()
    render_template("{{ a }}", {"a": 1})
    render_template("{{ a }}", {"a": 2})
    assert templating._compile.cache_info().hits == 1


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_templates_are_refused_statically(template: str, no_compilation: None) -> None:
    with pytest.raises(TemplateProblem, match=r"^Template refused on line 1: .* not allowed"):
        check_template_safety(template)


def test_refusal_names_what_was_refused() -> None:
    with pytest.raises(TemplateProblem, match="'__mro__'"):
        check_template_safety("{{ ''.__class__.__mro__ }}")
    with pytest.raises(TemplateProblem, match=r"\{% include %\}"):
        check_template_safety("ok\n{% include 'x' %}")


def test_refusal_reports_the_line() -> None:
    with pytest.raises(TemplateProblem, match="on line 3"):
        check_template_safety("a\nb\n{{ x.__dict__ }}")


@pytest.mark.parametrize(
    "template",
    [
        "",
        "Plain prompt about {{ topic }}.",
        "{{ topic.title() }} {{ items[0] }} {{ data['key'] }} {{ row_count + 1 }}",
        "{% for x in items %}{{ loop.index }}: {{ x|upper }}{% endfor %}",
        "{{ '%s and %s'|format(a, b) }} {{ name_with_under_score }}",
    ],
)
def test_ordinary_templates_pass_the_safety_check(template: str) -> None:
    check_template_safety(template)


def test_safety_check_reports_syntax_errors() -> None:
    with pytest.raises(TemplateProblem, match="syntax error"):
        check_template_safety("{{ x")


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__ }}", "{{ cycler.__init__.__globals__ }}", "{{ ''['__class__'] }}"],
)
def test_sandbox_refuses_internals_at_render_time(template: str) -> None:
    # Defence in depth: even a template that skipped the static check is stopped.
    with pytest.raises(TemplateProblem):
        render_template(template, {})


def test_sandbox_refuses_huge_repetition_and_powers() -> None:
    with pytest.raises(TemplateProblem, match="sandbox"):
        render_template("{{ 'x' * 10**10 }}", {})
    with pytest.raises(TemplateProblem, match="sandbox"):
        render_template("{{ n * 'x' }}", {"n": 10**9})
    with pytest.raises(TemplateProblem, match="sandbox"):
        render_template("{{ (10**1000)**1000 }}", {})
    assert render_template("{{ 'ab' * 2 }} {{ 2 ** 10 }} {{ 3 * 4 }}", {}) == "abab 1024 12"


def test_include_cannot_read_files_at_render_time() -> None:
    with pytest.raises(TemplateProblem):
        render_template("{% include '/etc/passwd' %}", {})


def test_tojson_writes_plain_json_in_the_given_order() -> None:
    rendered = render_template(
        '{{ [{"role": "user", "content": q}] | tojson }}', {"q": "<b> & 'é'"}
    )
    assert rendered == '[{"role": "user", "content": "<b> & \'é\'"}]'
    assert render_template("{{ x | tojson(indent=2) }}", {"x": {"a": 1}}) == '{\n  "a": 1\n}'
    with pytest.raises(TemplateProblem, match="indent"):
        render_template("{{ x | tojson(indent=10**9) }}", {"x": [1]})


def test_dict_values_are_read_with_dots() -> None:
    # Structured columns rely on attribute access falling back to keys.
    assert render_template("{{ a.reasoning }}", {"a": {"reasoning": "r"}}) == "r"
