"""The shape of the code: no import cycles between the project's own modules (an
import inside a function counts), and no module too long to read.

Cycles hide behind imports inside functions: the code runs, but every layer leans
on every other and a newcomer cannot tell which way a dependency goes. The graph
is read from the source with `ast`, so it sees every import, whether or not a test
happens to execute it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.support.paths import BASE_DIR

PACKAGES = ("config", "patients", "navigator", "outreach")
MAX_MODULE_LINES = 600


# The floors of docs/architecture.md, lowest first. A module may import modules on
# its own floor or below, never above. The first floor whose pattern matches a
# module is its floor, so the top floor (matched first) claims every view, form,
# task and command wherever it lives.
FLOORS: list[tuple[int, str, tuple[str, ...]]] = [
    (
        5,
        "tasks and views",
        (
            r"(patients|navigator|outreach)\."
            r"(views|api|urls|admin|tasks|apps|templatetags|management|forms)(\..*)?",
            r"(patients|navigator|outreach)\..*_views",
            r"config\.(urls|views|wsgi|asgi)",
            r"navigator\.audit\.(views|urls|admin|tasks|apps|api|management|forms)(\..*)?",
        ),
    ),
    (
        0,
        "shared base",
        (
            r"config(\..*)?",
            r"(patients|navigator|outreach)(\.models(\..*)?)?",
            r"patients\.languages",
            r"navigator\.permissions",
            # Stopping pending messages touches models only; the kernel (closing a
            # case), FHIR import (a death) and outreach (an opt-out) all need it.
            r"outreach\.messaging\.stops",
            # Every model whose rows are a patient's data notes its patient as it loads
            # (the read log), so the audit trail's models and recorder are the base.
            r"navigator\.audit(\.(models|recording|history|middleware|migrations(\..*)?))?",
        ),
    ),
    (4, "intake orchestration", (r"navigator\.intake(\..*)?",)),
    (2, "case kernel", (r"navigator\.cases",)),
    (1, "patients and clinical data", (r"patients\..*",)),
    (
        3,
        "case work and outreach",
        (
            # A patient's right of access reads patients, navigator and outreach.
            r"navigator\.right_of_access(\..*)?",
            r"navigator\..*",
            r"outreach\..*",
        ),
    ),
]


def floor_of(module: str) -> tuple[int, str]:
    for number, name, patterns in FLOORS:
        if any(re.fullmatch(pattern, module) for pattern in patterns):
            return number, name
    raise LookupError(f"{module} is on no floor")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import that reaches a higher floor, in words."""
    found = []
    for module in sorted(graph):
        floor, name = floor_of(module)
        for target in sorted(graph[module]):
            target_floor, target_name = floor_of(target)
            if target_floor > floor:
                found.append(f"{module} ({name}) imports {target} ({target_name})")
    return found


