"""How the lake reaches object storage: the fsspec options of a URL, set in one place.

``s3://bucket/prefix`` URLs go through s3fs to the S3 API at ``BUNJANG_S3_ENDPOINT_URL``
(unset: AWS itself, or botocore's own ``AWS_ENDPOINT_URL``), for example a MinIO or Ceph
gateway, or moto's server on loopback in the tests (``tools/s3_local.py``). Credentials are
never passed in code: botocore reads them from its usual places (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, an instance role). Listings are not cached, so a
manifest another process committed is seen by the next read.

>>> storage_options("/srv/lake"), storage_options("memory://lake")
({}, {})
>>> import os; os.environ["BUNJANG_S3_ENDPOINT_URL"] = "http://127.0.0.1:9000"
>>> storage_options("s3://lake/events")
{'use_listings_cache': False, 'endpoint_url': 'http://127.0.0.1:9000'}
>>> del os.environ["BUNJANG_S3_ENDPOINT_URL"]
"""

from __future__ import annotations

import os

ENDPOINT_VARIABLE = "BUNJANG_S3_ENDPOINT_URL"
S3_PROTOCOLS = ("s3", "s3a")


def storage_options(url: str) -> dict:
    """The fsspec options for ``url`` (none for local paths and other protocols)."""
    protocol = str(url).split("://", 1)[0] if "://" in str(url) else "file"
    if protocol not in S3_PROTOCOLS:
        return {}
    options: dict = {"use_listings_cache": False}
    if os.environ.get(ENDPOINT_VARIABLE):
        options["endpoint_url"] = os.environ[ENDPOINT_VARIABLE]
    return options
