"""Static parts of the comparison report: inline CSS and the methods text (HTML and plain text for the PDF).

The methods text takes ``str.format`` fields: n_tests, n_primary, n_boot, seed, min_strides, min_reps.
"""

from __future__ import annotations

import html
import re

CSS = """
:root { --pre: #0072B2; --post: #E69F00; --good: #00795a; --muted: #5f6b76; --line: #dde3e8; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1d252c;
       max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; background: #fff; }
header { border-bottom: 3px solid var(--pre); margin-bottom: 18px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 22px; margin: 34px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 17px; margin: 22px 0 8px; color: #2e3a44; }
.sub { color: var(--muted); margin: 0 0 12px; }
p.headline { font-size: 19px; font-weight: 600; background: #eef5fa; border-left: 5px solid var(--pre);
              padding: 12px 16px; margin: 8px 0 14px; }
ul.changes { font-size: 15px; padding-left: 20px; }
div.scroll { overflow-x: auto; }
table.results td:nth-child(2) { min-width: 170px; }
table.results td.num { white-space: normal; min-width: 70px; }
ul.changes li { margin: 6px 0; }
ul.warnings { background: #fff6e5; border-left: 4px solid #e69f00; padding: 10px 10px 10px 30px; }
figure { margin: 14px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 7px; text-align: left; vertical-align: top; }
th { background: #f3f6f8; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.changed { color: var(--good); font-weight: 600; }
td.noise { color: var(--muted); }
td.few { color: #a35a00; }
.tag { font-size: 11px; background: #e8f1f8; color: #0b4f7c; border-radius: 3px; padding: 0 4px; }
#methods { font-size: 14px; }
#methods dt { font-weight: 600; margin-top: 10px; }
#methods dd { margin-left: 18px; }
details { margin: 8px 0 14px; }
details > summary { cursor: pointer; color: #0b4f7c; font-weight: 600; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { body { max-width: none; padding: 0; } section.activity { page-break-before: always; } }
"""

_METHODS = [
    (
        "What is compared",
        "Each row of the tables is one side, activity and measure. Strides the analysis flagged (quality other "
        "than ok) are left out and counted in the data-quality section. A condition's value is the mean of its "
        "session means (the mean of all strides when there is one session). Primary outcomes follow the "
        "literature on between-day reliability: eversion excursion and peak eversion velocity are more "
        "reliable than absolute eversion angles (Ferber et al. 2002), and absolute angles depend on the "
        "standing calibration pose, which must be the same before and after (J Athl Train 2012 47:83); knee "
        "frontal excursion, peak knee abduction and pelvic drop complete the primary set.",
    ),
    (
        "Change and its 95% confidence interval",
        "Change = after − before. The interval is a percentile bootstrap with {n_boot} resamples (fixed seed "
        "{seed}, so the report is reproducible). Resampling is hierarchical: sessions are drawn with "
        "replacement when a condition has several, then strides within each drawn session (Davison & Hinkley "
        "1997, section 3.8; Saravanan et al. 2020). Deviations are scaled by √(n/(n−1)) before resampling, "
        "which removes the known narrowness of bootstrap intervals for small samples, and the percentile "
        "interval is widened about the estimate by the ratio of the t quantile to the normal quantile, with "
        "Welch–Satterthwaite degrees of freedom in which sessions are the independent units when a condition "
        "has several (Hesterberg 2015): with few sessions the interval is deliberately conservative. "
        "Percentile rather than BCa: BCa's acceleration needs a jackknife, which has no single meaning for "
        "two-level data, and a difference of means has a near-symmetric bootstrap distribution.",
    ),
    (
        "Minimal detectable change (MDC95)",
        "The stride-to-stride SD within sessions (pooled over all sessions, SDw) gives the standard error of a "
        "session mean of n strides, SEM = √(SDw²/n + SDb²), where SDb is the day-to-day SD of session means "
        "(estimated when a condition has two or more sessions, or given by the user). "
        "MDC95 = 1.96·√(SEMbefore² + SEMafter²), which is the familiar 1.96·√2·SEM when both are equal "
        "(Weir 2005). It is the change a session mean must exceed to be told apart from measurement noise; "
        "a single stride varies far more (1.96·√2·SDw, the column mdc95_stride in comparison.csv). With one "
        "session per condition SDb cannot be estimated: the MDC then covers stride-to-stride noise only, not "
        "differences in sensor placement or calibration between days. Between days, changes of about 5° are "
        "needed for 3D kinematics in general (Wilken et al. 2012), so judge small changes with that in mind.",
    ),
    (
        "Verdict",
        '"Changed beyond the detectable change" when the 95% CI excludes zero and the change is larger than '
        'MDC95; "within measurement noise" otherwise; "too few strides" below {min_strides} strides ("too '
        'few repetitions" below {min_reps} squat or step-down repetitions) in either condition. A primary '
        "outcome must also stay significant after Holm's correction (Holm 1979) among the primary "
        "outcomes of its activity (both sides; {n_primary} primary tests in all). In total {n_tests} tests "
        "were made; the others are exploratory and uncorrected. For the primary outcomes the programme aims "
        "to reduce, a detectable decrease is called improved (for signed angles such as knee valgus or "
        "pelvic drop: a detectable change to a smaller magnitude).",
    ),
    (
        "Effect size and test",
        "Hedges' g = (after − before) / pooled SD × (1 − 3/(4(n1+n2) − 9)) (Hedges 1981). The SD is the "
        "stride-to-stride SD of this person, so g is not comparable with effect sizes of group studies. The "
        "test is Welch's unequal-variance t-test (Welch 1947), or the Mann–Whitney U test when either "
        "condition's strides are clearly not normal (Shapiro–Wilk p < 0.01). When a condition has several "
        "sessions, a Welch t in which sessions are the units, with the same variance and degrees of freedom "
        "as the confidence interval: strides of one session share its day-to-day error, and testing them as "
        "independent would inflate false positives. Strides within a session are not fully independent "
        "either, so stride-level p values are somewhat optimistic; the verdict also requires the MDC, and the "
        "data-quality section warns when consecutive strides of a primary outcome are clearly correlated "
        "(lag-1 autocorrelation above 0.3; lag1_autocorr in comparison.csv).",
    ),
    (
        "Curves: statistical parametric mapping",
        "Eversion and knee abduction are time-normalised to 101 points from initial contact to toe-off. At "
        "every point a two-sample t statistic (unequal variances) compares after with before; the critical "
        "threshold comes from random field theory for the smoothness of the curves, two-tailed, so the whole "
        "curve is tested at once without inflating false positives (Pataky 2012; Pataky, Vanrenterghem & "
        "Robinson 2015), computed with the spm1d package. The m curves of a report (sides × activities × "
        "variables) share α = 0.05: each is tested at 1 − 0.95^(1/m) (Šidák). Regions above the threshold are "
        "shaded in the figures with their cluster p values. Strides are the unit of observation, or session "
        "means with three or more sessions per condition (with one or two sessions the curve test cannot "
        "include day-to-day variation).",
    ),
    (
        "Left/right symmetry",
        "SI = 2(L − R)/(L + R) × 100 % (Robinson et al. 1987) for positive quantities (times, lengths, "
        "excursions, velocities). For angles that can cross zero the ratio is meaningless, so the difference "
        "L − R in degrees is given instead (for whole waveforms see the wUSI, Front Bioeng Biotechnol 2020, "
        "10.3389/fbioe.2020.579511).",
    ),
]

