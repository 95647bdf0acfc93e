"""FHIR R4 intake: bundles from EHR feeds into patients and clinical resources."""
