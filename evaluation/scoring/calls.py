"""The calls of LLM-backed kinds (judges, embeddings): the generation engine's call path with
its ledger, limiter, retries and budget, charged to the evaluated run. Re-running an evaluation
asks the same questions, so the ledger answers them without paying again."""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.models import Evaluation
from generation.worker.db_thread import DbThread
from generation.worker.llm_calls import CallContext


@dataclass
class EvaluationCalls:
    context: CallContext
    db: DbThread

    async def aclose(self) -> None:
        try:
            await self.context.aclose()
        finally:
            self.db.close()


def evaluation_calls(evaluation: Evaluation) -> EvaluationCalls:
    run = evaluation.run
    credentials = {c.pk: c for c in run.project.credentials.all()}
    db = DbThread()
    context = CallContext(
        credentials=credentials,
        db=db,
        sample_prefix=f"evaluation:{run.pk}",
        project_id=run.project_id,
        run_id=run.pk,
    )
    return EvaluationCalls(context, db)
