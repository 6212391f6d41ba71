"""The activity planner: turns a SimConfig into foot contacts, swing via-points, pelvis keyframes and the
joint-angle "wishes" (C2 bumps) that kinematics.py turns into poses.

Every activity starts and ends with both feet flat side by side, so activities chain in any order. A foot's
motion is a sequence of contacts (stance phases: initial rocker about the heel or the forefoot, foot-flat, push-off
rocker about the metatarsal heads) joined by swings. Angles here are in degrees, positions in m, times in s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imu_gait.simulate.body import Body
from imu_gait.simulate.config import Activity, GaitParams, SimConfig

SIDES = ("left", "right")
# end slope of the push-off rocker (smooth.toe_rocker): with 2 the plantarflexion rate peaks exactly at toe-off, as
# in foot-IMU data (Falbriard 2018: terminal contact at the pitch-rate extremum of the second half of the cycle);
# walking keeps 3 (the rate still grows at toe-off and peaks a few ms later, like the real walk in
# ../shared/data/gaitmap)
TOE_OFF_SLOPE = 2.0
# terminal swing: the heel passes this far behind (m) and above (m) its landing spot at this fraction of the swing
# (default; walking starts the approach earlier, which halves the knee's snap into extension before contact)
APPROACH = (0.05, 0.025, 0.86)


def sgn(side: str) -> float:
    """+1 left, -1 right (the left side is +y)."""
    return 1.0 if side == "left" else -1.0


@dataclass
class Contact:
    """One stance phase of one foot. ``pos`` = the foot origin (heel contact point) while flat."""

    t_ic: float
    t_ff: float
    t_ho: float
    t_fc: float
    pos: np.ndarray
    heading: float  # rad
    pitch_ic: float = (
        0.0  # deg, toe up positive; < 0 = forefoot contact (pivot at the metatarsal heads)
    )
    pitch_fc: float = -30.0  # deg at toe-off
    fc_slope: float = 2.5
    heel_slide: float = 0.0  # m/s: forward speed of the heel as it touches the floor (heel strikes)
    # m/s: downward speed of the foot as it touches the floor; > 0 = the ground stops the foot after contact (the
    # swing arrives with that velocity and no deceleration: the impact is the ground's, after contact)
    touchdown_vz: float = 0.0
    ev_ic: float = 0.0  # eversion profile (deg, anatomical, relative to standing)
    ev_peak: float = 0.0
    ev_tau: float = 0.35  # fraction of stance
    ev_fc: float = 0.0
    ev_slope: float = 2.0
    activity: str = "stand"
    stride: bool = False  # a stride (this IC to the next IC of the foot) is reported in the truth
    vias: list[tuple] = field(
        default_factory=list
    )  # swing after this contact: (t, x, y, z, heading, pitch, roll)


@dataclass
class Bump:
    """A C2 bump added to one wish signal between t0 and t1, peaking at fraction ``peak`` with ``amp``."""

    signal: str
    t0: float
    t1: float
    peak: float
    amp: float


@dataclass
class Plan:
    contacts: dict[str, list[Contact]]
    pelvis_keys: list[tuple[float, float, float, float]]  # (t, x, y, heading rad)
    bumps: list[Bump]
    segments: list[dict]
    squats: list[dict]
    calibration: tuple[float, float]
    t_end: float
    pelvis_height: float  # standing height of the pelvis origin above the floor


@dataclass
class _State:
    t: float
    x: float
    y: float
    heading: float
    z: float


def _foot_origin(body: Body, ankle_xy: np.ndarray, z: float, heading: float) -> np.ndarray:
    c, s = np.cos(heading), np.sin(heading)
    return np.array([ankle_xy[0] - body.ankle_forward * c, ankle_xy[1] - body.ankle_forward * s, z])


class Planner:
    """Builds a :class:`Plan` activity by activity; ``rng`` draws the stride-to-stride variability."""

    def __init__(self, config: SimConfig, rng: np.random.Generator) -> None:
        self.cfg = config
        self.g: GaitParams = config.gait
        self.body: Body = config.body
        self.rng = rng
        b = self.body
        self.stand_height = b.ankle_height + float(b.leg_reach(b.standing_knee_bend))
        self.contacts: dict[str, list[Contact]] = {s: [] for s in SIDES}
        self.keys: list[tuple[float, float, float, float]] = []
        self.bumps: list[Bump] = []
        self.segments: list[dict] = []
        self.squats: list[dict] = []
        self.st = _State(0.0, 0.0, 0.0, 0.0, 0.0)

    # --- geometry helpers -------------------------------------------------------------------------------------
    def _lateral(self, x: float, y: float, heading: float, d: float) -> np.ndarray:
        return np.array([x - d * np.sin(heading), y + d * np.cos(heading)])

    def _stand_contact(
        self, side: str, t_ic: float, x: float, y: float, heading: float, z: float
    ) -> Contact:
        ankle = self._lateral(x, y, heading, sgn(side) * self.g.step_width / 2)
        h = heading + np.radians(sgn(side) * self.g.toe_out)
        return Contact(t_ic, t_ic, np.inf, np.inf, _foot_origin(self.body, ankle, z, h), h)

    def _stand_keys(self, t0: float, t1: float) -> None:
        st = self.st
        for t in np.arange(t0, t1 + 1e-9, 0.5):
            self.keys.append((float(t), st.x, st.y, st.heading))

    # --- activities -------------------------------------------------------------------------------------------
    def start(self) -> None:
        calib = self.cfg.calibration_s
        for side in SIDES:
            self.contacts[side].append(self._stand_contact(side, -2.0, 0.0, 0.0, 0.0, 0.0))
        self._stand_keys(-2.0, calib)
        self.segments.append({"t": 0.0, "t_end": round(calib, 6), "label": "stand"})
        self.st.t = calib

    def stand(self, duration: float) -> None:
        t0 = self.st.t
        self._stand_keys(t0 + 0.5, t0 + duration)
        self.segments.append(
            {"t": round(t0, 6), "t_end": round(t0 + duration, 6), "label": "stand"}
        )
        self.st.t = t0 + duration

    def finish(self) -> Plan:
        self.stand(1.0)
        for side in SIDES:
            c = self.contacts[side][-1]
            if np.isinf(c.t_fc):
                c.t_ho = c.t_fc = self.st.t + 100.0
        merged: list[dict] = []
        for seg in self.segments:  # one event for back-to-back segments of the same activity
            if (
                merged
                and merged[-1]["label"] == seg["label"]
                and abs(merged[-1]["t_end"] - seg["t"]) < 1e-6
            ):
                merged[-1]["t_end"] = seg["t_end"]
            else:
                merged.append(dict(seg))
        return Plan(
            self.contacts,
            sorted(self.keys),
            self.bumps,
            merged,
            self.squats,
            (0.5, self.cfg.calibration_s - 0.5),
            self.st.t,
            self.stand_height,
        )

    def locomotion(self, act: Activity) -> None:
        """Walking, turning, running and stairs: a sequence of steps from standing back to standing."""
        g, b, rng, st = self.g, self.body, self.rng, self.st
        kind = act.kind
        p = _gait_style(act)
        speed = p["speed"]
        cadence = act.cadence or p["cadence"]
        T = 120.0 / cadence
        df = p["duty"]
        # steps: number of foot landings, alternating, starting with the right foot
        if kind in ("stairs_up", "stairs_down"):
            n_steps = act.steps + 1
        else:
            n = act.strides
            if n is None:
                n = max(1, round((act.duration or 10.0) / T))
            n_steps = 2 * n + 2
        t0 = st.t
        # stride time of each step (a step j is the swing that ends at IC j)
        Tj = T * (1.0 + g.timing_cv * rng.standard_normal(n_steps + 2))
        swing = (1.0 - df) * Tj
        lift_first = t0 + 0.3
        ic = np.empty(n_steps)
        ic[0] = lift_first + swing[0]
        for j in range(1, n_steps):
            ic[j] = ic[j - 1] + Tj[j] / 2.0
        fc = ic - swing[:n_steps]  # FC of the previous contact of the landing foot
        fc[0] = lift_first
        if df > 0.5:  # walking: the second foot lifts after the first one landed
            fc[1] = max(fc[1], ic[0] + 0.08)
        sides = ["right" if j % 2 == 0 else "left" for j in range(n_steps)]
        t_end = ic[-1] + 0.4

        # path: position and heading as functions of the distance s walked
        kappa = 0.0
        if kind == "turn":
            kappa = np.radians(act.turn_deg) / (abs(np.radians(act.turn_deg)) * act.turn_radius)
        x0, y0, h0, z0 = st.x, st.y, st.heading, st.z

        def path(s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            s = np.asarray(s, dtype=float)
            if kappa == 0.0:
                return x0 + s * np.cos(h0), y0 + s * np.sin(h0), np.full_like(s, h0)
            h = h0 + kappa * s
            return x0 + (np.sin(h) - np.sin(h0)) / kappa, y0 - (np.cos(h) - np.cos(h0)) / kappa, h

        # where each landing goes: distance s along the path and floor height
        ms = ic + p["over"] * df * Tj[:n_steps]  # when the pelvis passes over each landing
        if kind in ("stairs_up", "stairs_down"):
            first = 0.30  # m from the standing ankles to the first riser
            up = kind == "stairs_up"
            stair = np.minimum(np.arange(1, n_steps + 1), act.steps)
            if up:
                s_land = first + (stair - 1) * act.tread + 0.14
                z_land = z0 + stair * act.riser
            else:
                s_land = first + (stair - 1) * act.tread + 0.10
                z_land = z0 - stair * act.riser
            s_land[-1] = s_land[-2]
            z_land[-1] = z_land[-2]
        else:
            ramp = 0.8 * T if df > 0.5 else 2.0 * T  # running accelerates over a few strides
            tt = np.linspace(t0, t_end, 4000)
            vprof = _smooth_window(tt, t0 + 0.15, t_end - 0.15, ramp)
            S = np.concatenate([[0.0], np.cumsum(0.5 * (vprof[1:] + vprof[:-1]) * np.diff(tt))])
            if kind == "turn":
                S *= abs(np.radians(act.turn_deg)) * act.turn_radius / S[-1]
            else:
                S *= speed
            dist = S[-1]
            s_land = np.interp(ms, tt, S)
            s_land[-2:] = dist
            z_land = np.full(n_steps, z0)
        px, py, ph = path(s_land)

        style_scale = p["frontal"]
        for j in range(n_steps):
            side = sides[j]
            k = sgn(side)
            scale = g.side_scale(side) * style_scale
            prev = self.contacts[side][-1]
            # close the previous contact of this foot: heel-off, toe-off
            prev.t_fc = float(fc[j])
            prev_stance = prev.t_fc - prev.t_ic
            prev.t_ho = prev.t_fc - min(
                p["push"] * prev_stance, 0.25 if prev.activity == "stand" else 10.0
            )
            prev.pitch_fc = p["pitch_fc"] + rng.normal(0.0, 2.0)
            prev.fc_slope = p.get("fc_slope", 2.5)
            if prev.activity == "stand":
                prev.t_ho = prev.t_fc - 0.22
                prev.pitch_fc = min(-20.0, p["pitch_fc"] * 0.6)
            # the new contact
            last = j == n_steps - 1
            ankle = self._lateral(px[j], py[j], ph[j], k * g.step_width / 2)
            heading = ph[j] + np.radians(k * (g.toe_out + rng.normal(0.0, 1.0)))
            pos = _foot_origin(b, ankle, z_land[j], heading)
            stance = df * Tj[j + 2] if j + 2 < n_steps + 2 else df * T
            pitch_ic = p["pitch_ic"] + rng.normal(0.0, 1.5) * (1 if p["pitch_ic"] != 0 else 0)
            exc = max(0.5, g.eversion_excursion * scale * p["ev"] + rng.normal(0.0, g.angle_sd))
            ev_ic = g.eversion_ic * p["ev"] + rng.normal(0.0, 0.5 * g.angle_sd)
            c = Contact(
                t_ic=float(ic[j]),
                t_ff=float(ic[j] + p["flat"] * stance),
                t_ho=np.inf,
                t_fc=np.inf,
                pos=pos,
                heading=float(heading),
                pitch_ic=float(pitch_ic),
                ev_ic=float(ev_ic),
                ev_peak=float(ev_ic + exc),
                ev_tau=float(
                    np.clip(
                        g.eversion_peak_time / 100.0 * p["tau"] + rng.normal(0, 0.03), 0.15, 0.6
                    )
                ),
                ev_fc=float(g.eversion_toe_off * p["ev"] + rng.normal(0.0, 0.5)),
                ev_slope=g.eversion_velocity_slope,
                activity=kind if kind != "turn" else "walk",
                heel_slide=p.get("heel_slide", 0.0),
                touchdown_vz=p.get("touchdown_vz", 0.0),
                stride=not last and j < n_steps - 2,
            )
            # final landing: the foot comes to stand beside the other one
            if last:
                c.pitch_ic = 0.0 if kind != "stairs_down" else c.pitch_ic
                c.t_ff = c.t_ic if c.pitch_ic == 0.0 else c.t_ff
                c.ev_ic = c.ev_peak = c.ev_fc = 0.0
                c.activity = "stand"
            elif j == n_steps - 2:
                c.ev_ic = c.ev_peak = c.ev_fc = 0.0  # it stays down into the next standing
            if c.pitch_ic == 0.0:
                c.t_ff = c.t_ic
            self.contacts[side].append(c)
            # swing via point (peak knee flexion) for the swing that ends in this contact
            self._add_via(prev, c, side, p)
            # wishes during this stance
            if not last:
                t_ic, t_fc_est = c.t_ic, c.t_ic + stance
                valgus = g.knee_valgus_peak * scale * p["valgus"] + rng.normal(0.0, g.angle_sd)
                drop = g.pelvic_drop * scale * p["drop"] + rng.normal(0.0, g.angle_sd)
                self.bumps.append(
                    Bump(f"abd_{side}", t_ic - 0.05 * stance, t_ic + 0.8 * stance, 0.35, valgus)
                )
                self.bumps.append(
                    Bump(f"rot_{side}", t_ic - 0.05 * stance, t_ic + 0.9 * stance, 0.3, 3.0)
                )
                self.bumps.append(Bump("obliquity", t_ic, t_ic + 0.75 * stance, 0.35, k * drop))
                for kb in p["knee"]:
                    b0, b1 = t_ic + kb[0] * stance, t_ic + kb[1] * stance
                    self.bumps.append(Bump(f"bend_{side}", b0, b1, kb[2], kb[3]))
                self.keys.append(
                    (
                        float(t_ic + p["over"] * stance),
                        *self._lateral(px[j], py[j], ph[j], k * p["sway"]),
                        float(ph[j]),
                    )
                )
                del t_fc_est
        # end state: standing at the last landing
        st.x, st.y, st.heading, st.z = (
            float(px[-1]),
            float(py[-1]),
            float(ph[-1]),
            float(z_land[-1]),
        )
        self.keys.append((float(t_end), st.x, st.y, st.heading))
        self.keys.append((float(t0), x0, y0, h0))
        self.segments.append({"t": round(t0, 6), "t_end": round(float(t_end), 6), "label": kind})
        st.t = float(t_end)

    def squat(self, act: Activity) -> None:
        """Single-leg squats: shift over the stance foot, lift the other foot behind, ``reps`` squats (about 2.6 s
        each, peak knee flexion ~60 deg with valgus and contralateral pelvic drop), put the foot down again."""
        sides = ["left", "right"] if act.side == "both" else [act.side]
        for stance_side in sides:
            self._single_leg_reps(stance_side, act, "squat")

    def _single_leg_reps(self, side: str, act: Activity, task: str) -> None:
        """``act.reps`` single-leg squats (the free foot held behind) or step-downs (the free foot lowered to
        tap the floor ``act.riser`` below, in front of the box) on the ``side`` leg."""
        g, b, rng, st = self.g, self.body, self.rng, self.st
        free = "right" if side == "left" else "left"
        k = sgn(side)
        scale = g.side_scale(side)
        t0 = st.t
        shift = self._lateral(st.x, st.y, st.heading, k * 0.055)
        t_lift = t0 + 1.0
        rep_time, pause = 2.6, 1.0
        t_first = t_lift + 0.8
        t_last_end = t_first + act.reps * (rep_time + pause) - pause
        t_down = t_last_end + 0.8
        t_end = t_down + 1.0
        c, s_ = np.cos(st.heading), np.sin(st.heading)
        fwd_dir = np.array([c, s_, 0.0])
        prev = self.contacts[free][-1]
        prev.t_fc = t_lift
        prev.t_ho = t_lift - 0.2
        prev.pitch_fc = -12.0

        def foot_at(ankle: np.ndarray, pitch: float) -> tuple:
            pr = np.radians(pitch)
            lx = b.ankle_forward * np.cos(pr) - b.ankle_height * np.sin(pr)
            lz = b.ankle_forward * np.sin(pr) + b.ankle_height * np.cos(pr)
            o = ankle - np.array([lx * c, lx * s_, lz])
            return (
                float(o[0]),
                float(o[1]),
                float(o[2]),
                float(prev.heading),
                float(pitch),
                0.0,
                True,
            )

        free_ankle = prev.pos + np.array(
            [b.ankle_forward * c, b.ankle_forward * s_, b.ankle_height]
        )
        if task == "squat":  # held behind: hip 20 deg, knee 75 deg
            hip = np.array(
                [*self._lateral(shift[0], shift[1], st.heading, sgn(free) * b.hip_half_width), st.z]
            )
            hip[2] += self.stand_height
            th, kn = np.radians(20.0), np.radians(75.0)
            fwd = b.thigh_length * np.sin(th) + b.shank_length * np.sin(th - kn)
            down = b.thigh_length * np.cos(th) + b.shank_length * np.cos(th - kn)
            hold = foot_at(hip + fwd * fwd_dir - np.array([0.0, 0.0, down]), -65.0)
            prev.vias = [(t_lift + 0.7, *hold), (t_down - 0.6, *hold)]
        else:  # hovering in front of the box, tapping the floor below at the bottom of each rep
            hover = foot_at(free_ankle + 0.12 * fwd_dir + np.array([0.0, 0.0, 0.06]), 0.0)
            prev.vias = [(t_lift + 0.7, *hover)]
        back = self._stand_contact(free, t_down, st.x, st.y, st.heading, st.z)
        self.contacts[free].append(back)
        # the pelvis: over the stance foot, back (squat) or forward (step-down) and down at the bottom
        self.keys += [(t0, st.x, st.y, st.heading), (t_lift - 0.2, *shift, st.heading)]
        t = t_first
        for rep in range(act.reps):
            depth = float(np.clip(60.0 + rng.normal(0.0, 4.0), 40.0, 80.0))
            valgus = g.knee_valgus_squat * scale + rng.normal(0.0, g.angle_sd)
            drop = g.pelvic_drop * scale * 0.8 + rng.normal(0.0, g.angle_sd)
            self.bumps.append(Bump(f"bend_{side}", t, t + rep_time, 0.5, depth))
            self.bumps.append(Bump(f"abd_{side}", t, t + rep_time, 0.5, valgus))
            self.bumps.append(Bump(f"rot_{side}", t, t + rep_time, 0.5, 4.0))
            self.bumps.append(Bump("obliquity", t, t + rep_time, 0.5, k * drop))
            lean = -0.12 if task == "squat" else 0.08
            bottom = shift + lean * (depth / 60.0) * np.array([c, s_])
            self.keys += [
                (t, *shift, st.heading),
                (t + rep_time / 2, *bottom, st.heading),
                (t + rep_time, *shift, st.heading),
            ]
            if task == "step_down":
                tap = foot_at(
                    free_ankle + 0.3 * fwd_dir - np.array([0.0, 0.0, act.riser - 0.01]), 8.0
                )
                prev.vias += [(t + rep_time / 2, *tap), (t + rep_time + 0.3, *prev.vias[0][1:])]
            self.squats.append(
                {"side": side, "task": task, "rep": rep, "start": t, "end": t + rep_time}
            )
            t += rep_time + pause
        if task == "step_down":
            prev.vias[-1] = (t_down - 0.6, *prev.vias[-1][1:])
        self.keys += [(t_down + 0.2, *shift, st.heading), (t_end, st.x, st.y, st.heading)]
        self.segments.append({"t": round(t0, 6), "t_end": round(t_end, 6), "label": task})
        st.t = t_end

    def step_down(self, act: Activity) -> None:
        """Forward step-downs: step onto a box of height ``riser``, then ``reps`` times lower the other foot
        until its heel touches the floor in front of the box and come back up (about 2.6 s each; the stance knee
        flexes ~60 deg with valgus and contralateral pelvic drop), then step off the box."""
        for side in ["left", "right"] if act.side == "both" else [act.side]:
            t0 = self.st.t
            n_seg = len(self.segments)
            self.locomotion(Activity("stairs_up", steps=1, riser=act.riser, tread=0.45))
            self.stand(0.8)
            self._single_leg_reps(side, act, "step_down")
            self.stand(0.8)
            self.locomotion(Activity("stairs_down", steps=1, riser=act.riser, tread=0.45))
            self.stand(0.4)
            del self.segments[n_seg:]
            self.segments.append(
                {"t": round(t0, 6), "t_end": round(self.st.t, 6), "label": "step_down"}
            )

    def _add_via(self, prev: Contact, nxt: Contact, side: str, p: dict) -> None:
        """Via points in the swing from ``prev`` to ``nxt``: the ankle where the leg's forward kinematics with
        the style's thigh and knee angles puts it below an estimated hip position (running adds one in early
        swing, when the knee folds), and the heel hovering just before its landing spot."""
        prev.vias = []
        if "early" in p:
            frac, thigh, knee = p["early"]
            prev.vias.append(self._fk_via(prev, nxt, p, frac, thigh, knee))
        prev.vias.append(self._fk_via(prev, nxt, p, p["via"], p["thigh"], p["swing_knee"]))
        # terminal swing: the heel hovers just behind and above its landing spot, so the leg's extension before
        # contact is gradual rather than a snap
        back, up, frac = p.get("approach", APPROACH)
        if nxt.pitch_ic >= 0.0 or p.get("heel_slide", 0.0) > 0:
            t_a = prev.t_fc + frac * (nxt.t_ic - prev.t_fc)
            ch, sh = np.cos(nxt.heading), np.sin(nxt.heading)
            # (a forefoot contact lands with the heel up: the hover is that much higher)
            up += max(0.0, -np.sin(np.radians(nxt.pitch_ic))) * self.body.mtp_length
            a = nxt.pos + np.array([-back * ch, -back * sh, up])
            prev.vias.append(
                (
                    float(t_a),
                    *map(float, a),
                    float(nxt.heading),
                    float(nxt.pitch_ic + 1.0),
                    nxt.ev_ic,
                )
            )

    def _fk_via(
        self, prev: Contact, nxt: Contact, p: dict, frac: float, thigh: float, knee: float
    ) -> tuple:
        b = self.body
        t_v = prev.t_fc + frac * (nxt.t_ic - prev.t_fc)
        heading = (1 - frac) * prev.heading + frac * nxt.heading
        # estimated hip: between the contacts, forward by the via fraction of the swing
        hip_xy = prev.pos[:2] + (0.35 + 0.3 * frac) * (nxt.pos[:2] - prev.pos[:2])
        floor = max(prev.pos[2], nxt.pos[2]) if p.get("climb") else 0.5 * (prev.pos[2] + nxt.pos[2])
        hip_z = floor + self.stand_height - 0.03
        th, kn = np.radians(thigh), np.radians(knee)
        fwd = b.thigh_length * np.sin(th) + b.shank_length * np.sin(th - kn)
        down = b.thigh_length * np.cos(th) + b.shank_length * np.cos(th - kn)
        c, s = np.cos(heading), np.sin(heading)
        ankle = np.array([hip_xy[0] + fwd * c, hip_xy[1] + fwd * s, hip_z - down])
        pitch = max(-68.0, thigh - knee - p["plantar"])
        pr = np.radians(pitch)
        # foot origin = ankle - R_foot @ ankle_offset, with R_foot = Rz(heading) Ry(-pitch)
        ax, az = b.ankle_forward, b.ankle_height
        lx = ax * np.cos(pr) - az * np.sin(pr)
        lz = ax * np.sin(pr) + az * np.cos(pr)
        origin = ankle - np.array([lx * c, lx * s, lz])
        roll = (1 - frac) * prev.ev_fc + frac * nxt.ev_ic
        return (float(t_v), *map(float, origin), float(heading), float(pitch), roll)


def _smooth_window(t: np.ndarray, a: float, b: float, ramp: float) -> np.ndarray:
    from imu_gait.simulate.smooth import smoothstep5

    return smoothstep5((t - a) / ramp) * (1.0 - smoothstep5((t - (b - ramp)) / ramp))


def _gait_style(act: Activity) -> dict:
    """Timing, foot angles and wish shapes of each locomotion style (values from normative gait data)."""
    kind = act.kind
    if kind in ("walk", "turn"):
        v = act.speed or (1.3 if kind == "walk" else 0.9)
        return {
            "speed": v,
            "cadence": 110.0 * (v / 1.3) ** 0.5,
            "duty": float(np.clip(0.64 + 0.05 * (1.3 - v), 0.6, 0.7)),
            "pitch_ic": 14.0 + 6.0 * v,
            "pitch_fc": -48.0 - 6.0 * v,
            "fc_slope": 3.0,
            "approach": (0.12, 0.02, 0.8),
            "heel_slide": 1.0,
            "flat": 0.17,
            "push": 0.5,
            "via": 0.22,
            "thigh": 12.0,
            "swing_knee": 66.0,
            "plantar": 5.0,
            # knee bend wish bumps: (start, end) as fractions of stance, peak position within them, amplitude
            # (deg); the loading-response flexion peaks at ~15% of the stride with ~18 deg (typical 15-20 deg at
            # 12-15%, same sources)
            "knee": [(-0.05, 0.9, 0.3, 24.0)],
            "sway": 0.02,
            # the pelvis passes over a landing at 41% of its stance: the landing foot is not so far ahead that the
            # pelvis must drop to reach it, so the pelvis moves ~4.5 cm up and down (typical 4-5 cm at normal
            # speed; Gard, Miff & Kuo 2004, Hum Mov Sci 22:597; Perry & Burnfield 2010)
            "over": 0.41,
            "frontal": 1.0,
            "ev": 1.0,
            "tau": 1.0,
            "valgus": 1.0,
            "drop": 1.0,
        }
    if kind == "run":
        v = act.speed or 3.5
        fore = act.strike == "forefoot"
        return {
            "speed": v,
            "cadence": 165.0 * (v / 3.5) ** 0.3,
            "duty": float(np.clip(0.36 - 0.03 * (v - 3.0), 0.28, 0.42)),
            "pitch_ic": -8.0 if fore else 14.0,
            "pitch_fc": -60.0,
            "fc_slope": TOE_OFF_SLOPE,
            # the foot lands moving forward (2 m/s) and approaches from 18 cm behind and 5 cm above its landing
            # spot, about where its touchdown velocity puts it 70 ms earlier, so the swing leg stays flexed while
            # the body catches up (a heel stopped in the air snapped the knee straight)
            "approach": (0.18, 0.05, 0.86),
            "heel_slide": 2.0,
            # the foot lands still moving down and the ground stops it: the foot and shank collide with the
            # ground at touchdown and are decelerated within the impact interval (Clark, Ryan & Weyand 2017,
            # J Exp Biol 220:247, doi:10.1242/jeb.138057); typical downward foot speeds at touchdown 0.5-1 m/s
            "touchdown_vz": 0.7,
            "flat": 0.22 if fore else 0.2,
            "push": 0.45,
            "via": 0.35,
            "thigh": 22.0,
            "swing_knee": 100.0,
            "plantar": 10.0,
            "knee": [(-0.1, 1.1, 0.45, 50.0)],  # ~45 deg at mid-stance: the body is lowest there
            "sway": 0.012,
            "over": 0.36,
            "frontal": 1.0,
            "ev": 1.6,
            "tau": 1.1,
            "valgus": 1.3,
            "drop": 1.2,
        }
    if kind == "stairs_up":
        return {
            "speed": 0.5,
            "cadence": 90.0,
            "duty": 0.64,
            "pitch_ic": 0.0,
            "pitch_fc": -25.0,
            "fc_slope": TOE_OFF_SLOPE,
            "flat": 0.0,
            "push": 0.3,
            "via": 0.45,
            "thigh": 50.0,
            "swing_knee": 95.0,
            "plantar": 5.0,
            "climb": True,
            "knee": [(-0.6, 0.75, 0.42, 60.0)],
            "sway": 0.03,
            "over": 0.45,
            "frontal": 1.0,
            "ev": 0.8,
            "tau": 1.0,
            "valgus": 1.2,
            "drop": 0.9,
        }
    if kind == "stairs_down":
        return {
            "speed": 0.5,
            "cadence": 96.0,
            "duty": 0.62,
            "pitch_ic": -14.0,
            "pitch_fc": -20.0,
            "fc_slope": TOE_OFF_SLOPE,
            "flat": 0.18,
            "push": 0.25,
            "via": 0.45,
            "thigh": 25.0,
            "swing_knee": 55.0,
            "plantar": 25.0,
            "knee": [(0.05, 1.2, 0.75, 70.0)],
            "sway": 0.03,
            "over": 0.45,
            "frontal": 1.0,
            "ev": 1.1,
            "tau": 0.9,
            "valgus": 1.3,
            "drop": 1.0,
        }
    raise ValueError(f"{kind} is not a locomotion activity")


def plan_session(config: SimConfig, rng: np.random.Generator) -> Plan:
    """The whole session as a :class:`Plan`: calibration standing, then each activity in order."""
    pl = Planner(config, rng)
    pl.start()
    for act in config.activities:
        if act.kind == "stand":
            pl.stand(act.duration or 2.0)
        elif act.kind == "squat":
            pl.squat(act)
        elif act.kind == "step_down":
            pl.step_down(act)
        else:
            pl.locomotion(act)
            pl.stand(0.4)
    return pl.finish()
