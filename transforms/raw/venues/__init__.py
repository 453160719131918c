"""One module or package per venue."""
