"""What ``inv dev [N] [ACTION] [--all]`` means (pure): the words, read the way ``just dev N action`` reads them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from multistack.act.lifecycle import ACTIONS, ALL_ACTIONS, DEFAULT_ACTION, DevCommand
from multistack.errors import StackError
from multistack.io.userfiles import read_user_text
from multistack.model.names import is_number, parse_instance_number
from multistack.model.stack import Stack

#: Overrides the workspace's default instance (``inv dev.use N``) for one shell.
DEFAULT_INSTANCE_VAR = "MULTISTACK_INSTANCE"
DEFAULT_FILE = ".default-instance"


def parse_words(words: Sequence[str], all_flag: bool, stack: Stack) -> DevCommand:
    """Classify up to two words: a number (or ``all``) and an action, in either order."""
    if len(words) > 2:
        raise StackError(f"too many arguments: {' '.join(words)}", "use `inv dev [N] [ACTION]`, e.g. `inv dev 1 start`")
    action: str | None = None
    number: str | None = None
    everything = all_flag
    for word in words:
        if word == "all":
            everything = True
        elif word in ACTIONS:
            if action:
                raise StackError(f"two actions given: {action} and {word}", "give one action")
            action = word
        elif is_number(word):  # ASCII digits only: "²" and "１" are not instance numbers
            if number is not None:
                raise StackError(f"two instances given: {number} and {word}", "give one instance, or --all")
            number = word
        else:
            raise StackError(f"unknown action or instance {word!r}",
                             f"actions: {', '.join(ACTIONS)}; instances: {stack.first}-{stack.last} or all")
    action = action or DEFAULT_ACTION
    if everything:
        if number is not None:
            raise StackError(f"both instance {number} and all given", "give an instance number or --all, not both")
        if action not in ALL_ACTIONS:
            raise StackError(f"`{action}` does not take --all", f"--all works with: {', '.join(ALL_ACTIONS)}")
        return DevCommand(action, None, True)
    if number is not None:
        return DevCommand(action, parse_instance_number(number, stack), False)
    n, source = instance_choice(stack)
    return DevCommand(action, n, False, source)


def default_file(stack: Stack) -> Path:
    return stack.root / stack.instances_dir / DEFAULT_FILE


def default_instance(stack: Stack) -> int:
    """The instance ``inv dev`` acts on when no N is given (:func:`instance_choice`)."""
    return instance_choice(stack)[0]


def instance_choice(stack: Stack) -> tuple[int, str]:
    """The default instance and where it came from, in this order (docs/worktrees.md):

    ``$MULTISTACK_INSTANCE`` (``env``), else the instance this checkout claimed
    (``claim``: ``inv dev.claim``, or its first ``start`` inside git), else the workspace
    default set by ``inv dev.use`` (``default-file``), else the first instance (``first``,
    which a first ``start`` inside git replaces by the lowest free number it claims).
    """
    from multistack.act.claims import check_claim_range, own_claim

    value = os.environ.get(DEFAULT_INSTANCE_VAR)
    if value:
        try:
            return parse_instance_number(value, stack), "env"
        except StackError as exc:
            raise StackError(f"{DEFAULT_INSTANCE_VAR}={value}: {exc.message}", f"unset {DEFAULT_INSTANCE_VAR} or fix it") from None
    claimed = own_claim(stack)
    if claimed is not None:
        return check_claim_range(stack, claimed), "claim"
    hint = "run `inv dev.use N` to set a valid default"
    text = read_user_text(default_file(stack), hint=hint, missing_ok=True)
    if text is None:
        return stack.first, "first"
    text = text.strip()
    try:
        return parse_instance_number(text, stack), "default-file"
    except StackError as exc:
        raise StackError(f"{default_file(stack)}: {exc.message}", "run `inv dev.use N` to set a valid default") from None
