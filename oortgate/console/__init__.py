"""The web console at ``/_console/``: server-rendered pages, a little vanilla JavaScript,
and presigned S3 requests made by the browser itself (see console/app.py)."""
