"""Options: the fields of the config dataclasses, with the help text and flag of each.

A config dataclass (``TrainConfig``, ``FinetuneConfig``, ``GenerateConfig``) is the one place
where a default lives. Its fields are made with ``option``, which records the command-line
flag and a help text beside the default; the CLI builds its flags from these fields (so
``--help`` shows the same defaults the library uses), and a config's checks name the flag
that a user typed, not only the field.
"""

from __future__ import annotations

from dataclasses import field, fields


def option(default, help: str, flag: str | None = None, choices=None):
    """A dataclass field with a default, a help text, and optionally its flag and choices.

    ``flag`` defaults to the field's name with dashes (``batch_size`` -> ``--batch-size``); a
    boolean that defaults to True gets ``--no-<name>``."""
    return field(default=default, metadata={"help": help, "flag": flag, "choices": choices})


def flag_of(config, name: str) -> str:
    """The command-line flag of a config's field: ``--batch-size`` for ``batch_size``."""
    for f in fields(config):
        if f.name == name:
            if f.metadata.get("flag"):
                return f.metadata["flag"]
            if f.default is True:
                return "--no-" + name.replace("_", "-")
            return "--" + name.replace("_", "-")
    raise KeyError(name)


def named(config, name: str) -> str:
    """A field as an error message names it: ``max_iters (--iters)``."""
    return f"{name} ({flag_of(config, name)})"


def check_at_least(config, minimum, *names) -> None:
    """ValueError naming the field and its flag if any of ``names`` is below ``minimum``."""
    for name in names:
        value = getattr(config, name)
        if value is not None and value < minimum:
            raise ValueError(f"{named(config, name)} must be at least {minimum}, got {value}")


def check_range(config, name: str, low: float, high: float = float("inf"), high_open: bool = False) -> None:
    """ValueError naming the field and its flag unless low <= value <= high (< high if
    ``high_open``); NaN is never in range."""
    value = getattr(config, name)
    if value is None:
        return
    inside = low <= value < high if high_open else low <= value <= high
    if not inside:
        upper = "" if high == float("inf") else f" and {'below' if high_open else 'at most'} {high:g}"
        raise ValueError(f"{named(config, name)} must be a number at least {low:g}{upper}, got {value}")


def check_choice(config, name: str) -> None:
    """ValueError naming the field, its flag and the choices if the value is not one of them."""
    choices = next(f.metadata["choices"] for f in fields(config) if f.name == name)
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"unknown {flag_of(config, name)} {value!r}; choose one of {', '.join(map(str, choices))} "
                         f"({type(config).__name__}.{name})")
