"""Segment poses over time: feet from their contacts and swings, the pelvis from keyframes and the legs' wishes,
thighs and shanks by inverse kinematics between hip and ankle. Everything is a vectorised function of time, so
poses can be evaluated at any instant (IMU signals come from evaluating at t and t +/- h).

Poses are rotation matrices R (n, 3, 3), segment -> ground, segment frames x anterior, y left, z up in standing,
and origin positions p (n, 3) in m (ground frame z up). Origins: see body.py.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import BPoly, CubicSpline, PchipInterpolator
from scipy.ndimage import gaussian_filter1d

from imu_gait.simulate.activities import SIDES, Plan, sgn
from imu_gait.simulate.body import Body
from imu_gait.simulate.smooth import heel_rocker, rise, skew_bump, smoothstep5, toe_rocker

SEGMENTS = (
    "pelvis",
    "left_thigh",
    "right_thigh",
    "left_shank",
    "right_shank",
    "left_foot",
    "right_foot",
)
MIN_BEND = (
    2.5  # deg: the knee never straightens beyond this (keeps the leg's geometry well conditioned)
)
WISH_RATE = 200.0  # Hz of the grid that carries the smooth joint-angle wishes


def rot_zyx(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Rz(yaw) Ry(pitch) Rx(roll), angles in rad, shape (n, 3, 3)."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    R = np.empty((np.size(yaw), 3, 3))
    R[:, 0, 0] = cy * cp
    R[:, 0, 1] = cy * sp * sr - sy * cr
    R[:, 0, 2] = cy * sp * cr + sy * sr
    R[:, 1, 0] = sy * cp
    R[:, 1, 1] = sy * sp * sr + cy * cr
    R[:, 1, 2] = sy * sp * cr - cy * sr
    R[:, 2, 0] = -sp
    R[:, 2, 1] = cp * sr
    R[:, 2, 2] = cp * cr
    return R


def rot_zxy(yaw: np.ndarray, obl: np.ndarray, tilt: np.ndarray) -> np.ndarray:
    """Rz(yaw) Rx(obl) Ry(tilt), angles in rad, shape (n, 3, 3) (the pelvis' rotation-obliquity-tilt order)."""
    n = np.size(yaw)
    cz, sz = np.cos(yaw), np.sin(yaw)
    cx, sx = np.cos(obl), np.sin(obl)
    cy, sy = np.cos(tilt), np.sin(tilt)
    Rz = np.zeros((n, 3, 3))
    Rz[:, 0, 0], Rz[:, 0, 1], Rz[:, 1, 0], Rz[:, 1, 1], Rz[:, 2, 2] = cz, -sz, sz, cz, 1.0
    Rx = np.zeros((n, 3, 3))
    Rx[:, 0, 0], Rx[:, 1, 1], Rx[:, 1, 2], Rx[:, 2, 1], Rx[:, 2, 2] = 1.0, cx, -sx, sx, cx
    Ry = np.zeros((n, 3, 3))
    Ry[:, 0, 0], Ry[:, 0, 2], Ry[:, 1, 1], Ry[:, 2, 0], Ry[:, 2, 2] = cy, sy, 1.0, -sy, cy
    return Rz @ Rx @ Ry


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


class FootTrack:
    """One foot's pose at any time: contacts (exact rigid rockers about ground-fixed points) joined by C2 swings."""

    def __init__(self, contacts: list, side: str, body: Body) -> None:
        self.side = side
        self.k = sgn(side)
        self.L = body.mtp_length
        f = lambda name: np.array([getattr(c, name) for c in contacts], dtype=float)  # noqa: E731
        self.t_ic, self.t_ff, self.t_ho, self.t_fc = f("t_ic"), f("t_ff"), f("t_ho"), f("t_fc")
        self.pos = np.array([c.pos for c in contacts], dtype=float)
        self.heading, self.pitch_ic, self.pitch_fc = f("heading"), f("pitch_ic"), f("pitch_fc")
        self.fc_slope = f("fc_slope")
        self.ev_ic, self.ev_peak, self.ev_tau = f("ev_ic"), f("ev_peak"), f("ev_tau")
        self.ev_fc, self.ev_slope = f("ev_fc"), f("ev_slope")
        self._build_swings(contacts)

    # -- stance ------------------------------------------------------------------------------------------------
    def _stance(
        self, j: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(origin (n,3), heading rad, pitch deg toe-up, eversion deg) during contact j (formulas not clipped,
        so they may be evaluated slightly outside the contact for derivatives)."""
        t_ic, t_ff, t_ho, t_fc = self.t_ic[j], self.t_ff[j], self.t_ho[j], self.t_fc[j]
        heading = self.heading[j]
        pitch = np.zeros_like(t)
        early = (t < t_ff) & (t_ff > t_ic)
        if early.any():
            u = (t[early] - t_ic[early]) / (t_ff[early] - t_ic[early])
            pitch[early] = self.pitch_ic[j][early] * heel_rocker(u)
        late = t > t_ho
        if late.any():
            u = (t[late] - t_ho[late]) / (t_fc[late] - t_ho[late])
            pitch[late] = self.pitch_fc[j][late] * toe_rocker(u, self.fc_slope[j][late])
        origin = self.pos[j].copy()
        pivot_mtp = late | (early & (self.pitch_ic[j] < 0))
        if pivot_mtp.any():
            pr = np.radians(pitch[pivot_mtp])
            h = heading[pivot_mtp]
            d = self.L * np.column_stack(
                [np.cos(h) * (1 - np.cos(pr)), np.sin(h) * (1 - np.cos(pr)), -np.sin(pr)]
            )
            origin[pivot_mtp] += d
        # eversion: rise to the peak, then fall to the toe-off value
        ev = self.ev_ic[j].copy()
        finite = np.isfinite(t_fc)
        if finite.any():
            jj = j[finite]
            tau = (t[finite] - t_ic[finite]) / (t_fc[finite] - t_ic[finite])
            tp = self.ev_tau[jj]
            e0, ep, e1 = self.ev_ic[jj], self.ev_peak[jj], self.ev_fc[jj]
            before = tau < tp
            up = e0 + (ep - e0) * rise(tau / tp, self.ev_slope[jj])
            v = (tau - tp) / (1.0 - tp)
            down = ep + (e1 - ep) * (v * v * v * (10.0 + v * (-15.0 + 6.0 * v)))
            ev[finite] = np.where(before, up, down)
        return origin, heading, pitch, ev

    # -- swings ------------------------------------------------------------------------------------------------
    def _stance_derivs(self, j: int, t: float) -> np.ndarray:
        """(6, 3): value, 1st and 2nd time derivative of x, y, z, heading, pitch, eversion of contact j at t."""
        h = 1e-3
        tt = np.array([t - h, t, t + h])
        jj = np.full(3, j)
        o, hd, p, e = self._stance(jj, tt)
        q = np.column_stack([o, hd, p, e])  # (3, 6)
        d1 = (q[2] - q[0]) / (2 * h)
        d2 = (q[2] - 2 * q[1] + q[0]) / (h * h)
        return np.stack([q[1], d1, d2], axis=1)

    def _build_swings(self, contacts: list) -> None:
        xs: list[float] = []
        ys: list[np.ndarray] = []  # (6, 3) each
        for j in range(len(contacts) - 1):
            a, b = self.t_fc[j], self.t_ic[j + 1]
            if not np.isfinite(a):
                continue
            start = self._stance_derivs(j, a)
            end = self._stance_derivs(j + 1, b)
            pts = [(a, start)]
            for via in contacts[j].vias:
                tv = via[0]
                val = np.array(via[1:7], dtype=float)
                if len(via) > 7 and via[7]:  # held still
                    pts.append((tv, np.stack([val, np.zeros(6), np.zeros(6)], axis=1)))
                    continue
                # quadratic through (start, via, end) gives the via's slope and curvature
                x0, x2 = a, b
                y0, y2 = start[:, 0], end[:, 0]
                s01 = (val - y0) / (tv - x0)
                s12 = (y2 - val) / (x2 - tv)
                c2 = (s12 - s01) / (x2 - x0)
                d1 = s01 + c2 * (tv - x0)
                pts.append((tv, np.stack([val, d1, 2.0 * c2], axis=1)))
            pts.append((b, end))
            for x, y in pts:
                xs.append(x)
                ys.append(y)
        self.swing_knots = np.array(xs)
        if len(xs) >= 2:
            self.swing = [
                BPoly.from_derivatives(self.swing_knots, [y[i] for y in ys]) for i in range(6)
            ]
        else:
            self.swing = []

    # -- evaluation --------------------------------------------------------------------------------------------
    def evaluate(
        self, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(R (n,3,3), origin (n,3), heading rad, pitch deg toe-up, eversion deg) at times t."""
        t = np.asarray(t, dtype=float)
        j = np.clip(np.searchsorted(self.t_ic, t, side="right") - 1, 0, len(self.t_ic) - 1)
        in_stance = t < self.t_fc[j]
        n = t.size
        origin = np.empty((n, 3))
        heading = np.empty(n)
        pitch = np.empty(n)
        ev = np.empty(n)
        if in_stance.any():
            o, hd, p, e = self._stance(j[in_stance], t[in_stance])
            origin[in_stance], heading[in_stance], pitch[in_stance], ev[in_stance] = o, hd, p, e
        sw = ~in_stance
        if sw.any():
            ts = t[sw]
            origin[sw] = np.column_stack([self.swing[i](ts) for i in range(3)])
            heading[sw] = self.swing[3](ts)
            pitch[sw] = self.swing[4](ts)
            ev[sw] = self.swing[5](ts)
        R = rot_zyx(heading, -np.radians(pitch), np.radians(self.k * ev))
        return R, origin, heading, pitch, ev

    def load_weight(self, t: np.ndarray) -> np.ndarray:
        """How much this leg's knee wish sets the pelvis height: 0 in swing, rising over the first 12% of stance,
        falling from 70% of stance to toe-off."""
        w = np.zeros_like(t)
        for j in range(len(self.t_ic)):
            a, b = self.t_ic[j], self.t_fc[j]
            i0, i1 = np.searchsorted(t, [a, b])
            if i1 <= i0:
                continue
            stance = b - a
            up = min(0.25, 0.12 * stance)
            down0, down1 = (
                (a + 0.7 * stance, a + 1.0 * stance) if stance < 3.0 else (b - 0.6, b - 0.2)
            )
            if stance < 0.4:  # running: the push-off leg stops carrying earlier
                down0, down1 = a + 0.5 * stance, a + 0.8 * stance
            tt = t[i0:i1]
            w[i0:i1] = smoothstep5((tt - a) / up) * (
                1.0 - smoothstep5((tt - down0) / (down1 - down0))
            )
        return w


class Model:
    """The whole body's kinematics for one planned session."""

    def __init__(self, plan: Plan, body: Body) -> None:
        self.plan = plan
        self.body = body
        self.feet = {s: FootTrack(plan.contacts[s], s, body) for s in SIDES}
        keys = np.array(plan.pelvis_keys)
        keys = keys[np.argsort(keys[:, 0], kind="stable")]
        keep = np.concatenate([np.diff(keys[:, 0]) > 1e-3, [True]])
        keys = keys[keep]
        self.pelvis_xy = CubicSpline(keys[:, 0], keys[:, 1:4], axis=0)
        self.tilt = np.radians(8.0)
        self.t_end = plan.t_end
        self._build_wishes()

    def _build_wishes(self) -> None:
        b = self.body
        tg = np.arange(-2.0, self.t_end + 2.0, 1.0 / WISH_RATE)
        names = [
            "bend_left",
            "bend_right",
            "abd_left",
            "abd_right",
            "rot_left",
            "rot_right",
            "obliquity",
        ]
        col = {n: i for i, n in enumerate(names)}
        W = np.zeros((tg.size, len(names)))
        W[:, col["bend_left"]] = W[:, col["bend_right"]] = b.standing_knee_bend
        for bp in self.plan.bumps:
            i0, i1 = np.searchsorted(tg, [bp.t0, bp.t1])
            if i1 > i0:
                W[i0:i1, col[bp.signal]] += bp.amp * skew_bump(
                    (tg[i0:i1] - bp.t0) / (bp.t1 - bp.t0), bp.peak
                )
        self.wish = CubicSpline(tg, W, axis=0)
        self.wish_col = col
        # pelvis height: each loaded leg asks for the height that gives its wished knee bend; blend by load, then
        # keep both legs from straightening beyond MIN_BEND, and smooth (the result is C2 via the spline)
        Rp, P_xy = self._pelvis_orientation(tg)
        num = np.zeros(tg.size)
        den = np.zeros(tg.size)
        cap = np.full(tg.size, np.inf)
        dmax = float(b.leg_reach(MIN_BEND))
        for side in SIDES:
            _, A, _ = self._ankle(side, tg)
            off = Rp @ b.hip_offset(side)
            horiz2 = (P_xy[:, 0] + off[:, 0] - A[:, 0]) ** 2 + (
                P_xy[:, 1] + off[:, 1] - A[:, 1]
            ) ** 2
            reach = b.leg_reach(W[:, col[f"bend_{side}"]])
            h = A[:, 2] + np.sqrt(np.maximum(reach**2 - horiz2, 0.36)) - off[:, 2]
            w = self.feet[side].load_weight(tg)
            num += w * h
            den += w
            leg_cap = A[:, 2] + np.sqrt(np.maximum(dmax**2 - horiz2, 0.0)) - off[:, 2]
            # a foot out of reach (only ever briefly, in swing) must not drag the pelvis down
            cap = np.minimum(cap, np.where(horiz2 < dmax**2 - 0.01, leg_cap, np.inf))
        ok = den > 0.2
        height = PchipInterpolator(tg[ok], num[ok] / den[ok], extrapolate=True)(tg)
        height = np.minimum(height, cap - 0.001)
        height = gaussian_filter1d(height, sigma=0.012 * WISH_RATE, mode="nearest")
        self.height = CubicSpline(tg, height)

    def _pelvis_orientation(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xyh = self.pelvis_xy(t)
        obl = np.radians(self.wish(t)[:, self.wish_col["obliquity"]])
        return rot_zxy(xyh[:, 2], obl, np.full(t.size, self.tilt)), xyh[:, :2]

    def _ankle(self, side: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        R, o, _heading, _, _ = self.feet[side].evaluate(t)
        return R, o + R @ self.body.ankle_offset(), o

    def evaluate(
        self, t: np.ndarray, segments: tuple[str, ...] | None = None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{segment: (R (n,3,3) segment->ground, origin (n,3) m)} at times t (s); all segments, or only those
        asked for (and whatever they need)."""
        b = self.body
        t = np.asarray(t, dtype=float)
        want = set(SEGMENTS if segments is None else segments)
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if want <= {"left_foot", "right_foot"}:
            for side in SIDES:
                if f"{side}_foot" in want:
                    R, o, *_ = self.feet[side].evaluate(t)
                    out[f"{side}_foot"] = (R, o)
            return out
        wish = self.wish(t)
        xyh = self.pelvis_xy(t)
        Rp, P_xy = self._pelvis_orientation(t)
        P = np.column_stack([P_xy, self.height(t)])
        out["pelvis"] = (Rp, P)
        for side in SIDES:
            need_leg = f"{side}_thigh" in want or f"{side}_shank" in want
            if not (need_leg or f"{side}_foot" in want):
                continue
            Rf, A, o = self._ankle(side, t)
            out[f"{side}_foot"] = (Rf, o)
            if not need_leg:
                continue
            H = P + Rp @ b.hip_offset(side)
            Rt, Rs, K = leg_ik(
                H,
                A,
                b.thigh_length,
                b.shank_length,
                wish[:, self.wish_col[f"abd_{side}"]],
                wish[:, self.wish_col[f"rot_{side}"]],
                xyh[:, 2],
                side,
            )
            out[f"{side}_thigh"] = (Rt, H)
            out[f"{side}_shank"] = (Rs, K)
        return out


def leg_ik(
    H: np.ndarray,
    A: np.ndarray,
    Lt: float,
    Ls: float,
    abduction: np.ndarray,
    rotation: np.ndarray,
    heading: np.ndarray,
    side: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thigh and shank orientations and the knee position that connect hip H and ankle A (n, 3).

    The knee bend follows from |H - A|; the wished knee abduction (valgus +, deg) and internal rotation (deg) are
    realised exactly in the Grood & Suntay sense (abduction is softly limited to 90% of the bend, which a JCS
    with a nearly straight knee cannot exceed); the remaining freedom, the leg's swivel about the hip-ankle line,
    keeps the thigh's x axis as close as possible to the walking direction ``heading`` (rad).
    """
    k = sgn(side)
    v = A - H
    d = np.linalg.norm(v, axis=1)
    cos_int = np.clip((Lt * Lt + Ls * Ls - d * d) / (2 * Lt * Ls), -1.0, 1.0)
    bend = np.pi - np.arccos(cos_int)
    lim = np.maximum(0.9 * bend, 1e-3)
    a_w = np.radians(abduction)
    a = a_w / (1.0 + (a_w / lim) ** 4) ** 0.25
    f = np.arccos(np.clip(np.cos(bend) / np.cos(a), -1.0, 1.0))
    a_raw = k * a
    r_raw = -k * np.radians(rotation)
    # shank long axis in thigh coordinates: Ry(f) Rx(a) e_z
    zs = np.column_stack([np.sin(f) * np.cos(a_raw), -np.sin(a_raw), np.cos(f) * np.cos(a_raw)])
    vT = -(Lt * np.array([0.0, 0.0, 1.0]) + Ls * zs)
    uT = vT / d[:, None]
    u = v / d[:, None]
    qT = _unit(np.array([1.0, 0.0, 0.0]) - uT[:, :1] * uT)
    hdir = np.column_stack([np.cos(heading), np.sin(heading), np.zeros_like(heading)])
    q = _unit(hdir - np.sum(hdir * u, axis=1, keepdims=True) * u)
    B = np.stack([u, q, np.cross(u, q)], axis=2)
    BT = np.stack([uT, qT, np.cross(uT, qT)], axis=2)
    Rt = B @ np.transpose(BT, (0, 2, 1))
    # shank = thigh * Ry(f) Rx(a) Rz(r)
    Rrel = rot_yxz(f, a_raw, r_raw)
    Rs = Rt @ Rrel
    K = H - Lt * Rt[:, :, 2]
    return Rt, Rs, K


def rot_yxz(y: np.ndarray, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Ry(y) Rx(x) Rz(z), angles in rad, shape (n, 3, 3)."""
    cy, sy = np.cos(y), np.sin(y)
    cx, sx = np.cos(x), np.sin(x)
    cz, sz = np.cos(z), np.sin(z)
    R = np.empty((np.size(y), 3, 3))
    R[:, 0, 0] = cy * cz + sy * sx * sz
    R[:, 0, 1] = -cy * sz + sy * sx * cz
    R[:, 0, 2] = sy * cx
    R[:, 1, 0] = cx * sz
    R[:, 1, 1] = cx * cz
    R[:, 1, 2] = -sx
    R[:, 2, 0] = -sy * cz + cy * sx * sz
    R[:, 2, 1] = sy * sz + cy * sx * cz
    R[:, 2, 2] = cy * cx
    return R
