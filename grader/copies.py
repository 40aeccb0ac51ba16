"""Copy detection: which learner modules are the reference solution, up to cosmetics.

A learner module is *copied* when its normal form is the normal form of the
reference solution of the same name (``solutions/chNN/<name>.py``). The normal
form is the module's syntax tree (so formatting and comments are gone) with:

- docstrings and every other bare string statement dropped, and ``pass`` where a
  body is left empty; ``from __future__`` imports and type annotations dropped;
- every name the module binds renamed canonically, in order of first
  appearance, scope by scope: module-level names (functions, classes,
  constants, imports' aliases) as ``g0, g1, ...``, each function's or
  comprehension's locals and arguments afresh (``l2_0, l2_1, ...``, by depth), attributes
  and methods the module defines (``self.x = ...``, a class body's names) as
  ``a0, a1, ...``, and the keywords of calls to the module's own functions as
  ``k0, k1, ...``. Dunder names (``__init__``) keep theirs;
- the order of imports, of module-level functions and classes, and of methods
  made irrelevant (they are sorted by their shape, names aside).

What comes from outside stays as written: builtins, the imported harness
names, the attributes and keywords of objects the module did not define
(``channel.ack(tag, requeue=True)``). An independent author shares those by
necessity; a copier renames only what is theirs to rename.

The reference side is a digest (SHA-256) of each solution's normal form, so a
machine that grades without ``solutions/`` (Gradescope, a learner edition)
needs no answer, only the digests: :func:`reference_digests` computes them
from ``solutions/`` when the kit has it, else reads :data:`DIGESTS_FILE`
(``reference-digests.json``) at the kit's root, which
:func:`write_reference_digests` writes::

    python -m grader.copies KIT_ROOT [--out KIT_ROOT/reference-digests.json]

A digests file of another :data:`NORMAL_FORM` (an older grader) is ignored:
write it again. An untouched stub is never its solution; a small module that
an independent author writes the natural way can coincide with the
reference, which is why a copy is evidence for the teacher and changes no
score.

>>> a = "def f(xs):\\n    '''Sum.'''\\n    total = 0\\n    for x in xs:\\n        total += x\\n"
>>> b = "def add_up(values):  # mine\\n    acc = 0\\n    for v in values: acc += v\\n"
>>> digest(a + "    return total\\n") == digest(b + "    return acc\\n")
True
>>> digest(a + "    return total\\n") == digest("def f(xs):\\n    return sum(xs)\\n")
False
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

DIGESTS_FILE = "reference-digests.json"
"""At the kit's root: the reference solutions' digests, for a kit without ``solutions/``."""
NORMAL_FORM = 1
"""The version of the normal form; a digests file of another version is ignored."""
MAX_BYTES = 1_000_000
"""A module larger than this is not compared (grading refuses it too)."""

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_IDENTIFIER = re.compile(r"\b(id|name|arg|attr|asname)='[^']*'")
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


class _Strip(ast.NodeTransformer):
    """Drop what carries no behaviour: docstrings, bare strings, annotations, __future__."""

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        kept = [
            s
            for s in body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            and not (isinstance(s, ast.ImportFrom) and s.module == "__future__")
            and not isinstance(s, ast.Pass)
        ]
        return kept or [ast.Pass()]

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, name, self._body(value))
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        self.generic_visit(node)
        node.body = [s for s in node.body if not isinstance(s, ast.Pass)]
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.annotation = None
        node.type_comment = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.returns = None
        node.type_comment = None
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self.generic_visit(node)
        if node.value is not None:
            return ast.Assign(targets=[node.target], value=node.value)
        node.annotation = ast.Constant(None)
        return node


def _bound(body: Iterable[ast.AST], arguments: ast.arguments | None = None) -> set[str]:
    """The names a scope binds (its locals), without looking into nested scopes."""
    names: set[str] = set()
    declared: set[str] = set()
    if arguments is not None:
        names |= {
            a.arg
            for a in (
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                *([arguments.vararg] if arguments.vararg else []),
                *([arguments.kwarg] if arguments.kwarg else []),
            )
        }
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared |= set(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        if isinstance(node, (*_SCOPES[:2], ast.ClassDef)):
            names.add(node.name)
            stack += node.decorator_list
            if isinstance(node, ast.ClassDef):
                stack += [*node.bases, *node.keywords]
            else:
                stack += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            continue
        if isinstance(node, ast.Lambda):
            stack += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            continue
        if isinstance(node, _COMPREHENSIONS):
            stack.append(node.generators[0].iter)
            continue
        stack += ast.iter_child_nodes(node)
    return names - declared


def _defined_attributes(tree: ast.Module) -> set[str]:
    """Attribute names the module defines: assigned on an object, or bound in a class body."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            names |= _bound(node.body)
    return {n for n in names if not _dunder(n)}


