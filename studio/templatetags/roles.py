"""``{% if project|may:"push_to_hub" %}``: show a control only to a role that may use it.

Reads the role the access check left on the project (studio/selectors.py ``authorize``) and asks
the one matrix (studio/permissions.py). A project no check went through shows nothing."""

from __future__ import annotations

from django import template

from studio.permissions import Action, role_may

register = template.Library()


@register.filter
def may(project: object, action: str) -> bool:
    return role_may(getattr(project, "member_role", None), Action(action))
