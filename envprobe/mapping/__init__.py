"""The compatibility map: every release of one target against the windows of the others.

It reuses the solve's pieces (resolver, learned rules, teachers, static
scans, store) and runs its independent probes on an executor.
"""