_REFERENCES = [
    "Davison AC, Hinkley DV (1997) Bootstrap Methods and their Application. Cambridge University Press.",
    "Ferber R, McClay Davis I, Williams DS, Laughton C (2002) A comparison of within- and between-day "
    "reliability of discrete 3D lower extremity variables in runners. J Orthop Res 20:1139.",
    "Hesterberg TC (2015) What teachers should know about the bootstrap. Am Stat 69:371.",
    "Hedges LV (1981) Distribution theory for Glass's estimator of effect size. J Educ Stat 6:107.",
    "Holm S (1979) A simple sequentially rejective multiple test procedure. Scand J Stat 6:65.",
    "Pataky TC (2012) One-dimensional statistical parametric mapping in Python. Comput Methods Biomech "
    "Biomed Engin 15:295.",
    "Pataky TC, Vanrenterghem J, Robinson MA (2015) Zero- vs. one-dimensional, parametric vs. "
    "non-parametric, and confidence interval vs. hypothesis testing procedures in one-dimensional "
    "biomechanical trajectory analysis. J Biomech 48:1277.",
    "Robinson RO, Herzog W, Nigg BM (1987) Use of force platform variables to quantify the effects of "
    "chiropractic manipulation on gait symmetry. J Manipulative Physiol Ther 10:172.",
    "Saravanan V, Berman GJ, Sober SJ (2020) Application of the hierarchical bootstrap to multi-level data "
    "in neuroscience. Neurons Behav Data Anal Theory 3:1.",
    "Weir JP (2005) Quantifying test-retest reliability using the intraclass correlation coefficient and "
    "the SEM. J Strength Cond Res 19:231.",
    "Welch BL (1947) The generalization of 'Student's' problem when several different population variances "
    "are involved. Biometrika 34:28.",
    "Wilken JM, Rodriguez KM, Brawner M, Darter BJ (2012) Reliability and minimal detectible change values "
    "for gait kinematics and kinetics in healthy adults. Gait Posture 35:301.",
]


def _html_escape_keep_fields(text: str) -> str:
    # escape the prose but keep {fields} for str.format; braces never occur otherwise in this text
    return html.escape(text, quote=False)


METHODS_HTML = (
    "<dl>"
    + "".join(
        f"<dt>{html.escape(h)}</dt><dd>{_html_escape_keep_fields(t)}</dd>" for h, t in _METHODS
    )
    + "</dl><h3>References</h3><ol class=refs>"
    + "".join(
        f"<li>{html.escape(r).replace('{', '{{').replace('}', '}}')}</li>" for r in _REFERENCES
    )
    + "</ol>"
)

METHODS_TEXT = "\n\n".join(
    [f"{h}. {t}" for h, t in _METHODS]
    + ["References:"]
    + [re.sub(r"[{}]", "", r) for r in _REFERENCES]
)
