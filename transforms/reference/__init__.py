"""Reference tables (`ref.*`): dated venue tier tables, their data and loaders."""

from transforms.reference.brackets import bracket_table, load_brackets, seed_brackets

__all__ = ["bracket_table", "load_brackets", "seed_brackets"]
