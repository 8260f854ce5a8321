"""The import graph shows itself: project modules import each other at the top, without a cycle; a function-local
import is only of a heavy library (or of a project module that imports one at its top), each with a `# lazy:`
reason, so that building the app and running the CLI stay fast."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("genart_demo", "leaderboard")
# Libraries that take long to import or are needed only on some paths; only these may be imported inside a function.
HEAVY = {
    "torch",
    "torchvision",
    "diffusers",
    "transformers",
    "timm",
    "accelerate",
    "spandrel",
    "torchmetrics",
    "torch_fidelity",
    "torchsde",
    "safetensors",  # torch and what builds on it: seconds to import
    "gradio",  # seconds to import; only the web app and its pages need it
    "cv2",
    "scipy",
    "matplotlib",
    "pyarrow",
    "imageio_ffmpeg",  # one feature each (canny, metrics, plots, ...)
    "huggingface_hub",  # only pushing a Space and the vote backup reach the Hub
    "spaces",  # present on ZeroGPU hardware only
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _targets(module: str, node: ast.AST) -> list[str]:
    """The modules an import statement names: project modules resolved (relative imports too), else top names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    is_package = MODULES[module].name == "__init__.py"
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        parent = ".".join(base + ([node.module] if node.module else []))
    else:
        parent = node.module or ""
    submodules = [f"{parent}.{alias.name}" for alias in node.names if f"{parent}.{alias.name}" in MODULES]
    return submodules or [parent]


def _import_block(lines: list[str], lineno: int) -> str:
    """The import's first line, the imports right above it (a group shares one reason) and the line above those."""
    start = lineno - 1
    while start > 0 and lines[start - 1].strip().startswith(("from ", "import ", ")")):
        start -= 1
    return "\n".join(lines[max(0, start - 1) : lineno])


def _scan() -> tuple[dict[str, set[str]], dict[str, set[str]], list[tuple[str, int, str, str]]]:
    """(module -> project modules it imports at the top, module -> libraries it imports at the top,
    [(module, line, target, the import's first line and the line above it)] of function-local imports)."""
    graph, libraries, local = {}, {}, []
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        inside = {
            id(n)
            for f in ast.walk(tree)
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in ast.walk(f)
            if isinstance(n, (ast.Import, ast.ImportFrom))
        }
        graph[module], libraries[module] = set(), set()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _targets(module, node):
                if id(node) in inside:
                    local.append((module, node.lineno, target, _import_block(lines, node.lineno)))
                elif target.split(".")[0] in PACKAGES:
                    graph[module].add(next(m for m in (target, target.rsplit(".", 1)[0]) if m in MODULES))
                else:
                    libraries[module].add(target.split(".")[0])
    return graph, libraries, local


GRAPH, LIBRARIES, LOCAL = _scan()


def _heavy_modules() -> set[str]:
    """Project modules that import a heavy library at their top, directly or through other project modules."""
    heavy = {m for m, libs in LIBRARIES.items() if libs & HEAVY}
    changed = True
    while changed:
        changed = False
        for module, imported in GRAPH.items():
            if module not in heavy and imported & heavy:
                heavy.add(module)
                changed = True
    return heavy


def test_the_module_graph_has_no_cycle():
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module) :] + [module]))
        if module in done:
            return
        path.append(module)
        for imported in sorted(GRAPH[module]):
            visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)


def test_function_local_imports_are_only_of_heavy_modules_with_a_reason():
    heavy = _heavy_modules()
    light = [f"{m}:{line} imports {t}" for m, line, t, _ in LOCAL if t.split(".")[0] not in HEAVY and t not in heavy]
    assert not light, "import these at the top of the module:\n" + "\n".join(light)
    unexplained = [
        f"{m}:{line}: {text.splitlines()[-1].strip()}" for m, line, _, text in LOCAL if "# lazy:" not in text
    ]
    assert not unexplained, "say why each import is lazy (`# lazy: ...`):\n" + "\n".join(unexplained)


def test_light_modules_stay_light():
    """What building the app and the CLI's task commands import at their top must not pull in torch or diffusers."""
    heavy = _heavy_modules()
    for module in (
        "genart_demo.studio",
        "genart_demo.registry",
        "genart_demo.loading",
        "genart_demo.cache",
        "genart_demo.run_settings",
        "genart_demo.pages",
        "genart_demo.tasks.generate",
        "genart_demo.tasks.translate",
        "genart_demo.tasks.upscale",
        "genart_demo.tasks.evaluate",
        "genart_demo.cli",
        "leaderboard.runner",
        "leaderboard.arena.battles",
    ):
        assert module not in heavy, module
