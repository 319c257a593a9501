"""Verification and eligibility of the semantic tier, one check at a time: the check that
refuses a near-miss is the one named, and framing words never refuse a paraphrase."""

from __future__ import annotations

import pytest

from gateway.cache.semantic.question import MAX_QUESTION_CHARS, question
from gateway.cache.semantic.verify import Text, verify

REFUSED = [
    ("What is 2+2?", "What is 2+3?", "number"),
    ("Give me three tips for sleep.", "Give me 5 tips for sleep.", "number"),
    ("Convert 5 feet to centimeters.", "Convert 5 feet to inches.", "unit"),
    (
        "What is the weather forecast for Monday?",
        "What is the weather forecast for Tuesday?",
        "date",
    ),
    ("Is port 6379 open?", "Is port 6379 not open?", "negation"),
    ("Take ibuprofen with food.", "Do not take ibuprofen with food.", "negation"),
    ("Sort the list in ascending order.", "Sort the list in descending order.", "polar"),
    ("Write a closure in Swift.", "Write a closure in Kotlin.", "language"),
    ("Return the states as JSON.", "Return the states as YAML.", "format"),
    ("Flights from Paris to London", "Flights from London to Paris", "order"),
    ("Compare Rust vs Go.", "Compare Go vs Rust.", "order"),
    ("Who is the CEO of Tesla?", "Who is the CEO of Ford?", "entity"),
    ("Print 'hello' in Python.", "Print 'goodbye' in Python.", "literal"),
    ("Fix: x = a + b", "Fix: x = a - b", "literal"),
    ("Side effects of ibuprofen?", "Side effects of acetaminophen?", "wording"),
]
ACCEPTED = [
    ("Who wrote Pride and Prejudice?", "Who is the author of Pride and Prejudice?"),
    ("Explain recursion to a beginner.", "Can you explain recursion for a beginner?"),
    ("What does DNA stand for?", "Hi! Can you tell me what DNA stands for?"),
    ("Give me three tips for better sleep.", "Give me 3 tips for better sleep, please."),
]


@pytest.mark.parametrize(("stored", "asked", "reason"), REFUSED)
def test_a_near_miss_is_refused_by_the_check_it_fails(stored: str, asked: str, reason: str) -> None:
    assert verify(Text(stored), Text(asked)) == reason
    assert verify(Text(asked), Text(stored)) == reason


@pytest.mark.parametrize(("stored", "asked"), ACCEPTED)
def test_a_paraphrase_is_accepted_both_ways(stored: str, asked: str) -> None:
    assert verify(Text(stored), Text(asked)) is None
    assert verify(Text(asked), Text(stored)) is None


KEY = b"k" * 32


def body(content: object, **extra: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **extra}


def test_only_the_wording_of_the_last_user_turn_is_left_out_of_the_partition() -> None:
    one = question("acme", body("Who wrote Emma?"), KEY)
    other = question("acme", body([{"type": "text", "text": "Emma's author?"}]), KEY)
    assert one is not None
    assert other is not None
    assert one.partition == other.partition
    assert other.text == "Emma's author?"
    for different in (
        question("initech", body("Who wrote Emma?"), KEY),
        question("acme", body("Who wrote Emma?", temperature=0), KEY),
        question("acme", {"model": "other", "messages": [{"role": "user", "content": "x"}]}, KEY),
    ):
        assert different is not None
        assert different.partition != one.partition


@pytest.mark.parametrize(
    "ineligible",
    [
        body("x" * (MAX_QUESTION_CHARS + 1)),
        body("Who wrote Emma?", n=2),
        body([{"type": "image_url", "image_url": {"url": "data:,"}}]),
        {"model": "m", "messages": [{"role": "assistant", "content": "Who wrote Emma?"}]},
        body("   "),
    ],
)
def test_an_ineligible_request_has_no_question(ineligible: dict[str, object]) -> None:
    assert question("acme", ineligible, KEY) is None
