"""Our own back/forward history for one tab.

The browser's history is wrong for an agent in two ways: a redirecting URL sits in it
(going back lands on the redirect, which sends you forward again), and a page that
navigates itself (a JavaScript redirect, a meta refresh) adds an entry the agent never
chose. Here an entry is added only for a navigation that follows one of *our* actions;
a navigation nobody asked for replaces the current entry, and HTTP redirects only ever
commit their final URL. In-page anchors are ordinary entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IGNORED = ("about:blank", "chrome-error://", "chrome-extension://")


@dataclass
class History:
    entries: list[str] = field(default_factory=list)
    index: int = -1
    _acted: bool = False  # an action of ours happened since the last commit
    _traversing_to: int | None = None

    def mark_action(self) -> None:
        """Call before an action that may navigate (visit, click, submit, key press)."""
        self._acted = True

    def committed(self, url: str) -> None:
        """A main-frame navigation committed (its final URL, after any redirects)."""
        if url.startswith(IGNORED):
            return
        if self._traversing_to is not None:
            self.index, self._traversing_to = self._traversing_to, None
            self.entries[self.index] = url  # the entry may have redirected elsewhere now
        elif self.index >= 0 and self.entries[self.index] == url:
            pass  # a reload
        elif self._acted or self.index < 0:
            del self.entries[self.index + 1 :]
            self.entries.append(url)
            self.index += 1
        else:
            self.entries[self.index] = url  # the page moved on by itself: a redirect
        self._acted = False

    def target(self, steps: int) -> str | None:
        """The URL `steps` entries away (negative: back), or None past either end."""
        wanted = self.index + steps
        if 0 <= wanted < len(self.entries) and self.index >= 0:
            return self.entries[wanted]
        return None

    def begin_traversal(self, steps: int) -> None:
        self._traversing_to = self.index + steps
        self._acted = False

    def cancel_traversal(self) -> None:
        self._traversing_to = None

    @property
    def current(self) -> str | None:
        return self.entries[self.index] if self.index >= 0 else None
