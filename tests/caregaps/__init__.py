"""Tests of the care-gap engine and the eCQMs (patients/caregaps/)."""
