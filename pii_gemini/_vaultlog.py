"""``VaultLog``: a vault kept on disk as it grows, for ``Masker.mask_file(vault_path=...)``.

The file format is ``_vaultfile``'s; this keeps a ``Vault`` and its file in step, appending
only what is new, and carries the file's id into the vault (see ``vault``'s "Identity").
"""

from __future__ import annotations

from pathlib import Path

from . import _vaultfile
from ._files import clean_stale_temps
from .vault import Vault, records_of

__all__ = ["VaultLog"]


class VaultLog:
    """A vault kept on disk as it grows: ``open`` merges the file into the vault, ``append``
    writes (and fsyncs) only the entries added since, so saving costs what is new.

    A torn last line (a kill mid-append) is ignored on reading and cut by the next append;
    a version-1 file, a file without an id, or a vault holding entries the file lacks, is
    compacted once (rewritten atomically). The vault takes the file's id (its entries are
    the file's, extended); a file without one gets the vault's. Used by
    ``Masker.mask_file(vault_path=...)``.
    """

    def __init__(self, path: Path, vault: Vault) -> None:
        self.path = path
        self._vault = vault
        self._written = 0
        self._cut_at: int | None = None
        self._compact = False

    def open(self) -> int:
        """Merge the file's entries (and id) into the vault; return how many it held."""
        clean_stale_temps(self.path)  # a killed compaction's copy of the vault
        count = 0
        if self.path.exists():
            parsed = _vaultfile.read(self.path)
            count = len(parsed.records)
            known = {r[0] for r in parsed.records}
            foreign = any(e.token not in known for e in self._vault.entries_since(0))
            self._vault._merge(parsed.records, parsed.place)  # a token bound twice: DatasetError
            if parsed.vault_id is not None:
                self._vault._id = parsed.vault_id
            self._compact = parsed.version == 1 or foreign or parsed.vault_id is None
            if not self._compact:
                self._written = count
                if parsed.clean_end < self.path.stat().st_size:
                    self._cut_at = parsed.clean_end
        return count

    def append(self) -> None:
        """Make every entry of the vault durable in the file (created, with its header,
        even when there is none yet: a run that issued no token still writes its vault)."""
        vault_id = self._vault.ensure_id()
        if self._compact:
            snapshot = self._vault.entries_since(0)
            _vaultfile.write_all(self.path, records_of(snapshot), vault_id)
            self._compact, self._written = False, len(snapshot)
            return
        new = self._vault.entries_since(self._written)
        if not new and self._cut_at is None and self.path.exists():
            return
        _vaultfile.append(self.path, records_of(new), vault_id, cut_at=self._cut_at)
        self._cut_at = None
        self._written += len(new)
