"""The one family of errors a user can fix: `sdfgen` prints them as one line and exits with their code.

Every module raises a subclass of UserError for bad input or a refusal; the CLI's group
catches the family once (as click does with its own ClickException), so no command
needs its own try/except for them.
"""
from __future__ import annotations


class UserError(Exception):
    """A one-line, user-facing refusal. `exit_code` 2 means bad input or usage; 1 means a check failed."""

    exit_code = 2


class SpecError(UserError):
    """`file:line: field: message` about a corpus spec."""

    def __init__(self, path, line: int | None, field: str, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class TemplateError(UserError):
    """A genre template or topic pool is malformed (names the file)."""


class BuildError(UserError):
    """A build refused before or while it ran."""


class ServiceError(UserError):
    """A service the build needs stayed out of reach (an API that never answered): the input was fine,
    the run failed; rerunning resumes it."""

    exit_code = 1


class SourceError(UserError):
    """A source of real documents (to mix or to splice into) cannot be read."""


class OutputError(UserError):
    """An output path that cannot be written (under a file, no permission, read-only)."""


class DatasetError(UserError):
    """A dataset folder that is missing, damaged or not a dataset at all (names the path)."""


class ExportError(UserError):
    pass


class ReleaseError(UserError):
    pass


class HubError(UserError):
    pass


class PriceError(UserError):
    """A model with no entry in the price table."""
