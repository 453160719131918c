"""Pure data code: sources, parsing, SQL and the numpy model. Never imports Dagster."""
