"""oortgate: a self-hostable S3-compatible gateway in the manner of OORT Storage."""

__version__ = "0.1.0"
