"""Seed the categories results are recorded in and the follow-up each calls for,
from the guidelines cited beside each pathway; managers edit them afterwards
(patients.services.result_pathways), each change a new rules version."""

from django.db import migrations

NBCCEDP = (
    "CDC NBCCEDP quality indicator: diagnostic resolution within 60 days of an abnormal "
    "result; programme target 30 days"
)
USMSTF_FIT = (
    "US Multi-Society Task Force (Robertson et al., Gastroenterology 2017;152:1217) and AGA: "
    "colonoscopy after an abnormal stool test within 6 months, ideally within 2-3; "
    "programme target 60 days"
)
USMSTF_PREP = (
    "US Multi-Society Task Force (Gupta et al., Gastroenterology 2020;158:1131): inadequate "
    "bowel preparation, repeat colonoscopy within 1 year; programme target 90 days"
)
ASCCP = (
    "ASCCP 2019 risk-based management consensus guidelines (Perkins et al., J Low Genit "
    "Tract Dis 2020;24:102-131)"
)
BIRADS = "ACR BI-RADS Atlas, 5th edition (2013)"
LUNGRADS = "ACR Lung-RADS v2022"

# Tests done only to follow up a result: never counted as the program's screening.
DIAGNOSTIC_MODALITIES = {
    "breast": [
        ("diagnostic-imaging", "Diagnostic mammogram or breast ultrasound"),
        ("breast-biopsy", "Breast biopsy"),
    ],
    "cervical": [("colposcopy", "Colposcopy (with biopsy if indicated)")],
    "lung": [("lung-diagnostic", "Diagnostic chest CT, PET/CT or tissue sampling")],
}

STOOL = ["fit", "gfobt", "sdna-fit"]
CERVICAL = ["cytology", "hrhpv", "cotest"]