def project_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every module of `packages` under `root` but
    their migrations."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _nearest_module(name: str, modules: dict[str, Path]) -> str | None:
    """`navigator.models.User` → `navigator.models`: the longest prefix that is a module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module → the project modules it imports, anywhere in its body."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(_nearest_module(alias.name, modules) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    # `from pkg import module` depends on the module, not only the package.
                    targets.add(_nearest_module(f"{base}.{alias.name}", modules))
        graph[name] = {target for target in targets if target and target != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative, so a deep graph cannot hit the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = lowlink[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


# --- The checks on this project ---------------------------------------------------------


def test_the_project_has_no_import_cycle_not_even_through_imports_inside_functions():
    # Given every module of the project and what it imports
    graph = import_graph(project_modules(BASE_DIR, PACKAGES))
    assert len(graph) > 50  # the whole project was read, not an empty folder

    # Then no group of modules imports each other round in a circle
    assert import_cycles(graph) == []


def test_every_import_goes_down_the_floors_or_stays_on_its_own():
    # Given every module of the project, each on its floor
    graph = import_graph(project_modules(BASE_DIR, PACKAGES))

    # Then nothing imports from a floor above its own (the shared base imports no
    # service, patients no case code, the kernel no case work, nothing but the top
    # floor the intake)
    assert upward_imports(graph) == []


def test_no_module_outside_migrations_and_tests_is_over_600_lines():
    modules = project_modules(BASE_DIR, PACKAGES)

    too_long = {
        str(path.relative_to(BASE_DIR)): lines
        for path in modules.values()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }

    assert too_long == {}


# --- The checks on the checker: it must see what it is there to see --------------------


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def tree(tmp_path):
    write_tree(tmp_path, {"app/__init__.py": "", "app/sub/__init__.py": ""})
    return tmp_path


def test_a_cycle_closed_by_an_import_inside_a_function_is_found(tree):
    # Given a service that imports a task module inside a function, and the task
    # module that imports the service at the top
    write_tree(
        tree,
        {
            "app/services.py": "def send():\n    from app.tasks import deliver\n    deliver()\n",
            "app/tasks.py": "from app import services\n",
        },
    )

    # When the graph is read
    graph = import_graph(project_modules(tree, ["app"]))

    # Then the hidden edge is there, and so is the cycle
    assert graph["app.services"] == {"app.tasks"}
    assert graph["app.tasks"] == {"app.services"}
    assert import_cycles(graph) == [["app.services", "app.tasks"]]


def test_relative_imports_and_longer_cycles_are_found(tree):
    # Given a → b → c → a, written with relative imports
    write_tree(
        tree,
        {
            "app/sub/a.py": "from . import b\n",
            "app/sub/b.py": "from .c import thing\n",
            "app/sub/c.py": "from ..sub.a import x\n",
            "app/d.py": "import app.sub.a\n",
        },
    )

    cycles = import_cycles(import_graph(project_modules(tree, ["app"])))

    # Then the three modules form one cycle, and d (which only imports a) is not in it
    assert cycles == [["app.sub.a", "app.sub.b", "app.sub.c"]]


def test_a_tree_that_only_imports_downward_has_no_cycle(tree):
    write_tree(
        tree,
        {
            "app/models.py": "",
            "app/services.py": "from app.models import Thing\n",
            "app/views.py": "from app import services\nfrom app.models import Thing\n",
        },
    )

    graph = import_graph(project_modules(tree, ["app"]))

    assert graph["app.views"] == {"app.services", "app.models"}
    assert import_cycles(graph) == []


def test_an_import_from_a_lower_floor_up_to_a_higher_one_is_reported():
    # Given the kernel importing a case-work service, and a view importing the kernel
    graph = {
        "navigator.cases": {"navigator.services.assignment", "navigator.models"},
        "navigator.services.assignment": {"navigator.cases"},
        "navigator.views.case_page": {"navigator.cases"},
        "navigator.models": set(),
    }

    # Then only the upward import is reported, naming both floors
    assert upward_imports(graph) == [
        "navigator.cases (case kernel) imports navigator.services.assignment "
        "(case work and outreach)"
    ]


@pytest.mark.parametrize(
    ("module", "floor"),
    [
        ("config.enqueue", 0),
        ("patients.models.people", 0),
        ("outreach.messaging.stops", 0),
        ("patients.caregaps.engine", 1),
        ("patients.fhir.importer", 1),
        ("navigator.cases", 2),
        ("outreach.messaging.send", 3),
        ("navigator.services.assignment", 3),
        ("navigator.intake.referrals", 4),
        ("patients.tasks", 5),
        ("navigator.forms.base", 5),
        ("config.api", 0),
        ("config.admin", 0),
        ("config.urls", 5),
        ("outreach.manager_views", 5),
        ("patients.api.fhir", 5),
    ],
)
def test_each_kind_of_module_sits_on_the_floor_the_architecture_gives_it(module, floor):
    assert floor_of(module)[0] == floor
