"""The merchant template sandbox with budgets: bounded strings, loops, output size and render time.

Jinja2's sandbox stops templates from reaching Python internals but not from asking for 40 MB
(`'a' * 20000000`) or a billion loop turns. Here every operation that can grow a value is checked
before it runs (string and list repetition, padding, joins, replacements, `%`/`format` widths),
every value an expression builds is capped at MAX_STRING characters, all loops of one render share
MAX_LOOPS turns, output is streamed and cut at MAX_OUTPUT characters, and the clock is read on
every loop turn, call and operator: a render using more than RENDER_SECONDS of CPU stops. A problem is raised as
`RenderProblem` in words a merchant can act on.

The clock is this thread's CPU time less the time the garbage collector spent in it: a collection
of the whole process's heap can start during any render and cost more than a render's budget, and
that is not the template's work.
"""

from __future__ import annotations

import gc
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, Template, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT = 200_000  # characters one part (subject, text, html) may render to
MAX_STRING = 20_000  # characters any value built inside a template may have
MAX_BUILT = 2_000_000  # characters all values built in one render may add up to
MAX_LOOPS = 10_000  # loop turns per render, all loops together
MAX_RANGE = 10_000
MAX_EXPONENT = 64
MAX_WIDTH = 1_000  # padding and format widths
RENDER_SECONDS = 0.2  # CPU seconds of this thread: other processes' load does not count

_gc = threading.local()


def _gc_timer(phase: str, info: dict[str, Any]) -> None:
    """Keep, per thread, the CPU seconds spent in full collections (the collector runs in the
    thread whose allocation set it off, so its time is charged to that thread's clock). Young
    collections are frequent and short: timing each would cost more than they do."""
    if info.get("generation") != 2:
        return
    now = time.thread_time()
    if phase == "start":
        _gc.started = now
    else:
        started = getattr(_gc, "started", None)
        if started is not None:
            _gc.spent = getattr(_gc, "spent", 0.0) + now - started
            _gc.started = None


gc.callbacks.append(_gc_timer)


def clock() -> float:
    """CPU seconds of this thread, not counting garbage collection: what render budgets measure."""
    return time.thread_time() - getattr(_gc, "spent", 0.0)


_reading = threading.local()
# How long one reading of a thread's CPU clock serves the renders that start after it.
FRESH_SECONDS = 0.005


def _budget_from_now(seconds: float, overall: float | None = None) -> Budget:
    """A budget of `seconds` of CPU (and no later than `overall`) for a render starting now.

    The CPU clock is a system call that costs more than a short render under load, so a batch's
    renders share one reading taken at most FRESH_SECONDS ago: the CPU the thread used since that
    reading is charged to the render, at most FRESH_SECONDS of it."""
    wall = time.monotonic()
    if wall - getattr(_reading, "wall", -1.0) > FRESH_SECONDS:
        _reading.cpu, _reading.wall = clock(), wall
    cpu, taken = _reading.cpu, _reading.wall
    deadline = cpu + seconds if overall is None else min(cpu + seconds, overall)
    # CPU time runs no faster than the wall clock: until then the deadline cannot have passed.
    return Budget(deadline, _sure_until=taken + (deadline - cpu))


_WIDTHS = re.compile(r"%[-+ #0]*(\d+)|\{[^{}]*:[^{}]*?(\d+)")


class RenderProblem(ValueError):
    """A template that cannot be rendered, in words for the merchant."""


@dataclass
class Budget:
    deadline: float  # on `clock()`
    loops: int = 0
    built: int = 0
    # A thread's CPU time cannot run ahead of the wall clock, so before this monotonic instant the
    # deadline cannot have passed: the CPU clock (a system call, ~1 µs) is read only after it.
    _sure_until: float = 0.0

    def spend(self, size: int) -> None:
        """Many small values add up: `range(9999)|map('center', 9999)|list` builds 100 MB."""
        self.built += size
        if self.built > MAX_BUILT:
            raise RenderProblem(f"it builds more than {MAX_BUILT:,} characters while rendering")

    def tick(self) -> None:
        self.loops += 1
        if self.loops > MAX_LOOPS:
            raise RenderProblem(f"its loops run more than {MAX_LOOPS:,} times")
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() < self._sure_until:
            return
        left = self.deadline - clock()
        if left < 0:
            raise RenderProblem(f"it needs more than {RENDER_SECONDS:g} s of work to render")
        self._sure_until = time.monotonic() + left


_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)
_overall: ContextVar[float | None] = ContextVar("template_deadline", default=None)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """One deadline for many renders (a flow's every variant on save), besides each render's own."""
    token = _overall.set(clock() + seconds)
    try:
        yield
    finally:
        _overall.reset(token)


def _current() -> Budget:
    budget = _budget.get()
    if budget is None:  # rendered outside `render` (a test, a shell): give it its own budget
        budget = _budget_from_now(RENDER_SECONDS)
        _budget.set(budget)
    return budget


def _too_long(size: int) -> None:
    if size > MAX_STRING:
        raise RenderProblem(
            f"it builds a value of {size:,} characters (at most {MAX_STRING:,} are allowed)"
        )


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple):
        _too_long(len(value))
        _current().spend(len(value))
    return value


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _check_widths(template: Any) -> None:
    if isinstance(template, str):
        for match in _WIDTHS.finditer(template):
            width = int(match.group(1) or match.group(2))
            if width > MAX_WIDTH:
                raise RenderProblem(f"it asks for a width of {width:,} (at most {MAX_WIDTH:,})")


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            _too_long(len(seq) * max(times, 0))


