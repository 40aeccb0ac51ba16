"""Copy detection: a learner module that is the reference solution, disguised, is named.

The disguise here is what a copier does with an editor: reformat, drop comments
and docstrings, rename arguments, locals, helpers, attributes and imports,
reorder the functions. Correct modules written independently, and untouched
stubs, are never named.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import textwrap
from pathlib import Path

import pristine_copy
import pytest

from grader import copies, integrity, pristine
from grader.grade import grade_submission

KIT = pristine.load()
REFERENCES = copies.reference_digests(KIT.root)
MODULES = sorted(REFERENCES)


class _Disguise(ast.NodeTransformer):
    """Rename what a copier may rename without breaking the tests that import the module."""

    def __init__(self, tree: ast.Module) -> None:
        api = {
            t.id
            for s in tree.body
            if isinstance(s, ast.Assign)
            for t in s.targets
            if isinstance(t, ast.Name)
        }
        api |= {
            s.name
            for s in tree.body
            if isinstance(s, (ast.FunctionDef, ast.ClassDef)) and not s.name.startswith("_")
        }
        # Tests call public functions and methods with keywords: their parameters stay.
        api |= {
            a.arg
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef) and (f.name == "__init__" or f.name[0] != "_")
            for a in (*f.args.args, *f.args.kwonlyargs)
        }
        names: set[str] = set()
        self.attributes: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.arg != "self":
                names.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("_"):
                if not node.name.startswith("__"):
                    names.add(node.name)  # a private helper, or a method called as self._x
                    self.attributes[node.name] = f"my_{node.name.strip('_')}_x"
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                # Attributes set on self, private ones only: tests may read public ones.
                if isinstance(node.value, ast.Name) and node.value.id == "self":
                    self.attributes[node.attr] = f"_my_{node.attr.strip('_')}"
            elif isinstance(node, ast.alias) and node.name[0].isupper() and node.asname is None:
                names.add(node.name)  # an imported class, aliased below
        self.names = {n: f"my_{n.strip('_')}_x" for n in names - api}
        self.attributes = {a: b for a, b in self.attributes.items() if a.startswith("_")}

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.names.get(node.arg, node.arg)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_alias(self, node: ast.alias) -> ast.AST:
        if node.name in self.names:
            node.asname = self.names[node.name]
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        self.generic_visit(node)
        node.arg = self.names.get(node.arg, node.arg) if node.arg in self._params else node.arg
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        node.attr = self.attributes.get(node.attr, node.attr)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self.names.get(node.name, node.name)
        return self._undocumented(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = self.names.get(node.name, node.name)
        return self._undocumented(node)

    def _undocumented(self, node: ast.FunctionDef | ast.ClassDef) -> ast.AST:
        self.generic_visit(node)
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            node.body = node.body[1:] or [ast.Pass()]
        return node

    _params: frozenset[str] = frozenset()


def disguise(source: str) -> str:
    """The module as a copier hands it in: same behaviour, nothing of the reference's look."""
    tree = ast.parse(source)
    tree.body = [s for s in tree.body if not isinstance(s, ast.Expr)]  # the module's docstring
    renamer = _Disguise(tree)
    # A call's keyword is renamed with the parameter only when the callee is the module's own.
    renamer._params = frozenset(
        a.arg
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef)
        for a in (*f.args.args, *f.args.kwonlyargs)
    ) - {a for a in _foreign_keywords(tree)}
    tree = renamer.visit(tree)
    definitions = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    tree.body = [s for s in tree.body if s not in definitions] + definitions[::-1]
    text = re.sub(r"^(?:    )+", lambda m: "  " * (len(m[0]) // 4), ast.unparse(tree), flags=re.M)
    return "# my own work\n" + text + "\n"


def _foreign_keywords(tree: ast.Module) -> set[str]:
    own = {f.name for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.ClassDef))}
    found = set()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call):
            callee = call.func.attr if isinstance(call.func, ast.Attribute) else None
            callee = callee or (call.func.id if isinstance(call.func, ast.Name) else None)
            if callee not in own:
                found |= {k.arg for k in call.keywords if k.arg}
    return found


def test_the_kit_has_a_reference_for_every_learner_module():
    assert set(KIT.modules()) <= set(REFERENCES)


@pytest.mark.parametrize("module", MODULES)
def test_an_untouched_stub_is_never_the_reference(module: str):
    stub = pristine_copy.stubs()[module].decode("utf-8")
    assert copies.digest(stub) != REFERENCES[module]


