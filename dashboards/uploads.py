"""Uploaded files: size-limited, text only, by extension; errors are InputErrors shown in the page."""

from __future__ import annotations

import base64

from dashboards.settings import MAX_UPLOAD_BYTES


def decode_upload(contents: str, filename: str | None, extensions: tuple[str, ...]) -> str:
    """Text of an uploaded file (a dcc.Upload data URL); InputError when too large, not text or misnamed."""
    from dcplan.errors import InputError

    if filename and not filename.lower().endswith(extensions):
        raise InputError("upload", f"{filename}: upload a {' or '.join(extensions)} file")
    raw = base64.b64decode(contents.partition(",")[2], validate=False)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InputError("upload", f"{filename}: {len(raw):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("upload", f"{filename}: not UTF-8 text") from None
