"""Progress and log lines for every training loop: one helper, with or without tqdm.

``Progress(total, desc)`` shows a tqdm bar where one is wanted and tqdm is installed. Its
``write`` prints a line above the bar, or as a plain line when there is no bar: evaluation
lines reach the screen (and a CI log) either way; ``--no-progress`` hides only the bar.
"""

from __future__ import annotations


class Progress:
    """A progress bar over ``total`` steps (starting at ``initial``), and a place for log lines."""

    def __init__(self, total: int, desc: str, enabled: bool = True, initial: int = 0, log=print):
        self.log, self.bar = log, None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=initial, desc=desc, unit="step")

    def update(self, steps: int = 1, **postfix) -> None:
        """Move on by ``steps``; ``postfix`` (e.g. loss=...) is shown after the bar."""
        if self.bar is not None:
            self.bar.update(steps)
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)

    def write(self, line: str) -> None:
        """A log line: above the bar when there is one, else printed through ``log``."""
        if self.bar is not None:
            self.bar.write(line)
        else:
            self.log(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
