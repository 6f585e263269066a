"""Person-id stability across runs, measured through `cdp run` on generated data.

Loads every day but the last, runs again on the same input, then adds the
last day and runs once more. Reports how many ids the unchanged re-run moved
(should be none), the share of earlier persons whose id survives the new
day (a merged-away id does not; a split leaves the id with its largest
part), and whether every id that lost records is explained by a merge,
split or move logged in `identity.person_id_history`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.measure import cdp_command, measure
from cdp_platform.identity.stable_ids import CHANGE_EVENTS
from cdp_platform.resources.warehouse import connect


def _person_map(warehouse: Path) -> dict[tuple[str, str], str]:
    with connect(warehouse) as conn:
        rows = conn.execute(
            "SELECT source, source_record_id, person_id FROM identity.person_id_map"
        )
        return {(s, r): p for s, r, p in rows.fetchall()}


def _copy_days(source: Path, target: Path, keep) -> None:
    for path in sorted(source.rglob("*.*")):
        if keep(path.stem):
            (target / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / path.parent.name / path.name)


def measure_stability(generated: Path, work: Path, env: dict | None = None) -> dict:
    """`generated` holds `landing/` of a generated set; returns the figures. `env`
    is added to each run's environment (e.g. `CDP_START_DATE`)."""
    days = sorted({p.stem for p in (generated / "landing").rglob("*.*")})
    last = days[-1]
    landing, warehouse = work / "landing", work / "warehouse.duckdb"
    _copy_days(generated / "landing", landing, lambda day: day != last)
    run = [cdp_command(), "run", "--landing", str(landing), "--warehouse", str(warehouse)]

    measure(f"cdp run, days {days[0]}..{days[-2]}", run, env=env)
    first = _person_map(warehouse)
    measure("cdp run, same input again", run, env=env)
    unchanged = sum(1 for key, person in _person_map(warehouse).items() if first[key] != person)

    _copy_days(generated / "landing", landing, lambda day: day == last)
    measure(f"cdp run, plus {last}", run, env=env)
    after = _person_map(warehouse)
    earlier = set(first.values())
    moved = {person for key, person in first.items() if key in after and after[key] != person}
    with connect(warehouse) as conn:
        logged = {
            person
            for (person,) in conn.execute(
                "SELECT other_person_id FROM identity.person_id_history "
                f"WHERE event IN {CHANGE_EVENTS}"
            ).fetchall()
        }
    kept = earlier & set(after.values())  # a split leaves the id with its largest part
    return {
        "persons_before": len(earlier),
        "ids_moved_by_unchanged_rerun": unchanged,
        "ids_kept_after_new_day": len(kept),
        "kept_share": round(len(kept) / len(earlier), 4),
        "ids_with_records_moved": len(moved),
        "of_which_explained_in_history": len(moved & logged),  # a merge, split or move
    }
