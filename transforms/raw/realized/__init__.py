"""Realized liquidations: a long-running WebSocket collector and its daily warehouse loader.

(venues/<v>/stream.py)          each venue's wire format: subscribe, heartbeat, parse, normalise
events                         the venue-neutral shapes both share (received line, liquidation)
dedupe                         drops redeliveries after a reconnect, keeps genuine repeats
hourly_files                   append + fsync to HH.jsonl.open, renamed atomically at the hour
coverage                       connected intervals and gaps, so an incomplete day is never silent
connection                     one WebSocket connection: connect, subscribe, heartbeat, read
collector                      per venue: reconnect with backoff, replace ageing connections, write,
                               stop cleanly on SIGTERM/SIGINT
settings                       LIQMAP_COLLECT_* / *_WS_URL environment settings
load                           closed hourly files of a day -> raw.liquidations, idempotently
"""
