"""A local folder laid out exactly like the archive, `.CHECKSUM` files included."""

from __future__ import annotations

from pathlib import Path

from transforms.raw.errors import NotYetPublished, SourceError
from transforms.raw.venues.binance.cache import CachingSource


class MirrorSource(CachingSource):
    """Copies files from `root` into the raw cache through the same verification as HTTP."""

    name = "mirror"
    revalidate = True  # reading a local CHECKSUM is cheap; catches regenerated mirrors

    def __init__(self, root: Path, cache_dir: Path):
        super().__init__(cache_dir)
        self.root = Path(root)

    def _read(self, relpath: str, suffix: str = "") -> bytes:
        path = self.root / (relpath + suffix)
        if not self.root.is_dir():  # a typo in the path is not "not published yet"
            raise SourceError(f"mirror folder {self.root} does not exist (LIQMAP_MIRROR_DIR)")
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotYetPublished(
                f"{relpath} is not published yet (no {path.name} in mirror {self.root})"
            ) from None
        except OSError as exc:
            raise SourceError(f"{relpath}: cannot read from mirror {self.root}: {exc}") from exc

    def _read_checksum(self, relpath: str) -> str:
        return self._read(relpath, ".CHECKSUM").decode("ascii", errors="replace")

    def _read_file(self, relpath: str) -> bytes:
        return self._read(relpath)
