"""Pages for accounts, projects, credentials, seed files, schemas and API tokens, one module per
area (``config/urls.py`` wires them). Thin: fetch through a selector (strangers get 404),
validate with a form, call one service, render."""