@pytest.mark.parametrize("module", MODULES)
def test_the_reference_in_disguise_is_still_the_reference(module: str):
    source = (KIT.root / "solutions" / module).read_text(encoding="utf-8")
    disguised = disguise(source)
    compile(disguised, module, "exec")
    assert disguised != source and '"""' not in disguised
    assert copies.digest(disguised) == REFERENCES[module]


def test_a_disguised_copy_keeps_working_and_is_named(tmp_path: Path):
    """the disguise is a real copy: it earns the points, and integrity names it"""
    sub = tmp_path / "sub"
    pristine_copy.copy_exercises(sub / "exercises")
    for module in ("ch00/availability.py", "ch00/order_desk.py"):
        source = (KIT.root / "solutions" / module).read_text(encoding="utf-8")
        (sub / "exercises" / module).write_text(disguise(source), encoding="utf-8")
    result = grade_submission(sub, chapters=["ch00"])
    assert result.score == result.max_score > 0
    assert result.integrity.copied == [
        "exercises/ch00/availability.py",
        "exercises/ch00/order_desk.py",
    ]
    assert not result.integrity.clean


def test_a_module_that_several_tasks_fill_is_named_once(tmp_path: Path):
    """every reference solution copied: integrity names each module once, though ch02's
    shipping.py and others are filled by several tasks"""
    shared = [
        m
        for m in {t.module for c in KIT.manifest.chapters for t in c.tasks}
        if sum(t.module == m for c in KIT.manifest.chapters for t in c.tasks) > 1
    ]
    assert shared, "no module of the kit is filled by several tasks: this test checks nothing"
    assert len(KIT.modules()) == len(set(KIT.modules()))
    sub = tmp_path / "sub"
    pristine_copy.copy_exercises(sub / "exercises")
    for module in KIT.modules():
        shutil.copy(KIT.root / "solutions" / module, sub / "exercises" / module)
    found = integrity.check(sub, KIT).copied
    assert sorted(found) == sorted(f"exercises/{m}" for m in set(KIT.modules()))
    assert len(found) == len(set(found)), found


# Correct modules written the way another person would, for ch00 and ch03.
INDEPENDENT = {
    "ch00/availability.py": '''
        """My chain."""
        def chain_availability(availabilities):
            up = 1.0
            for share in availabilities:
                up = up * share
            return up
    ''',
    "ch00/order_desk.py": """
        from harness.broker import BrokerUnavailable
        from harness.ports.services import SERVICES

        ACCEPTED = "accepted"
        REFUSED = "refused"


        class OrderDesk:
            def __init__(self, publisher, services):
                self._out = publisher

            def place_order(self, order):
                message = {"order_id": order["order_id"], "amount": order["amount"]}
                for name in SERVICES:
                    try:
                        self._out.publish(
                            name, message, message_id=order["order_id"] + "/" + name
                        )
                    except BrokerUnavailable:
                        return REFUSED
                return ACCEPTED
    """,
    "ch03/at_least_once.py": """
        from harness.ports import PaymentFailed


        class AtLeastOnceConsumer:
            def __init__(self, channel, payments):
                self.channel, self.payments = channel, payments

            def on_message(self, delivery):
                order = delivery.body
                try:
                    self.payments.charge(order["order_id"], order["amount"])
                    done = True
                except PaymentFailed:
                    done = False
                if done:
                    self.channel.ack(delivery.tag)
                else:
                    self.channel.nack(delivery.tag, requeue=True)
    """,
}


@pytest.mark.parametrize("module", sorted(INDEPENDENT))
def test_an_independent_solution_is_not_the_reference(module: str):
    assert copies.digest(textwrap.dedent(INDEPENDENT[module])) != REFERENCES[module]


def test_independent_solutions_earn_the_points_and_are_not_named(tmp_path: Path):
    sub = tmp_path / "sub"
    pristine_copy.copy_exercises(sub / "exercises")
    for module, source in INDEPENDENT.items():
        (sub / "exercises" / module).write_text(textwrap.dedent(source), encoding="utf-8")
    result = grade_submission(sub, chapters=["ch00"])
    assert result.score == result.max_score > 0  # they are correct
    assert result.integrity.copied == []
    assert integrity.check(sub, KIT).copied == []


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("def f(xs):\n    return sum(xs)\n", "def f(xs):\n    return max(xs)\n"),  # builtins
        ("def f(c, t):\n    c.ack(t)\n", "def f(c, t):\n    c.nack(t)\n"),  # foreign attributes
        ("def f(c, t):\n    c.nack(t, requeue=True)\n", "def f(c, t):\n    c.nack(t, now=True)\n"),
        ("def f(x):\n    return x + 1\n", "def f(x):\n    return x + 2\n"),  # constants
        ("from a import b\n\nb()\n", "from a import c\n\nc()\n"),  # what is imported
        (
            "def f(x, y):\n    return x - y\n",
            "def f(x, y):\n    return y - x\n",
        ),  # which name where
        ("def f(xs):\n    return [x for x in xs]\n", "def f(xs):\n    return [xs for x in xs]\n"),
    ],
)
def test_what_an_independent_author_shares_by_necessity_still_tells_modules_apart(one, other):
    assert copies.digest(one) != copies.digest(other)


