"""Seed data for a run: the table rows and document chunks a batch of rows reads, loaded from the
database up front (``loading``) into a plain object the pure engine reads (``data``).

Seed handling is split by the import direction, one place per layer: ``studio/seeds`` parses
uploaded files (pure), ``studio/schema`` holds the seed column kinds and which row a dataset row
takes (part of the spec the designer validates); generation only reads them for a run, here."""
