"""The worker (and the feed loop) collect cyclic garbage every PROCESS_GC_THRESHOLD new objects, with what
start-up allocated frozen; 0 keeps Python's defaults."""

import gc

import pytest


@pytest.fixture
def gc_state():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_worker_start_freezes_start_up_and_raises_the_first_threshold(gc_state, settings):
    from config.celery import _warm_imports

    settings.PROCESS_GC_THRESHOLD = 40_000
    gc.set_threshold(700, 10, 10)
    _warm_imports()
    assert gc.get_threshold() == (40_000, 20, 100)
    assert gc.get_freeze_count() > 0


def test_zero_keeps_the_thresholds(gc_state, settings):
    from config.gc import tune

    settings.PROCESS_GC_THRESHOLD = 0
    gc.set_threshold(700, 10, 10)
    assert tune() == (700, 10, 10)


def test_the_default_is_fifty_thousand():
    from django.conf import settings

    assert settings.PROCESS_GC_THRESHOLD == 50_000
