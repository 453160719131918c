"""Assets by layer: raw (ingest), stg (warehouse), mart (model), site (report)."""
