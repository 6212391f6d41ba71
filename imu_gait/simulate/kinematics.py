"""Segment poses over time: feet from their contacts and swings, the pelvis from keyframes and the legs' wishes,
thighs and shanks by inverse kinematics between hip and ankle. Everything is a vectorised function of time, so
poses can be evaluated at any instant (IMU signals come from evaluating at t and t +/- h).

Poses are rotation matrices R (n, 3, 3), segment -> ground, segment frames x anterior, y left, z up in standing,
and origin positions p (n, 3) in m (ground frame z up). Origins: see body.py.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from imu_gait.simulate.activities import SIDES, Plan, sgn
from imu_gait.simulate.body import Body
from imu_gait.simulate.smooth import (
    QuinticHermite,
    UniformBSpline,
    heel_rocker,
    rise,
    skew_bump,
    smoothstep5,
    toe_rocker,
)

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
LOAD_UP, LOAD_DOWN = (
    0.12,
    0.7,
)  # fractions of stance: a leg takes the load over the first LOAD_UP, gives it up from
# LOAD_DOWN to toe-off (walking)
HEEL_SLIDE_S = 0.04  # s, longest slide of the foot after a heel strike or a running touchdown (Contact.heel_slide)
RUN_LOAD_DOWN = (0.4, 0.7)  # fractions of a running stance over which the leg gives up the load
WISH_RATE = 200.0  # Hz of the grid that carries the smooth joint-angle wishes
FLIGHT_CURVATURE = (
    9.80665  # m/s^2, downward curvature of the pelvis height while no leg carries it (ballistic)
)


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
    cz, sz = np.cos(yaw), np.sin(yaw)
    cx, sx = np.cos(obl), np.sin(obl)
    cy, sy = np.cos(tilt), np.sin(tilt)
    R = np.empty((np.size(yaw), 3, 3))
    R[:, 0, 0] = cz * cy - sz * sx * sy
    R[:, 0, 1] = -sz * cx
    R[:, 0, 2] = cz * sy + sz * sx * cy
    R[:, 1, 0] = sz * cy + cz * sx * sy
    R[:, 1, 1] = cz * cx
    R[:, 1, 2] = sz * sy - cz * sx * cy
    R[:, 2, 0] = -cx * sy
    R[:, 2, 1] = sx
    R[:, 2, 2] = cx * cy
    return R


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _hermite_rows(
    a: np.ndarray, b: np.ndarray, y0: np.ndarray, y1: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Row-wise quintic Hermite: row i runs from (a[i], y0[i]) to (b[i], y1[i]), y as (k, 3, m) [value, 1st,
    2nd derivative]; evaluated at t[i] -> (k, m)."""
    h = (b - a)[:, None]
    s = ((t - a) / (b - a))[:, None]
    s3 = s**3
    b0 = 1 - s3 * (10 - 15 * s + 6 * s * s)
    b5 = 1 - b0
    b1 = (s - s3 * (6 - 8 * s + 3 * s * s)) * h
    b4 = (-s3 * (4 - 7 * s + 3 * s * s)) * h
    b2 = 0.5 * s * s * (1 - s) ** 3 * h * h
    b3 = 0.5 * s3 * (1 - s) ** 2 * h * h
    return (
        b0 * y0[:, 0]
        + b1 * y0[:, 1]
        + b2 * y0[:, 2]
        + b3 * y1[:, 2]
        + b4 * y1[:, 1]
        + b5 * y1[:, 0]
    )