def _check_join(items: Any, sep: Any) -> None:
    if isinstance(items, list | tuple):
        _too_long(sum(len(str(i)) for i in items) + len(str(sep)) * len(items))


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        times = text.count(old) if old else len(text) + 1
        if _int(count) >= 0 and count != -1:
            times = min(times, _int(count))
        _too_long(len(text) + times * max(len(new) - len(old), 0))


def _check_pad(text: Any, width: Any = 0, *rest: Any) -> None:
    _too_long(max(_int(width), len(str(text))))


def _check_indent(text: Any, width: Any = 4, *rest: Any, **kwargs: Any) -> None:
    width = kwargs.get("width", width)
    pad = len(width) if isinstance(width, str) else _int(width)
    _too_long(len(str(text)) + pad * (str(text).count("\n") + 1))


# Checks run before an operation that could make a huge value out of small ones.
_STR_METHODS: dict[str, Callable[..., None]] = {
    "center": _check_pad,
    "ljust": _check_pad,
    "rjust": _check_pad,
    "zfill": _check_pad,
    "expandtabs": lambda text, size=8: _too_long(len(text) * max(_int(size), 1)),
    "join": lambda sep, items: _check_join(list(items) if isinstance(items, range) else items, sep),
    "replace": _check_replace,
    "format": lambda text, *a, **k: _check_widths(text),
    "format_map": lambda text, *a: _check_widths(text),
}
_FILTERS: dict[str, Callable[..., None]] = {
    "center": _check_pad,
    "indent": _check_indent,
    "join": lambda items, d="", *a, **k: (
        _check_join(list(items), k.get("d", d)) if isinstance(items, list | tuple | range) else None
    ),
    "replace": lambda text, old, new, count=None: _check_replace(
        str(text), old, new, -1 if count is None else count
    ),
    "format": lambda text, *a, **k: _check_widths(text),
}


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTERS.get(name)

    def guarded(*args: Any, **kwargs: Any) -> Any:
        _current().check_time()
        if check is not None:
            first = 1 if getattr(func, "jinja_pass_arg", None) else 0
            if name == "join" and len(args) > first and _lazy(args[first]):
                items = args[first]  # a generator (`map`, `select`): measured before it is used
                args = (*args[:first], _sized(list(items)), *args[first + 1 :])
            check(*args[first:], **kwargs)
        return _sized(func(*args, **kwargs))

    for attr in ("jinja_pass_arg",):
        if hasattr(func, attr):
            setattr(guarded, attr, getattr(func, attr))
    return guarded


def _lazy(value: Any) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, str | list | tuple | dict)


def _budgeted(items: Iterable[Any]) -> Iterator[Any]:
    budget = _current()
    for item in items:
        budget.tick()
        yield item


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise RenderProblem(
            f"it asks for a range of {len(numbers):,} numbers (at most {MAX_RANGE:,})"
        )
    return numbers


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with every way to grow a value or loop checked."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        self.filters = {name: _guarded(name, f) for name, f in self.filters.items()}
        self.filters["followup_budget"] = _budgeted
        self.filters["followup_sized"] = _sized

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _current().check_time()
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**" and abs(_int(right)) > MAX_EXPONENT:
            raise RenderProblem(f"it raises a number to the power {right} (at most {MAX_EXPONENT})")
        elif operator == "%":
            _check_widths(left)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _current().check_time()
        # Jinja's sandbox hands `str.format` over as a wrapper around the bound method: the
        # string it belongs to is on the method it wraps.
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        check = _STR_METHODS.get(getattr(__obj, "__name__", ""))
        if isinstance(owner, str) and check is not None:
            check(owner, *args, **kwargs)
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every loop's iterable goes through the shared loop budget, and every `~` join is
        measured: neither is an operator or a call the sandbox would otherwise see."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(
                loop.iter, "followup_budget", [], [], None, None, lineno=loop.lineno
            )
        for join in list(tree.find_all(nodes.Concat)):
            _wrap_concat(tree, join)
        return tree


def _wrap_concat(tree: nodes.Node, concat: nodes.Concat) -> None:
    """Replace `concat` in its parent by `concat|followup_sized`."""
    for parent in tree.find_all(nodes.Node):
        for name, value in parent.iter_fields():
            if value is concat:
                setattr(parent, name, _sized_node(concat))
                return
            if isinstance(value, list) and any(v is concat for v in value):
                setattr(parent, name, [_sized_node(v) if v is concat else v for v in value])
                return


def _sized_node(concat: nodes.Concat) -> nodes.Filter:
    return nodes.Filter(concat, "followup_sized", [], [], None, None, lineno=concat.lineno)


def environment(html: bool) -> BoundedSandbox:
    return BoundedSandbox(autoescape=html, undefined=ChainableUndefined, trim_blocks=True)


def render(template: Template, context: dict[str, Any]) -> str:
    """Stream the output, stopping at MAX_OUTPUT characters or RENDER_SECONDS."""
    budget = _budget_from_now(RENDER_SECONDS, _overall.get())
    token = _budget.set(budget)
    try:
        return _collect(template.generate(context), budget)
    except RenderProblem:
        raise
    except SecurityError:
        raise RenderProblem(
            "it reaches for program internals (names starting with _), which templates may not access"
        ) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderProblem(f"it could not be rendered: {exc}") from None
    except RecursionError:
        raise RenderProblem("it nests too deeply to render") from None
    finally:
        _budget.reset(token)


def _collect(chunks: Iterator[str], budget: Budget) -> str:
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise RenderProblem(
                f"it renders more than {MAX_OUTPUT:,} characters (a message must stay smaller)"
            )
        budget.check_time()
        parts.append(chunk)
    text = "".join(parts)
    if "\x00" in text:
        raise RenderProblem("it renders a NUL character, which no message may contain")
    return text
