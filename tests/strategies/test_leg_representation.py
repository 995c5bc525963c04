import json

import pytest
from rest_framework.renderers import JSONRenderer

from strategies.api.serializers import LegSerializer
from strategies.models import Leg
from tests.factories import LegFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("stop_loss", [None, "50.00"])
def test_the_fast_leg_representation_renders_exactly_like_drfs_generic_one(stop_loss):
    created = LegFactory(stop_loss=stop_loss, position_sizing={"min_lots": 1, "max_lots": 4}, entry_slippage="5.00")
    leg = Leg.objects.select_related("strategy").get(pk=created.pk)  # values as the database returns them
    serializer = LegSerializer()
    fast = json.loads(JSONRenderer().render(serializer.to_representation(leg)))
    generic = json.loads(JSONRenderer().render(serializer.generic_representation(leg)))
    assert fast == generic
