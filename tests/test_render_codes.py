"""`rxrego render` describes ICD-10-CM ranges and exceptions as check and generate accept
them: a range's codes with their descriptions, each exception with its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SPECS
from rxrego.author.common import load_spec_file
from rxrego.author.render import render
from rxrego.author.rules import icd10_line

REPATHA = Path(__file__).parent / "fixtures" / "trial" / "acme-repatha.yaml"


@pytest.mark.parametrize("path", [REPATHA, SPECS / "cigna" / "praluent.yaml"])
def test_render_reads_every_range_and_exception_of_a_spec(path):
    text = render(load_spec_file(path), "md")
    assert "I20-I25" in text
    assert "not an ICD-10-CM" not in text


def test_a_range_lists_its_codes_and_an_exception_its_description():
    text = render(load_spec_file(REPATHA), "md")
    assert "ICD-10-CM I20-I25 (6 codes, each with the codes under it: I20 Angina pectoris; I21 " in text
    assert "I25 Chronic ischemic heart disease)" in text
    assert "ICD-10-CM except I25.2 Old myocardial infarction" in text


def test_a_bad_range_says_why_as_check_does():
    assert icd10_line("I25-I20").startswith("I25-I20: not an ICD-10-CM range (")
    assert "runs backwards" in icd10_line("I25-I20")
    assert "same level" in icd10_line("I20-I25.2")
