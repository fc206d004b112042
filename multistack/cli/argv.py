"""Optional positional arguments for invoke tasks: ``inv dev``, ``inv dev 2``, ``inv dev 1 stop``.

invoke's parser has no optional positionals (pyinvoke/invoke#159): a
positional it has not filled is an error, and a filled-in one swallows the
next task name. So, before invoke parses the task part of the command line,
:func:`expand_positionals` rewrites each bare word that follows a task marked
``optional_positionals`` into ``--arg WORD``; the task receives them as a
list and gives them meaning itself (with errors that name the fix). A word
that is a task name starts the next task, as usual, and flag values are left
where they are, so ``inv dev 1 logs --tail 5 mesh.ps`` is two tasks.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from invoke import Collection, Program
    from invoke.parser import ParserContext

FLAG = "--arg"
MARK = "optional_positionals"


def positional_tasks(collection: Collection) -> set[str]:
    """Names and aliases of the tasks that take optional positionals."""
    names: set[str] = set()
    for primary, aliases in collection.task_names.items():
        if getattr(collection[primary], MARK, False):
            names.update([primary, *aliases])
    return names


def _flag_takes_value(token: str, contexts: Iterable[ParserContext]) -> bool:
    for ctx in contexts:
        if ctx is None:
            continue
        if token in ctx.flags:
            return bool(ctx.flags[token].takes_value)
        if token in ctx.inverse_flags:
            return False
    return False


def expand_positionals(tokens: Sequence[str], contexts: Sequence[ParserContext], takes: set[str],
                       initial: ParserContext | None = None) -> list[str]:
    """Rewrite the bare words after a task in ``takes`` to ``--arg WORD`` (pure)."""
    by_name: dict[str, ParserContext] = {}
    for ctx in contexts:
        for name in (ctx.name, *ctx.aliases):
            by_name[name] = ctx
    out: list[str] = []
    current: ParserContext | None = None
    current_takes = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            out.extend(tokens[i:])
            break
        if token.startswith("-") and token != "-":
            out.append(token)
            if "=" not in token and _flag_takes_value(token, (current, initial)) and i + 1 < len(tokens):
                out.append(tokens[i + 1])
                i += 1
        elif token in by_name:
            current = by_name[token]
            current_takes = token in takes or current.name in takes
            out.append(token)
        elif current_takes:
            out += [FLAG, token]
        else:
            out.append(token)
        i += 1
    return out


def install(program: Program) -> None:
    """Make ``program`` expand optional positionals just before it parses tasks, and complete them."""
    if getattr(program, "_multistack_argv", False):
        return
    original = program.parse_tasks

    def parse_tasks() -> None:
        keep_remainder(program)
        collection = program.collection
        takes = positional_tasks(collection)
        if takes:
            unparsed = program.core.unparsed
            unparsed[:] = expand_positionals(unparsed, collection.to_contexts(), takes, program.initial_context)
        original()

    program.parse_tasks = parse_tasks  # type: ignore[method-assign]
    from multistack.cli import completion

    completion.install(program, positional_tasks)  # `--complete` knows the positionals too
    program._multistack_argv = True  # type: ignore[attr-defined]


def keep_remainder(program: Program) -> None:
    """Keep the words after ``--`` exactly: invoke joins them with spaces into ``c.remainder``
    (``sh -c "echo a b"`` would come back as four words); shell-quoted, :func:`remainder_words`
    splits them back as given."""
    import shlex

    argv = list(program.argv or [])[1:]
    if "--" in argv:
        program.core.remainder = shlex.join(argv[argv.index("--") + 1:])


def remainder_words(c: Any) -> list[str]:
    """The words after ``--`` on the command line (``inv system.exec sim DUN-A -- ping -c1 lon-b``)."""
    import shlex

    return shlex.split(getattr(c, "remainder", "") or "")


def install_on_running_program() -> None:
    """Hook ``inv``/``invoke`` (invoke.main.program) when tasks.py is loaded by it."""
    import sys

    main = sys.modules.get("invoke.main")
    program: Any = getattr(main, "program", None)
    if program is not None:
        install(program)