class _Scope:
    def __init__(self, names: set[str], prefix: str, *, is_class: bool = False) -> None:
        self.names, self.prefix, self.is_class = names, prefix, is_class
        self.canonical: dict[str, str] = {}

    def rename(self, name: str) -> str:
        if name not in self.canonical:
            self.canonical[name] = f"{self.prefix}{len(self.canonical)}"
        return self.canonical[name]


class _Rename(ast.NodeTransformer):
    """Rename what the module binds, scope by scope, in order of first appearance."""

    def __init__(self, tree: ast.Module) -> None:
        self.attributes = _defined_attributes(tree)
        self.attribute_names: dict[str, str] = {}
        self.keyword_names: dict[str, str] = {}
        self.scopes = [_Scope(_bound(tree.body), "g")]

    def _canonical(self, table: dict[str, str], name: str, prefix: str) -> str:
        if name not in table:
            table[name] = f"{prefix}{len(table)}"
        return table[name]

    def _attribute(self, name: str) -> str:
        if name in self.attributes:
            return self._canonical(self.attribute_names, name, "a")
        return name

    def _lookup(self, name: str, *, enclosing: bool = False) -> str:
        scopes = self.scopes[:-1] if enclosing else self.scopes
        innermost = scopes[-1]
        for scope in reversed(scopes):
            if scope.is_class and scope is not innermost:
                continue  # a class body's names are not visible inside its methods
            if name in scope.names:
                return self._attribute(name) if scope.is_class else scope.rename(name)
        return name

    def _ours(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return self._lookup(func.id) != func.id
        return isinstance(func, ast.Attribute) and func.attr in self.attributes

    def _enter(self, names: set[str], *, is_class: bool = False) -> None:
        # A prefix per depth, so that an inner scope's names never read as an outer one's.
        self.scopes.append(_Scope(names, f"l{len(self.scopes)}_", is_class=is_class))

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._lookup(node.id)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        node.attr = self._attribute(node.attr)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        ours = self._ours(node.func)
        self.generic_visit(node)
        for keyword in node.keywords:
            if ours and keyword.arg is not None:
                keyword.arg = self._canonical(self.keyword_names, keyword.arg, "k")
        return node

    def _alias(self, node: ast.Import | ast.ImportFrom) -> ast.AST:
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            alias.asname = self._lookup(local)
        return node

    visit_Import = _alias  # type: ignore[assignment]
    visit_ImportFrom = _alias  # type: ignore[assignment]

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.name:
            node.name = self._lookup(node.name)
        return self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> ast.AST:
        node.names = [
            self.scopes[0].rename(n) if n in self.scopes[0].names else n for n in node.names
        ]
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        node.names = [self._lookup(n, enclosing=True) for n in node.names]
        return node

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> ast.AST:
        for expression in (*node.args.defaults, *node.args.kw_defaults):
            if expression is not None:
                self.visit(expression)
        if not isinstance(node, ast.Lambda):
            node.decorator_list = [self.visit(d) for d in node.decorator_list]
            node.name = self._lookup(node.name)
        body = node.body if isinstance(node.body, list) else [node.body]
        self._enter(_bound(body, node.args))
        arguments = node.args
        for argument in (
            *arguments.posonlyargs,
            *arguments.args,
            *([arguments.vararg] if arguments.vararg else []),
            *arguments.kwonlyargs,
            *([arguments.kwarg] if arguments.kwarg else []),
        ):
            argument.arg = self._lookup(argument.arg)
        if isinstance(node.body, list):
            node.body = [self.visit(s) for s in node.body]
        else:
            node.body = self.visit(node.body)
        self.scopes.pop()
        return node

    visit_FunctionDef = _function  # type: ignore[assignment]
    visit_AsyncFunctionDef = _function  # type: ignore[assignment]
    visit_Lambda = _function  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.bases = [self.visit(b) for b in node.bases]
        node.keywords = [self.visit(k) for k in node.keywords]
        node.name = self._lookup(node.name)
        self._enter(_bound(node.body), is_class=True)
        node.body = [self.visit(s) for s in node.body]
        self.scopes.pop()
        return node

    def _comprehension(self, node: ast.AST) -> ast.AST:
        generators = node.generators  # type: ignore[attr-defined]
        generators[0].iter = self.visit(generators[0].iter)
        self._enter(_bound(g.target for g in generators))
        for index, generator in enumerate(generators):
            generator.target = self.visit(generator.target)
            if index:
                generator.iter = self.visit(generator.iter)
            generator.ifs = [self.visit(i) for i in generator.ifs]
        for name in ("elt", "key", "value"):
            if getattr(node, name, None) is not None:
                setattr(node, name, self.visit(getattr(node, name)))
        self.scopes.pop()
        return node

    visit_ListComp = _comprehension  # type: ignore[assignment]
    visit_SetComp = _comprehension  # type: ignore[assignment]
    visit_DictComp = _comprehension  # type: ignore[assignment]
    visit_GeneratorExp = _comprehension  # type: ignore[assignment]


def _blind(node: ast.AST) -> str:
    """The shape of ``node`` with every identifier erased: a sort key that renaming cannot move."""
    text = ast.dump(node, annotate_fields=True, include_attributes=False)
    return _IDENTIFIER.sub(r"\1=''", text)


def _reorder(body: list[ast.stmt]) -> list[ast.stmt]:
    """Imports first and definitions last, each sorted by shape; other statements keep order."""
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in body:
        if isinstance(node, ast.ClassDef):
            node.body = _reorder(node.body)
    imports = sorted((s for s in body if isinstance(s, (ast.Import, ast.ImportFrom))), key=_blind)
    rest = [s for s in body if not isinstance(s, (ast.Import, ast.ImportFrom, *defs))]
    definitions = sorted((s for s in body if isinstance(s, defs)), key=_blind)
    return imports + rest + definitions


def normal_form(source: str) -> str:
    """The module's normal form (see the module's docstring); raises SyntaxError."""
    tree = _Strip().visit(ast.parse(source))
    assert isinstance(tree, ast.Module)
    tree.body = _reorder(tree.body)
    renamer = _Rename(tree)
    tree = renamer.visit(tree)
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def digest(source: str) -> str:
    """SHA-256 of :func:`normal_form` (hex); raises SyntaxError."""
    return hashlib.sha256(normal_form(source).encode("utf-8")).hexdigest()


def _digest_of(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return digest(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def solution_digests(solutions: Path) -> dict[str, str]:
    """``{"ch03/at_least_once.py": digest}`` for every solution module under ``solutions``."""
    found: dict[str, str] = {}
    for path in sorted(solutions.glob("ch*/*.py")):
        if path.name != "__init__.py" and (value := _digest_of(path)) is not None:
            found[path.relative_to(solutions).as_posix()] = value
    return found


def reference_digests(kit_root: Path) -> dict[str, str]:
    """The reference solutions' digests by module (``ch03/at_least_once.py``).

    From ``kit_root/solutions/`` when it holds solutions, else from
    ``kit_root/reference-digests.json``; empty when neither is there (or the
    file is of another :data:`NORMAL_FORM`).
    """
    found = solution_digests(kit_root / "solutions")
    if found:
        return found
    try:
        data = json.loads((kit_root / DIGESTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("normal_form") != NORMAL_FORM:
        return {}
    modules = data.get("modules", {})
    return {str(k): str(v) for k, v in modules.items()} if isinstance(modules, dict) else {}


def write_reference_digests(kit_root: Path, target: Path | None = None) -> Path:
    """Write the digests of ``kit_root/solutions/`` to ``target`` (default: the kit's
    :data:`DIGESTS_FILE`), for a kit that will be shipped without its solutions."""
    target = kit_root / DIGESTS_FILE if target is None else target
    data = {"normal_form": NORMAL_FORM, "modules": solution_digests(kit_root / "solutions")}
    target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def copied(submission: Path, modules: Sequence[str], references: dict[str, str]) -> list[str]:
    """The submission's modules (``exercises/ch03/x.py``) whose digest is their reference's."""
    return [
        f"exercises/{module}"
        for module in modules
        if module in references
        and _digest_of(submission / "exercises" / module) == references[module]
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Write a kit's ``reference-digests.json`` from its ``solutions/``."""
    parser = argparse.ArgumentParser(
        prog="python -m grader.copies",
        description="Write the digests of a kit's reference solutions, for copy detection "
        "on a machine that grades without solutions/.",
    )
    parser.add_argument("kit", type=Path, help="the kit's root (it holds solutions/)")
    parser.add_argument("--out", type=Path, default=None, help=f"default: KIT/{DIGESTS_FILE}")
    args = parser.parse_args(argv)
    if not solution_digests(args.kit / "solutions"):
        print(f"{args.kit}: no solutions/chNN/*.py to take digests of", file=sys.stderr)
        return 2
    try:
        written = write_reference_digests(args.kit, args.out)
    except OSError as error:
        print(f"cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    print(written)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
