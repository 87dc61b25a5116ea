"""The root package's public surface is pinned: changing it is a decision, not an accident."""

import kizuna


def test_root_exports_are_pinned() -> None:
    assert kizuna.__all__ == ["KizunaError", "__version__"]


def test_every_package_exports_a_sorted_all() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(kizuna.__path__):
        if not info.ispkg or info.name in {"data", "web"}:
            continue
        module = importlib.import_module(f"kizuna.{info.name}")
        exported = getattr(module, "__all__", None)
        if info.name == "cli":
            continue
        assert exported is not None, f"kizuna.{info.name} has no __all__"
        assert list(exported) == sorted(exported), f"kizuna.{info.name}.__all__ is not sorted"
