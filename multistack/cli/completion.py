"""Tab completion that knows the stack: ``inv dev <TAB>`` offers actions and instances.

invoke completes through ``inv --complete -- WORDS`` and a shell script that hands it
the command line (``invoke/completion/``). Two things stop there: its scripts drop the
empty word under the cursor (``inv dev <TAB>`` and ``inv dev<TAB>`` look the same), and
a bare word after a task always completes as a task name. So multistack ships its own
scripts (:data:`SCRIPTS`, printed by ``multistack completion bash|zsh``) which pass the
words up to and including the one under the cursor, and :func:`install` makes the
program's ``--complete`` answer with :func:`candidates`: invoke's answer (task names,
flags) except where a task's words mean something in this stack.

Every keypress runs this: it reads ``stack.yaml`` and lists ``.instances/`` and nothing
else (no engine query, no jinja2; ``bench/completion.py`` measures it). Any failure
(no stack, a broken stack.yaml) falls back to invoke's answer, silently.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

if TYPE_CHECKING:
    from invoke import Collection, Program
    from invoke.parser import ParserContext

    from multistack.model.stack import Stack

#: The program names the scripts complete for.
NAMES = ("inv", "invoke", "multistack")
#: A range larger than this offers only the instances that exist (and claims), not every number.
MAX_RANGE = 100
HIDDEN_FLAGS = ("--arg", "-a")  # optional positionals travel as --arg WORD (cli/argv.py): not for users


@dataclass
class Line:
    """A command line up to the cursor, read the way the parser will read it."""

    task: ParserContext | None = None  # the task the cursor is in (None: before any task)
    words: list[str] = field(default_factory=list)  # the task's bare words so far (its positionals)
    flags: set[str] = field(default_factory=set)  # the task's flags so far
    value_of: str | None = None  # the flag whose value is under the cursor
    current: str = ""  # the partial word under the cursor


def split_line(remainder: str, names: Sequence[str] = NAMES) -> tuple[list[str], str]:
    """``inv dev 1 st`` -> (["dev", "1"], "st"); a trailing space means an empty word under the cursor."""
    try:
        tokens = shlex.split(remainder)
    except ValueError:  # an open quote while typing
        tokens = remainder.split()
    if tokens and Path(tokens[0]).name in names:
        tokens = tokens[1:]
    if remainder[-1:].isspace() or not tokens:
        return tokens, ""
    return tokens[:-1], tokens[-1]


def read_line(tokens: Sequence[str], current: str, contexts: Sequence[ParserContext],
              initial: ParserContext | None) -> Line:
    """Which task the cursor is in, its words and flags so far, and whether a flag value is expected."""
    by_name = {name: ctx for ctx in contexts for name in (ctx.name, *ctx.aliases)}
    line = Line(current=current)
    expecting: str | None = None
    for token in tokens:
        if expecting is not None:
            if token != "=":  # bash splits --env=local into --env, =, local
                expecting = None
            continue
        if token.startswith("-") and token != "-":
            flag = token.split("=", 1)[0]
            line.flags.add(flag)
            if "=" not in token and _takes_value(flag, (line.task, initial)):
                expecting = flag
        elif token in by_name:
            line = Line(task=by_name[token], current=current)
        else:
            line.words.append(token)
    line.value_of = expecting
    if expecting is not None and current == "=":  # the cursor right after bash's split `--env=`
        line.current = ""
    return line


def _takes_value(flag: str, contexts: Iterable[ParserContext | None]) -> bool:
    for ctx in contexts:
        if ctx is not None and flag in ctx.flags:
            return bool(ctx.flags[flag].takes_value)
    return False


def task_names(collection: Collection) -> list[str]:
    """Every task name, each followed by its aliases (invoke's order)."""
    from invoke.util import task_name_sort_key

    names: list[str] = []
    for name in sorted(collection.task_names, key=task_name_sort_key):
        names += [name, *collection.task_names[name]]
    return names


def flag_names(ctx: ParserContext | None, initial: ParserContext | None) -> list[str]:
    """The flags of the task under the cursor (the core flags before any task)."""
    chosen = ctx if ctx is not None else initial
    if chosen is None:
        return []
    return [f for f in chosen.flag_names() if f not in HIDDEN_FLAGS]


# --------------------------------------------------------------------------
# What the stack offers: read from stack.yaml and .instances/ only.


class StackWords:
    """The stack's words, read once per keypress and only when asked for."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def instances(self) -> list[str]:
        """Instances that exist (folders in .instances/), then every number of the range if it is small,
        else this checkout's claim (``inv dev.claim``)."""
        stack = self.stack
        found = set(existing_numbers(stack))
        if stack.last - stack.first < MAX_RANGE:
            found |= set(range(stack.first, stack.last + 1))
        else:
            found |= set(claimed_numbers(stack))
        return [str(n) for n in sorted(found)]

    def systems(self) -> list[str]:
        return list(self.stack.systems)

    def members(self, system: str) -> list[str]:
        found = self.stack.systems.get(system)
        return [m.name for m in found.members] if found is not None else []

    def profiles(self) -> list[str]:
        mesh = self.stack.mesh
        return [*mesh.profile_names, "all"] if mesh is not None else []

    def environments(self) -> list[str]:
        mesh = self.stack.mesh
        return list(mesh.environment_names) if mesh is not None else []

    def mesh_services(self) -> list[str]:
        mesh = self.stack.mesh
        return list(mesh.services) if mesh is not None else []


def existing_numbers(stack: Stack) -> list[int]:
    """``.instances/instance-N`` folders (listed, not validated: a keypress must stay cheap)."""
    root = stack.root / stack.instances_dir
    try:
        names = [p.name for p in root.iterdir()]
    except OSError:
        return []
    numbers = []
    for name in names:
        digits = name.removeprefix("instance-")
        if digits != name and digits.isascii() and digits.isdigit() and stack.first <= int(digits) <= stack.last:
            numbers.append(int(digits))
    return numbers


def claimed_numbers(stack: Stack) -> list[int]:
    """This checkout's claimed instance (act/claims.py ``own_claim``), when that module offers it."""
    from multistack.errors import StackError

    try:
        from multistack.act import claims
    except ImportError:
        return []
    own: Any = getattr(claims, "own_claim", None)
    try:
        n = own(stack) if own is not None else None
    except (StackError, OSError, ValueError):  # a registry being written: completion is a hint, not a check
        return []
    return [n] if isinstance(n, int) else []


# --------------------------------------------------------------------------
# What each task's words mean.


def dev_words(line: Line, words: StackWords) -> list[str]:
    """``inv dev [N] [ACTION] [--all]``: actions, instance numbers, --all (in either order)."""
    from multistack.act.options import ACTIONS, ALL_ACTIONS  # not act/lifecycle.py: a keypress stays light
    from multistack.model.names import is_number

    given = line.words
    everything = "all" in given or "--all" in line.flags
    action = next((w for w in given if w in ACTIONS), None)
    number = next((w for w in given if is_number(w)), None)
    if len(given) >= 2 or (action and (number or everything)):
        return []
    offered: list[str] = []
    if action is None:
        offered += ALL_ACTIONS if everything else ACTIONS
    if number is None and not everything:
        offered += words.instances()
        if action is None or action in ALL_ACTIONS:
            offered.append("--all")
    return offered


def number_word(line: Line, words: StackWords) -> list[str]:
    """Tasks that take one instance number (``dev.use N``, ``doctor N``, ``dev.claim N``)."""
    return [] if line.words else words.instances()


#: The ``system.*`` tasks whose second word is a member (``inv system.logs sim LON-B``).
MEMBER_TASKS = ("system.logs", "system.restart", "system.exec")


def system_words(line: Line, words: StackWords) -> list[str]:
    """``system.X NAME``; ``system.logs NAME [MEMBER]`` (and the other :data:`MEMBER_TASKS`)."""
    if not line.words:
        return words.systems()
    if len(line.words) == 1 and line.task is not None and line.task.name in MEMBER_TASKS:
        return words.members(line.words[0])
    return []


def mesh_env_word(line: Line, words: StackWords) -> list[str]:
    return [] if line.words else words.environments()


def mesh_services(line: Line, words: StackWords) -> list[str]:
    return [s for s in words.mesh_services() if s not in line.words]


#: Bare words of a task, by the task's name (or its collection's, for ``system.*``).
POSITIONALS: dict[str, Callable[[Line, StackWords], list[str]]] = {
    "dev.run": dev_words,
    "dev.use": number_word,
    "dev.claim": number_word,
    "doctor": number_word,
    "mesh.env": mesh_env_word,
    "mesh.logs": mesh_services,
    "system": system_words,
}
#: Flag values, by flag and the task's collection (``None``: any task).
VALUES: dict[tuple[str, str | None], Callable[[StackWords], list[str]]] = {
    ("--profile", "mesh"): StackWords.profiles,
    ("-p", "mesh"): StackWords.profiles,
    ("--env", "mesh"): StackWords.environments,
    ("-e", "mesh"): StackWords.environments,
    ("--from", "dev"): StackWords.instances,
    ("-r", "dev"): StackWords.instances,
}


def _positional_rule(ctx: ParserContext) -> Callable[[Line, StackWords], list[str]] | None:
    """The task's own rule, else its collection's (every ``system.*`` task names a system first)."""
    name = ctx.name or ""
    return POSITIONALS.get(name) or POSITIONALS.get(name.split(".", 1)[0] if "." in name else "")


def _value_rule(flag: str, ctx: ParserContext | None) -> Callable[[StackWords], list[str]] | None:
    group = (ctx.name or "").split(".", 1)[0] if ctx is not None else None
    return VALUES.get((flag, group)) or VALUES.get((flag, None))


def candidates(line: Line, collection: Collection, initial: ParserContext | None,
               stack_words: Callable[[], StackWords | None], takes: set[str]) -> list[str] | None:
    """The words to offer for ``line``; ``None`` for "let the shell complete file names"."""
    if line.value_of is not None:
        rule = _value_rule(line.value_of, line.task)
        words = stack_words() if rule else None
        return _matching(rule(words), line.current) if rule and words else None
    if line.current.startswith("-") and "=" in line.current:  # zsh keeps `--env=lo` one word
        flag, _, value = line.current.partition("=")
        rule = _value_rule(flag, line.task)
        words = stack_words() if rule else None
        return [f"{flag}={v}" for v in _matching(rule(words), value)] if rule and words else None
    if line.current.startswith("-"):
        return _matching(flag_names(line.task, initial), line.current)
    tasks = task_names(collection)
    if line.task is None or line.task.name not in takes:
        return _matching(tasks, line.current)
    rule = _positional_rule(line.task)
    words = stack_words() if rule else None
    offered = _matching(rule(line, words), line.current) if rule and words else []
    return offered or _matching(tasks, line.current)


def _matching(words: Iterable[str], prefix: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in words:
        if word.startswith(prefix):
            seen.setdefault(word, None)
    return list(seen)


def _stack_words() -> StackWords | None:
    """The stack of the current folder, or None (no stack.yaml, or a broken one: no stack words)."""
    from multistack.errors import StackError
    from multistack.model.stack import load_stack

    try:
        return StackWords(load_stack())
    except (StackError, OSError):
        return None


def complete(program: Program, positional_tasks: Callable[[Collection], set[str]]) -> None:
    """Answer ``--complete``: print one candidate a line (nothing: the shell completes files).

    ``positional_tasks``: the tasks that take optional positionals (cli/argv.py, which installs this).
    """
    from invoke.exceptions import Exit

    collection = program.collection
    tokens, current = split_line(program.core.remainder, (*program.binary_names, *NAMES))
    line = read_line(tokens, current, collection.to_contexts(), program.initial_context)
    cache: list[StackWords | None] = []

    def stack_words() -> StackWords | None:
        if not cache:
            cache.append(_stack_words())
        return cache[0]

    offered = candidates(line, collection, program.initial_context, stack_words, positional_tasks(collection))
    for word in offered or ():
        print(word)
    raise Exit


def install(program: Program, positional_tasks: Callable[[Collection], set[str]]) -> None:
    """Make ``program``'s ``--complete`` answer with :func:`complete` (invoke's own parse, then ours)."""
    original = program.parse_cleanup

    def parse_cleanup() -> None:
        if program.args.complete.value:
            complete(program, positional_tasks)
        original()

    program.parse_cleanup = parse_cleanup  # type: ignore[method-assign]


# --------------------------------------------------------------------------
# The shell scripts: `multistack completion bash|zsh`.

BASH = r"""# multistack tab completion for bash (`multistack completion bash`): inv, invoke, multistack.
# Knows the stack: `inv dev <TAB>` offers actions and instances, `inv system.logs <TAB>` systems.
_multistack_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\n'
    [[ $cur == = ]] && cur=  # `--env=<TAB>`: bash made `=` a word of its own
    local words
    words=$(command "${COMP_WORDS[0]}" --complete -- "${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null) || return 0
    [[ -z $words ]] && return 0
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _multistack_complete -o default inv invoke multistack
"""

ZSH = r"""#compdef inv invoke multistack
# multistack tab completion for zsh (`multistack completion zsh`): inv, invoke, multistack.
# Knows the stack: `inv dev <TAB>` offers actions and instances, `inv system.logs <TAB>` systems.
# Needs zsh's completion system (`autoload -Uz compinit && compinit` in ~/.zshrc, before this).
_multistack_complete() {
    local -a offered
    offered=( ${(f)"$(command ${words[1]} --complete -- "${(@)words[1,CURRENT]}" 2>/dev/null)"} )
    if (( ${#offered} )); then
        compadd -a offered
    else
        _files
    fi
}
if (( $+functions[compdef] )); then
    compdef _multistack_complete inv invoke multistack
else
    print -u2 "multistack completion: run 'autoload -Uz compinit && compinit' first"
fi
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH}


def script(shell: str) -> str:
    """The completion script for ``shell``; an unknown shell is a one-line user error."""
    from multistack.errors import StackError

    if shell not in SCRIPTS:
        raise StackError(f"no completion for shell {shell!r}", f"use one of: {', '.join(SCRIPTS)}")
    return SCRIPTS[shell]
