"""What the REST venues share: a request-rate limiter, a verified cache of day pages, and a
local fake-server base that speaks each venue's format with queued faults."""
