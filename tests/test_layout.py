"""The shape of the tree (tests/layout.py): the real tree keeps the dependency rule, and
the checker finds each kind of breach in a small fake tree."""

from __future__ import annotations

from pathlib import Path

from tests.layout import Violation, import_graph, violations

ROOT = Path(__file__).resolve().parent.parent


def test_the_tree_keeps_the_dependency_rule() -> None:
    assert [str(v) for v in violations(ROOT)] == []


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# A small tree that keeps the rule: the shell imports an app, the app the kernel, an app
# another app's services, bench the kernel.
CLEAN = {
    "portal/__init__.py": "",
    "portal/app.py": "from nominations.plugin import Plugin\n",
    "portal/cli.py": "import voting.services\n",
    "portal/db.py": "",
    "portal/web/__init__.py": "",
    "portal/web/forms.py": "from portal import db\n",
    "nominations/__init__.py": "",
    "nominations/plugin.py": "from nominations.controllers import pages\nPlugin = 1\n",
    "nominations/services.py": "from portal.db import *\n",
    "nominations/controllers/__init__.py": "",
    "nominations/controllers/pages.py": "from ..services import x\nfrom portal.web import forms\n",
    "voting/__init__.py": "",
    "voting/services.py": "from nominations import services\n",
    "results/__init__.py": "",
    "stories/__init__.py": "",
    "bench/__init__.py": "",
    "bench/run.py": "import portal.db\n",
    "tests/__init__.py": "",
    "tests/conftest.py": "import voting.services\n",
}


def test_a_tree_that_keeps_the_rule_has_no_violations(tmp_path: Path) -> None:
    root = write(tmp_path, CLEAN)
    assert violations(root) == []
    graph = import_graph(root)
    # Relative imports resolve, and a name imported from a module counts as the module.
    assert graph["nominations.controllers.pages"] == {"nominations.services", "portal.web.forms"}
    assert graph["nominations.services"] == {"portal.db"}


def test_each_kind_of_breach_is_found(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            **CLEAN,
            # The kernel imports an app (hidden inside a function, as it used to be).
            "portal/campaigns.py": "def f():\n    from results import services\n",
            "results/services.py": "from portal import campaigns\n",
            # An app imports another package's controllers (the kernel's too).
            "stories/public.py": "from nominations.controllers.pages import serve\n",
            "results/api.py": "from portal.controllers.api import ErrorBody\n",
            "portal/controllers/__init__.py": "",
            "portal/controllers/api.py": "",
            # Review is blind to votes.
            "nominations/review.py": "import voting.services\n",
            # Benchmarks stand on their own.
            "bench/infra.py": "from tests.conftest import running\n",
        },
    )
    assert set(violations(root)) == {
        Violation("kernel imports an app", "portal.campaigns", "results.services"),
        Violation("import cycle", "portal.campaigns", "results.services"),
        Violation(
            "another package's controllers", "stories.public", "nominations.controllers.pages"
        ),
        Violation("another package's controllers", "results.api", "portal.controllers.api"),
        Violation("nominations imports voting", "nominations.review", "voting.services"),
        Violation("bench imports tests", "bench.infra", "tests.conftest"),
    }


def test_a_longer_cycle_is_named_by_all_its_files(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            **CLEAN,
            "voting/a.py": "import voting.b\n",
            "voting/b.py": "from voting import c\n",
            "voting/c.py": "def f():\n    import voting.a\n",
        },
    )
    assert violations(root) == [Violation("import cycle", "voting.a", "voting.b → voting.c")]


def test_the_shell_may_import_every_app(tmp_path: Path) -> None:
    root = write(tmp_path, {**CLEAN, "portal/app.py": "import results.plugin\nimport stories\n"})
    assert violations(root) == []
