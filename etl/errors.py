"""What a user asked for that cannot be done, told apart from a bug.

``etl`` prints the errors a user can fix (a bad config, an unreachable source or warehouse,
a command line asking for something the tenant does not have) as one line each; anything else
is a bug and keeps its traceback. Modules below the command line raise :class:`UsageError`
for the last kind, and :class:`Interrupted` when the user stopped the command.
"""

from __future__ import annotations


class UsageError(ValueError):
    """The command asks for something that cannot be done; the message says what can."""


class Interrupted(RuntimeError):
    """The user stopped the command (Ctrl-C, SIGTERM) while a run was executing; the runs
    after it are not started."""
