"""File storage behind a small interface: content-addressed by SHA-256, written atomically.

``LocalStorage`` keeps files under the data folder (never served as static files). An
S3-compatible backend can implement the same ``Storage`` methods.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from documents.errors import DomainError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


class StorageError(DomainError):
    """The file store failed (disk full, missing file, bad key)."""

    status = 503


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Storage(ABC):
    """Where the bytes of versions live, addressed by their SHA-256."""

    @abstractmethod
    def put_file(self, path: Path, sha256: str) -> None:
        """Store the file at ``path`` under ``sha256`` (no-op if already there)."""

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """True if the content is stored."""

    @abstractmethod
    @contextmanager
    def open(self, sha256: str) -> Iterator[BinaryIO]:
        """Open stored content for reading."""

    @abstractmethod
    def local_path(self, sha256: str) -> Path:
        """A local file path of the content (downloaded to a cache by remote backends)."""

    @abstractmethod
    def delete(self, sha256: str) -> None:
        """Remove stored content (only ``purge`` and ``check --repair`` call this)."""

    @abstractmethod
    def keys(self) -> Iterator[str]:
        """Every stored SHA-256."""

    def temp_file(self) -> tuple[int, Path]:
        """An open temporary file (descriptor, path) for an upload on its way in; the caller removes it."""
        fd, name = tempfile.mkstemp(prefix="upload-")
        return fd, Path(name)

    def temp_dir(self) -> Path | None:
        """Where large temporary files (exports) go; None for the system's temporary folder."""
        return None


class LocalStorage(Storage):
    """Files under ``root/ab/cd/abcd…``, written via temp file + fsync + rename."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise StorageError("Identifiant de fichier invalide.", status=400)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def temp_file(self) -> tuple[int, Path]:
        """A temporary file on the same file system as the store (for atomic rename)."""
        fd, name = tempfile.mkstemp(dir=self.root / "tmp", prefix="upload-")
        return fd, Path(name)

    def temp_dir(self) -> Path:
        """The store's own temporary folder (same file system, swept by ``intranet check``)."""
        return self.root / "tmp"

    def put_file(self, path: Path, sha256: str) -> None:
        """Copy ``path`` into the store atomically, then verify its hash."""
        target = self._path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = self.temp_file()
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, path.open("rb") as src:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise StorageError("Le fichier a changé pendant son enregistrement.", status=409)
            os.replace(tmp, target)
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StorageError(f"Impossible d'enregistrer le fichier ({exc.strerror or exc}).") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        """True if stored."""
        return self._path(sha256).is_file()

    @contextmanager
    def open(self, sha256: str) -> Iterator[BinaryIO]:
        """Open for reading."""
        try:
            fh = self._path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise StorageError("Le fichier est introuvable dans le stockage.", status=410) from exc
        try:
            yield fh
        finally:
            fh.close()

    def local_path(self, sha256: str) -> Path:
        """Path of the stored file."""
        path = self._path(sha256)
        if not path.is_file():
            raise StorageError("Le fichier est introuvable dans le stockage.", status=410)
        return path

    def delete(self, sha256: str) -> None:
        """Delete stored content if present."""
        self._path(sha256).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Every stored hash."""
        for path in self.root.glob("??/??/*"):
            if _SHA256.match(path.name):
                yield path.name
