"""GAIA's official answer scorer, reproduced rule for rule.

Source: `question_scorer` in the GAIA leaderboard's `scorer.py` (huggingface.co/spaces/
gaia-benchmark/leaderboard). The decision is made on the *ground truth*:

- it parses as a float → number: strip `$`, `%` and `,` from the answer, float equality
  (an unparsable answer becomes `inf`, so it never equals a finite truth);
- it contains `,` or `;` → list: split both on either character, same length, in order,
  each element by the number rule (if that truth element is a float) or by the string rule
  *without* punctuation removal;
- otherwise → string: remove all whitespace, lowercase, strip ASCII punctuation.

The quirks are kept on purpose because they decide published scores: a truth like `1,000`
is not a float, so it is scored as the two-element list `["1", "000"]`; `float()` accepts
`"1_000"`, `" 7 "`, `"1e3"`, `"nan"` and `"inf"`; a `None` answer is scored as `"None"`.
The only difference from the original is that it neither prints nor warns (the original
prints what it evaluates and warns on list-length mismatch): the returned value is the same.
"""

from __future__ import annotations

import re
import string

_LIST_SEPARATORS = (",", ";")
_NUMBER_NOISE = ("$", "%", ",")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def is_float(element: object) -> bool:
    try:
        float(element)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def normalize_number_str(number_str: str) -> float:
    for char in _NUMBER_NOISE:
        number_str = number_str.replace(char, "")
    try:
        return float(number_str)
    except ValueError:
        return float("inf")


def split_string(s: str, char_list: tuple[str, ...] = _LIST_SEPARATORS) -> list[str]:
    pattern = f"[{''.join(char_list)}]"
    return re.split(pattern, s)


def normalize_str(input_str: str, remove_punct: bool = True) -> str:
    no_spaces = re.sub(r"\s", "", input_str)  # "sea gull" == "seagull"
    if remove_punct:
        return no_spaces.lower().translate(_PUNCTUATION)
    return no_spaces.lower()


def question_scorer(model_answer: str | None, ground_truth: str) -> bool:
    """True if `model_answer` matches `ground_truth` under GAIA's rules (see module doc)."""
    if model_answer is None:
        model_answer = "None"
    if is_float(ground_truth):
        return normalize_number_str(model_answer) == float(ground_truth)
    if any(char in ground_truth for char in _LIST_SEPARATORS):
        truth_elements = split_string(ground_truth)
        answer_elements = split_string(model_answer)
        if len(truth_elements) != len(answer_elements):
            return False
        return all(
            _element_matches(answer, truth)
            for answer, truth in zip(answer_elements, truth_elements, strict=True)
        )
    return normalize_str(model_answer) == normalize_str(ground_truth)


def _element_matches(answer: str, truth: str) -> bool:
    if is_float(truth):
        return normalize_number_str(answer) == float(truth)
    # Punctuation is kept inside list elements: it can be part of the answer.
    return normalize_str(answer, remove_punct=False) == normalize_str(truth, remove_punct=False)


def question_type(ground_truth: str) -> str:
    """Which rule GAIA applies to this ground truth: 'number', 'list' or 'string'."""
    if is_float(ground_truth):
        return "number"
    if any(char in ground_truth for char in _LIST_SEPARATORS):
        return "list"
    return "string"
