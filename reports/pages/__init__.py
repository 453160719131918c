"""One module per page kind: each builds its page's context and renders it to text.

Nothing here writes files; `reports.site` hands the rendered pages to `reports.writer`.
"""
