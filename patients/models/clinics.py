"""Clinics: the practices that refer patients and whose EHR feeds send data."""

from __future__ import annotations

from django.db import models
from phonenumber_field.modelfields import PhoneNumberField


class Clinic(models.Model):
    code = models.SlugField(max_length=32, unique=True, help_text="Short code, e.g. 'chelsea'.")
    name = models.CharField(max_length=200, unique=True)
    phone = PhoneNumberField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
