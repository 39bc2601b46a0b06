"""What the LLM judge kinds share: the model they ask (a credential of the run's project), a
prompt over the row's columns, their form fields, and how one ask for one row goes through the
generation engine (its column fillers, and the run's ``CallContext``: ledger, limiter, retries,
budget) and becomes an answer or a failed score."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from pydantic import Field, ValidationInfo, field_validator

from generation.engine import CallLlm, FillContext, LlmFailure, RowOutcome
from generation.kinds import fill_llm, filler_for
from generation.models import Run
from generation.seeds.data import SeedData
from generation.worker.online_call import BudgetReached
from studio.kinds.base import KindField, given
from studio.models import ProviderCredential
from studio.schema.llm_kinds import LlmColumn
from studio.schema.templating import TemplateProblem, check_template_safety, template_variables

from .base import FormContext, KindSettings, RowInput, ScoreResult

MAX_PROMPT_CHARS = 20_000
MAX_ERROR_CHARS = 1000
MAX_RAW_CHARS = 2000
MSG_NOT_PROJECT_CREDENTIAL = (
    "credential_id: credential {id} is not one of this project's credentials; choose one of "
    "the project's"
)
MSG_UNKNOWN_VARIABLE = (
    "{field}: '{{{{ {name} }}}}' is not a column of run {run} (its columns: {columns})"
)
MSG_MISSING = {
    "model": "name the judge's model (gpt-4o-mini, claude-haiku-4-5…)",
    "prompt": "write what the judge reads, with the row's columns: {{ question }}",
}
MSG_TEMPLATE = "The judge's prompt could not be written for this row: {error}"
MSG_NO_ANSWER = "The judge gave no usable answer: {error}"
MSG_BUDGET = (
    "Not judged: the call could take the run past its budget. Raise the run's budget and "
    "re-run the evaluation (answers already paid for are not paid again)."
)


class JudgeSettings(KindSettings):
    """The model a judge asks and what it is told; ``prompt`` and ``system_prompt`` are
    templates over the row's columns (``{{ question }}``), rendered in the sandbox."""

    credential_id: int
    model: str = Field(max_length=200)
    prompt: str = Field(max_length=MAX_PROMPT_CHARS)
    system_prompt: str = Field(default="", max_length=MAX_PROMPT_CHARS)
    # Judging should be as repeatable as the model allows.
    temperature: float = Field(default=0.0, ge=0, le=2, allow_inf_nan=False)
    max_tokens: int = Field(default=1024, ge=1, le=32768)
    max_reasks: int = Field(default=2, ge=0, le=5)

    @field_validator("model", "prompt")
    @classmethod
    def _given(cls, text: str, info: ValidationInfo) -> str:
        if not text.strip():
            raise ValueError(MSG_MISSING[info.field_name or ""])
        return text

    @field_validator("prompt", "system_prompt")
    @classmethod
    def _safe_template(cls, text: str) -> str:
        check_template_safety(text)  # TemplateProblem is a ValueError: shown as the field's
        return text

    def run_problems(self, run: Run) -> list[str]:
        problems = []
        if not run.project.credentials.filter(pk=self.credential_id).exists():
            problems.append(MSG_NOT_PROJECT_CREDENTIAL.replace("{id}", str(self.credential_id)))
        columns = run.spec.output_columns()
        for field in ("prompt", "system_prompt"):
            for name in sorted(template_variables(getattr(self, field)) - set(columns)):
                problems.append(
                    MSG_UNKNOWN_VARIABLE.format(
                        field=field, name=name, run=run.pk, columns=", ".join(columns)
                    )
                )
        return problems

    def llm_fields(self) -> dict[str, Any]:
        """The keys of the generation column the judge is asked through."""
        return {
            "credential_id": self.credential_id,
            "model": self.model,
            "prompt": self.prompt,
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "max_reasks": self.max_reasks,
        }


class JudgeFailed(Exception):
    """One row's ask gave no usable answer; the message says why (shown on its score)."""

    def __init__(self, message: str, raw: str | None = None) -> None:
        super().__init__(message[:MAX_ERROR_CHARS])
        self.raw = raw

    def score(self) -> ScoreResult:
        detail = {"raw": self.raw[:MAX_RAW_CHARS]} if self.raw else {}
        return ScoreResult(None, None, detail=detail, error=str(self))


async def ask(
    column: LlmColumn, row: RowInput, call_llm: CallLlm, *, suffix: str | None = None
) -> Any:
    """The column's parsed answer for ``row``, filled as the engine fills that column in a run:
    its templates rendered over the row's values, then ``call_llm``. ``suffix`` (plain text,
    never a template) is appended to the rendered prompt instead of the kind's own ending.
    A failure for this row only raises JudgeFailed."""
    ctx = FillContext(
        seed=0,
        row_index=row.index,
        outcome=RowOutcome(values=dict(row.values)),
        call_llm=call_llm,
        seeds=SeedData(),
    )
    try:
        if suffix is None:
            await filler_for(column)(column, ctx)
        else:
            await fill_llm(column, ctx, suffix=suffix)
    except TemplateProblem as exc:
        raise JudgeFailed(MSG_TEMPLATE.replace("{error}", str(exc))) from exc
    except LlmFailure as exc:
        raise JudgeFailed(MSG_NO_ANSWER.replace("{error}", str(exc)), exc.raw_text) from exc
    except BudgetReached as exc:
        raise JudgeFailed(MSG_BUDGET) from exc
    return ctx.outcome.values[column.name]


# --- form fields ---------------------------------------------------------------------------


def _bind_credentials(field: forms.Field, context: FormContext) -> None:
    credentials = context.credentials
    field.queryset = (  # type: ignore[attr-defined]
        credentials if credentials is not None else ProviderCredential.objects.none()
    )


CREDENTIAL = KindField(
    "credential_id",
    forms.ModelChoiceField(
        queryset=ProviderCredential.objects.none(),
        label="Credential",
        help_text="Its calls are paid with this key and count against the run's budget",
    ),
    bind=_bind_credentials,
)
MODEL = KindField(
    "model",
    forms.CharField(
        max_length=200,
        help_text="The model: gpt-4o-mini for a judge, text-embedding-3-small for embeddings",
    ),
)
PROMPT = KindField(
    "prompt",
    forms.CharField(
        max_length=MAX_PROMPT_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the judge reads, with the row's columns: {{ question }}, {{ answer }}",
    ),
    full=True,
)
SYSTEM_PROMPT = KindField(
    "system_prompt",
    forms.CharField(
        required=False, max_length=MAX_PROMPT_CHARS, widget=forms.Textarea(attrs={"rows": 2})
    ),
    full=True,
)
TEMPERATURE = KindField(
    "temperature",
    forms.FloatField(required=False, min_value=0, max_value=2, initial=0),
)
MAX_REASKS = KindField(
    "max_reasks",
    forms.IntegerField(
        required=False,
        min_value=0,
        max_value=5,
        initial=2,
        label="Re-asks when invalid",
        help_text="An answer that is not the JSON asked for is asked again, with the problem",
    ),
)


def judge_to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    credential = data.get("credential_id")
    return {
        "column": data.get("column"),
        "credential_id": credential.pk
        if isinstance(credential, ProviderCredential)
        else credential,
        "model": data.get("model") or "",
        "prompt": data.get("prompt") or "",
        "system_prompt": data.get("system_prompt") or "",
        "temperature": given(data, "temperature", 0.0),
        "max_reasks": given(data, "max_reasks", 2),
    }
