"""Hypothesis strategies: profile documents and condition texts inside the value space
where the predicate and the search query must agree (docs/conditions.md, "Search").

Restrictions, and why:
- strings use the letters x, y, X, Y only: free-form fields (traits, interests) are
  indexed as keywords, so the engine sees the number 30 as "30" and true as "true";
  text tests (contains, starts with, string ranges) could match those texts in search
  while the predicate, which keeps types, does not. No generated text can match a
  number's or a boolean's text.
- string ranges run only on keys that never hold numbers or booleans, for the same
  reason; numeric ranges on free-form keys are refused by the query compiler.
- numbers are integers: the engine keeps a float's text ("30.0"), so 30 and 30.0 are
  equal to Python but not to a keyword field.
- ``exists`` is asked of leaves only: a flattened object has no value at an inner key.
- text tests never use the empty string: ``contains ""`` matches every indexed text,
  numbers' and booleans' included, and the stand-in server treats an empty range bound
  as no bound.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

__all__ = ["NOW", "conditions", "profile_documents"]

NOW = 1_764_400_000_000  # the event time of every generated case, epoch ms
DAY = 86_400_000

words = st.text(alphabet="xyXY", max_size=4)
needles = st.text(alphabet="xyXY", min_size=1, max_size=3)  # text tests: never empty
text_or_null = st.one_of(words, st.none(), st.lists(words, max_size=3))
any_value = st.one_of(
    words,
    st.integers(-20, 20),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(words, st.integers(-20, 20)), max_size=3),
)
moments = st.one_of(st.none(), st.integers(NOW - 20 * DAY, NOW + 2 * DAY))

TEXT_KEYS = ("plan", "name")  # free-form keys holding text only
MIXED_KEYS = ("age", "active", "tags")  # free-form keys holding anything
COUNT_KEYS = ("page-view", "sign-up")  # stats.by_type: counts, whole numbers from 1


@st.composite
def profile_documents(draw: st.DrawFn) -> dict[str, object]:
    """A profile document (as ``Profile.snapshot()``); callers set ids and tenant."""
    traits: dict[str, object] = {}
    for key in TEXT_KEYS:
        if draw(st.booleans()):
            traits[key] = draw(text_or_null)
    for key in MIXED_KEYS:
        if draw(st.booleans()):
            traits[key] = draw(any_value)
    if draw(st.booleans()):
        traits["address"] = {"city": draw(words)}
    return {
        "id": "",
        "tenant": "",
        "env": "production",
        "version": draw(st.integers(1, 5)),
        "ids": [],
        "traits": traits,
        "data": {},
        "consents": {},
        "interests": draw(st.dictionaries(st.sampled_from(["sport", "news"]), st.integers(0, 9))),
        # "7": a keyword that looks like a number, which the literal 7 must not match
        "segments": draw(st.lists(st.sampled_from(["vip", "gold", "new", "7"]), unique=True)),
        "stats": {
            "events": draw(st.integers(0, 30)),
            "visits": draw(st.integers(0, 30)),
            "by_type": draw(st.dictionaries(st.sampled_from(COUNT_KEYS), st.integers(1, 12))),
        },
        "metadata": {
            "time": {"first_visit": draw(moments), "last_visit": draw(moments)},
            "field_times": {},
        },
    }


def lit(value: object) -> str:
    return "null" if value is None else json.dumps(value)


ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
equality = st.sampled_from(["=", "!="])
scalars = st.one_of(words, st.integers(-20, 20), st.booleans(), st.none())
# for paths that hold text only: the text "7" and the number 7 too (a free-form field
# would show a stored number 7 as "7" to the engine, so mixed paths never get them)
text_scalars = scalars | st.sampled_from(["7", 7])
text_paths = st.sampled_from(
    [f"profile.traits.{k}" for k in TEXT_KEYS] + ["profile.segments", "profile.traits.address.city"]
)
mixed_paths = st.sampled_from(
    [f"profile.traits.{k}" for k in MIXED_KEYS]
    + ["profile.interests.sport", "profile.traits.missing"]
)
number_paths = st.sampled_from(["profile.stats.visits", "profile.stats.events", "profile.version"])
count_paths = st.sampled_from([f"profile.stats.by_type.{k}" for k in COUNT_KEYS])
count_bounds = st.integers(-2, 14).map(str) | st.sampled_from(["2.5", "3.0", "-0.5"])
date_paths = st.sampled_from(
    ["profile.metadata.time.last_visit", "profile.metadata.time.first_visit"]
)
durations = st.builds(lambda n, u: f"{n}{u}", st.integers(0, 20), st.sampled_from(["d", "h"]))
moment_text = st.one_of(
    st.just("now"),
    st.builds(lambda s, d: f"now {s} {d}", st.sampled_from("+-"), durations),
    st.builds(
        lambda day, s, d: f'date("{day}") {s} {d}',
        st.sampled_from(["2025-11-20T00:00:00Z", "2025-11-29", "2025-11-28T12:30:00+02:00"]),
        st.sampled_from("+-"),
        durations,
    ),
)


def _list(items: list[object]) -> str:
    return "[" + ", ".join(lit(i) for i in items) + "]"


tests = st.one_of(
    st.builds(lambda p, o, v: f"{p} {o} {lit(v)}", text_paths, ops, needles),
    st.builds(lambda p, o, v: f"{p} {o} {lit(v)}", text_paths, equality, text_scalars),
    st.builds(lambda p, o, v: f"{p} {o} {lit(v)}", mixed_paths, equality, scalars),
    st.builds(lambda p, v: f"{p} in {_list(v)}", text_paths, st.lists(text_scalars, max_size=3)),
    st.builds(lambda p, v: f"{p} not in {_list(v)}", text_paths, st.lists(words, max_size=2)),
    st.builds(lambda p, v: f"{p} in {_list(v)}", mixed_paths, st.lists(scalars, max_size=3)),
    st.builds(lambda p, v: f"{lit(v)} in {p}", text_paths | mixed_paths, words),
    st.builds(
        lambda p: f"{p} exists", text_paths | mixed_paths | number_paths | date_paths | count_paths
    ),
    st.builds(lambda p, v: f"{p} contains {lit(v)}", text_paths | mixed_paths, needles),
    st.builds(lambda p, v: f"{p} starts with {lit(v)}", text_paths | mixed_paths, needles),
    st.builds(
        lambda p, o, v: f"{p} {o} {v}",
        number_paths,
        ops,
        st.integers(-2, 32).map(str) | st.sampled_from(["3.5", "4.0", "-0.5"]),
    ),
    st.builds(
        lambda p, v: f"{p} in {_list(v)}",
        number_paths,
        st.lists(st.integers(0, 30) | st.sampled_from([2.5, 3.0]), max_size=3),
    ),
    st.builds(lambda p, o, v: f"{p} {o} {v}", count_paths, ops, count_bounds),
    st.builds(
        lambda p, v: f"{p} in {_list(v)}", count_paths, st.lists(st.integers(0, 12), max_size=3)
    ),
    st.builds(lambda p, o, m: f"{p} {o} {m}", date_paths, ops, moment_text),
    st.builds(lambda p, o: f"{p} {o} null", date_paths | number_paths | count_paths, equality),
)

conditions = st.recursive(
    tests,
    lambda inner: st.one_of(
        st.builds(lambda c: f"not ({c})", inner),
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
    ),
    max_leaves=4,
)