def test_names_the_module_binds_are_renamed_scope_by_scope():
    reference = textwrap.dedent(
        """
        import math as m

        class Desk:
            LIMIT = 3

            def __init__(self, port):
                self.port = port

            def _helper(self, value, *, factor=2):
                return [item * factor for item in value] + [self.LIMIT]

            def run(self, values):
                total = m.prod(self._helper(values, factor=3))
                self.port.send(total, urgent=True)
                return total
        """
    )
    copy = textwrap.dedent(
        """
        import math

        class Desk:
            LIMIT = 3

            def run(self, vs):  # moved up
                t = math.prod(self._h(vs, f=3))
                self.p.send(t, urgent=True)
                return t

            def __init__(self, q):
                self.p = q

            def _h(self, v, *, f=2):
                return [i * f for i in v] + [self.LIMIT]
        """
    )
    assert copies.digest(reference) == copies.digest(copy)
    # The foreign keyword (``urgent``) is not the module's to rename.
    assert copies.digest(reference) != copies.digest(copy.replace("urgent=", "now="))


def test_digests_travel_without_solutions(tmp_path: Path):
    """a kit shipped without solutions/ reads the digests file, which holds no source"""
    teacher = tmp_path / "teacher"
    shutil.copytree(KIT.root / "solutions" / "ch00", teacher / "solutions" / "ch00")
    written = copies.write_reference_digests(teacher)
    assert written == teacher / copies.DIGESTS_FILE == teacher / "reference-digests.json"
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copyfile(written, shipped / copies.DIGESTS_FILE)
    assert copies.reference_digests(shipped) == copies.reference_digests(teacher)
    assert set(copies.reference_digests(shipped)) == {"ch00/availability.py", "ch00/order_desk.py"}
    text = written.read_text(encoding="utf-8")
    assert "math.prod" not in text and "BrokerUnavailable" not in text


def test_a_digests_file_of_another_normal_form_is_ignored(tmp_path: Path):
    data = {"normal_form": copies.NORMAL_FORM + 1, "modules": {"ch00/availability.py": "0"}}
    (tmp_path / copies.DIGESTS_FILE).write_text(json.dumps(data), encoding="utf-8")
    assert copies.reference_digests(tmp_path) == {}
    (tmp_path / copies.DIGESTS_FILE).write_text("not json", encoding="utf-8")
    assert copies.reference_digests(tmp_path) == {}


def test_the_command_writes_the_file(tmp_path: Path, capsys):
    shutil.copytree(KIT.root / "solutions" / "ch00", tmp_path / "solutions" / "ch00")
    assert copies.main([str(tmp_path)]) == 0
    assert (tmp_path / copies.DIGESTS_FILE).is_file()
    assert copies.main([str(tmp_path / "nowhere")]) == 2
    assert "no solutions" in capsys.readouterr().err


def test_unreadable_or_linked_modules_are_not_named(tmp_path: Path):
    sub = tmp_path / "sub"
    (sub / "exercises" / "ch00").mkdir(parents=True)
    (sub / "exercises/ch00/availability.py").symlink_to(KIT.root / "solutions/ch00/availability.py")
    (sub / "exercises/ch00/order_desk.py").write_text("def broken(:\n", encoding="utf-8")
    found = copies.copied(sub, ["ch00/availability.py", "ch00/order_desk.py"], REFERENCES)
    assert found == []
    shutil.copyfile(KIT.root / "solutions/ch00/order_desk.py", sub / "exercises/ch00/order_desk.py")
    assert copies.copied(sub, ["ch00/order_desk.py"], REFERENCES) == [
        "exercises/ch00/order_desk.py"
    ]


def test_the_class_csv_names_a_copied_module(tmp_path):
    """grades.csv does not call a submission clean when one of its modules is the reference"""
    import csv

    from grader.records import Record, write_csv
    from grader.result import Integrity, SubmissionResult

    copied = Integrity(copied=["exercises/ch03/at_least_once.py"])
    result = SubmissionResult(1, 1, [], [], integrity=copied)
    write_csv(tmp_path / "grades.csv", [Record("alice", "f", result)])
    row = next(csv.DictReader((tmp_path / "grades.csv").open()))
    assert row["integrity"] == "copied: exercises/ch03/at_least_once.py"
