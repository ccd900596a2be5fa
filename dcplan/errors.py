"""Error types shared by every stage: bad input versus things the model cannot answer."""

from __future__ import annotations


class DcplanError(Exception):
    """Base class of the errors dcplan raises on purpose."""


class InputError(DcplanError, ValueError):
    """Bad input: names the field (and, for files, the file and line) and what is allowed.

    The CLI turns it into one line on stderr and exit status 2.
    """

    def __init__(
        self,
        field: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        self.field = field
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self.one_line())

    def __reduce__(self) -> tuple:
        """Pickled with its fields (a worker process's error reaches the CLI whole: one line, exit 2)."""
        return _rebuild, (type(self), self.field, self.message, self.file, self.line), self.__dict__

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"{self.field}: " if self.field else ""
        return one_line(f"{where}{field}{self.message}")


def _rebuild(cls: type[InputError], field: str, message: str, file: str | None, line: int | None) -> InputError:
    return cls(field, message, file=file, line=line)


#: Longest error line shown; a hostile file can put megabytes into a name that is echoed back.
MAX_MESSAGE_CHARS = 2000


def one_line(text: str) -> str:
    """``text`` as one printable line: control and format characters escaped (no newlines,
    terminal escapes or bidi overrides reach a terminal or a page), cut to MAX_MESSAGE_CHARS."""
    import unicodedata

    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 20] + f"... ({len(text):,} chars)"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() and unicodedata.category(c) != "Cf" else c.encode("unicode_escape").decode("ascii") for c in text)


class InfeasibleError(InputError):
    """The question has no answer for this input (no layout fits memory, no batch meets an SLO)."""
