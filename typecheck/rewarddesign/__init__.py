"""Import-resolution shim for the type checker; never imported at run time.

``envs/`` is installed as ``rewarddesign.envs`` through a package-dir mapping, which a static
checker cannot follow. pyright (``[tool.pyright]`` in ``pyproject.toml``) takes this folder as an
extra import root: ``rewarddesign`` itself resolves to the real package, and ``rewarddesign.envs``,
missing there, resolves to ``typecheck/rewarddesign/envs``, a link to ``envs/``.
"""
