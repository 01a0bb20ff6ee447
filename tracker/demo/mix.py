"""The shape of a pain unit's activity: which cases come, which techniques
answer them, and how well and how long they work (plausible, not real)."""

from __future__ import annotations

#: Indication code -> (share of referrals, techniques with their shares).
CASE_MIX: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    "morton_neuroma": (0.10, (("cryoneurolysis", 0.8), ("infiltration", 0.2))),
    "peripheral_nerve": (0.05, (("cryoneurolysis", 0.8), ("radiofrequency", 0.2))),
    "intercostal_pain": (0.02, (("cryoneurolysis", 0.6), ("chemical_neurolysis", 0.4))),
    "levator_ani": (0.02, (("botulinum_toxin", 1.0),)),
    "headache_facial": (
        0.05,
        (("radiofrequency", 0.5), ("cryoneurolysis", 0.3), ("botulinum_toxin", 0.2)),
    ),
    "spinal_pain": (0.16, (("radiofrequency", 0.6), ("infiltration", 0.4))),
    "radicular_pain": (0.13, (("infiltration", 0.8), ("radiofrequency", 0.2))),
    "pelvic_neuralgia": (
        0.08,
        (("infiltration", 0.4), ("botulinum_toxin", 0.3), ("cryoneurolysis", 0.3)),
    ),
    "osteoporotic_fracture": (0.08, (("cementoplasty", 1.0),)),
    "bone_metastasis": (
        0.08,
        (("cementoplasty", 0.6), ("tumour_ablation", 0.3), ("osteosynthesis", 0.1)),
    ),
    "isthmic_lysis": (0.03, (("infiltration", 0.7), ("radiofrequency", 0.3))),
    "spinal_osteoarthritis": (0.10, (("radiofrequency", 0.7), ("infiltration", 0.3))),
    "limb_osteoarthritis": (
        0.07,
        (("radiofrequency", 0.5), ("infiltration", 0.3), ("embolisation", 0.2)),
    ),
    "capsulo_ligamentous": (0.06, (("infiltration", 0.7), ("embolisation", 0.3))),
}

#: Technique code -> (chance of a response, median relief in days or None when the
#: effect does not wear off, its spread).
RESPONSE: dict[str, tuple[float, int | None, float]] = {
    "cryoneurolysis": (0.75, 270, 0.5),
    "radiofrequency": (0.70, 400, 0.5),
    "chemical_neurolysis": (0.70, 500, 0.5),
    "botulinum_toxin": (0.65, 130, 0.35),
    "infiltration": (0.60, 70, 0.6),
    "cementoplasty": (0.88, None, 0.0),
    "osteosynthesis": (0.80, None, 0.0),
    "tumour_ablation": (0.75, 420, 0.6),
    "embolisation": (0.65, 360, 0.5),
}

NERVE_DISTANCES = {
    "cryoneurolysis": (20, 120),
    "radiofrequency": (15, 60),
    "chemical_neurolysis": (30, 150),
}

#: Technique code -> what the plan names as its target.
TARGETS = {
    "cryoneurolysis": "Nerve supplying the painful territory",
    "radiofrequency": "Medial branches or genicular nerves",
    "chemical_neurolysis": "Nerve supplying the painful territory",
    "botulinum_toxin": "Muscle in spasm",
    "infiltration": "Facet joint, nerve root or joint",
    "cementoplasty": "Vertebral body or bone lesion",
    "osteosynthesis": "Fracture line",
    "tumour_ablation": "Tumour",
    "embolisation": "Arteries feeding the synovitis",
}
