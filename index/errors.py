"""The project's exception types. They carry a user-facing message; ``api/`` maps them to HTTP codes
and the CLI to exit codes, so no other layer needs to know about either."""

from __future__ import annotations


class RagError(Exception):
    """Base class: a problem the user can act on, with a message that says what to do."""


class InputError(RagError):
    """Bad input: an empty question, an unreadable or non-UTF-8 file, an unsupported file type."""


class NotFoundError(RagError):
    """A path, document id or index that does not exist."""


class IndexMismatchError(RagError):
    """The index on disk was built with a different model, dimension or chunking: refuse to mix."""


class ConfigError(RagError):
    """An unknown component name or an invalid setting."""


class UpstreamError(RagError):
    """An external service (an LLM server) failed or timed out."""


class ConflictError(RagError):
    """The request conflicts with the current state: cancelling a job that has already finished."""


class StorageError(RagError):
    """The data directory refused a write: it is read-only or this process may not write there. The
    message names the path; whatever was being written was discarded and the index left as it was."""


class StorageFullError(StorageError):
    """The disk (or the user's quota) is full: the same guarantees, a different remedy."""
