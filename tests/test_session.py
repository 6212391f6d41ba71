"""Session folder: lossless round trip, clear errors on damaged or foreign folders, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imu_gait.errors import FormatError, SessionError, UsageError
from imu_gait.session import ImuData, SensorInfo, Session, load_session, save_session


def make_session(seed: int = 0) -> Session:
    rng = np.random.default_rng(seed)
    n = 1234
    t = np.cumsum(rng.uniform(0.004, 0.006, n))
    full = ImuData(
        t,
        rng.normal(0, 5, (n, 3)),
        rng.normal(0, 200, (n, 3)),
        mag=rng.normal(0, 40, (n, 3)),
        seq=np.arange(n, dtype=np.int64) * 3 + 2**40,  # beyond int32
        t_device=t * 1.0001 + 123456.789,
    )
    plain = ImuData(t[:500] + 0.1, rng.normal(0, 5, (500, 3)), rng.normal(0, 200, (500, 3)))
    return Session(
        data={"left_foot": full, "pelvis": plain},
        sensors={
            "left_foot": SensorInfo(
                family="dot",
                name="LF-12",
                address="D4:22:CD:00:12:34",
                rate_hz=200.0,
                acc_range_g=16.0,
                gyr_range_dps=2000.0,
                firmware="2.4.0",
                gaps=[[1.5, 1.75]],
                extra={
                    "effective_rate_hz": 199.87,
                    "mounting": {"roll_deg": 12.5},
                    "files": ["a.csv"],
                },
            ),
            "pelvis": SensorInfo(family="csv"),
        },
        subject="P-017",
        condition="pre",
        activity="walk",
        calibration={"static": [0.0, 2.5]},
        events=[{"t": 3.0, "t_end": 9.5, "label": "walk"}, {"t": 10.0, "label": "turn"}],
        notes="häufig: non-ASCII survives",
        source={"format": "dot", "warnings": ["x"]},
        extra={"operator": "pt-3"},
    )


def test_round_trip_is_bit_exact_with_all_metadata(tmp_path: Path) -> None:
    s = make_session()
    save_session(s, tmp_path / "s")
    back = load_session(tmp_path / "s")
    assert back.placements == s.placements
    for p in s.placements:
        a, b = s.data[p], back.data[p]
        for name, col in a.columns().items():
            other = b.columns()[name]
            assert other.dtype == col.dtype, name
            np.testing.assert_array_equal(other, col)
        assert set(a.columns()) == set(b.columns())
        assert back.sensors[p] == s.sensors[p]
    assert back.data["pelvis"].mag is None and back.data["pelvis"].seq is None
    assert back.metadata() == s.metadata()
    assert back.extra == {"operator": "pt-3"}
    assert back.path == tmp_path / "s"


def _corrupt_meta(folder: Path, **changes) -> None:
    meta = json.loads((folder / "session.json").read_text())
    meta.update(changes)
    (folder / "session.json").write_text(json.dumps(meta))


def test_unknown_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    save_session(make_session(), tmp_path / "s")
    _corrupt_meta(tmp_path / "s", schema_version=99)
    with pytest.raises(
        SessionError, match=r"session.json: schema_version 99 is not supported.*upgrade"
    ):
        load_session(tmp_path / "s")


def test_missing_schema_version(tmp_path: Path) -> None:
    save_session(make_session(), tmp_path / "s")
    meta = json.loads((tmp_path / "s" / "session.json").read_text())
    del meta["schema_version"]
    (tmp_path / "s" / "session.json").write_text(json.dumps(meta))
    with pytest.raises(SessionError, match="schema_version"):
        load_session(tmp_path / "s")


def test_missing_parquet_names_the_sensor(tmp_path: Path) -> None:
    save_session(make_session(), tmp_path / "s")
    (tmp_path / "s" / "pelvis.parquet").unlink()
    with pytest.raises(SessionError, match=r"sensor pelvis has no samples file pelvis.parquet"):
        load_session(tmp_path / "s")


def test_corrupt_session_json(tmp_path: Path) -> None:
    save_session(make_session(), tmp_path / "s")
    text = (tmp_path / "s" / "session.json").read_text()
    (tmp_path / "s" / "session.json").write_text(text[: len(text) // 2])
    with pytest.raises(SessionError, match=r"session\.json: not valid JSON"):
        load_session(tmp_path / "s")


def test_corrupt_parquet(tmp_path: Path) -> None:
    save_session(make_session(), tmp_path / "s")
    f = tmp_path / "s" / "left_foot.parquet"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(FormatError, match=r"left_foot\.parquet: cannot read Parquet samples"):
        load_session(tmp_path / "s")


def test_not_a_session_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(SessionError, match=r"no session\.json"):
        load_session(tmp_path / "x")
    with pytest.raises(SessionError, match="no such session folder"):
        load_session(tmp_path / "missing")


def test_existing_folder_is_kept_unless_overwrite(tmp_path: Path) -> None:
    save_session(make_session(1), tmp_path / "s")
    with pytest.raises(UsageError, match="already exists"):
        save_session(make_session(2), tmp_path / "s")
    first = load_session(tmp_path / "s").data["left_foot"].acc.copy()
    np.testing.assert_array_equal(first, make_session(1).data["left_foot"].acc)
    save_session(make_session(2), tmp_path / "s", overwrite=True)
    np.testing.assert_array_equal(
        load_session(tmp_path / "s").data["left_foot"].acc, make_session(2).data["left_foot"].acc
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temp or old folders left behind


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    s = make_session()
    s.extra["not_json"] = (
        object()
    )  # fails while writing session.json, after the samples were written
    with pytest.raises(TypeError):
        save_session(s, tmp_path / "s")
    assert list(tmp_path.iterdir()) == []


def test_slice_time_keeps_the_samples_events_and_standing_inside() -> None:
    t = np.arange(0.0, 10.0, 0.01)
    d = ImuData(t, np.tile([0.0, 0.0, 9.81], (t.size, 1)), np.zeros((t.size, 3)))
    s = Session(
        data={"left_foot": d},
        subject="p01",
        calibration={"static": [0.5, 2.0]},
        events=[
            {"t": 1.0, "t_end": 3.0, "label": "walk"},
            {"t": 4.0, "t_end": 9.0, "label": "run"},
        ],
    )
    part = s.slice_time(0.0, 5.0)
    assert part.data["left_foot"].t[0] == 0.0 and part.data["left_foot"].t[-1] < 5.0
    assert part.data["left_foot"].t.size == 500
    assert [e["label"] for e in part.events] == ["walk"]
    assert part.calibration == {"static": [0.5, 2.0]} and part.subject == "p01"
    later = s.slice_time(3.0, 10.0)
    assert later.calibration == {} and [e["label"] for e in later.events] == ["run"]
    assert s.slice_time(3.0, 10.0, static=(3.5, 3.9)).calibration == {"static": [3.5, 3.9]}
