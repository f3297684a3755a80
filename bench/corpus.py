"""A seeded synthetic corpus of policy specs for the benchmarks.

`write_corpus(out, n, seed)` writes `n` valid specs (the format of
policy_source/fep/5.21.100-besponsa.yaml, schema generator/rxrego/schemas/policy-spec.schema.json)
as `out/synthetic-<i>.yaml`. Together, and in fact each of them, they use every criterion kind:
the ten tests (age, diagnosis, biomarker, prior_therapy, attestation, clinical_status, lab,
prescriber_specialty, concurrent_therapy_excluded, quantity_limit) and the four combinators
(all_of, any_of, at_least, when/then). Thresholds, codes, names, optional parts and the order of
the requirements vary from spec to spec.

Every spec is marked `example: true`: none is a real payer policy. Each has a unique id
(`synthetic-<i>`), unique drug names (invented, one word, so they can never equal
"inotuzumab ozogamicin" or an "Example ..." name), a unique HCPCS-style code (a letter from
Z, Y, W then four digits: never J9229 nor X0001) and unique illustrative NDCs (labeler 9xxxx,
never the examples' 99999), so the corpus loads together with policy_source/ and
tests/examples/.

Every fourth spec (VERSIONED_EVERY) has one earlier version, effective on its original policy date.

The same (n, seed) always gives the same bytes; spec i depends only on (i, seed), so a smaller
corpus is a prefix of a larger one with the same seed.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

DEFAULT_SEED = 20260401

# Every kind a criterion can have (README, "The spec format").
ALL_KINDS = (
    "age",
    "diagnosis",
    "biomarker",
    "prior_therapy",
    "attestation",
    "clinical_status",
    "lab",
    "prescriber_specialty",
    "concurrent_therapy_excluded",
    "quantity_limit",
    "all_of",
    "any_of",
    "at_least",
    "when",
)

# Invented drug names: three syllables chosen by a bijection of the index (so unique), then a
# brand ending or a generic ending; the two ending lists share no entry, so a brand never
# equals a generic.
_CONSONANTS = "bcdfghklmnprstvz"
_VOWELS = "aeiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]  # 80
_NAME_SPACE = len(_SYLLABLES) ** 3  # 512,000 distinct stems
_BRAND_ENDINGS = ("ra", "vix", "lto", "quen", "dra", "fyn", "mira", "tresa")
_GENERIC_ENDINGS = ("tinib", "zumab", "ciclib", "parib", "degib", "rafenib", "ximab", "stat")
_CODE_LETTERS = "ZYW"
# Every VERSIONED_EVERY-th spec (index 0, 4, 8, ...) carries one earlier version, so a corpus
# of n policies generates about 1.25 n policy modules and the router picks versions by date.
VERSIONED_EVERY = 4
MAX_POLICIES = len(_CODE_LETTERS) * 9999

_DIAGNOSES = [
    ("C34.1", "non-small cell lung cancer (NSCLC) of the upper lobe"),
    ("C50.9", "breast cancer"),
    ("C18.9", "colorectal cancer"),
    ("C43.9", "melanoma"),
    ("C61", "prostate cancer"),
    ("C56.9", "ovarian cancer"),
    ("C64.9", "renal cell carcinoma"),
    ("C22.0", "hepatocellular carcinoma"),
    ("C90.0", "multiple myeloma"),
    ("C83.3", "diffuse large B-cell lymphoma"),
    ("C92.0", "acute myeloid leukemia"),
    ("C91.1", "chronic lymphocytic leukemia"),
    ("M05.9", "rheumatoid arthritis"),
    ("L40.0", "plaque psoriasis"),
    ("K50.9", "Crohn's disease"),
    ("G35", "multiple sclerosis"),
]
_BIOMARKERS = [
    "EGFR",
    "ALK",
    "ROS1",
    "HER2",
    "BRAF_V600E",
    "KRAS_G12C",
    "BRCA1",
    "BRCA2",
    "FLT3",
    "IDH1",
    "NTRK",
    "MET_exon14",
    "PD_L1",
    "CD20",
    "CD19",
    "HLA_B27",
]
_QUALIFIERS = {
    "disease_status": ["relapsed", "refractory", "newly_diagnosed", "metastatic", "unresectable"],
    "stage": ["iii", "iv", "advanced"],
    "line_of_therapy": ["first", "second", "third_or_later"],
    "severity": ["moderate", "severe"],
}
_THERAPY_POOLS = [
    (
        "platinum_chemotherapy",
        "platinum-based chemotherapy",
        ["cisplatin", "carboplatin", "oxaliplatin"],
        ["platinum_chemotherapy"],
    ),
    (
        "tnf_inhibitors",
        "TNF inhibitors",
        ["adalimumab", "etanercept", "infliximab", "certolizumab", "golimumab"],
        ["tnf_inhibitor"],
    ),
    (
        "conventional_dmards",
        "conventional DMARDs",
        ["methotrexate", "leflunomide", "sulfasalazine", "hydroxychloroquine"],
        [],
    ),
    (
        "immune_checkpoint_inhibitors",
        "immune checkpoint inhibitors",
        ["pembrolizumab", "nivolumab", "atezolizumab", "durvalumab"],
        ["pd1_pdl1_inhibitor"],
    ),
    (
        "anthracyclines",
        "anthracycline-based chemotherapy",
        ["doxorubicin", "daunorubicin", "epirubicin"],
        ["anthracycline"],
    ),
    ("hypomethylating_agents", "hypomethylating agents", ["azacitidine", "decitabine"], ["hypomethylating_agent"]),
    ("taxanes", "taxanes", ["paclitaxel", "docetaxel", "cabazitaxel"], ["taxane"]),
    ("cd20_antibodies", "anti-CD20 antibodies", ["rituximab", "obinutuzumab", "ofatumumab"], ["anti_cd20"]),
]
_EXCLUDED_POOLS = [
    (
        "strong_cyp3a4_inhibitors",
        "strong CYP3A4 inhibitors",
        ["ketoconazole", "itraconazole", "clarithromycin", "ritonavir"],
        ["strong_cyp3a4_inhibitor"],
    ),
    ("strong_cyp3a4_inducers", "strong CYP3A4 inducers", ["rifampin", "carbamazepine", "phenytoin"], []),
    ("live_vaccines", "live vaccines", ["varicella vaccine", "yellow fever vaccine"], ["live_vaccine"]),
    (
        "other_biologics",
        "other targeted biologics",
        ["ustekinumab", "secukinumab", "vedolizumab"],
        ["biologic_immunomodulator"],
    ),
]
# (name, text, comparison, thresholds, unit, plausible range in that unit)
_LABS = [
    ("anc", "Absolute neutrophil count (ANC)", ">=", [1000, 1500], "cells/uL", (0, 100000)),
    ("platelets", "Platelet count", ">=", [50000, 75000, 100000], "cells/uL", (0, 2000000)),
    ("alt", "ALT", "<=", [90, 120, 150], "U/L", (0, 20000)),
    ("creatinine_clearance", "Creatinine clearance", ">=", [30, 45, 60], "mL/min", (0, 300)),
    ("total_bilirubin", "Total bilirubin", "<=", [1.5, 3], "mg/dL", (0, 100)),
    ("lvef", "Left ventricular ejection fraction (LVEF)", ">=", [45, 50], "%", (0, 100)),
]
_SPECIALTIES = [
    "oncology",
    "hematology",
    "hematology_oncology",
    "rheumatology",
    "dermatology",
    "gastroenterology",
    "neurology",
]
_ATTESTATIONS = [
    ("liver_function_monitoring", "Prescriber agrees to monitor liver function tests before each cycle"),
    ("pregnancy_test", "Prescriber agrees to obtain a negative pregnancy test before treatment"),
    ("rems_enrollment", "Prescriber and patient are enrolled in the drug's REMS program"),
    ("infection_screening", "Prescriber agrees to screen for latent tuberculosis and hepatitis B before treatment"),
    ("ecg_monitoring", "Prescriber agrees to obtain an ECG at baseline and periodically during treatment"),
]
_UNITS = [
    ("tablets", 30, [30, 60, 90, 120]),
    ("capsules", 30, [28, 56, 84]),
    ("vials", 21, [1, 2, 4]),
    ("injections", 28, [2, 4, 8]),
]


def _stem(index: int, seed: int) -> str:
    """Three syllables, distinct for distinct indexes (an affine bijection mod 80**3)."""
    k = (7919 * index + seed) % _NAME_SPACE
    parts = []
    for _ in range(3):
        k, r = divmod(k, len(_SYLLABLES))
        parts.append(_SYLLABLES[r])
    return "".join(parts)


def policy_id(index: int) -> str:
    return f"synthetic-{index:05d}"


def hcpcs_code(index: int) -> str:
    letter, number = divmod(index, 9999)
    return f"{_CODE_LETTERS[letter]}{number + 1:04d}"


def ndc_codes(index: int, packages: int) -> list[str]:
    labeler = 90000 + index // 10000  # 9xxxx, far below the examples' 99999
    return [f"{labeler:05d}-{index % 10000:04d}-{p:02d}" for p in range(1, packages + 1)]


def spec_data(index: int, seed: int = DEFAULT_SEED) -> dict:
    """The spec of policy `index` as plain data (keys in the order they are written)."""
    if not 0 <= index < MAX_POLICIES:
        raise ValueError(f"index {index} is outside 0..{MAX_POLICIES - 1}")
    rng = random.Random(f"rxrego-bench:{seed}:{index}")
    stem = _stem(index, seed)
    brand = (stem + rng.choice(_BRAND_ENDINGS)).capitalize()
    generic = stem + rng.choice(_GENERIC_ENDINGS)

    icd_count = rng.choice((1, 1, 2, 3))
    diagnoses = rng.sample(_DIAGNOSES, icd_count)
    disease = " or ".join(name for _, name in diagnoses)
    qualifier_names = rng.sample(sorted(_QUALIFIERS), rng.choice((0, 1, 2)))
    qualifiers = {q: sorted(rng.sample(_QUALIFIERS[q], rng.randint(1, 2))) for q in qualifier_names}
    marker_pool = rng.sample(_BIOMARKERS, 2)
    diagnosis_marker, step_marker = marker_pool
    therapy = rng.choice(_THERAPY_POOLS)
    excluded = rng.choice(_EXCLUDED_POOLS)
    lab_name, lab_text, lab_cmp, lab_values, lab_unit, (lab_min, lab_max) = rng.choice(_LABS)
    lab_value = rng.choice(lab_values)
    lab_days = rng.choice((14, 30, 60, 90))
    attestations = rng.sample(_ATTESTATIONS, rng.randint(2, 4))
    unit, per_days, max_choices = rng.choice(_UNITS)
    max_units = rng.choice(max_choices)
    specialties = sorted(rng.sample(_SPECIALTIES, rng.randint(1, 3)))
    adult_age = rng.choice((12, 18, 18, 21))
    pediatric_max = rng.choice((11, 15, 17))
    step_n = rng.choice((1, 1, 2))
    step_results = rng.choice((["failed"], ["failed", "intolerant"], ["failed", "intolerant", "contraindicated"]))

    value_sets: dict = {
        therapy[0]: _value_set(therapy),
        excluded[0]: _value_set(excluded),
    }

    diagnosis: dict = {"icd10": [code for code, _ in diagnoses]}
    if qualifiers:
        diagnosis["qualifiers"] = qualifiers
    diagnosis_biomarker = rng.random() < 0.6
    if diagnosis_biomarker:
        diagnosis["biomarkers"] = {diagnosis_marker: ["positive"]}
    step_word = {1: "ONE", 2: "TWO"}[step_n]
    step_results_text = {
        1: "failed",
        2: "failed or not tolerated",
        3: "failed, not tolerated or had a contraindication to",
    }[len(step_results)]

    criteria: dict = {
        "age_minimum": {"text": f"Age {adult_age} years of age or older", "age": {"min_years": adult_age}},
        "diagnosis": {
            "text": f"Diagnosis of {disease}" + (f", {diagnosis_marker}-positive" if diagnosis_biomarker else ""),
            "diagnosis": diagnosis,
        },
        "step_therapy_or_marker": {
            "text": f"Patient must have {step_results_text} at least {step_word} of {therapy[1]}, OR the tumor is {step_marker}-positive",
            "any_of": ["prior_therapy", "marker_positive"],
        },
        "prior_therapy": {
            "text": f"Patient has {step_results_text} at least {step_word} of {therapy[1]}",
            "prior_therapy": {"value_set": therapy[0], "at_least": step_n, "results": step_results},
        },
        "marker_positive": {
            "text": f"{step_marker}-positive",
            "biomarker": {"name": step_marker, "values": ["positive"]},
        },
        "specialist": {
            "text": "Prescribed by or in consultation with a specialist in "
            + ", ".join(s.replace("_", "-") for s in specialties),
            "prescriber_specialty": specialties,
        },
        "no_excluded_concurrent_therapy": {
            "text": f"Patient is NOT taking {excluded[1]}",
            "concurrent_therapy_excluded": {"value_set": excluded[0]},
        },
        "quantity": {
            "text": f"Quantity limit of {max_units} {unit} per {per_days} days",
            "quantity_limit": {"max_units": max_units, "per_days": per_days},
        },
        "adequate_function": {
            "text": "Patient has at least TWO of the following: adequate laboratory values, an adequate performance status, no active infection",
            "at_least": {"n": 2, "of": ["lab_threshold", "adequate_performance_status", "no_active_infection"]},
        },
        "lab_threshold": {
            "text": f"{lab_text} {lab_cmp} {lab_value} {lab_unit} within the last {lab_days} days",
            "lab": {
                "name": lab_name,
                "comparison": lab_cmp,
                "value": lab_value,
                "unit": lab_unit,
                "within_days": lab_days,
                "plausible": {"min": lab_min, "max": lab_max},
            },
        },
        "adequate_performance_status": {
            "text": "ECOG performance status of 0 to 2",
            "clinical_status": {"name": "ecog_0_to_2", "required": True},
        },
        "no_active_infection": {
            "text": "NO active serious infection",
            "clinical_status": {"name": "active_infection", "required": False},
        },
        "pediatric_dosing": {
            "text": f"Patients {pediatric_max} years of age and younger: prescriber agrees to weight-based dosing",
            "when": ["pediatric"],
            "then": ["weight_based_dosing"],
        },
        "pediatric": {"text": f"Age {pediatric_max} years of age or younger", "age": {"max_years": pediatric_max}},
        "weight_based_dosing": {
            "text": "Prescriber agrees to weight-based dosing",
            "attestation": "weight_based_dosing",
        },
    }
    for name, text in attestations:
        criteria[name] = {"text": text, "attestation": name}
    criteria["no_progression_or_toxicity"] = {
        "text": "NO disease progression or unacceptable toxicities",
        "all_of": ["no_disease_progression", "no_unacceptable_toxicity"],
    }
    criteria["no_disease_progression"] = {
        "text": "NO disease progression",
        "clinical_status": {"name": "disease_progression", "required": False},
    }
    criteria["no_unacceptable_toxicity"] = {
        "text": "NO unacceptable toxicities",
        "clinical_status": {"name": "unacceptable_toxicity", "required": False},
    }

    initial = ["age_minimum", "diagnosis", "step_therapy_or_marker", "specialist", "adequate_function"]
    initial.append("pediatric_dosing")
    initial += [name for name, _ in attestations]
    initial += ["no_excluded_concurrent_therapy", "quantity"]
    head, tail = initial[:2], initial[2:]
    rng.shuffle(tail)
    initial = head + tail
    renewal = ["age_minimum", "diagnosis", "no_progression_or_toxicity", "no_excluded_concurrent_therapy", "quantity"]
    renewal += [name for name, _ in attestations[:1]]

    # With an 18+ or 21+ minimum the pediatric condition can never hold; it stays, as such
    # clauses do in real policies, and says so.
    if adult_age > pediatric_max:
        criteria["pediatric_dosing"]["note"] = (
            "Synthetic: with this policy's minimum age the condition is never met; kept so the corpus exercises when/then."
        )

    month, day = rng.randint(1, 12), rng.randint(1, 28)
    initial_months = rng.choice((3, 6, 12))
    data: dict = {
        "schema_version": 1,
        "id": policy_id(index),
        "number": f"SYN-{index:05d}",
        "title": brand,
        "payer": "Synthetic Health Plan (benchmark corpus)",
        "example": True,
        "section": "Prescription Drugs",
        "subsection": rng.choice(("Antineoplastic Agents", "Immunomodulators", "Specialty Agents")),
        "effective_date": f"2025-{month:02d}-{day:02d}",  # in force for any 2026 date of service
        "original_policy_date": f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "drug": {
            "brand": brand,
            "generic": generic,
            "description": f"A synthetic {rng.choice(('oral', 'injectable', 'infused'))} agent (benchmark corpus entry).",
            "hcpcs": [hcpcs_code(index)],
            "ndc": ndc_codes(index, rng.randint(1, 2)),
        },
        "description": f"{brand} ({generic}), a synthetic policy generated for benchmarks",
        "history": [
            {"date": f"{2020 + y}-{rng.randint(1, 12):02d}", "action": "Annual review (synthetic)"}
            for y in range(rng.randint(1, 4))
        ],
        "coverage": {
            "medically_necessary": f"{brand} may be considered medically necessary if the conditions indicated below are met.",
            "investigational": f"{brand} may be considered investigational for all other indications.",
            "indication": "diagnosis",
        },
        "value_sets": value_sets,
        "criteria": criteria,
        "requirements": {
            "initial": {"title": "Prior-Approval Requirements", "duration_months": initial_months, "all_of": initial},
            "renewal": {
                "title": "Prior-Approval Renewal Requirements",
                "duration_months": initial_months * 2,
                "all_of": renewal,
            },
        },
        "limits": {"pre_pa_allowance": "None", "quantity": f"{max_units} {unit} per {per_days} days"},
    }
    if index % VERSIONED_EVERY == 0:
        # An earlier version that decides as the current one (as 5.21.100's 2024 version
        # does): one more module, routed by the date of service.
        data["earlier_versions"] = [
            {
                "effective_date": data["original_policy_date"],  # the first version, before the 2025 review
                "note": "Synthetic: the first version, with the same requirements as the current one.",
            }
        ]
    return data


def _value_set(pool: tuple) -> dict:
    _, description, agents, classes = pool
    vs: dict = {"description": f"{description[0].upper()}{description[1:]} (synthetic value set)"}
    if agents:
        vs["agents"] = list(agents)
    if classes:
        vs["classes"] = list(classes)
    return vs


HEADER = (
    "# SYNTHETIC BENCHMARK SPEC, NOT A REAL PAYER POLICY. Written by bench/corpus.py\n"
    "# (index {index}, seed {seed}); drug names, HCPCS-style code and NDCs are invented.\n"
)


def spec_text(index: int, seed: int = DEFAULT_SEED) -> str:
    body = yaml.safe_dump(
        spec_data(index, seed), sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    return HEADER.format(index=index, seed=seed) + body


def file_name(index: int) -> str:
    return f"synthetic-{index:05d}.yaml"


def write_corpus(out: Path, n: int, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write specs 0..n-1 into `out` (created if needed); returns their paths in order."""
    if not 0 < n <= MAX_POLICIES:
        raise ValueError(f"n must be 1..{MAX_POLICIES}, not {n}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = out / file_name(i)
        path.write_bytes(spec_text(i, seed).encode("utf-8"))
        paths.append(path)
    return paths


def kinds_used(specs) -> set[str]:
    """The criterion kinds the loaded specs (rxrego.spec.model.PolicySpec) use."""
    return {c.kind for spec in specs for c in spec.criteria}
