"""Write the walkthrough notebooks (01_quickstart ... 05_streaming) from the cells below, without outputs.

The notebooks are the source users open; this script keeps them consistent and reviewable as plain text. Edit a
notebook here, then regenerate all of them:

    .venv/bin/python notebooks/make_notebooks.py

tests/test_notebooks.py executes every notebook top to bottom (from the notebooks/ folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import imu_gait

# the shipped sample sessions, found from the notebooks/ folder (or the repository root)
RECORDINGS = next(
    p / "recordings" for p in [Path.cwd(), *Path.cwd().parents] if (p / "recordings" / "demo_pre").is_dir()
)
OUT = Path(tempfile.mkdtemp(prefix="imu-gait-notebook-"))  # everything this notebook writes goes here
pd.set_option("display.precision", 2)"""

MEAN_SD_PLOT = '''\
def plot_mean_sd(ax, curves, label, color=None):
    """Mean +/- SD band of a (strides x 101) block of curves over 0..100 %."""
    pct = np.linspace(0, 100, curves.shape[1])
    m, sd = curves.mean(axis=0), curves.std(axis=0)
    line, = ax.plot(pct, m, label=f"{label} (n={len(curves)})", color=color)
    ax.fill_between(pct, m - sd, m + sd, alpha=0.2, color=line.get_color())


def curve_block(curves, variable, side, strides=None):
    """Curves of one variable and side as a (strides x 101) array; only the given strides if passed."""
    c = curves[(curves["variable"] == variable) & (curves["side"] == side)]
    if strides is not None:
        c = c[c["stride"].isin(strides)]
    return c.pivot(index="stride", columns="pct", values="value").to_numpy()'''


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


# --------------------------------------------------------------------------------------------------------------
QUICKSTART = [
    md("""
# 1. Quick start: from a session folder to strides and curves

You will load a recording, analyse it, and look at the two tables everything else is built on: **strides**
(one row per stride) and **curves** (each stride's angle over the gait cycle). Same job as
`imu-gait analyze SESSION -o OUT`, from Python.

Two shipped sessions are used: `gaitmap_walk` (a real walk, one IMU on each shoe) and `demo_pre` (a simulated
clinic visit with all seven sensors: walking, stairs, running, single-leg squats).
"""),
    code(SETUP),
    md("""
## A session

A session folder holds `session.json` (who, when, which sensors, the standing calibration window, labelled
segments) and one file of samples per sensor placement. `load_session` gives a `Session`; its `data` maps each
placement to an `ImuData` with time `t` (s), acceleration `acc` (m/s², gravity included) and angular rate `gyr`
(deg/s), in the sensor's own axes.
"""),
    code("""
walk = imu_gait.load_session(RECORDINGS / "gaitmap_walk")
print("subject:", walk.subject, "| placements:", walk.placements, "| calibration:", walk.calibration)
left = walk.data["left_foot"]
print(f"{len(left)} samples, {left.duration:.1f} s at {left.rate_hz:.1f} Hz; acc {left.acc.shape}, gyr {left.gyr.shape}")
"""),
    code("""
# five seconds of the left foot: the big swings of the gyroscope are the strides
sel = (left.t > 10) & (left.t < 15)
fig, axes = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
axes[0].plot(left.t[sel], left.gyr[sel])
axes[0].set_ylabel("angular rate (deg/s)")
axes[0].legend(["x", "y", "z"], loc="upper right")
axes[1].plot(left.t[sel], np.linalg.norm(left.acc[sel], axis=1))
axes[1].axhline(9.81, color="grey", ls=":")
axes[1].set_ylabel("|acc| (m/s²)")
axes[1].set_xlabel("time (s)")
plt.show()
"""),
    md("""
## Analyse

`imu_gait.analyze(session)` runs the whole pipeline: it finds how each sensor sits on the foot, detects initial
contact (IC), toe-off (FC) and mid-stance of every step, reconstructs the foot's path, and measures pronation
stride by stride. Every column is defined in `docs/metrics.md`.
"""),
    code("""
result = imu_gait.analyze(walk)
result.strides[["side", "stride", "activity", "ic", "fc", "stride_time", "stride_length", "speed",
                "eversion_excursion", "eversion_velocity_peak", "quality"]].head(8)
"""),
    md("""
`summary` condenses the strides per side and activity: the number of strides, and mean, SD (stride-to-stride
variability) and CV of every column.
"""),
    code("""
cols = ["side", "activity", "n_strides", "n_ok", "speed_mean", "stride_length_mean",
        "eversion_excursion_mean", "eversion_excursion_sd", "eversion_velocity_peak_mean"]
result.summary[cols]
"""),
    md("""
## Curves

`curves` is long format: `side, stride, variable, pct, value`, 101 points per stride. Eversion (pronation,
positive = medial edge of the foot down) runs over stance, from IC (0 %) to toe-off (100 %), and is relative to
the standing calibration.
"""),
    code(MEAN_SD_PLOT),
    code("""
fig, ax = plt.subplots(figsize=(6, 3.5))
for side in ("left", "right"):
    plot_mean_sd(ax, curve_block(result.curves, "eversion", side), f"{side} foot")
ax.axhline(0, color="grey", lw=0.8)
ax.set(xlabel="% stance", ylabel="eversion (deg)", title="gaitmap_walk: eversion over stance")
ax.legend()
plt.show()
"""),
    md("""
## A whole clinic visit

`demo_pre` has all seven sensors (feet, shanks, thighs, pelvis) and several activities. Each stride gets its
activity from the foot's path (climbing, descending, flight phase), and with thigh and shank sensors the knee
and pelvis columns are filled too.
"""),
    code("""
demo = imu_gait.load_session(RECORDINGS / "demo_pre")
demo_result = imu_gait.analyze(demo)
demo_result.strides.groupby(["activity", "side"]).size().unstack()
"""),
    code("""
order = ["walk", "stairs_up", "stairs_down", "run"]
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
for ax, col in zip(axes, ["speed", "eversion_excursion", "knee_abduction_peak"]):
    data = [demo_result.strides.loc[demo_result.strides["activity"] == a, col].dropna() for a in order]
    ax.boxplot(data)
    ax.set_xticks(range(1, len(order) + 1), order, fontsize=8)
    ax.set_title(col)
fig.tight_layout()
plt.show()
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, side in zip(axes, ("left", "right")):
    for name in ("walk", "run"):
        ids = demo_result.strides.query("side == @side and activity == @name")["stride"]
        plot_mean_sd(ax, curve_block(demo_result.curves, "knee_flexion", side, ids), name)
    ax.set(title=f"{side} knee flexion over the stride", xlabel="% stride (IC to IC)", ylabel="deg")
    ax.legend()
plt.show()
"""),
    md("""
## Files, as the command line writes them

`write_analysis` writes exactly what `imu-gait analyze` writes: strides.csv, curves.csv, summary.csv,
squats.csv (when there are squats), quality.json and the figures (`figures=False` skips them; with seven
sensors they take a few seconds).
"""),
    code("""
from IPython.display import Image

from imu_gait.pipeline.analysis import write_analysis

written = write_analysis(result, OUT / "gaitmap_walk")
print(sorted(str(p.relative_to(OUT)) for p in written))
Image(filename=OUT / "gaitmap_walk" / "figures" / "timeline.png", width=800)
"""),
    md("""
Next: notebook 2 (pronation in depth), 3 (knee and pelvis), 4 (pre/post statistics), 5 (streaming and
replay). The user guide is `docs/guide.md`.
"""),
]

