from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project wiring as an app only so Django finds its `serve` command."""

    name = "config"
    verbose_name = "Project"
