"""Errors the UI and CLI show to people as they are: bad input, named with what is allowed."""


class InputError(ValueError):
    """A request setting that is out of range or does not apply; the message says what is allowed."""


class TaskFailed(RuntimeError):
    """Work that could not be done for a reason the user is told as it is (e.g. a model failed to make its image);
    nothing half-done was kept."""