# --------------------------------------------------------------------------------------------------------------
PRONATION = [
    md("""
# 2. Pronation in depth

Eversion is the rotation of the foot about its own long axis relative to the ground: positive when the medial
edge goes down (pronation), negative for inversion; the same sign on both feet. It is measured by a sensor whose
axes are *not* the foot's axes, and that is where its accuracy is won or lost.

This notebook covers: the sensor-to-foot alignment and its confidence; eversion curves; what **excursion** and
**peak velocity** mean; the real walk next to a simulated one; and what a 10° error in the foot's long axis
does to the curve.
"""),
    code(SETUP),
    code(MEAN_SD_PLOT),
    code("""
walk = imu_gait.load_session(RECORDINGS / "gaitmap_walk")
result = imu_gait.analyze(walk)
"""),
    md("""
## The sensor-to-foot alignment

The pipeline estimates the rotation from sensor to foot frame (x forward, y left, z up) from the data alone:
*up* from gravity while standing, the *mediolateral* axis as the dominant axis of the gyroscope while walking
(the foot mostly pitches), and its sign from push-off and the direction of travel. The confidence (0–1)
combines how dominant that axis is, how consistent it is stride to stride, how steady gravity was, and whether
the strides travel forwards. Below 0.5 every stride is flagged `low_alignment_confidence`.

(This recording was exported by gaitmap already turned into its approximate foot frame; the pipeline does not
rely on that and finds its own alignment from standing and walking.)
"""),
    code("""
from scipy.spatial.transform import Rotation

for placement in ("left_foot", "right_foot"):
    al = result.quality["sensors"][placement]["alignment"]
    R = np.array(al["R_sensor_to_foot"])
    angle = np.degrees(Rotation.from_matrix(R).magnitude())
    print(f"{placement}: confidence {al['confidence']:.2f}, axis share {al['axis_share']:.2f}, "
          f"per-stride axis spread {al['axis_spread_deg']:.1f} deg, gravity from {al['gravity_from']}; "
          f"sensor is {angle:.0f} deg away from the foot frame")
"""),
    md("""
## Eversion over stance

Every stride's eversion from initial contact (0 %) to toe-off (100 %), relative to the standing calibration.
The foot lands slightly inverted (negative), everts as it loads (pronation), and inverts again as the heel lifts
for push-off.
"""),
    code("""
fig, ax = plt.subplots(figsize=(7, 3.8))
block = curve_block(result.curves, "eversion", "left")
pct = np.linspace(0, 100, block.shape[1])
ax.plot(pct, block.T, color="tab:blue", alpha=0.25, lw=0.8)
ax.plot(pct, block.mean(axis=0), color="black", lw=2, label="mean")
ax.axhline(0, color="grey", lw=0.8)
ax.set(xlabel="% stance", ylabel="eversion (deg)", title="left foot, every stride")
ax.legend()
plt.show()
"""),
    md("""
## Excursion and peak velocity

For one stride:

- `eversion_ic`: the angle at initial contact;
- `eversion_peak`: the largest eversion in stance;
- `eversion_excursion` = peak − IC: **how far** the foot pronates;
- `eversion_velocity_peak`: the largest everting rate in stance (deg/s): **how fast** it pronates;
- `time_to_peak_eversion`: when the peak happens, in % of stance.

Excursion and velocity are the primary pre/post outcomes: they do not depend on the zero (the calibration pose)
and are more reliable between days than absolute angles (Ferber 2002). Below, one typical stride, and the
numbers recomputed from its 101-point curve.
"""),
    code("""
left = result.strides[result.strides["side"] == "left"]
row = left.iloc[(left["eversion_excursion"] - left["eversion_excursion"].median()).abs().argmin()]
curve = curve_block(result.curves, "eversion", "left", [row["stride"]])[0]
velocity = np.gradient(curve, pct) * 100.0 / row["stance_time"]  # deg per % stance -> deg/s
k = int(np.argmax(curve))

fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(pct, curve, color="tab:blue", label="eversion")
ax.annotate("", xy=(pct[k], curve[k]), xytext=(pct[k], curve[0]),
            arrowprops={"arrowstyle": "<->", "color": "tab:red"})
ax.text(pct[k] + 2, (curve[k] + curve[0]) / 2, "excursion", color="tab:red")
ax.axhline(curve[0], color="tab:red", ls=":", lw=0.8)
ax.set(xlabel="% stance", ylabel="eversion (deg)")
ax2 = ax.twinx()
ax2.plot(pct, velocity, color="tab:green", alpha=0.6, label="eversion rate")
ax2.set_ylabel("rate (deg/s)", color="tab:green")
plt.show()

print(f"table: excursion {row['eversion_excursion']:.1f} deg, peak velocity {row['eversion_velocity_peak']:.0f} deg/s, "
      f"peak at {row['time_to_peak_eversion']:.0f} % stance")
print(f"curve: excursion {curve[k] - curve[0]:.1f} deg, peak velocity {max(velocity.max(), 0):.0f} deg/s "
      f"(101 points smooth the fastest part a little), peak at {pct[k]:.0f} % stance")
"""),
    md("""
## The real walk next to a simulated one

`imu_gait.simulate` produces sessions whose truth is known exactly, with randomly mounted sensors and realistic
sensor errors. Analysing one shows how well the pipeline recovers the truth; putting it next to the real walk
shows how realistic the simulated foot is.
"""),
    code("""
from imu_gait.simulate import SimConfig, simulate

sim = simulate(SimConfig.walk(strides=30, speed=1.3, placements=("left_foot", "right_foot")), seed=1)
sim_result = imu_gait.analyze(sim.session)

cols = ["eversion_excursion", "eversion_velocity_peak", "time_to_peak_eversion", "stride_length"]
pd.DataFrame({
    "real walk": result.strides[cols].mean(),
    "simulated: estimated": sim_result.strides[cols].mean(),
    "simulated: truth": sim.strides[cols].mean(),
})
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)
for ax, side in zip(axes, ("left", "right")):
    plot_mean_sd(ax, curve_block(result.curves, "eversion", side), "real walk")
    plot_mean_sd(ax, curve_block(sim_result.curves, "eversion", side), "simulated, estimated")
    truth = curve_block(sim.curves, "eversion", side)
    ax.plot(np.linspace(0, 100, 101), truth.mean(axis=0), "k--", label="simulated, truth")
    ax.set(title=f"{side} foot", xlabel="% stance")
    ax.legend(fontsize=8)
axes[0].set_ylabel("eversion (deg)")
plt.show()

err = curve_block(sim_result.curves, "eversion", "left").mean(0) - curve_block(sim.curves, "eversion", "left").mean(0)
print(f"simulated left foot: RMS difference of the mean curves, estimate vs truth: {np.sqrt(np.mean(err**2)):.2f} deg")
"""),
    md("""
On the simulated walk the estimate follows the truth closely. The real foot differs from the simulated one: it
everts faster just after contact (higher peak velocity) and the two feet of the same person differ. Simulated
data test the *pipeline*; they do not tell you what a real foot does.
"""),
    md("""
## What a wrong long axis does

Suppose the foot's long axis were estimated 10° off (about the vertical). Eversion is a rotation about that
axis, so part of the foot's *pitch* is now read as eversion: roughly sin(10°) ≈ 0.17 of it. The foot pitches
about +25° (toe up) at contact and −65° at push-off, so the curve is wrong by about 4° at contact and about
10° near toe-off, in opposite directions on the two feet. We force that error by declaring the mounting
(the same thing `imu-gait analyze --mounting` does) as the estimated alignment turned by 10°.
"""),
    code("""
from imu_gait.anatomy import rot_z

R_est = {p: np.array(result.quality["sensors"][p]["alignment"]["R_sensor_to_foot"])
         for p in ("left_foot", "right_foot")}
as_estimated = imu_gait.analyze(walk, mounting=R_est)
turned = imu_gait.analyze(walk, mounting={p: rot_z(10.0) @ R for p, R in R_est.items()})

fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)
for ax, side in zip(axes, ("left", "right")):
    good = curve_block(as_estimated.curves, "eversion", side).mean(axis=0)
    bad = curve_block(turned.curves, "eversion", side).mean(axis=0)
    ax.plot(pct, good, label="estimated axis")
    ax.plot(pct, bad, label="axis turned 10°")
    ax.plot(pct, bad - good, "k:", label="leakage")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(title=f"{side} foot", xlabel="% stance")
    ax.legend(fontsize=8)
axes[0].set_ylabel("eversion (deg)")
plt.show()
"""),
    code("""
cols = ["eversion_ic", "eversion_peak", "eversion_excursion", "eversion_velocity_peak"]
pd.DataFrame({
    "estimated axis": as_estimated.strides.groupby("side")[cols].mean().stack(),
    "axis turned 10°": turned.strides.groupby("side")[cols].mean().stack(),
})
"""),
    md("""
The leakage is largest where the foot pitches most (contact and push-off) and it changes the per-stride
numbers, so a pre/post difference in alignment would look like a change in pronation. That is why the
alignment confidence is reported, why the same sensor position must be used at both visits, and why a known
fixed mounting can be declared (`--mounting left_foot=aligned`, see docs/hardware.md).
"""),
]