# program → [(code, name, meaning, [modalities], source)]
CATEGORIES = {
    "colorectal": [
        (
            "normal",
            "Normal (negative)",
            "normal",
            [*STOOL, "ct-colonography", "flex-sig", "colonoscopy"],
            "",
        ),
        (
            "benign-polyps",
            "Polyps removed, not cancer (surveillance by pathology)",
            "normal",
            ["colonoscopy"],
            "USMSTF 2020 post-polypectomy surveillance (Gupta et al.)",
        ),
        (
            "abnormal",
            "Abnormal (positive stool test, or a polyp or mass seen)",
            "abnormal",
            [*STOOL, "ct-colonography", "flex-sig"],
            USMSTF_FIT,
        ),
        (
            "inadequate",
            "Inadequate sample or bowel preparation",
            "inadequate",
            [*STOOL, "ct-colonography", "flex-sig", "colonoscopy"],
            "",
        ),
        ("cancer", "Cancer found", "diagnosis", ["colonoscopy"], ""),
    ],
    "breast": [
        (
            "birads-0",
            "BI-RADS 0: incomplete, additional imaging needed",
            "abnormal",
            ["mammography"],
            BIRADS,
        ),
        (
            "birads-1",
            "BI-RADS 1: negative",
            "normal",
            ["mammography", "diagnostic-imaging"],
            BIRADS,
        ),
        ("birads-2", "BI-RADS 2: benign", "normal", ["mammography", "diagnostic-imaging"], BIRADS),
        (
            "birads-3",
            "BI-RADS 3: probably benign, short-interval follow-up",
            "abnormal",
            ["mammography", "diagnostic-imaging"],
            BIRADS,
        ),
        (
            "birads-4",
            "BI-RADS 4: suspicious, biopsy",
            "abnormal",
            ["mammography", "diagnostic-imaging"],
            BIRADS,
        ),
        (
            "birads-5",
            "BI-RADS 5: highly suggestive of cancer, biopsy",
            "abnormal",
            ["mammography", "diagnostic-imaging"],
            BIRADS,
        ),
        ("benign-biopsy", "Biopsy benign", "normal", ["breast-biopsy"], ""),
        ("nondiagnostic", "Biopsy non-diagnostic", "inadequate", ["breast-biopsy"], ""),
        ("cancer", "Cancer found", "diagnosis", ["breast-biopsy"], ""),
    ],
    "cervical": [
        ("normal", "Normal (NILM and HPV negative)", "normal", CERVICAL, ASCCP),
        ("ascus-hpv-negative", "ASC-US, HPV negative", "normal", ["cotest"], ASCCP),
        (
            "hpv-positive-nilm",
            "HPV positive (not 16/18), cytology normal",
            "abnormal",
            ["hrhpv", "cotest"],
            ASCCP,
        ),
        ("hpv-16-18", "HPV 16 or 18 positive", "abnormal", ["hrhpv", "cotest"], ASCCP),
        (
            "ascus-lsil",
            "ASC-US with HPV positive, or LSIL",
            "abnormal",
            ["cytology", "cotest"],
            ASCCP,
        ),
        ("hsil", "ASC-H, AGC, HSIL or worse", "abnormal", ["cytology", "cotest"], ASCCP),
        ("unsatisfactory", "Unsatisfactory or invalid sample", "inadequate", CERVICAL, ASCCP),
        ("cin1-or-less", "Colposcopy: normal or CIN 1", "normal", ["colposcopy"], ASCCP),
        (
            "cin2-plus",
            "Colposcopy: CIN 2 or worse (precancer needing treatment)",
            "diagnosis",
            ["colposcopy"],
            ASCCP,
        ),
        ("cancer", "Cancer found", "diagnosis", ["colposcopy"], ""),
    ],
    "lung": [
        ("lungrads-0", "Lung-RADS 0: incomplete", "inadequate", ["ldct"], LUNGRADS),
        ("lungrads-1", "Lung-RADS 1: negative", "normal", ["ldct"], LUNGRADS),
        ("lungrads-2", "Lung-RADS 2: benign appearance", "normal", ["ldct"], LUNGRADS),
        (
            "lungrads-3",
            "Lung-RADS 3: probably benign, LDCT in 6 months",
            "abnormal",
            ["ldct"],
            LUNGRADS,
        ),
        (
            "lungrads-4a",
            "Lung-RADS 4A: suspicious, LDCT in 3 months",
            "abnormal",
            ["ldct"],
            LUNGRADS,
        ),
        ("lungrads-4b", "Lung-RADS 4B or 4X: very suspicious", "abnormal", ["ldct"], LUNGRADS),
        ("benign", "Diagnostic work-up benign", "normal", ["lung-diagnostic"], ""),
        (
            "nondiagnostic",
            "Diagnostic work-up non-diagnostic",
            "inadequate",
            ["lung-diagnostic"],
            "",
        ),
        ("cancer", "Cancer found", "diagnosis", ["lung-diagnostic"], ""),
    ],
}

