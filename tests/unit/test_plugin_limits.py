"""Size limits of the plugins (issue 11): no file over 400 lines, no function over 60, so each
file keeps one job and each function can be read at once."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS = os.path.join(ROOT, "plugins")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def python_files():
    for folder, _dirs, files in os.walk(PLUGINS):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def too_long_functions(source, limit=MAX_FUNCTION_LINES):
    """``(name, first line, length)`` of every function or method longer than ``limit`` lines
    (decorators excluded, nested functions counted in their parent and on their own)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                out.append((node.name, node.lineno, length))
    return out


def test_there_are_plugins_to_check():
    assert len(list(python_files())) > 20


def test_no_plugin_file_is_over_400_lines():
    long_files = []
    for path in python_files():
        with open(path, encoding="utf-8") as handle:
            count = len(handle.read().splitlines())
        if count > MAX_FILE_LINES:
            long_files.append("{0}: {1} lines".format(os.path.relpath(path, ROOT), count))
    assert long_files == []


def test_no_plugin_function_is_over_60_lines():
    long_functions = []
    for path in python_files():
        with open(path, encoding="utf-8") as handle:
            for name, line, length in too_long_functions(handle.read()):
                long_functions.append("{0}:{1} {2}: {3} lines".format(
                    os.path.relpath(path, ROOT), line, name, length))
    assert long_functions == []


def test_the_function_check_measures_what_it_should():
    body = "\n".join("    x = {0}".format(i) for i in range(60))
    assert too_long_functions("def f():\n" + body + "\n") == [("f", 1, 61)]
    assert too_long_functions("def f():\n" + body[:-len("    x = 59")] + "\n") == []
