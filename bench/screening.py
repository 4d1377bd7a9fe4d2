"""Sanctions screening of a bulk payout: `python bench/screening.py [--database-url URL]`.

A fresh database gets a synthetic list of ENTRIES entries (each with two aliases), then a
payout file of NAMES payee names (HIT_PERCENT of them spellings of listed names, the rest
ordinary names) is screened with `screen_many`, as the wallet does for a bulk payout. Prints
the list import time, the first screen (which normalises the list once per list version),
and the warm screens that follow, in names per second.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from tijarat.bootstrap import create_database_engine, migrate
from tijarat.cli.bench_ledger import fresh_database
from tijarat.kernel.clock import SystemClock
from tijarat.wallet.screening import Screening

ENTRIES = 10_000
NAMES = 1_000
HIT_PERCENT = 5
WARM_RUNS = 3
SEED = 20_26

GIVEN = [
    "Muhammad", "Ali", "Ahmed", "Hassan", "Bilal", "Usman", "Imran", "Kashif", "Tariq", "Zahid",
    "Naveed", "Farhan", "Asad", "Junaid", "Saad", "Hamza", "Umar", "Faisal", "Adnan", "Irfan",
    "Ayesha", "Fatima", "Zainab", "Maryam", "Sana", "Hina", "Nadia", "Rabia", "Saima", "Amna",
]  # fmt: skip
FAMILY = [
    "Khan", "Shah", "Malik", "Qureshi", "Chaudhry", "Butt", "Raza", "Iqbal", "Siddiqui", "Abbasi",
    "Sheikh", "Mirza", "Awan", "Baig", "Niazi", "Bhatti", "Javed", "Hussain", "Rana", "Gill",
]  # fmt: skip
SYLLABLES = ["zar", "bakh", "tar", "kha", "ni", "mir", "qa", "sim", "noor", "wal", "ra", "gul"]
SPELLINGS = {"Muhammad": "Mohammed", "Ahmed": "Ahmad", "Hassan": "Hasan", "Chaudhry": "Choudhry"}


def invented(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).title()


def listed_name(rng: random.Random) -> str:
    parts = [rng.choice(GIVEN), *(invented(rng) for _ in range(rng.randint(1, 2)))]
    return " ".join([*parts, rng.choice(FAMILY)])


def respelt(name: str, rng: random.Random) -> str:
    words = [SPELLINGS.get(word, word) for word in name.split()]
    rng.shuffle(words)
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    url = parser.parse_args().database_url
    rng = random.Random(SEED)
    names = [listed_name(rng) for _ in range(ENTRIES)]
    rows = ["id,name,aliases,type,programme,country"]
    rows += [
        f"B{n:05d},{name},{respelt(name, rng)};{name.split()[0]} {name.split()[-1]} {n},"
        "individual,BENCH,"
        for n, name in enumerate(names)
    ]
    payees = [
        respelt(rng.choice(names), rng)
        if rng.randrange(100) < HIT_PERCENT
        else f"{rng.choice(GIVEN)} {rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        for _ in range(NAMES)
    ]
    with fresh_database(url) as fresh:
        engine = create_database_engine(fresh)
        try:
            migrate(engine)
            screening = Screening(engine, SystemClock())
            began = time.perf_counter()
            screening.import_list("bench", "\n".join(rows) + "\n")
            import_seconds = time.perf_counter() - began
            began = time.perf_counter()
            first = screening.screen_many(payees, subject="payee")
            first_seconds = time.perf_counter() - began
            warm: list[float] = []
            for _ in range(WARM_RUNS):
                began = time.perf_counter()
                results = screening.screen_many(payees, subject="payee")
                warm.append(time.perf_counter() - began)
            outcomes = {
                outcome: sum(r.outcome == outcome for r in results)
                for outcome in ("clear", "review", "block")
            }
            assert [r.outcome for r in first] == [r.outcome for r in results]
            print(
                json.dumps(
                    {
                        "database": engine.dialect.name,
                        "list_entries": ENTRIES,
                        "list_import_s": round(import_seconds, 2),
                        "names": NAMES,
                        "outcomes": outcomes,
                        "first_screen_s": round(first_seconds, 3),
                        "first_names_per_s": round(NAMES / first_seconds),
                        "warm_screen_s": round(min(warm), 3),
                        "warm_names_per_s": round(NAMES / min(warm)),
                    }
                )
            )
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
