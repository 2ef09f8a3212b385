"""Where packages come from: the sources pip would use, and what they list and declare.

`index.PackageIndex` is the entry point the other layers use. Behind it:
`config` (pip's configuration, read through pip's command line), `collector`
(a project's files across sources), `pages` (PEP 503/691 pages, find-links
folders), `metadata` (METADATA and PKG-INFO), `transport` (bytes, hashes and
the disk cache).
"""
