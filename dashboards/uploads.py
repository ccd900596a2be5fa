"""Uploaded files: size-limited, text only, by extension; errors are InputErrors shown in the page.

The text is then parsed by the same input layer as files on disk (dcplan.io.yamlio), with
its limits on nesting, aliases and numbers.
"""

from __future__ import annotations

import base64
import binascii

from dcplan import limits

MAX_UPLOAD_BYTES = int(limits.UPLOAD.maximum)


def decode_upload(contents: str, filename: str | None, extensions: tuple[str, ...]) -> str:
    """Text of an uploaded file (a dcc.Upload data URL); InputError when too large, not text or misnamed."""
    from dcplan.errors import InputError
    from dcplan.io.yamlio import decode_text

    if not isinstance(contents, str) or (filename is not None and not isinstance(filename, str)):
        raise InputError("upload", "not a file upload")
    if filename and not filename.lower().endswith(extensions):
        raise InputError("upload", f"{filename}: upload a {' or '.join(extensions)} file")
    payload = contents.partition(",")[2]
    if len(payload) > 4 * (MAX_UPLOAD_BYTES // 3 + 1):  # refuse before decoding
        raise InputError("upload", f"{filename}: over the {limits.UPLOAD.describe()} limit")
    try:
        raw = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        raise InputError("upload", f"{filename}: not a base64 data URL") from None
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InputError("upload", f"{filename}: {len(raw):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    return decode_text(raw, filename or "upload", "upload")
