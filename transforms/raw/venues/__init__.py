"""One package per venue (transforms/raw/venues/<venue>/), each named in the venue registry."""
