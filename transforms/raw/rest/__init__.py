"""What the REST venues share, each venue parameterising it with data: the request loop
(retry.py), dataset description and field readers (datasets.py), the day source (source.py),
the feed (feed.py), the window loop (ingest.py), loading (load.py), a request-rate limiter, a
verified cache of day pages, and a local fake-server base that speaks each venue's format
with queued faults."""
