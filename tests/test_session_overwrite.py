"""save_session(overwrite=True) killed between its two renames: load_session finishes the job."""

import os

import numpy as np

import imu_gait as ig


def _session(value: float) -> ig.Session:
    t = np.arange(50) / 100.0
    acc = np.full((50, 3), value)
    return ig.Session(data={"pelvis": ig.ImuData(t, acc, np.zeros((50, 3)))}, subject="sub-x")


def test_new_version_wins_when_killed_between_renames(tmp_path):
    target = tmp_path / "s"
    ig.save_session(_session(1.0), target)
    newer = ig.save_session(_session(2.0), tmp_path / "staging")
    # the state a kill leaves: old folder moved aside, complete new folder not yet renamed into place
    os.replace(target, tmp_path / ".s.1234abcd.old")
    os.replace(newer, tmp_path / ".s.5678abcd.partial")
    loaded = ig.load_session(target)
    assert loaded.data["pelvis"].acc[0, 0] == 2.0
    assert not (tmp_path / ".s.5678abcd.partial").exists()


def test_old_version_restored_when_new_one_incomplete(tmp_path):
    target = tmp_path / "s"
    ig.save_session(_session(1.0), target)
    os.replace(target, tmp_path / ".s.1234abcd.old")
    (tmp_path / ".s.5678abcd.partial").mkdir()  # killed before session.json was written
    assert ig.load_session(target).data["pelvis"].acc[0, 0] == 1.0
