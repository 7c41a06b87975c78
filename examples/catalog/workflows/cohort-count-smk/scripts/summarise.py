"""Count the rows of a cohort CSV per value of one column, with small-cell suppression.

Usage: summarise.py INPUT.csv COLUMN MIN_COUNT OUTPUT.csv

Writes "COLUMN,count" rows sorted by value. A count below MIN_COUNT is written as
"<MIN_COUNT", so no small group of patients can be singled out from the released result.
"""
import csv
import sys
from collections import Counter

ALLOWED_COLUMNS = {"sex", "age_band", "site"}


def main(src, column, min_count, dst):
    if column not in ALLOWED_COLUMNS:
        sys.exit(f"cannot group by {column!r}; choose one of {sorted(ALLOWED_COLUMNS)}")
    threshold = int(min_count)
    with open(src, newline="") as f:
        counts = Counter(row[column] for row in csv.DictReader(f))
    with open(dst, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([column, "count"])
        for value in sorted(counts):
            n = counts[value]
            out.writerow([value, n if n >= threshold else f"<{threshold}"])


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
