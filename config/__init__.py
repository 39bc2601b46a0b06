"""The project package: settings, URLs, ASGI/WSGI entry points, the API site and `serve`.

The one place that imports every app (studio, generation, evaluation); no app imports it."""
