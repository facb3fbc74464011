"""Publishing a site to S3 (or an S3-compatible endpoint): the one place boto3 is used.

S3 has no multi-object switch, so the order of uploads is what keeps readers
safe (see :func:`slactl.publish.folder.switch_order`): content-hashed assets
first, then other pages, then the JSON API, ``index.html`` last.  A run that
fails midway leaves the previous ``index.html`` in place, and everything it
links to, because stale keys are deleted only after the switch and only those
the previous build's manifest lists.

Cache headers: ``max-age=60`` for HTML, JSON and Atom (rebuilt every few
minutes); a year and ``immutable`` for hashed assets, whose name changes with
their content.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from slactl.config import S3Target
from slactl.errors import PublishError
from slactl.publish.folder import (
    MANIFEST,
    check_path,
    is_hashed_asset,
    manifest_bytes,
    parse_manifest,
    switch_order,
)

CACHE_SHORT = "public, max-age=60"
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_NONE = "no-store"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}


def content_type(path: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(path).suffix.lower(), "application/octet-stream")


def cache_control(path: str) -> str:
    return CACHE_IMMUTABLE if is_hashed_asset(path) else CACHE_SHORT


def make_client(target: S3Target) -> Any:
    """A boto3 S3 client for the target; custom endpoints get path-style addressing."""
    import boto3
    from botocore.config import Config as BotoConfig

    kwargs: dict[str, Any] = {}
    if target.region:
        kwargs["region_name"] = target.region
    if target.endpoint_url:
        kwargs["endpoint_url"] = target.endpoint_url
        kwargs["config"] = BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3})
    return boto3.client("s3", **kwargs)


def _prefix(prefix: str) -> str:
    p = prefix.strip("/")
    return f"{p}/" if p else ""


def _where(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def _old_manifest(client: Any, bucket: str, key: str) -> list[str]:
    from botocore.exceptions import ClientError

    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return []
        raise PublishError(f"cannot read {_where(bucket, key)}: {exc}") from exc
    except _errors() as exc:
        raise PublishError(f"cannot reach S3 for {_where(bucket, key)}: {exc}") from exc
    return parse_manifest(body)


def publish_s3(
    files: dict[str, bytes], target: S3Target, client: Any | None = None, *, keep_old: bool = False
) -> list[str]:
    """Upload the site in switch order, then delete what the previous build had and this lacks.

    ``keep_old``: ``files`` are only part of what lives under the prefix (one
    report of a month, say): nothing is deleted and the manifest lists both.

    Returns the keys uploaded, in upload order.  Raises PublishError naming the
    key that failed; the previous page is then still what readers get.
    """
    paths = {check_path(p): data for p, data in files.items()}
    try:
        s3 = client if client is not None else make_client(target)
    except _errors() as exc:
        raise PublishError(f"cannot set up an S3 client: {exc}") from exc
    bucket, prefix = target.bucket, _prefix(target.prefix)
    old = _old_manifest(s3, bucket, prefix + MANIFEST)
    uploaded: list[str] = []
    for path in switch_order(paths):
        key = prefix + path
        try:
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=paths[path],
                ContentType=content_type(path),
                CacheControl=cache_control(path),
            )
        except _errors() as exc:
            raise PublishError(
                f"upload of {_where(bucket, key)} failed: {exc}; the previous page is still served"
            ) from exc
        uploaded.append(key)
    key = prefix + MANIFEST
    try:
        s3.put_object(
            Bucket=bucket, Key=key, Body=manifest_bytes(set(paths) | set(old) if keep_old else paths),
            ContentType=CONTENT_TYPES[".json"], CacheControl=CACHE_NONE,
        )  # fmt: skip
        stale = [] if keep_old else sorted(set(old) - set(paths))
        for i in range(0, len(stale), 1000):
            batch = [{"Key": prefix + p} for p in stale[i : i + 1000]]
            resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            failed = resp.get("Errors") or []
            if failed:
                first = failed[0]
                raise PublishError(
                    f"cannot delete stale {_where(bucket, first.get('Key', '?'))}: {first.get('Message', 'error')}"
                )
    except _errors() as exc:
        raise PublishError(f"the new page is live, but cleaning up {_where(bucket, prefix)} failed: {exc}") from exc
    return uploaded
