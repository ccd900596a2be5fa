"""Uploaded files: size-limited, text only, by extension; errors are InputErrors shown in the page.

The text is then parsed by the same input layer as files on disk (dcplan.io.yamlio), with
its limits on nesting, aliases and numbers.
"""

from __future__ import annotations

import base64
import binascii

from dashboards.settings import MAX_UPLOAD_BYTES  # dcplan.limits.UPLOAD
from dcplan import limits


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
        raise InputError("upload", f"{filename}: over {limits.UPLOAD.describe()}")
    try:
        raw = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        raise InputError("upload", f"{filename}: not a base64 data URL") from None
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InputError("upload", f"{filename}: {len(raw):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    return decode_text(raw, filename or "upload", "upload")


# --------------------------------------------------------------------------------------------
# What a browser sends is not trusted: any callback input can be forged by a client
# --------------------------------------------------------------------------------------------


def shipped_scenario(name: object) -> str:
    """``name`` if it is a shipped scenario or a variant of one (``export-controls:relaxed``; never a path on the server)."""
    from dcplan.errors import InputError
    from dcplan.io.scenario import list_scenarios, scenario_choices

    names = list(dict.fromkeys([*list_scenarios(), *scenario_choices()]))
    if not isinstance(name, str) or name not in names:
        raise InputError("scenario", f"choose one of {', '.join(names)} or upload a scenario file")
    return name


def check_scenario_text(text: object, file: str = "uploaded.yaml") -> str:
    """An uploaded scenario's text, refused when it is too long or extends anything but a shipped scenario."""
    from dcplan.io.yamlio import parse_yaml

    doc = parse_yaml(_text(text, "scenario"), file)
    parent = doc.data.get("extends")
    if parent not in (None, ""):
        from dcplan.errors import InputError

        try:
            shipped_scenario(parent)
        except InputError as exc:
            raise doc.error(("extends",), f"an uploaded scenario may extend a shipped scenario only ({exc.message})") from None
    return str(text)


def check_workload_text(text: object, file: str = "workload.yaml") -> str:
    """A workload typed or uploaded in the browser: bounded, and naming no file on the server."""
    from dcplan.io.yamlio import parse_yaml

    doc = parse_yaml(_text(text, "workload"), file)
    options = doc.data.get("hardware")
    for i, opt in enumerate(options if isinstance(options, list) else []):
        if isinstance(opt, dict) and opt.get("profile") not in (None, ""):
            raise doc.error(("hardware", i, "profile"), "the dashboard reads no files named in a workload: "
                                                        "calibrate with the command line (dcplan plan --profile)")
    return str(text)


def _text(text: object, field: str) -> str:
    from dcplan.errors import InputError

    if not isinstance(text, str):
        raise InputError(field, "expected text")
    if len(text) > limits.TEXT_FIELD.maximum:
        raise limits.TEXT_FIELD.refuse(field, f"{len(text):,} characters")
    return text