# program → [(category, for test or None, kind, next step, next test, target, limit, source)]
PATHWAYS = {
    "colorectal": [
        (
            "abnormal",
            None,
            "diagnostic",
            "Diagnostic colonoscopy",
            "colonoscopy",
            60,
            180,
            USMSTF_FIT,
        ),
        *[
            (
                "inadequate",
                test,
                "repeat",
                "Repeat the test",
                test,
                30,
                60,
                "An unsatisfactory sample gives no result: repeat the test",
            )
            for test in STOOL
        ],
        (
            "inadequate",
            "ct-colonography",
            "repeat",
            "Repeat CT colonography",
            "ct-colonography",
            90,
            365,
            "ACR CT colonography practice parameter",
        ),
        (
            "inadequate",
            "flex-sig",
            "repeat",
            "Repeat sigmoidoscopy",
            "flex-sig",
            90,
            365,
            USMSTF_PREP,
        ),
        (
            "inadequate",
            "colonoscopy",
            "repeat",
            "Repeat colonoscopy",
            "colonoscopy",
            90,
            365,
            USMSTF_PREP,
        ),
    ],
    "breast": [
        (
            "birads-0",
            None,
            "diagnostic",
            "Diagnostic imaging",
            "diagnostic-imaging",
            30,
            60,
            f"{BIRADS}; {NBCCEDP}",
        ),
        (
            "birads-3",
            None,
            "diagnostic",
            "Short-interval diagnostic imaging in 6 months",
            "diagnostic-imaging",
            180,
            210,
            BIRADS,
        ),
        (
            "birads-4",
            None,
            "diagnostic",
            "Breast biopsy",
            "breast-biopsy",
            30,
            60,
            f"{BIRADS}; {NBCCEDP}",
        ),
        (
            "birads-5",
            None,
            "diagnostic",
            "Breast biopsy",
            "breast-biopsy",
            30,
            60,
            f"{BIRADS}; {NBCCEDP}",
        ),
        ("nondiagnostic", None, "repeat", "Repeat biopsy", "breast-biopsy", 30, 60, NBCCEDP),
    ],
    "cervical": [
        (
            "hpv-positive-nilm",
            None,
            "repeat",
            "Repeat HPV-based testing in 1 year",
            "cotest",
            365,
            425,
            ASCCP,
        ),
        (
            "hpv-16-18",
            None,
            "diagnostic",
            "Colposcopy",
            "colposcopy",
            60,
            90,
            f"{ASCCP}; CDC NBCCEDP: diagnostic resolution within 60 days",
        ),
        (
            "ascus-lsil",
            None,
            "diagnostic",
            "Colposcopy",
            "colposcopy",
            60,
            90,
            f"{ASCCP}; CDC NBCCEDP: diagnostic resolution within 60 days",
        ),
        (
            "hsil",
            None,
            "diagnostic",
            "Colposcopy (or expedited treatment)",
            "colposcopy",
            30,
            60,
            f"{ASCCP}; CDC NBCCEDP: diagnostic resolution within 60 days",
        ),
        *[
            (
                "unsatisfactory",
                test,
                "repeat",
                "Repeat the test in 2-4 months",
                test,
                90,
                120,
                ASCCP,
            )
            for test in CERVICAL
        ],
    ],
    "lung": [
        (
            "lungrads-0",
            None,
            "repeat",
            "Repeat or additional imaging in 1-3 months",
            "ldct",
            60,
            90,
            LUNGRADS,
        ),
        ("lungrads-3", None, "diagnostic", "Low-dose CT in 6 months", "ldct", 180, 210, LUNGRADS),
        ("lungrads-4a", None, "diagnostic", "Low-dose CT in 3 months", "ldct", 90, 120, LUNGRADS),
        (
            "lungrads-4b",
            None,
            "diagnostic",
            "Diagnostic CT, PET/CT or tissue sampling",
            "lung-diagnostic",
            30,
            60,
            LUNGRADS,
        ),
        (
            "nondiagnostic",
            None,
            "repeat",
            "Repeat the diagnostic work-up",
            "lung-diagnostic",
            30,
            60,
            LUNGRADS,
        ),
    ],
}