# --------------------------------------------------------------------------------------------------------------
KNEE = [
    md("""
# 3. Knee frontal plane and pelvic drop

With a sensor on the thigh and one on the shank of a leg, imu-gait measures the knee angles by the joint
coordinate system of Grood & Suntay: **flexion** (positive), **abduction** (valgus, positive; adduction/varus
negative) and rotation. With a sensor over the sacrum it measures **pelvic drop** (positive when the pelvis drops
on the side of the swinging leg). All are relative to the standing calibration.

Using `demo_pre` (simulated, so the truth is known): time series, curves per activity, flexion–abduction
crosstalk, accuracy against the truth, pelvic drop, and single-leg squats.
"""),
    code(SETUP),
    code(MEAN_SD_PLOT),
    code("""
demo = imu_gait.load_session(RECORDINGS / "demo_pre")
result = imu_gait.analyze(demo)
knee_quality = result.quality["knee"]
{side: {k: knee_quality["knee"][side][k] for k in ("axis_from", "axis_residual_dps", "crosstalk_r", "crosstalk_slope")}
 for side in ("left", "right")}
"""),
    md("""
## Angles over time

The knee step can also return the angle time series (`analyze_knee`, which `analyze` calls internally). Three
seconds of walking with the detected initial contacts of the same leg:
"""),
    code("""
from imu_gait.pipeline.knee import analyze_knee

knee = analyze_knee(demo, result.strides[["side", "stride", "activity", "ic", "fc", "end"]])
angles = knee.angles["right"]
window = angles[(angles["t"] > 10) & (angles["t"] < 13)]
fig, axes = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
axes[0].plot(window["t"], window["flexion"])
axes[0].set_ylabel("flexion (deg)")
axes[1].plot(window["t"], window["abduction"], color="tab:red")
axes[1].set_ylabel("abduction (deg)")
axes[1].set_xlabel("time (s)")
for ic in result.strides.query("side == 'right' and ic > 10 and ic < 13")["ic"]:
    for ax in axes:
        ax.axvline(ic, color="grey", ls=":")
plt.show()
"""),
    md("""
## Curves per activity

`knee_flexion` runs over the whole stride (IC to the next IC), `knee_abduction` over stance (IC to toe-off).
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for activity in ("walk", "stairs_up", "stairs_down", "run"):
    ids = result.strides.query("side == 'right' and activity == @activity")["stride"]
    plot_mean_sd(axes[0], curve_block(result.curves, "knee_flexion", "right", ids), activity)
    plot_mean_sd(axes[1], curve_block(result.curves, "knee_abduction", "right", ids), activity)
axes[0].set(title="right knee flexion", xlabel="% stride", ylabel="deg")
axes[1].set(title="right knee abduction (valgus +)", xlabel="% stance", ylabel="deg")
axes[1].legend(fontsize=8)
plt.show()
"""),
    md("""
## Crosstalk

Flexion is ten times larger than abduction. If the flexion axis is estimated a few degrees off, part of the
flexion appears as abduction: the two become correlated. The pipeline finds the knee's functional flexion axis
from both gyroscopes while walking, and reports the remaining flexion–abduction correlation `r` and slope.
Below: the measured walk, and the same data with an artificial 8° axis error (abduction + sin(8°) × flexion),
which a principal-axis (PCA) correction removes again (Baudet et al. 2014).
"""),
    code("""
from imu_gait.pipeline.knee import crosstalk, pca_crosstalk_correction

walking = np.zeros(len(angles), dtype=bool)
for s in result.strides.query("side == 'right' and activity == 'walk'").itertuples():
    walking |= (angles["t"] >= s.ic).to_numpy() & (angles["t"] <= s.end).to_numpy()
flex, abd = angles["flexion"].to_numpy()[walking], angles["abduction"].to_numpy()[walking]
leaky = abd + np.sin(np.radians(8)) * flex
fixed = pca_crosstalk_correction(flex, leaky, crosstalk(flex, leaky)["slope"])

fig, axes = plt.subplots(1, 3, figsize=(12, 3.3), sharex=True, sharey=True)
for ax, (name, y) in zip(axes, [("measured", abd), ("8° axis error", leaky), ("after PCA correction", fixed)]):
    ax.plot(flex[::5], y[::5], ".", ms=2, alpha=0.5)
    ax.set(title=f"{name}: r = {crosstalk(flex, y)['r']:.2f}", xlabel="flexion (deg)")
axes[0].set_ylabel("abduction (deg)")
plt.show()
"""),
    md("""
Read the clouds by their shape, not only by r. The measured one is not a line: abduction rises in early stance
with the knee nearly straight and stays near zero through the swing (flexion up to 60°), a real pattern that
gives a sizeable r without any axis error. An axis error adds a *straight* ramp through the swing samples
(middle). The PCA correction drives r to zero, but it cannot tell the real pattern from the artefact: the swing
samples are still tilted (right). That is why the correction is not applied by default;
a ramp in the swing part of this plot is the sign of a misaligned knee axis.

## Accuracy against the truth

The simulated session carries its truth (`truth.csv`, the columns of strides.csv). Matching each detected stride
to the true stride with the nearest initial contact:
"""),
    code("""
truth = pd.read_csv(RECORDINGS / "demo_pre" / "truth.csv")
cols = ["knee_abduction_peak", "knee_frontal_excursion", "knee_flexion_peak_stance", "pelvic_drop_peak"]
pairs = []
for side in ("left", "right"):
    est = result.strides[result.strides["side"] == side].sort_values("ic")
    tru = truth[truth["side"] == side].sort_values("ic")
    pairs.append(pd.merge_asof(est, tru, on="ic", direction="nearest", tolerance=0.15, suffixes=("", "_true")))
pairs = pd.concat(pairs).dropna(subset=["stride_true"])
errors = pd.DataFrame({c: pairs[c] - pairs[f"{c}_true"] for c in cols}).assign(activity=pairs["activity"])
summary = errors.groupby("activity").agg(lambda e: np.sqrt(np.mean(e**2)))
summary.columns = [f"RMSE {c}" for c in cols]
summary.round(2)
"""),
    md("""
These errors (simulated sensors, no soft-tissue motion) are a floor, not what to expect on people: in vivo, soft
tissue adds about 2° (Teufl 2018), and knee frontal-plane effects of a programme are 2–7°. That is why a
pre/post comparison judges every change against its minimal detectable change (notebook 4).

## Pelvic drop

Per stride, the largest drop of the opposite side of the pelvis during this leg's stance (a Trendelenburg-like
sign of weak hip abductors on the stance side).
"""),
    code("""
fig, ax = plt.subplots(figsize=(7, 3.5))
order = ["walk", "stairs_up", "stairs_down", "run"]
for i, side in enumerate(("left", "right")):
    data = [result.strides.query("side == @side and activity == @a")["pelvic_drop_peak"].dropna() for a in order]
    ax.boxplot(data, positions=np.arange(len(order)) * 3 + i, widths=0.8)
ax.set_xticks(np.arange(len(order)) * 3 + 0.5, order)
ax.set(ylabel="peak pelvic drop (deg)", title="left (first) and right stance, per activity")
plt.show()
"""),
    md("""
## Single-leg squats and step-downs

Repetitions are found inside the session segments labelled `squat` or `step_down`: one excursion of knee
flexion each. `squats.csv` holds, per repetition, peak flexion, peak abduction and the frontal excursion.
"""),
    code("""
result.squats
"""),
    md("""
Check the repetitions against the truth before trusting the per-task means: a count that differs from what the
subject did (an extra "repetition" where the subject stepped onto or off the box, or a missed one) shows up
here, and in your own sessions in the squats figure.
"""),
    code("""
true_reps = pd.read_csv(RECORDINGS / "demo_pre" / "truth_squats.csv")
pd.DataFrame({
    "detected": result.squats.groupby(["task", "side"]).size(),
    "true": true_reps.groupby(["task", "side"]).size(),
})
"""),
    code("""
squats = result.squats[result.squats["side"] == "left"]
left_angles = knee.angles["left"]
seg = left_angles[(left_angles["t"] > squats["start"].min() - 1) & (left_angles["t"] < squats["end"].max() + 1)]
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.plot(seg["t"], seg["flexion"], label="flexion")
ax.plot(seg["t"], seg["abduction"] * 5, label="abduction × 5")
for r in squats.itertuples():
    ax.axvspan(r.start, r.end, color="tab:orange", alpha=0.15)
ax.set(xlabel="time (s)", ylabel="deg", title="left single-leg squats (shaded: detected repetitions)")
ax.legend()
plt.show()
"""),
]

