"""The demo account and project that `make run` creates on a fresh install."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from studio.models import Project, ProviderCredential
from studio.services import credential_create, project_create, schema_create

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-studio"
DEMO_PROJECT = "Demo: trivia questions"
DEMO_CREDENTIAL = "Offline simulator"


def demo_spec(credential_id: int) -> dict:
    return {
        "columns": [
            {
                "name": "topic",
                "kind": "category",
                "values": ["astronomy", "ancient history", "cooking", "oceans", "music theory"],
            },
            {
                "name": "difficulty",
                "kind": "category",
                "values": ["easy", "medium", "hard"],
                "weights": [2, 2, 1],
            },
            {
                "name": "question",
                "kind": "llm_text",
                "credential_id": credential_id,
                "model": "simulated-model",
                "system_prompt": "You write clear trivia questions.",
                "prompt": "Write one {{ difficulty }} trivia question about {{ topic }}.",
            },
            {
                "name": "answer",
                "kind": "llm_text",
                "credential_id": credential_id,
                "model": "simulated-model",
                "prompt": "Answer this question in two sentences: {{ question }}",
            },
        ]
    }


@transaction.atomic
def ensure_demo() -> tuple[bool, str, str]:
    """Create the demo user and project once; return (created, username, password)."""
    User = get_user_model()
    user = User.objects.filter(username=DEMO_USERNAME).first()
    if user is not None:
        return False, DEMO_USERNAME, DEMO_PASSWORD
    user = User.objects.create_user(DEMO_USERNAME, password=DEMO_PASSWORD)
    project = project_create(
        user=user,
        name=DEMO_PROJECT,
        description="Trivia questions and answers, generated offline by the simulated provider.",
    )
    credential = credential_create(
        project=project, name=DEMO_CREDENTIAL, provider=ProviderCredential.Provider.SIMULATOR
    )
    schema_create(project=project, user=user, name="Trivia QA", data=demo_spec(credential.pk))
    assert Project.objects.filter(pk=project.pk).exists()
    return True, DEMO_USERNAME, DEMO_PASSWORD