def rules_snapshot(program, apps):
    """The program's rules as patients.selectors.program_rules_snapshot computes them
    (keep in step: a test checks), from the historical models."""
    Modality = apps.get_model("patients", "ScreeningModality")
    Exclusion = apps.get_model("patients", "ProgramExclusion")
    Category = apps.get_model("patients", "ResultCategory")
    Pathway = apps.get_model("patients", "FollowUpPathway")
    return {
        "min_age": program.min_age,
        "max_age": program.max_age,
        "sex": program.sex,
        "min_pack_years": program.min_pack_years,
        "due_soon_days": program.due_soon_days,
        "active": program.active,
        "modalities": [
            {
                "code": m.code,
                "name": m.name,
                "interval_months": m.interval_months,
                "min_age": m.min_age,
                "concept": m.concept.key if m.concept_id else None,
                "role": m.role,
                "active": m.active,
            }
            for m in Modality.objects.filter(program=program).order_by("code")
        ],
        "result_categories": [
            {
                "code": c.code,
                "name": c.name,
                "meaning": c.meaning,
                "tests": sorted(m.code for m in c.modalities.all()),
                "active": c.active,
            }
            for c in Category.objects.filter(program=program).order_by("code")
        ],
        "follow_up_pathways": [
            {
                "id": p.pk,
                "category": p.category.code,
                "test": p.modality.code if p.modality_id else None,
                "kind": p.kind,
                "next_step": p.next_step,
                "next_test": p.next_modality.code,
                "target_days": p.target_days,
                "limit_days": p.limit_days,
                "active": p.active,
            }
            for p in Pathway.objects.filter(program=program).order_by("pk")
        ],
        "exclusions": [
            {
                "code": e.code,
                "name": e.name,
                "all_of": sorted(c.key for c in e.all_of.all()),
                "lookback_months": e.lookback_months,
                "min_age": e.min_age,
                "active": e.active,
            }
            for e in Exclusion.objects.filter(program=program).order_by("code")
        ],
    }


def seed(apps, schema_editor):
    RuleVersion = apps.get_model("patients", "RuleVersion")
    Program = apps.get_model("patients", "ScreeningProgram")
    Modality = apps.get_model("patients", "ScreeningModality")
    Category = apps.get_model("patients", "ResultCategory")
    Pathway = apps.get_model("patients", "FollowUpPathway")
    for program in Program.objects.all():
        latest = RuleVersion.objects.filter(program=program).order_by("-number").first()
        before = latest.after if latest is not None else {}
        for code, name in DIAGNOSTIC_MODALITIES.get(program.code, []):
            Modality.objects.get_or_create(
                program=program,
                code=code,
                defaults={
                    "name": name,
                    "role": "diagnostic",
                    "interval_months": 12,
                    "interval_note": "A diagnostic test: never counted as the screening.",
                },
            )
        modalities = {m.code: m for m in Modality.objects.filter(program=program)}
        categories = {}
        for order, (code, name, meaning, tests, source) in enumerate(
            CATEGORIES.get(program.code, [])
        ):
            category, _ = Category.objects.get_or_create(
                program=program,
                code=code,
                defaults={"name": name, "meaning": meaning, "order": order, "source": source},
            )
            category.modalities.add(*[modalities[t] for t in tests if t in modalities])
            categories[code] = category
        for category, test, kind, step, next_test, target, limit, source in PATHWAYS.get(
            program.code, []
        ):
            if next_test not in modalities or (test is not None and test not in modalities):
                continue
            Pathway.objects.get_or_create(
                program=program,
                category=categories[category],
                modality=modalities[test] if test else None,
                defaults={
                    "kind": kind,
                    "next_step": step,
                    "next_modality": modalities[next_test],
                    "target_days": target,
                    "limit_days": limit,
                    "source": source,
                },
            )
        after = rules_snapshot(program, apps)
        if after != before:
            program.rule_version += 1
            program.save(update_fields=["rule_version"])
            RuleVersion.objects.create(
                program=program,
                number=program.rule_version,
                summary="Result categories and follow-up pathways seeded from guidelines",
                before=before,
                after=after,
            )
    # Results recorded before categories existed keep their coarse value in a category
    # of the same meaning, where the test has one.
    Screening = apps.get_model("patients", "ScreeningEvent")
    meaning_of = {"normal": "normal", "abnormal": "abnormal", "inconclusive": "inadequate"}
    for screening in Screening.objects.filter(category=None).exclude(result="not_reported"):
        category = (
            Category.objects.filter(
                modalities=screening.modality_id, meaning=meaning_of[screening.result]
            )
            .order_by("order")
            .first()
        )
        if category is not None:
            Screening.objects.filter(pk=screening.pk).update(category=category)


class Migration(migrations.Migration):
    dependencies = [("patients", "0011_result_categories_and_pathways")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
