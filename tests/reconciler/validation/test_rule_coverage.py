"""Every rule id the loader and validators can emit has a broken-fixture case."""

from __future__ import annotations

import importlib
import pkgutil

import reconciler.source
import reconciler.validation
from tests.reconciler.source import test_loading
from tests.reconciler.source.test_kustomize import KUSTOMIZE_CASES
from tests.reconciler.source.test_loading import CASES as LOADING_CASES
from tests.reconciler.validation.test_gpu_rules import CASES as GPU_CASES
from tests.reconciler.validation.test_manifest_rules import CASES as MANIFEST_CASES


def declared_rules() -> set[str]:
    """All `RULE*` string constants of the source and validation packages."""
    rules: set[str] = set()
    for package in (reconciler.source, reconciler.validation):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            rules.update(v for k, v in vars(module).items() if k.startswith("RULE") and isinstance(v, str))
    return rules


def test_every_rule_has_a_fixture_case() -> None:
    """No rule id is declared without at least one case asserting it at a file:line."""
    covered = {case.values[0] for case in [*LOADING_CASES, *GPU_CASES, *MANIFEST_CASES, *KUSTOMIZE_CASES]}
    # Symlinks cannot be written as plain fixture text; these dedicated tests assert the rule.
    assert callable(test_loading.test_symlink_leaving_the_root_is_an_error)
    assert callable(test_loading.test_git_symlink_leaving_the_root_is_an_error)
    covered.add("symlink-escapes-root")
    assert callable(test_loading.test_empty_repository_warns)
    covered.add("repository-empty")
    missing = declared_rules() - covered
    assert not missing, f"rules without a fixture test: {sorted(missing)}"


def test_rule_ids_are_kebab_case() -> None:
    """Rule ids are stable lowercase kebab-case words, as printed in brackets."""
    for rule in declared_rules():
        assert rule == rule.lower() and " " not in rule and "_" not in rule, rule


def test_readme_lists_every_rule() -> None:
    """The README's rule table names every rule id, so users can look up what they see."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    missing = {rule for rule in declared_rules() if f"`{rule}`" not in readme}
    assert not missing, f"rules missing from README.md: {sorted(missing)}"
