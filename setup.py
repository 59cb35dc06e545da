"""Packaging: everything is declared in pyproject.toml except the package list, which it cannot say.

The prompt templates live at the repository's top level, `prompts/`, where a user finds them and
copies one into a project's own `prompts/` to override it. They install inside the package as
`briefbot/prompts/`, so a non-editable install has them too. That takes a `package_dir` entry for
a package outside `src/`, and pyproject's automatic discovery (which only looks under `src/`) cannot
add one; so the packages under `src/` are discovered here and that one joins them.
"""

from setuptools import find_namespace_packages, setup

setup(
    # Namespace packages too: the data folders (templates/, store/migrations/) hold no __init__.py.
    packages=[*find_namespace_packages("src", exclude=["*__pycache__*"]), "briefbot.prompts"],
    package_dir={"": "src", "briefbot.prompts": "prompts"},
)