# --------------------------------------------------------------------------------------------------------------
PREPOST = [
    md("""
# 4. Pre/post comparison, with the statistics explained

One person, one session before and one after a hip/foot strengthening programme (`demo_pre`, `demo_post`,
simulated with a known improvement). The question for each outcome: **did it change by more than this
measurement can resolve?** `imu_gait.compare.compare` answers it with a difference and its 95% confidence
interval, an effect size, a test, and the minimal detectable change (MDC95). This notebook recomputes each of
them by hand so that you know what the report's numbers are.
"""),
    code(SETUP),
    code(MEAN_SD_PLOT),
    code("""
from imu_gait.compare import compare

pre = imu_gait.analyze(imu_gait.load_session(RECORDINGS / "demo_pre"))
post = imu_gait.analyze(imu_gait.load_session(RECORDINGS / "demo_post"))
cmp = compare(pre, post)
cols = ["side", "label", "n_pre", "n_post", "mean_pre", "mean_post", "diff", "ci_low", "ci_high",
        "mdc95", "hedges_g", "p", "verdict"]
cmp.table.query("activity == 'walk' and role == 'primary'")[cols]
"""),
    md("""
## Look at the strides first

Every statistic below summarises these two clouds: the right foot's eversion excursion in each walking stride,
before and after. Flagged strides (gaps, clipping, ...) are left out.
"""),
    code("""
def values(analysis, side, metric, activity="walk"):
    s = analysis.strides
    s = s[(s["side"] == side) & (s["activity"] == activity) & (s["quality"] == "ok")]
    return s[metric].dropna().to_numpy()

a, b = values(pre, "right", "eversion_excursion"), values(post, "right", "eversion_excursion")
fig, ax = plt.subplots(figsize=(5, 3.5))
rng = np.random.default_rng(0)
for x, v, name in ((0, a, "pre"), (1, b, "post")):
    ax.plot(x + rng.uniform(-0.15, 0.15, v.size), v, "o", alpha=0.5, label=f"{name}: n={v.size}")
    ax.hlines(v.mean(), x - 0.3, x + 0.3, color="black")
ax.set_xticks([0, 1], ["pre", "post"])
ax.set_ylabel("eversion excursion (deg)")
plt.show()
"""),
    code("""
row = cmp.table.query("activity == 'walk' and side == 'right' and metric == 'eversion_excursion'").iloc[0]
print(f"means: {a.mean():.2f} -> {b.mean():.2f} deg, difference {b.mean() - a.mean():.2f} "
      f"(table: {row['mean_pre']:.2f} -> {row['mean_post']:.2f}, {row['diff']:.2f})")
"""),
    md("""
## 95% confidence interval: a bootstrap

How much would the difference of means vary if the strides had come out differently? Resample the strides of
each session with replacement many times and look at the spread of the difference. With several sessions per
condition, sessions are resampled first and strides within them second (a *hierarchical* bootstrap), because
strides of one session share its day. The table's interval is additionally widened by t-quantiles when samples
are small, so the plain version below is a bit narrower.
"""),
    code("""
rng = np.random.default_rng(1)
boot = np.array([rng.choice(b, b.size).mean() - rng.choice(a, a.size).mean() for _ in range(2000)])
lo, hi = np.percentile(boot, [2.5, 97.5])
print(f"plain percentile bootstrap: [{lo:.2f}, {hi:.2f}] deg; table: [{row['ci_low']:.2f}, {row['ci_high']:.2f}] deg")
"""),
    md("""
## Effect size: Hedges' g

The difference in units of the stride-to-stride SD: g = (mean_post − mean_pre) / pooled SD, times a small-sample
correction J = 1 − 3 / (4(n₁ + n₂) − 9). |g| ≈ 0.2 is small, 0.5 medium, 0.8 large. It tells you how much the
two clouds overlap, not whether the change matters clinically.
"""),
    code("""
n1, n2 = a.size, b.size
pooled = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
g = (b.mean() - a.mean()) / pooled * (1 - 3 / (4 * (n1 + n2) - 9))
print(f"Hedges' g by hand {g:.3f}, table {row['hedges_g']:.3f}")
"""),
    md("""
## Minimal detectable change (MDC95)

A difference can be "significant" and still smaller than what the measurement itself produces between two
sessions. The MDC95 is the change a session mean must show to exceed measurement error with 95% confidence:
MDC95 = 1.96 · √(SEM_pre² + SEM_post²), which is 1.96 · √2 · SEM when both are equal. With one session per
condition the SEM of a session mean is the stride SD / √n, i.e. stride-to-stride noise only.
"""),
    code("""
sd_within = row["sd_within"]  # pooled stride-to-stride SD
mdc = 1.96 * np.sqrt(sd_within**2 / n1 + sd_within**2 / n2)
print(f"MDC95 by hand {mdc:.2f} deg, table {row['mdc95']:.2f} deg; observed change {row['diff']:.2f} deg")
"""),
    md("""
Day-to-day error (re-attaching the sensors, a slightly different calibration stance) is *not* in a single
session. If you know it for a metric, from a reliability study or repeated sessions, give it to the comparison:
the MDC grows and the verdict becomes stricter. The command-line equivalent is
`--between-session-sd eversion_excursion=1.5`.
"""),
    code("""
from imu_gait.compare import CompareSettings

strict = compare(pre, post, CompareSettings(between_session_sd={"eversion_excursion": 1.5}))
pd.concat([cmp.table.assign(day_to_day="unknown"), strict.table.assign(day_to_day="1.5 deg")]).query(
    "activity == 'walk' and metric == 'eversion_excursion'"
)[["side", "day_to_day", "diff", "mdc95", "verdict"]]
"""),
    md("""
## The verdict

*Changed beyond the detectable change* requires both: the 95% CI excludes zero (it is not sampling luck) **and**
|difference| > MDC95 (it is not measurement noise). For the primary outcomes (five per side, so ten tests per
activity) the test must also survive a Holm correction within the activity (`p_holm_primary`). Fewer than 10
strides in a condition gives *too few strides*. The comparison also lists its caveats:
"""),
    code("""
for w in cmp.warnings:
    print("-", w)
"""),
    md("""
## Whole curves: SPM

Peaks reduce a curve to one number. Statistical parametric mapping (SPM, Pataky's `spm1d`) tests the whole curve,
point by point over % stance, with a threshold corrected for the curve's smoothness (random field theory), and
reports the regions where pre and post differ. Shaded below: the supra-threshold clusters.
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for ax, variable in zip(axes, ("eversion", "knee_abduction")):
    cc = next(c for c in cmp.curves if (c.side, c.activity, c.variable) == ("right", "walk", variable))
    plot_mean_sd(ax, cc.pre, "pre")
    plot_mean_sd(ax, cc.post, "post")
    clusters = cmp.spm.query("side == 'right' and activity == 'walk' and variable == @variable and significant")
    for r in clusters.itertuples():
        ax.axvspan(r.start_pct, r.end_pct, color="grey", alpha=0.2)
    ax.set(title=f"right {variable}, walking", xlabel="% stance", ylabel="deg")
    ax.legend(fontsize=8)
plt.show()
cmp.spm.query("activity == 'walk' and significant")[["side", "variable", "start_pct", "end_pct", "p", "post_vs_pre"]]
"""),
    md("""
## The tables and the report

The comparison's tables are DataFrames; saving them gives exactly comparison.csv, spm.csv and symmetry.csv of
`imu-gait compare`. The HTML/PDF report with all figures is `imu_gait.report.write_report(cmp, folder)` (what
`imu-gait compare` and `imu-gait demo` call; it takes a few seconds per activity, so it is not run here).
"""),
    code("""
for name, table in (("comparison", cmp.table), ("spm", cmp.spm), ("symmetry", cmp.symmetry)):
    table.to_csv(OUT / f"{name}.csv", index=False)
    print(f"{name}.csv: {len(table)} rows")
"""),
]

