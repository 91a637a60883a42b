"""``pii-gemini unmask`` of a mask output re-saved as CSV or a JSON array checks its vault.

Such a file was unmasked as text with any vault: exit 0, every row filled with another
vault's values, and only a warning. Failed before.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _cli_support import Runner

from pii_gemini.vault import Vault, VaultEntry


def _vault(path: Path, name: str) -> str | None:
    vault = Vault([VaultEntry("[FIRSTNAME_1]", name, "FIRSTNAME", "placeholder")])
    vault.save(path)
    return vault.id


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_unmask_refuses_a_resaved_output_with_another_vault(
    run: Runner, tmp_path: Path, suffix: str
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    own = _vault(keys / "own.json", "Ann")
    _vault(keys / "other.json", "Dora")
    rows = pd.DataFrame(
        [{"id": 1, "masked_text": "Hi [FIRSTNAME_1].", "tokens": ["[FIRSTNAME_1]"], "vault": own}]
    )
    src = tmp_path / f"masked{suffix}"
    if suffix == ".csv":
        rows.to_csv(src, index=False)
    else:
        rows.to_json(src, orient="records")
    out = tmp_path / f"restored{suffix}"
    wrong = run("unmask", str(src), str(out), "--vault", str(keys / "other.json"))
    assert wrong.code == 3 and "VaultMismatchError" in wrong.err and "other.json" in wrong.err
    assert "Dora" not in wrong.out + wrong.err and not out.exists()
    right = run("unmask", str(src), str(out), "--vault", str(keys / "own.json"))
    assert right.code == 0, right.err
    assert "1 rows (masked_text) as " in right.out and "warning" not in right.err
    assert "Hi Ann." in out.read_text(encoding="utf-8")
