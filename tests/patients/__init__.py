"""Tests of patients/: patient and referral pages, the referrals CSV, program rules, FHIR intake."""
