# SPDX-License-Identifier: GPL-2.0-only
"""The reservation-line model of docs/scaling.md, fed with this machine's
limits (limits.csv) and checked against the measured producers-only rates
(scale.csv).

Every reservation is one compare-and-swap on one shared line (prod_pos).
With one producer the line stays in its cache: a record costs the
producer's own work w plus a local CAS c. With P >= 2 producers the line
moves to each winner: a reservation costs a line transfer x instead of c,
and the line itself serves at most S(P) CAS/s, the measured rate of P
threads incrementing one counter with CAS (failed attempts included).

    X(1) = 1 / (w + c)
    X(P) = min(P / (w + x), S(P))          P >= 2

c = 1 / S(1); x from the ping-pong (one transfer: limits.csv's median
of 64 lines where it has them, as a line's cost is also its address's);
w from the measured X(1): w = 1 / X(1) - c. So X(1) is fitted, and every
other X(P) is a prediction from the machine's numbers alone.

S(P) comes from threads that do nothing between their compare-and-swaps:
a thread can win several in a row while the line stays in its cache. A
producer does its work (w) between two reservations, and other producers
take the line meanwhile, so each reservation pays one whole transfer: the
line serves at most 1 / (x + c) reservations/s, whatever S(P) says. The
model takes the lower of the two (the 16-core run in bench/RESULTS.md
showed S(P) 2.3x above what producers reached, 1 / (x + c) within 2-29%).

    X(P) = min(P / (w + x), S(P), 1 / (x + c))     P >= 2
"""


def limit_values(limits):
    # The median of 64 lines where measured: a line's cost is also its
    # address's (limits.c), and "transfer" is one line's.
    x = next((r["value"] * 1e-9 for r in limits if r["what"] == "line_median"), None)
    if x is None:
        x = next((r["value"] * 1e-9 for r in limits if r["what"] == "transfer"), None)
    cas = {r["threads"]: r["value"] for r in limits if r["what"] == "cas"}
    return x, cas


def predict(limits, scale):
    """[(P, predicted, measured or None, bound)] for every P measured or
    with a CAS rate; bound names the term that decides X(P)."""
    x, cas = limit_values(limits)
    meas = {r["producers"]: r["records_per_s"] for r in scale if r["impl"] == "ours"}
    if not cas.get(1) or 1 not in meas:
        return [], {}
    c = 1 / cas[1]
    w = 1 / meas[1] - c
    params = {"c_ns": c * 1e9, "x_ns": (x or 0) * 1e9, "w_ns": w * 1e9}
    rows = [(1, meas[1], meas[1], "fitted")]
    for p in sorted(set(cas) | set(meas)):
        if p < 2:
            continue
        work = p / (w + x) if x else float("inf")
        line = cas.get(p)
        pred, bound = (work, "producers' work + transfer")
        if line is not None and line < pred:
            pred, bound = line, "the line (CAS/s)"
        if x and 1 / (x + c) < pred:
            pred, bound = 1 / (x + c), "one transfer per reservation"
        rows.append((p, pred, meas.get(p), bound))
    return rows, params


def curve(params, line_rate, ps=(1, 2, 4, 8, 16, 32, 64)):
    """The model on a bigger machine: x, c, w as measured here, the line's
    ceiling S (CAS/s of many threads on one line) given."""
    c, x, w = params["c_ns"] * 1e-9, params["x_ns"] * 1e-9, params["w_ns"] * 1e-9
    out = []
    for p in ps:
        out.append((p, 1 / (w + c) if p == 1 else min(p / (w + x), line_rate, 1 / (x + c))))
    return out


def _lines(rows):
    """A model table's header and its rows (P, predicted, measured, bound)."""
    out = ["%10s %16s %16s %8s  %s" % ("producers", "model Mrec/s", "measured Mrec/s",
                                      "error", "bound by")]
    for p, pred, meas, bound in rows:
        err = "" if meas is None else "%+.0f%%" % (100 * (pred - meas) / meas)
        out.append("%10d %16.1f %16s %8s  %s" % (p, pred / 1e6,
                                               "-" if meas is None else "%.1f" % (meas / 1e6),
                                               err, bound))
    return out


def table(limits, scale):
    rows, params = predict(limits, scale)
    if not rows:
        return ""
    out = ["", "Reservation line model (docs/scaling.md): c = %.1f ns local CAS, x = %.1f ns "
           "line transfer, w = %.1f ns producer work (fitted at P = 1)" %
           (params["c_ns"], params["x_ns"], params["w_ns"]), ""]
    out += _lines(rows)
    chunk = predict_chunks(params, scale)
    if chunk:
        out += ["", "Chunked reservation (4 KiB chunks, 72 B a record with its header): "
                "X(P) = min(P / (w + c), (B / s) / (x + c)), nothing fitted", ""]
        out += _lines(chunk)
    return "\n".join(out) + "\n"


CHUNK_BYTES = 4096  # bench/host/scale.c's SCALE_CHUNK
RECORD_SPACE = 72   # a 64 B record and its 8-byte header


def predict_chunks(params, scale):
    """docs/scaling.md's curve for chunked reservation: each producer at its
    own rate, w + c a record (the local compare-and-swap on its fill word
    in place of the shared one), and the shared line moving once per chunk
    of B / s records. w, c and x as predict() found them."""
    meas = {r["producers"]: r["records_per_s"] for r in scale if r["impl"] == "ours_chunk"}
    if not meas:
        return []
    c, x, w = params["c_ns"] * 1e-9, params["x_ns"] * 1e-9, params["w_ns"] * 1e-9
    rows = []
    for p in sorted(meas):
        work = p / (w + c)
        line = (CHUNK_BYTES / RECORD_SPACE) / (x + c) if p > 1 and x else float("inf")
        pred, bound = (work, "producers' work") if work <= line else \
            (line, "one transfer per chunk")
        rows.append((p, pred, meas[p], bound))
    return rows
