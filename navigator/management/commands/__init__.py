"""`seed_demo`: the demo that `make run` loads (clinics, users of every role, patients
with cases at every stage, a synthetic EHR feed imported as FHIR)."""
