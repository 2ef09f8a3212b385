"""The package index of a diagnosis, read beside the slow parts instead of before them.

Reading pip's configuration costs one or two pip subprocesses (1-7 s on a
busy machine), and a cold index costs a page per project. Neither is needed
to list the environment or run the user's code, so the configuration is
read on a thread from the start, and while the code runs the index pages of
the installed projects are fetched into the cache (they are what the
boundary and fix searches read first). A diagnosis whose code runs, or
whose run is reused, may never wait for either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager

from envprobe.model.requests import InstallOptions
from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex

__all__ = ["Sources"]

_PAGE_WORKERS = 4


class Sources:
    """pip's configuration, the index and install options, each ready when first asked for."""

    def __init__(self, read_config: Callable[[], IndexConfig],
                 make_options: Callable[[IndexConfig], InstallOptions]) -> None:
        self._config: Future[IndexConfig] = Future()
        # A daemon thread, not a pool: a diagnosis that never needs the index must not
        # wait for pip at exit.
        threading.Thread(target=self._read, args=(read_config,), name="pip-config",
                         daemon=True).start()
        self._make_options = make_options
        self._index: PackageIndex | None = None
        self._lock = threading.Lock()

    def _read(self, read_config: Callable[[], IndexConfig]) -> None:
        try:
            self._config.set_result(read_config())
        except Exception as error:  # noqa: BLE001 - handed to whoever asks for the configuration
            self._config.set_exception(error)

    def index(self) -> PackageIndex:
        with self._lock:
            if self._index is None:
                self._index = PackageIndex(self._config.result())
            return self._index

    def options(self) -> InstallOptions:
        return self._make_options(self._config.result())

    @contextmanager
    def prefetching(self, names: Iterable[str]) -> Iterator[None]:
        """Fetch the index pages of `names` until the block ends; unfinished ones are dropped."""
        stop = threading.Event()
        queue = list(names)
        taken = threading.Lock()

        def work() -> None:
            try:
                index = self.index()
            except Exception:  # noqa: BLE001 - the main thread meets it when it asks
                return
            while not stop.is_set():
                with taken:
                    if not queue:
                        return
                    name = queue.pop(0)
                try:
                    index.versions(name)
                except Exception:  # noqa: BLE001, S112 - best effort: the search asks again
                    continue

        workers = [threading.Thread(target=work, name=f"index-pages-{n}", daemon=True)
                   for n in range(_PAGE_WORKERS)]
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            stop.set()