def _swing_pitch(a, b, start, end, t) -> np.ndarray:
    """Foot pitch (deg) at times t of swings from toe-off (times a, [value, rate, acceleration] ``start`` (k, 3))
    to contact (b, ``end``): the push-off rotation stops soon after toe-off (a minimum 8 deg below the toe-off
    angle), then one smooth rotation to the contact angle; a foot leaving the ground rotating toe up rotates
    straight to the contact angle."""
    D = b - a
    simple = (start[:, 1] >= 0.0) | (D < 0.15)
    rate = np.where(simple, -1.0, start[:, 1])
    t_min = a + np.minimum(0.12 * D, np.maximum(0.02, -16.0 / rate))
    p_min = np.where(t_min - a > 0.02, start[:, 0] - 8.0, start[:, 0])
    mid = np.column_stack(
        [p_min, np.zeros_like(p_min), 2.0 * (end[:, 0] - p_min) / (b - t_min) ** 2]
    )
    first = t < t_min
    out = np.where(
        first,
        _hermite_rows(a, t_min, start[:, :, None], mid[:, :, None], t)[:, 0],
        _hermite_rows(t_min, b, mid[:, :, None], end[:, :, None], t)[:, 0],
    )
    return np.where(simple, _hermite_rows(a, b, start[:, :, None], end[:, :, None], t)[:, 0], out)


