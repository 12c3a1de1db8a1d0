"""Masked personal data never reveals more than the allowed characters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.security.masking import mask_address, mask_id_number, mask_phone

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
digits = st.text(alphabet="0123456789", min_size=0, max_size=20)


def _revealed(original: str, masked: str) -> int:
    assert len(masked) == len(original)
    shown = 0
    for a, b in zip(original, masked):
        if b != "*":
            assert a == b  # nothing is invented, only hidden
            shown += 1
    return shown


@settings(max_examples=300)
@given(st.one_of(texts, digits))
def test_masked_phone_reveals_at_most_seven_digits_of_a_mobile_and_four_otherwise(value):
    masked = mask_phone(value)
    if not value:
        assert masked == value
        return
    original = value.strip()
    shown = _revealed(original, masked)
    if len(original) == 11 and original.isdigit():
        assert shown <= 7 and masked[3:7] == "****"
    else:
        assert shown <= 4


@settings(max_examples=300)
@given(st.one_of(texts, digits))
def test_masked_id_number_reveals_at_most_seven_characters(value):
    masked = mask_id_number(value)
    if not value:
        return
    assert _revealed(value.strip(), masked) <= 7


@settings(max_examples=300)
@given(texts)
def test_masked_address_hides_at_least_four_characters(value):
    masked = mask_address(value)
    if not value:
        return
    shown = _revealed(value, masked)
    assert len(value) - shown >= min(4, len(value))


def test_mobile_number_masks_like_the_design_says():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("330102199001011234") == "330***********1234"
