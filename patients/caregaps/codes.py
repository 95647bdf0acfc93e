"""Code systems, and the spellings of them that feeds use: what a code's system is.

Every (system, code) the engines compare has gone through `normalise_system`,
so an OID URN or a trailing slash matches the canonical URL. `vsac` names a
VSAC value set by its OID, as the measures' CQL does.

Data only, like builtin_codes: the data migration that seeds the starter codes
imports it, so it must not import models.
"""

from __future__ import annotations

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

VSAC = "http://cts.nlm.nih.gov/fhir/ValueSet/"

# Other spellings of the same code systems seen in feeds, mapped to the ones above.
SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
    "http://www.ama-assn.org/go/cpt/": CPT,
    "urn:oid:2.16.840.1.113883.6.285": HCPCS,
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": HCPCS,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.4": ICD10PCS,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "http://snomed.info/sct/": SNOMED,
    "http://loinc.org/": LOINC,
}

# Systems whose codes the engine can match. A code in another system is kept
# in the record but never matches a concept.
KNOWN_SYSTEMS = frozenset({SNOMED, LOINC, CPT, HCPCS, ICD10CM, ICD10PCS, RXNORM})


def normalise_system(system: str | None) -> str:
    if not system:
        return ""
    system = system.strip()
    return SYSTEM_ALIASES.get(system, system)


def vsac(oid: str) -> str:
    return VSAC + oid