# --------------------------------------------------------------------------------------------------------------
STREAMING = [
    md("""
# 5. Streaming from emulated sensors, and replaying

Recording works the same with real and emulated sensors: imu-gait talks to them through bleak, and the
emulated ones run on a real Bluetooth LE stack (Bumble) in software, speaking a real sensor protocol, with
connection-interval bursts, jitter and clock drift. In a terminal this is `imu-gait emulate` in one window and
`imu-gait record --ble tcp-client:127.0.0.1:9100 ...` in another; here everything runs in this notebook's
event loop for ten seconds.

Then the recording is replayed, notification by notification, through the same live pipeline that runs while
recording, and compared with the offline analysis.
"""),
    code(SETUP),
    md("""
## Two virtual sensors

They stream the first 30 s of `demo_pre`'s foot sensors (standing calibration, then walking) with the open
imu-gait DIY protocol, 30 ms connection interval, up to 5 ms of delivery jitter and ±30 ppm of clock drift.
"""),
    code("""
import firmware_protocols
from bleak import BleakScanner

from imu_gait.ble.recorder import Recorder, SensorSpec
from imu_gait.emulator.bleak_backend import bumble_backends, close_central
from imu_gait.emulator.peripheral import Knobs
from imu_gait.emulator.server import SensorServer
from imu_gait.session import ImuData

demo = imu_gait.load_session(RECORDINGS / "demo_pre")
feet = ("left_foot", "right_foot")


def first_seconds(d, seconds):
    keep = d.t < seconds
    return ImuData(d.t[keep], d.acc[keep], d.gyr[keep])


server = SensorServer(
    {p: first_seconds(demo.data[p], 30.0) for p in feet},
    {p: firmware_protocols.FAMILIES["diy"] for p in feet},
    {"left_foot": Knobs(jitter_ms=5.0, drift_ppm=30.0, seed=1),
     "right_foot": Knobs(jitter_ms=5.0, drift_ppm=-30.0, seed=2)},
)
sensors = await server.start()
scanner, client = bumble_backends(server.link)  # bleak backends for this emulated radio
found = await BleakScanner.discover(timeout=1.0, backend=scanner)
sorted((d.name, d.address) for d in found)
"""),
    md("""
## Record ten seconds

`Recorder` is what `imu-gait record` runs: it finds each sensor by name, connects, configures and starts the
stream, decodes every notification, maps each device clock to the session clock, and writes a crash-safe
session folder (samples plus every raw notification). It runs as a task; we stop it ten seconds after both
sensors are streaming (what Ctrl-C does in a terminal).
"""),
    code("""
import asyncio

folder = OUT / "streamed"
recorder = Recorder([SensorSpec(p, sensors[p].name) for p in feet], str(folder), rate_hz=100,
                    backends=(scanner, client), metadata={"subject": "demo-01", "condition": "pre"})
recording = asyncio.ensure_future(recorder.run())


async def all_streaming():
    while not all(s.state == "streaming" for s in recorder.sensors.values()):
        await asyncio.sleep(0.1)


await asyncio.wait_for(all_streaming(), timeout=60)
await asyncio.sleep(10.0)
recorder.stop()
await recording
await server.close()
await close_central(server.link)

session = imu_gait.load_session(folder)
from imu_gait.session_info import describe_session

info = describe_session(session)
pd.DataFrame(info["sensors"]).T[["family", "samples", "duration_s", "rate_hz", "missing_s", "gravity_at_rest"]]
"""),
    code("""
meta = session.sensors["left_foot"]
print("clock fit of the left sensor:", meta.extra.get("clock_fits"))
fig, ax = plt.subplots(figsize=(9, 3))
for p in feet:
    d = session.data[p]
    ax.plot(d.t, d.gyr[:, np.argmax(np.ptp(d.gyr, axis=0))], label=p, lw=0.8)
ax.set(xlabel="session time (s)", ylabel="deg/s", title="recorded: the largest gyroscope axis of each foot")
ax.legend()
plt.show()
"""),
    md("""
The clock fit maps each sensor's own clock to the session clock (`t = offset + scale * device time`). Over ten
seconds a drift of 30 ppm is 0.3 ms, far below the delivery jitter, so the fit keeps its prior (no drift);
over a long recording it is estimated.

## What is on disk

Besides the decoded samples, `raw/<placement>.frames` keeps every notification exactly as received, with its
arrival time: nothing the sensor sent is lost, even if a decoder is later found to be wrong.
"""),
    code("""
from imu_gait.rawlog import read_raw_log

log = read_raw_log(folder / "raw" / "left_foot.frames")
notes = [f for f in log.frames if f.kind == 0]
print(f"{len(log.frames)} frames ({len(notes)} notifications), {log.dropped_bytes} bytes dropped; "
      f"first notification {len(notes[0].payload)} bytes at {notes[0].t:.3f} s")
sorted(p.name for p in folder.rglob("*") if p.is_file())
"""),
    code("""
# a notification carries 19 samples (190 ms at 100 Hz) but can only leave at a connection event (every
# 30 ms) and then waits for the radio (jitter): the intervals scatter around 190 ms by up to a connection interval
# (the short first frame is the sensor's INFO record, its settings, read after the start command)
data_notes = [f for f in notes if len(f.payload) > 100]
arrivals = np.array([f.t for f in data_notes])
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(np.diff(arrivals) * 1e3, bins=20)
ax.set(xlabel="time between notifications (ms)", ylabel="count", title="left foot: arrival intervals")
plt.show()
"""),
    md("""
## Calibration window and offline analysis

The recording started while the virtual person was standing still; tell the analysis where (the
`calibration.static` window of session.json), here found as the quiet start of the gyroscope signal.
"""),
    code("""
g = np.linalg.norm(session.data["left_foot"].gyr, axis=1)
t = session.data["left_foot"].t
moving = t[g > 20.0][0]
if moving - t[0] > 1.5:
    session.calibration = {"static": [float(t[0]) + 0.2, float(moving) - 0.3]}
    print("static calibration:", np.round(session.calibration["static"], 2))
else:  # the sensors connected after the standing period (a slow machine): zero from mid-stance instead
    print("no standing period recorded: eversion zero from the mid-stance of level strides")
offline = imu_gait.analyze(session)
offline.strides[["side", "stride", "ic", "stride_length", "eversion_excursion", "eversion_velocity_peak", "quality"]]
"""),
    md("""
Ten seconds give only four strides per foot. The sensor-to-foot alignment is estimated from the walking
itself, so with so few strides its confidence can fall below 0.5 and the strides are flagged
`low_alignment_confidence`: record at least 40 strides per side in a real session.

## Replay through the live pipeline

`imu_gait.replay.replay` decodes the raw frames again with the sensor's protocol decoder, in arrival order, and
feeds them to the online analyzer used during live recording (`imu-gait replay SESSION` in a terminal). Each
stride is reported as soon as it can be completed.
"""),
    code("""
from imu_gait.replay import analyzer_for, replay

updates = []
source = replay(session, analyzer_for(session), speed=float("inf"), on_update=updates.append)
online = pd.DataFrame([u.row for u in updates if u.final])  # (non-final updates: early foot part, live view)
print(f"replayed from {source}: {len(online)} strides")
both = offline.strides.merge(online, on=["side", "stride"], suffixes=("_offline", "_online"))
both[["side", "stride", "ic_offline", "ic_online", "eversion_excursion_offline", "eversion_excursion_online"]]
"""),
    md("""
Live and offline find the same strides from the same samples. In a terminal, `imu-gait replay SESSION --speed 1`
shows this stride by stride in the live view, and `--cue` can signal when a metric crosses a threshold
(gait retraining).
"""),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_pronation.ipynb": PRONATION,
    "03_knee.ipynb": KNEE,
    "04_prepost.ipynb": PREPOST,
    "05_streaming.ipynb": STREAMING,
}


def build(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:02d}"  # stable ids: regenerating gives identical files
    return nb


def main(out: Path = HERE) -> int:
    for name, cells in NOTEBOOKS.items():
        nb = build(cells)
        nbformat.validate(nb)
        nbformat.write(nb, out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
