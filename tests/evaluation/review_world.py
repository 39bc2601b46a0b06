"""A finished run made directly (nothing generated or queued) with a text column and a
structured column, for the review tests."""

from __future__ import annotations

from generation.models import Row, Run
from studio.models import Project

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "confidence": {"type": "number"}},
    "required": ["text"],
}


def review_spec(credential_id: int) -> dict:
    llm = {"credential_id": credential_id, "model": "gpt-4o-mini"}
    return {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space", "oceans"]},
            {"name": "question", "kind": "llm_text", "prompt": "Ask about {{ topic }}", **llm},
            {
                "name": "answer",
                "kind": "llm_structured",
                "prompt": "Answer {{ question }}",
                "json_schema": ANSWER_SCHEMA,
                **llm,
            },
        ]
    }


def review_run(project: Project, credential_id: int, *, rows: int = 12) -> Run:
    owner = project.owner
    run = Run.objects.create(
        project=project,
        schema_name="Review",
        schema_version=1,
        spec_snapshot=review_spec(credential_id),
        seed=1,
        num_rows=rows,
        status=Run.Status.FINISHED,
        created_by=owner,
    )
    Row.objects.bulk_create(
        Row(
            run=run,
            index=index,
            status=Row.Status.GENERATED,
            values={
                "topic": "space",
                "question": f"Question {index}?",
                "answer": {"text": f"Answer {index}", "confidence": 0.5},
            },
        )
        for index in range(rows)
    )
    return run
