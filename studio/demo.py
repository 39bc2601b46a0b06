"""The demo account and project that `make run` creates on a fresh install (embedded mode only).

Its password is random, printed once on the console when the account is created (or given by
``STUDIO_DEMO_PASSWORD``, which the browser tests set): a fixed, published password would be a
way into any install reachable from a network.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from studio.models import Project, ProviderCredential
from studio.services import credential_create, project_create, schema_create

DEMO_USERNAME = "demo"
# The fixed password of earlier versions: an existing demo account that still has it gets a
# new random one at the next start.
OLD_FIXED_PASSWORD = "demo-studio"
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


def demo_password() -> str:
    return settings.STUDIO_DEMO_PASSWORD or secrets.token_urlsafe(12)


@transaction.atomic
def ensure_demo() -> tuple[bool, str, str | None]:
    """Create the demo user and project once; return (created, username, password).

    The password is returned only when it was just set (a new account, or one that still had
    the old fixed password); otherwise it is None: only its hash is stored.
    """
    User = get_user_model()
    user = User.objects.filter(username=DEMO_USERNAME).first()
    if user is not None:
        if not user.check_password(OLD_FIXED_PASSWORD):
            return False, DEMO_USERNAME, None
        password = demo_password()
        user.set_password(password)
        user.save(update_fields=["password"])
        return False, DEMO_USERNAME, password
    password = demo_password()
    user = User.objects.create_user(DEMO_USERNAME, password=password)
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
    return True, DEMO_USERNAME, password
