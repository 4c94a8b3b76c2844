"""The predicted recovery score on generated history with a known signal: AUC and training time.

    .venv/bin/python -m bench.scoring --rows 1000000

Generates `--rows` abandonments whose chance of coming back follows a known logistic model of the
same facts the app reads (cart value, items, device, new/returning, hour, consents, earlier
abandonments), turns them into the model's features with the app's own `features.matrix`, and
trains with the app's own `training.fit` (four fifths, AUC on the fifth held out). In the same run
and on the same split: a trivial baseline (logistic regression on the cart value alone) and the
oracle (the true generating probabilities), so the figures read as ratios, not absolutes. No
database: `train_store` adds reading the history (bulk queries, at most 50,000 rows per store).
"""

from __future__ import annotations

import argparse
import math
import time
from decimal import Decimal

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from app.scoring import features, training
from app.scoring.features import Example

DEVICES = np.array(["mobile", "desktop", "tablet", "unknown"])


def generate(rows: int, seed: int) -> tuple[list[Example], np.ndarray, np.ndarray]:
    """Examples, their 0/1 outcomes and the true probabilities behind them."""
    rng = np.random.default_rng(seed)
    total = np.round(np.exp(rng.normal(4.2, 0.8, rows)), 2)
    items = 1 + rng.poisson(1.2, rows)
    lines = np.minimum(items, 1 + rng.poisson(0.6, rows))
    device = rng.choice(4, rows, p=[0.55, 0.35, 0.07, 0.03])
    returning = rng.random(rows) < 0.3
    hour = rng.integers(0, 24, rows)
    sms = rng.random(rows) < 0.35
    email = rng.random(rows) < 0.6
    earlier = rng.poisson(0.5, rows)
    logit = (
        -2.6
        + 0.35 * (np.log1p(total) - 4.2)
        + 0.9 * (device == 0)
        - 0.3 * (device == 2)
        + 0.6 * returning
        + 0.8 * sms
        + 0.3 * email
        - 0.25 * np.minimum(earlier, 4)
        + 0.7 * np.cos(2 * np.pi * (hour - 20) / 24)
        + 0.05 * items
    )
    truth = 1 / (1 + np.exp(-logit))
    won = (rng.random(rows) < truth).astype(int)
    examples = [
        Example(
            Decimal(str(total[i])),
            int(items[i]),
            int(lines[i]),
            str(DEVICES[device[i]]),
            bool(returning[i]),
            int(hour[i]),
            bool(sms[i]),
            bool(email[i]),
            int(earlier[i]),
        )
        for i in range(rows)
    ]
    return examples, won, truth


def baseline(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Cart value only, logistic: AUC on the same held-out fifth, and its training seconds."""
    x_train, x_test, y_train, y_test = train_test_split(
        x[:, :1], y, test_size=training.HOLDOUT, random_state=0, stratify=y
    )
    started = time.perf_counter()
    model = LogisticRegression().fit(x_train, y_train)
    seconds = time.perf_counter() - started
    return float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])), seconds


def oracle(y: np.ndarray, truth: np.ndarray) -> float:
    _, y_test, _, p_test = train_test_split(
        y, truth, test_size=training.HOLDOUT, random_state=0, stratify=y
    )
    return float(roc_auc_score(y_test, p_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    examples, y, truth = generate(args.rows, args.seed)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    x = features.matrix(examples)
    featurized = time.perf_counter() - started
    fitted = training.fit(x, y)
    started = time.perf_counter()
    training.probabilities(fitted.estimator, x[:100_000])
    per_second = min(len(x), 100_000) / (time.perf_counter() - started)
    base_auc, base_seconds = baseline(x, y)
    best = oracle(y, truth)
    auc = fitted.auc or math.nan

    print(f"rows {args.rows:,} (recovered {y.mean():.1%}), seed {args.seed}")
    print(f"generate {generated:.1f} s, features.matrix {featurized:.1f} s")
    print(f"model   : AUC {auc:.4f}  train {fitted.seconds:.1f} s (on {len(x) * 0.8:,.0f} rows)")
    print(f"baseline: AUC {base_auc:.4f}  train {base_seconds:.1f} s (logistic, cart value only)")
    print(f"oracle  : AUC {best:.4f}  (the true probabilities)")
    print(
        f"ratio model/baseline AUC {auc / base_auc:.3f}; model reaches {auc / best:.1%} of oracle"
    )
    print(f"scoring {per_second:,.0f} checkouts/s")


if __name__ == "__main__":
    main()