class FootTrack:
    """One foot's pose at any time: contacts (exact rigid rockers about ground-fixed points) joined by C2 swings."""

    def __init__(self, contacts: list, side: str, body: Body) -> None:
        self.side = side
        self.k = sgn(side)
        self.L = body.mtp_length
        self.ankle = body.ankle_offset()
        f = lambda name: np.array([getattr(c, name) for c in contacts], dtype=float)  # noqa: E731
        self.t_ic, self.t_ff, self.t_ho, self.t_fc = f("t_ic"), f("t_ff"), f("t_ho"), f("t_fc")
        self.pos = np.array([c.pos for c in contacts], dtype=float)
        self.heading, self.pitch_ic, self.pitch_fc = f("heading"), f("pitch_ic"), f("pitch_fc")
        self.fc_slope, self.heel_slide = f("fc_slope"), f("heel_slide")
        self.touchdown_vz = f("touchdown_vz")
        # touchdowns with a ground impact: the swing meets them with the stance's velocity, not its deceleration
        self.touchdown = (self.touchdown_vz > 0) & (self.t_ff > self.t_ic)
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
        # heel strikes of walking: the heel touches the floor still moving forward at ``heel_slide`` m/s and comes
        # to rest within HEEL_SLIDE_S (C2 at rest), so the swing need not stop the foot dead in the air before
        # contact (which snapped the knee straight and gave shank accelerations of ~20 g)
        # Running touchdowns (``touchdown_vz`` > 0, heel or forefoot): the foot also still moves down at contact
        # and the ground stops it over the same time T, with a force that rises from zero at contact, peaks at
        # T/2 (deceleration 1.5 v / T) and is gone at T: the sole and heel pad compress by vz T / 2 (a few mm)
        slide_t = np.minimum(HEEL_SLIDE_S, 0.5 * (t_ff - t_ic))
        v0, vz = self.heel_slide[j], self.touchdown_vz[j]
        strike = (self.pitch_ic[j] > 0) | (vz > 0)
        sliding = ((v0 > 0) | (vz > 0)) & strike & (t < t_ic + slide_t) & (slide_t > 0)
        if sliding.any():
            T = slide_t[sliding]
            u = np.clip((t[sliding] - t_ic[sliding]) / T, None, 1.0)
            # s: distance still to go at unit speed at contact
            left = np.where(
                vz[sliding] > 0,
                T / 2.0 * (1.0 - u) ** 3 * (1.0 + u),
                T / 3.0 * (1.0 - u) ** 3,
            )
            back = v0[sliding] * left  # m behind the resting point
            h = heading[sliding]
            origin[sliding, 0] -= back * np.cos(h)
            origin[sliding, 1] -= back * np.sin(h)
            origin[sliding, 2] += vz[sliding] * left
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
    def _stance_derivs(self, j: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(k, 6, 3): value, 1st and 2nd time derivative of x, y, z, heading, pitch, eversion of contacts j at t."""
        h = 1e-3
        tt = np.concatenate([t - h, t, t + h])
        o, hd, p, e = self._stance(np.tile(j, 3), tt)
        q = np.column_stack([o, hd, p, e]).reshape(3, len(j), 6)
        d1 = (q[2] - q[0]) / (2 * h)
        d2 = (q[2] - 2 * q[1] + q[0]) / (h * h)
        return np.stack([q[1], d1, d2], axis=2)

    def _build_swings(self, contacts: list) -> None:
        """C2 swings: heading, pitch and eversion follow smooth profiles from toe-off to contact; the vias shape
        the path of the ankle (kept where the via put it, whatever the foot's pitch there)."""
        js = np.array([j for j in range(len(contacts) - 1) if np.isfinite(self.t_fc[j])], dtype=int)
        if js.size == 0:
            self.swing_knots, self.swing = np.empty(0), None
            return
        a_all, b_all = self.t_fc[js], self.t_ic[js + 1]
        starts = self._stance_derivs(js, a_all)  # (k, 6, 3)
        ends = self._stance_derivs(js + 1, b_all)
        # a touchdown is an impact: the swing arrives with the foot's velocity and no deceleration (the stance's
        # is zero at contact; its extrapolation before contact is not), so the foot does not brake in the air
        ends[self.touchdown[js + 1], :3, 2] = 0.0
        # every moving via at once
        vias = [
            (n, v) for n, j in enumerate(js) for v in contacts[j].vias if not (len(v) > 7 and v[7])
        ]
        via_y: dict[tuple[int, float], np.ndarray] = {}
        if vias:
            n = np.array([v[0] for v in vias])
            tv = np.array([v[1][0] for v in vias])
            val = np.array([v[1][1:7] for v in vias], dtype=float)
            a, b = a_all[n], b_all[n]
            y0, y1 = (
                np.transpose(starts[n], (0, 2, 1)),
                np.transpose(ends[n], (0, 2, 1)),
            )  # (k, 3, 6)
            h = 1e-4
            q = [_hermite_rows(a, b, y0, y1, tv + dt) for dt in (-h, 0.0, h)]
            p = [_swing_pitch(a, b, starts[n, 4], ends[n, 4], tv + dt) for dt in (-h, 0.0, h)]
            for i in range(3):
                q[i][:, 4] = p[i]
            ankle = (
                val[:, :3]
                + rot_zyx(val[:, 3], -np.radians(val[:, 4]), np.zeros(len(n))) @ self.ankle
            )
            Rn = rot_zyx(q[1][:, 3], -np.radians(q[1][:, 4]), np.radians(self.k * q[1][:, 5]))
            val[:, :3] = ankle - Rn @ self.ankle
            val[:, 3:] = q[1][:, 3:]
            # quadratic through (start, via, end) gives the via's slope and curvature of the path
            s01 = (val - y0[:, 0]) / (tv - a)[:, None]
            s12 = (y1[:, 0] - val) / (b - tv)[:, None]
            c2 = (s12 - s01) / (b - a)[:, None]
            d1 = s01 + c2 * (tv - a)[:, None]
            d2 = 2.0 * c2
            d1[:, 3:] = (q[2][:, 3:] - q[0][:, 3:]) / (2 * h)
            d2[:, 3:] = (q[2][:, 3:] - 2 * q[1][:, 3:] + q[0][:, 3:]) / (h * h)
            for i, (ni, v) in enumerate(vias):
                via_y[(ni, v[0])] = np.stack([val[i], d1[i], d2[i]], axis=1)
        xs: list[float] = []
        ys: list[np.ndarray] = []  # (6, 3) each
        for ni, j in enumerate(js):
            xs.append(a_all[ni])
            ys.append(starts[ni])
            for v in contacts[j].vias:
                xs.append(v[0])
                if len(v) > 7 and v[7]:  # held still
                    ys.append(
                        np.stack([np.array(v[1:7], dtype=float), np.zeros(6), np.zeros(6)], axis=1)
                    )
                else:
                    ys.append(via_y[(ni, v[0])])
            xs.append(b_all[ni])
            ys.append(ends[ni])
        self.swing_knots = np.array(xs)
        # (m, 3 derivatives, 6 coordinates)
        self.swing = QuinticHermite(self.swing_knots, np.transpose(np.array(ys), (0, 2, 1)))

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
            q = self.swing(t[sw])
            origin[sw] = q[:, :3]
            heading[sw], pitch[sw], ev[sw] = q[:, 3], q[:, 4], q[:, 5]
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
            up = min(0.25, LOAD_UP * stance)
            down0, down1 = (
                (a + LOAD_DOWN * stance, a + 1.0 * stance) if stance < 3.0 else (b - 0.6, b - 0.2)
            )
            if stance < 0.4:  # running: the push-off leg stops carrying earlier
                down0, down1 = a + RUN_LOAD_DOWN[0] * stance, a + RUN_LOAD_DOWN[1] * stance
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
        self.tilt = np.radians(8.0)
        self.t_end = plan.t_end
        self._build(keys)

    def _build(self, keys: np.ndarray) -> None:
        """All smooth time signals on one WISH_RATE grid, carried by one C2 spline: pelvis x, y, heading (rad),
        height (m), and the wishes (deg): knee abduction and rotation per side, pelvic obliquity."""
        b = self.body
        tg = -2.0 + np.arange(int((self.t_end + 4.0) * WISH_RATE)) / WISH_RATE
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
                u = (tg[i0:i1] - bp.t0) / (bp.t1 - bp.t0)
                W[i0:i1, col[bp.signal]] += bp.amp * skew_bump(u, bp.peak)
        # pelvis path: through the keyframes (t, x, y, heading), smoothed locally (a global spline would ripple
        # into the static calibration)
        xyh = np.column_stack([np.interp(tg, keys[:, 0], keys[:, i]) for i in (1, 2, 3)])
        xyh = gaussian_filter1d(xyh, sigma=0.07 * WISH_RATE, axis=0, mode="nearest")
        Rp = rot_zxy(xyh[:, 2], np.radians(W[:, col["obliquity"]]), np.full(tg.size, self.tilt))
        # pelvis height: each loaded leg asks for the height that gives its wished knee bend; blend by load, then
        # keep both legs from straightening beyond MIN_BEND
        num = np.zeros(tg.size)
        den = np.zeros(tg.size)
        cap = np.full(tg.size, np.inf)
        dmax = float(b.leg_reach(MIN_BEND))
        for side in SIDES:
            R, o, *_ = self.feet[side].evaluate(tg)
            A = o + R @ b.ankle_offset()
            off = Rp @ b.hip_offset(side)
            horiz2 = (xyh[:, 0] + off[:, 0] - A[:, 0]) ** 2 + (xyh[:, 1] + off[:, 1] - A[:, 1]) ** 2
            reach = b.leg_reach(W[:, col[f"bend_{side}"]])
            h = A[:, 2] + np.sqrt(np.maximum(reach**2 - horiz2, 0.36)) - off[:, 2]
            w = self.feet[side].load_weight(tg)
            num += w * h
            den += w
            leg_cap = A[:, 2] + np.sqrt(np.maximum(dmax**2 - horiz2, 0.0)) - off[:, 2]
            # a foot out of reach (only ever briefly, in swing) must not drag the pelvis down
            cap = np.minimum(cap, np.where(horiz2 < dmax**2 - 0.01, leg_cap, np.inf))
        ok = den > 0.2
        height = np.interp(tg, tg[ok], num[ok] / den[ok])
        # unloaded stretches (the flight of running): the pelvis follows a ballistic-like arc between them
        gap = np.flatnonzero(~ok)
        if gap.size:
            starts = gap[np.concatenate([[True], np.diff(gap) > 1])]
            ends = gap[np.concatenate([np.diff(gap) > 1, [True]])]
            for i0, i1 in zip(starts, ends, strict=True):
                if i0 == 0 or i1 == tg.size - 1:
                    continue
                ta, tb = tg[i0 - 1], tg[i1 + 1]
                tt = tg[i0 : i1 + 1]
                height[i0 : i1 + 1] += 0.5 * FLIGHT_CURVATURE * (tt - ta) * (tb - tt)
        height = gaussian_filter1d(height, sigma=0.03 * WISH_RATE, mode="nearest")
        # lower the pelvis where a leg would over-straighten, by a smooth envelope of the excess (a hard minimum
        # would put corners, i.e. acceleration spikes, into every segment's motion)
        excess = np.maximum(0.0, height - (cap - 0.002))
        w = int(0.06 * WISH_RATE)
        envelope = gaussian_filter1d(maximum_filter1d(excess, size=2 * w + 1), sigma=w / 3.0)
        height = height - envelope
        self.signals = UniformBSpline(
            tg[0], 1.0 / WISH_RATE, np.column_stack([xyh, height, W[:, 2:]])
        )
        self.col = {
            "x": 0,
            "y": 1,
            "heading": 2,
            "height": 3,
            **{n: 2 + i for n, i in col.items() if i >= 2},
        }

    def pelvis(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(R (n,3,3), origin (n,3), all smooth signals (n, k)) of the pelvis at times t."""
        sig = self.signals(t)
        c = self.col
        R = rot_zxy(
            sig[:, c["heading"]], np.radians(sig[:, c["obliquity"]]), np.full(t.size, self.tilt)
        )
        return R, sig[:, [0, 1, 3]], sig

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
        Rp, P, sig = self.pelvis(t)
        out["pelvis"] = (Rp, P)
        for side in SIDES:
            need_leg = f"{side}_thigh" in want or f"{side}_shank" in want
            if not (need_leg or f"{side}_foot" in want):
                continue
            Rf, o, *_ = self.feet[side].evaluate(t)
            out[f"{side}_foot"] = (Rf, o)
            if not need_leg:
                continue
            A = o + Rf @ b.ankle_offset()
            H = P + Rp @ b.hip_offset(side)
            Rt, Rs, K = leg_ik(
                H,
                A,
                b.thigh_length,
                b.shank_length,
                sig[:, self.col[f"abd_{side}"]],
                sig[:, self.col[f"rot_{side}"]],
                sig[:, self.col["heading"]],
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
    d = np.sqrt(np.einsum("ij,ij->i", v, v))
    cos_int = np.clip((Lt * Lt + Ls * Ls - d * d) / (2 * Lt * Ls), -1.0, 1.0)
    bend = np.pi - np.arccos(cos_int)
    lim = np.maximum(0.9 * bend, 1e-3)
    a_w = np.radians(abduction)
    a = a_w / np.sqrt(np.sqrt(1.0 + (a_w / lim) ** 4))
    f = np.arccos(np.clip(np.cos(bend) / np.cos(a), -1.0, 1.0))
    a_raw = k * a
    r_raw = -k * np.radians(rotation)
    # hip -> ankle direction in thigh coordinates: -(Lt e_z + Ls * shank axis), shank axis = Ry(f) Rx(a) e_z
    sf, cf, sa, ca = np.sin(f), np.cos(f), np.sin(a_raw), np.cos(a_raw)
    uT = np.empty_like(v)
    uT[:, 0] = -Ls * sf * ca
    uT[:, 1] = Ls * sa
    uT[:, 2] = -(Lt + Ls * cf * ca)
    uT /= d[:, None]
    u = v / d[:, None]
    # thigh x projected off uT, and the walking direction projected off u
    qT = -uT[:, :1] * uT
    qT[:, 0] += 1.0
    qT /= np.sqrt(np.einsum("ij,ij->i", qT, qT))[:, None]
    q = np.zeros_like(v)
    q[:, 0], q[:, 1] = np.cos(heading), np.sin(heading)
    q -= np.einsum("ij,ij->i", q, u)[:, None] * u
    q /= np.sqrt(np.einsum("ij,ij->i", q, q))[:, None]
    w, wT = np.cross(u, q), np.cross(uT, qT)
    Rt = (
        u[:, :, None] * uT[:, None, :]
        + q[:, :, None] * qT[:, None, :]
        + w[:, :, None] * wT[:, None, :]
    )
    Rs = np.einsum("nij,njk->nik", Rt, rot_yxz(f, a_raw, r_raw))
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
