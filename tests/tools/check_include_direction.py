#!/usr/bin/env python3
"""Checks that each folder includes only the folders below it in the dependency order.

The table is the project's layering (the README's layout table states it): a folder may include
its own headers and those of the folders listed for it, nothing else. Exit status 1 and one line
per offending include otherwise. Usage: check_include_direction.py SOURCE_DIR
"""
import os
import re
import sys

MAY_INCLUDE = {
    "base": set(),
    "llm": {"base"},
    "chat": {"base"},
    "grammar": {"llm", "base"},
    "tokenizer": {"llm", "base"},
    "models": {"llm", "base"},
    "npu": {"base"},
    "npu/backend": {"npu", "llm", "models", "base"},
    "api": {"npu/backend", "npu", "models", "tokenizer", "grammar", "chat", "llm", "base"},
    "daemon": {"api", "npu/backend", "npu", "models", "tokenizer", "grammar", "chat", "llm", "base"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(path):
    """The table's folder a project path belongs to (the longest matching key), or None."""
    best = None
    for folder in MAY_INCLUDE:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def main(root):
    problems = []
    checked = 0
    for folder in MAY_INCLUDE:
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for name in files:
                if not name.endswith((".h", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                source = os.path.relpath(path, root)
                if folder_of(source) != folder:
                    continue  # a subfolder with a row of its own
                checked += 1
                for number, line in enumerate(open(path, encoding="utf-8"), 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = m.group(1)
                    beside = os.path.relpath(os.path.join(os.path.dirname(path), target), root)
                    if os.path.exists(os.path.join(root, beside)):
                        target = beside  # an include relative to the file
                    target_folder = folder_of(target)
                    if target_folder is None or target_folder == folder:
                        continue
                    if target_folder not in MAY_INCLUDE[folder]:
                        problems.append(f"{source}:{number}: {folder}/ may not include {target} ({target_folder}/)")
    for p in problems:
        print(p)
    print(f"{checked} files checked, {len(problems)} includes against the dependency direction")
    if checked == 0:
        print("no source files found under " + root)
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
