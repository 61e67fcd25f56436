"""Test set-up shared by every app: real PostgreSQL (the embedded server unless DATABASE_URL is set)."""

import pytest


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path_factory):
    # Trained artifacts written by tests never land in the developer's var/models.
    settings.MODEL_ARTIFACT_DIR = tmp_path_factory.mktemp("models")
