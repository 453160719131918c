"""Raw layer: venue sources, datasets registry, parsing, loading, quality."""
