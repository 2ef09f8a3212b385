"""Reading wheels without installing them: what a release exports, and what it imports.

`scanner.StaticScanner` is the entry point the solver uses. Below it, one job
per module: `layout` (the files a wheel installs), `syntax` (parsing and shared
AST shapes), `facts` (one pass over a module's import-time statements), `lazy`
(names handed out through lazy tables), `namespaces` (what `from m import X`
finds), `imports` (where the wheel imports another distribution), `cache`
(answers kept by the wheel's sha256).
"""
