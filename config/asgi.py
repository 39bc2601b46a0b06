"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from generation.live.routing import websocket_urlpatterns  # noqa: E402
from studio.body_limits import BodyLimitASGI  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Refuses a body past its limit before Django spools it to a temporary file.
        "http": BodyLimitASGI(django_asgi_app),  # type: ignore[arg-type]  # stub: dict vs Mapping
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
